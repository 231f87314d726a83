"""BitMoD's speedup over ANT and OliVe (analytic mode, the BitMoD paper's six models).

    python tests/golden/bitmod_speedup.py

Prints cycles per arch and the speedups ANT/BitMoD and OliVe/BitMoD for prefill (256 tokens)
and decode (one token at context 256), with the arithmetic means (paper: 1.69x and 1.48x).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODELS = ("opt-1.3b", "phi-2", "yi-6b", "llama-2-7b", "llama-2-13b", "llama-3-8b")
ARCHS = ("bitmod", "ant", "olive", "fp16")


def speedups() -> list[tuple[str, str, dict]]:
    sys.path.insert(0, str(ROOT))
    import hwsim

    out = []
    for phase in ("prefill", "decode"):
        for model in MODELS:
            cycles = {
                a: hwsim.simulate(
                    ROOT / "hwsim" / "data" / "arch" / f"{a}.yaml",
                    f"{model}:{phase}:256",
                    mode="analytic",
                ).cycles
                for a in ARCHS
            }
            out.append((phase, model, cycles))
    return out


def main() -> None:
    rows = speedups()
    print("| phase | model | BitMoD cycles | ANT / BitMoD | OliVe / BitMoD | FP16 / BitMoD |")
    print("|---|---|---|---|---|---|")
    ant, olive = [], []
    for phase, model, c in rows:
        ant.append(c["ant"] / c["bitmod"])
        olive.append(c["olive"] / c["bitmod"])
        print(
            f"| {phase} | {model} | {c['bitmod']:,} | {ant[-1]:.2f}x | {olive[-1]:.2f}x | "
            f"{c['fp16'] / c['bitmod']:.2f}x |"
        )
    for label, sl in (("prefill", slice(0, 6)), ("decode", slice(6, 12)), ("all", slice(0, 12))):
        a, o = ant[sl], olive[sl]
        print(f"| mean {label} | | | {sum(a) / len(a):.2f}x | {sum(o) / len(o):.2f}x | |")


if __name__ == "__main__":
    main()
