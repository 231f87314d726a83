"""The shipped recipes run on the simulated hardware: the table of reports/paper/hw_in_the_loop.md.

Regenerate with
    python -m hwsim.eval.table [--max-tokens N]
which prints the top of that file (title, intro, table; its notes below are hand-written).
Each recipe runs on a shipped arch whose PE takes its formats (fp8-e4m3 also on the FP16 array
with a truncated-alignment accumulator: float_mac acc=trunc_align, 14 mantissa bits, chunks of
16, fp32 promotion every 128; BitMoD's 3-bit FP mixture against INT3, both in groups of 128 on
BitMoD's array; mxfp4 on the MX dot-product array, arch/mx_fp4.yaml), through
`hwsim.evaluate`: MiniLM's embedding cosine and SmolLM2-135M's perplexity / next-token top-1
in the three columns (every row's fp32 column is the fp32 model itself), plus the cycles and
energy of the hardware run. A pair no shipped PE
can run is listed with the one-line reason.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

from hwsim.errors import HwsimError

LM, ALL = ("minilm-l6", "smollm2-135m"), ("minilm-l6", "smollm2-135m", "efficientnet-lite0")
# (label, arch file, PE parameter overrides, recipe, models); the truncated-alignment
# accumulator's kernel (every chunk realigned, ~0.03 GMAC/s) runs MiniLM only
POINTS = (
    ("fp16 (arch precision)", "fp16", None, None, LM),
    ("w8a8-int", "tpu_int8", None, "w8a8-int", ALL),
    ("fp8-e4m3", "fp16", None, "fp8-e4m3", ALL),
    ("fp8-e4m3, trunc-align acc", "fp16", (("acc", "trunc_align"),), "fp8-e4m3", LM[:1]),
    ("bitmod-w4g128", "bitmod", None, "bitmod-w4g128", LM),
    ("bitmod (arch: FP4 g128, all layers)", "bitmod", None, None, LM),
    ("bitmod-w3g128", "bitmod", None, "bitmod-w3g128", LM),
    ("w3a16-int-g128 (INT3)", "bitmod", None, "w3a16-int-g128", LM),
    ("w4a16-int-g128", "mixpe_w4a16", None, "w4a16-int-g128", LM),
    ("mxfp4", "mx_fp4", None, "mxfp4", LM),
)


def _arch(name: str, params):
    from hwsim.spec import load_arch

    arch = load_arch(name)
    if params is None:
        return arch
    return replace(arch, pe_array=replace(arch.pe_array, pe_params=params))


def rows(max_tokens: int):
    """Yield one markdown table row per (point, model)."""
    from hwsim.eval import evaluate

    for label, arch_file, params, recipe, models in POINTS:
        arch = _arch(arch_file, params)
        for model in models:
            t0 = time.perf_counter()
            try:
                s = evaluate(arch, model, quant=recipe, max_tokens=max_tokens, reports_root=None)
            except HwsimError as e:
                yield f"| {label} | {arch.name} | {model} | not run: {e} | | | | | | |"
                continue
            m = s["metrics"]
            cells = [_task(m[c]) for c in ("fp32", "fake", "hardware")]
            yield (
                f"| {label} | {arch.name} | {model} | {' | '.join(cells)} | "
                f"{s['ops_hardware_equals_fake']}/{s['ops_total']} | {s['cycles']:,} | "
                f"{s['energy_pj'] / 1e6:,.1f} | {time.perf_counter() - t0:.0f} |"
            )


def _task(metrics: dict) -> str:
    """The headline metric: embedding cosine, else perplexity / next-token top-1 vs the text."""
    if "embedding_cosine" in metrics:
        return f"{metrics['embedding_cosine']:.6f}"
    if "p_fp32_top1" in metrics:
        return f"{metrics['top1_fp32']:.3f} / {metrics['p_fp32_top1']:.4f}"
    return f"{metrics['perplexity']:.2f} / {metrics['top1_text']:.3f}"


INTRO = (
    "MiniLM: mean cosine of the 4 sentence embeddings to fp32's; SmolLM2-135M: perplexity / "
    "next-token top-1 agreement with hwsim's EVAL_TEXT; EfficientNet-Lite0: top-1 agreement "
    "with fp32 on 8 sample images / mean probability of fp32's top-1 class. Columns: fp32, "
    "fake-quant (quantize -> dequantize, float64 product), hardware (every matrix op "
    "computed by its unit's PE bit for bit, activations flowing); `hw = fake` counts the ops "
    "whose hardware output is bit-identical to fake-quant; cycles and energy (analytic mode) "
    "are those of the hardware run's own tensors."
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-tokens", type=int, default=128, help="SmolLM2 tokens (default 128)")
    args = ap.parse_args()
    print("# Accuracy as the simulated hardware computes it\n")
    day = time.strftime("%Y-%m-%d", time.gmtime())
    print(f"`python -m hwsim.eval.table --max-tokens {args.max_tokens}` ({day}). " + INTRO)
    print()
    print("| recipe | arch | model | fp32 | fake-quant | hardware | hw = fake (ops) | cycles "
          "| energy (uJ) | wall (s) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows(args.max_tokens):
        print(row, flush=True)


if __name__ == "__main__":
    main()
