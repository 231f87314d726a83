"""Write the MixPE reproduction's workloads and recipes from the MixPE simulator's layer lists.

    python reports/paper/mixpe/make_inputs.py PATH/TO/mixpe_simulator

reads bitfusion/src/benchmarks/{float,int48,mixfloat,int88,ant,bitfusion}_bench.py of
yuzhang712/mixpe_simulator (commit 7e0d42c) as data (ast.literal_eval, nothing imported) and
writes reports/paper/mixpe/workloads/*.yaml and reports/paper/mixpe/recipes/*.yaml. The
outputs are committed, so the reproduction runs without the simulator; this script is how
they were made.

Each list row is [input, weight, output, stride, padding, bits, is_fc]; create_fc there
multiplies the row's batch 1 by the run's batch (64), so every linear layer is a GEMM with
M = 64 (one token per sequence), and gives activations the weight's bits. Per transformer
block the lists hold four linear layers (qkv 3d x d, out d x d, fc1 4d x d, fc2 d x 4d), each
followed by a second, smaller GEMM that differs per configuration (K x N/8 for INT8, FP16,
ANT and BitFusion; K/8 x N/128 for the two MixPE ones): those are left out of the workload
(mixpe_reproduction.md reports them apart).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
BATCH = 64
SIM = "yuzhang712/mixpe_simulator@7e0d42c054e8e972136def92513b69be413ee495"
WORKLOADS = {  # the simulator's benchmark name -> (file stem, model, d_model, layers)
    "vit": ("vit-b", "ViT-B/16", 768, 12),
    "vit_huge": ("vit-h", "ViT-H (d_model 1280, 32 layers, as listed there)", 1280, 32),
    "opt": ("opt-6.7b", "OPT-6.7B", 4096, 32),
    "llama": ("llama-2-13b", "LLaMA-2-13B (d 5120, 40 layers, FFN 4d as listed there)", 5120, 40),
}
CONFIGS = {  # configuration -> the simulator's benchmark file of its layer bits
    "fp16": "float",
    "int8": "int88",
    "mixpe_w4a8": "int48",
    "mixpe_w4a16": "mixfloat",
    "ant": "ant",
    "bitfusion": "bitfusion",
}
ROLES = ("qkv", "out_proj", "fc1", "fc2")


def lists(sim: Path, bench: str) -> dict:
    tree = ast.parse((sim / "bitfusion/src/benchmarks" / f"{bench}_bench.py").read_text())
    return {
        n.targets[0].id: ast.literal_eval(n.value)
        for n in tree.body
        if isinstance(n, ast.Assign) and n.targets[0].id in WORKLOADS
    }


def main_layers(rows: list, d: int) -> tuple[list, list]:
    """(conv rows, the four linear layers of every block) in list order."""
    convs = [r for r in rows if r[6] == 0]
    shapes = {(3 * d, d), (d, d), (4 * d, d), (d, 4 * d)}
    fcs = [r for r in rows if r[6] == 1 and tuple(r[1]) in shapes]
    return convs, fcs


def op_name(i: int) -> str:
    return f"blocks.{i // 4}.{ROLES[i % 4]}"


def workload(bench: str, rows: list) -> dict:
    stem, model, d, layers = WORKLOADS[bench]
    convs, fcs = main_layers(rows, d)
    assert len(fcs) == 4 * layers, (bench, len(fcs))
    ops = []
    for c in convs:
        (_, cin, hw, _), (cout, _, k, _), (_, _, oh, ow), stride, pad = c[:5]
        ops.append(
            {
                "name": "patch_embed",
                "kind": "conv",
                "M": BATCH * oh * ow,
                "N": cout,
                "K": cin * k * k,
                "conv": {
                    "in_channels": cin,
                    "out_channels": cout,
                    "kernel": [k, k],
                    "stride": list(stride),
                    "padding": list(pad),
                    "in_hw": [hw, hw],
                    "out_hw": [oh, ow],
                    "groups": 1,
                },
            }
        )
    for i, r in enumerate(fcs):
        n, k = r[1]
        ops.append({"name": op_name(i), "kind": "gemm", "M": BATCH, "N": n, "K": k})
    return {
        "version": 1,
        "name": f"mixpe-sim-{stem}:b{BATCH}",
        "phase": "prefill",
        "metadata": {
            "source": f"{SIM} bitfusion/src/benchmarks/float_bench.py, list {bench}",
            "model": model,
            "batch": BATCH,
            "note": "linear layers at M = batch (one token per sequence) as that simulator "
            "lists them; its per-configuration extra GEMMs and all attention matmuls, norms "
            "and softmax are not in its lists or not here",
        },
        "ops": ops,
    }


# MixPE's weights: INT4 in groups of 128 with FP16 scales (the arch files' scale_bits 16)
INT4_G128 = {"format": "int4", "granularity": "group", "group_size": 128, "scale_format": "fp16"}
FP16 = {"format": "float16"}


def per_channel(fmt: str) -> dict:
    return {"format": fmt, "granularity": "channel"}


def spec(bits: int, config: str) -> tuple[dict, dict]:
    """(weights, activations) QuantSpecs for a layer the simulator runs at `bits`. The MixPE
    lists' 16-bit rows (W4A16's patch convolution) run there at 16 x 16 bits, one product per
    unit: INT8 weights with FP16 activations do one MAC per cycle on hwsim's mixpe PE too."""
    if config == "fp16":
        return dict(FP16), dict(FP16)  # fresh dicts: yaml.safe_dump writes no &anchors
    if config == "mixpe_w4a16":  # its 8-bit rows are the W4A16 GEMMs
        return (per_channel("int8"), dict(FP16)) if bits == 16 else (dict(INT4_G128), dict(FP16))
    if config == "mixpe_w4a8" and bits == 4:
        return dict(INT4_G128), per_channel("int8")
    return per_channel(f"int{bits}"), per_channel(f"int{bits}")


def recipe(config: str, bench: str, rows: list) -> dict:
    """One workload's recipe: default = the bits most of its linear layers use, a rule for the
    patch convolution and one per linear layer at other bits (exact op names)."""
    stem, _, d, layers = WORKLOADS[bench]
    convs, fcs = main_layers(rows, d)
    bits = [r[5] for r in fcs]
    common = max(sorted(set(bits)), key=bits.count)
    w, a = spec(common, config)
    rules = []
    for c in convs:
        cw, ca = spec(c[5], config)
        rules.append({"kind": "conv", "weights": cw, "activations": ca})
    odd = [(op_name(i), r[5]) for i, r in enumerate(fcs) if r[5] != common]
    for name, b in odd:
        ow, oa = spec(b, config)
        rules.append({"match": name, "weights": ow, "activations": oa})
    desc = (
        f"Layer bits of {SIM} bitfusion/src/benchmarks/{CONFIGS[config]}_bench.py `{bench}`: "
        f"{len(fcs) - len(odd)} of {len(fcs)} linear layers at {common} bits"
        + (f", {len(odd)} at {sorted({b for _, b in odd})}" if odd else "")
        + (f"; patch convolution at {convs[0][5]} bits" if convs else "")
    )
    doc = {
        "version": 1,
        "name": f"mixpe-sim-{config}-{stem}",
        "description": desc,
        "default": {"weights": w, "activations": a},
    }
    if rules:
        doc["rules"] = rules
    return doc


def main() -> None:
    sim = Path(sys.argv[1])
    per_config = {c: lists(sim, b) for c, b in CONFIGS.items()}
    out_w = HERE / "workloads"
    out_w.mkdir(exist_ok=True)
    for bench, rows in per_config["fp16"].items():
        stem = WORKLOADS[bench][0]
        text = yaml.safe_dump(workload(bench, rows), sort_keys=False)
        (out_w / f"{stem}.yaml").write_text(
            f"# Generated by reports/paper/mixpe/make_inputs.py from {SIM}\n"
            f"# bitfusion/src/benchmarks/float_bench.py `{bench}` (the FP16 list; the other\n"
            "# configurations' lists have the same linear layers), batch 64.\n" + text
        )
    out_r = HERE / "recipes"
    out_r.mkdir(exist_ok=True)
    for config, per_bench in per_config.items():
        for bench, rows in per_bench.items():  # one recipe per (config, workload)
            doc = recipe(config, bench, rows)
            (out_r / f"{config}-{WORKLOADS[bench][0]}.yaml").write_text(
                f"# Generated by reports/paper/mixpe/make_inputs.py from {SIM}.\n"
                + yaml.safe_dump(doc, sort_keys=False, width=100)
            )


if __name__ == "__main__":
    main()
