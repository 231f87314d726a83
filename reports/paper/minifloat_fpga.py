"""Minifloats vs integers on an FPGA: MiniLM accuracy against LUTs, with Pareto fronts.

    python reports/paper/minifloat_fpga.py            # prints the table (about 5 minutes)
    python reports/paper/minifloat_fpga.py --write    # also writes minifloat_fpga.md / .png

Every format of 3 to 8 bits: intB and every minifloat split fp_eEmM (E + M = B - 1, E >= 1),
33 formats, used for both weights (per output channel) and activations (per tensor).
Accuracy: all-MiniLM-L6-v2 sentence embeddings, cosine similarity against fp32 (hwsim's
fake-quant accuracy path, hwsim.workload.accuracy). Hardware: the LUTs of a 768-PE,
2-lane MAC array of that format on the ZCU104's XCZU7EV with every multiplier in LUTs
(hwsim/data/arch/fpga_zcu104.yaml with multipliers_on: lut, no DSP packing), from hwsim's
FPGA datapath model: integers multiply with FINN's LUT multiplier and accumulate in
A + W + ceil(log2 K) bits; minifloats multiply their significands (hidden bit included),
add exponents, and accumulate exactly in a Kulisch register of the formats' span plus the
same ceil(log2 K) guard bits (K = 1536, MiniLM's longest dot product).
"""

from __future__ import annotations

import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import hwsim  # noqa: E402
from hwsim.cost.datapath import mac_datapath, operand  # noqa: E402
from hwsim.cost.fpga import fpga_resources  # noqa: E402

K = 1536
GUARD = math.ceil(math.log2(K))
SEED = 20261123
PAPER = (
    'Aggarwal et al., "Post-Training Quantization with Low-precision Minifloats and Integers '
    'on FPGAs" (FPL 2024): "integer quantization often remains the Pareto-optimal option, '
    'given its relatively smaller hardware resource footprint."'
)


def formats() -> list[str]:
    out = []
    for bits in range(3, 9):
        out += [f"int{bits}"] + [f"fp_e{e}m{bits - 1 - e}" for e in range(1, bits)]
    return out


def lut_arch():
    base = hwsim.load_arch("fpga_zcu104")
    params = {**base.pe_array.params, "dsp_packing": False}
    arr = replace(base.pe_array, pe_params=tuple(sorted(params.items())))
    return replace(base, pe_array=arr, fpga=replace(base.fpga, multipliers_on="lut"))


def resources(name: str, arch) -> object:
    x = operand(name)
    if x.kind == "int":
        parts = mac_datapath("int_mac", {"acc_bits": 2 * x.bits + GUARD}, x, x, 2)
    else:
        parts = mac_datapath("float_mac", {"acc": "kulisch"}, x, x, 2, guard_bits=GUARD)
    return fpga_resources(arch, parts)


def accuracy(name: str, model_tok) -> float:
    from hwsim.workload.accuracy import minilm_cosine

    recipe = {
        "version": 1,
        "name": name,
        "default": {
            "weights": {"format": name, "granularity": "channel"},
            "activations": {"format": name},
        },
    }
    return minilm_cosine(recipe, np.random.default_rng(SEED), model_tok)


def pareto(points: list[tuple[float, float, str]]) -> list[str]:
    """Names on the front: no other point has at most the LUTs and more accuracy."""
    front = []
    for luts, acc, name in points:
        if not any(
            o_l <= luts and o_a > acc or o_l < luts and o_a >= acc for o_l, o_a, _ in points
        ):
            front.append(name)
    return front


def measure() -> list[dict]:
    from hwsim.workload import models

    arch, model_tok = lut_arch(), models.load_minilm()
    rows = []
    for name in formats():
        r = resources(name, arch)
        rows.append({"format": name, "bits": operand(name).bits, "luts": r.luts,
                     "fits": r.fits, "cosine": accuracy(name, model_tok)})  # fmt: skip
        print(f"{name}: {r.luts:,} LUTs, cosine {rows[-1]['cosine']:.4f}", file=sys.stderr)
    points = [(r["luts"], r["cosine"], r["format"]) for r in rows]
    ints = [p for p in points if p[2].startswith("int")]
    floats = [p for p in points if not p[2].startswith("int")]
    for r in rows:
        r["front_all"] = r["format"] in pareto(points)
        r["front_own"] = r["format"] in pareto(ints if r["format"].startswith("int") else floats)
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| format | bits | LUTs | fits XCZU7EV | MiniLM cosine | on the joint Pareto front |"]
    lines.append("|---|---|---|---|---|---|")
    for r in rows:
        lines.append(
            f"| {r['format']} | {r['bits']} | {r['luts']:,} | {'yes' if r['fits'] else 'no'} "
            f"| {r['cosine']:.4f} | {'yes' if r['front_all'] else ''} |"
        )
    front = [r for r in rows if r["front_all"]]
    n_int = sum(r["format"].startswith("int") for r in front)
    lines += ["", f"Joint Pareto front: {len(front)} formats, {n_int} integer: "
              + ", ".join(r["format"] for r in sorted(front, key=lambda r: r["luts"]))]  # fmt: skip
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for kind, marker, color in (("int", "o", "tab:blue"), ("fp", "^", "tab:orange")):
        own = [r for r in rows if r["format"].startswith(kind)]
        ax.scatter([r["luts"] for r in own], [r["cosine"] for r in own], marker=marker,
                   color=color, label="integer" if kind == "int" else "minifloat")  # fmt: skip
        front = sorted((r for r in own if r["front_own"]), key=lambda r: r["luts"])
        ax.step([r["luts"] for r in front], [r["cosine"] for r in front], where="post",
                color=color, alpha=0.6)  # fmt: skip
    for r in rows:
        if r["front_all"]:
            ax.annotate(r["format"], (r["luts"], r["cosine"]), fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("LUTs of a 768-PE x 2-lane MAC array (XCZU7EV, multipliers in LUTs)")
    ax.set_ylabel("MiniLM embedding cosine vs fp32")
    ax.set_title("W = A format, 3-8 bits: Pareto fronts (steps) per family")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


NOTE = """\
What agrees and why the rest differs. The cost side reproduces the paper's mechanism: a
minifloat's exact accumulator grows as 2^E, so wide-exponent splits cost far more LUTs than
an integer of the same width (E5-E7 splits do not even fit the XCZU7EV); at equal width only
an E1 split (an integer grid in disguise, with a narrower significand where FINN's multiplier
formula steps, as at 7 bits) undercuts the integer. The integers hold the low-cost end of
the joint front (listed above). Higher up, minifloats with a 3-bit exponent win here, because
the accuracy side differs from the paper's: hwsim fake-quantizes MiniLM with plain
round-to-nearest, per-tensor activations, and MiniLM's FFN inputs are heavy-tailed (kurtosis
in the thousands), which a 3-bit exponent spans and a uniform integer grid does not; the
paper measures vision models after PTQ (weight equalisation, bias correction, SmoothQuant,
GPTQ), whose milder activations let integers reach further up the front. Its LUT figures
come from its own FPGA MAC library, hwsim's from the component model above (FINN's LUT
multiplier, carry-chain adders, LUT6 multiplexers), so absolute LUTs differ too.
"""


def main() -> None:
    rows = measure()
    text = table(rows)
    print(text)
    if "--write" in sys.argv:
        here = Path(__file__)
        plot(rows, here.with_suffix(".png"))
        here.with_suffix(".md").write_text(
            "# Minifloats vs integers on an FPGA (hwsim datapath model, MiniLM fake-quant)\n\n"
            "Generated by `python reports/paper/minifloat_fpga.py --write`.\n\n"
            f"Paper: {PAPER}\n\n![Pareto fronts](minifloat_fpga.png)\n\n{text}\n\n{NOTE}"
        )
        print(f"wrote {here.with_suffix('.md')}", file=sys.stderr)


if __name__ == "__main__":
    main()
