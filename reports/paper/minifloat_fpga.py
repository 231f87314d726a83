"""Minifloats vs integers on an FPGA: a weights x activations grid, accuracy against LUTs.

    python reports/paper/minifloat_fpga.py            # prints the tables (2-7 min cold)
    python reports/paper/minifloat_fpga.py --write    # also writes minifloat_fpga.md / .png
    options: --no-cache (re-measure), --full (every split pair in the grid: ~10x longer),
             --no-hardware (skip the hardware column of the joint fronts)

Formats, 3 to 8 bits: intB and every minifloat split fp_eEmM with E + M = B - 1, E >= 2 (an
E1 split is an integer grid in disguise: its values are those of intB), 27 in all. Weights
are quantized per output channel, activations per tensor, round to nearest (hwsim's
fake-quant accuracy path, hwsim.workload.accuracy.quantized; the hardware-in-the-loop path,
hwsim.eval, computes every MAC on the PE and runs the joint fronts only, below).

Hardware column: each point of a model's joint Pareto front is run again by
hwsim.evaluate(arch, task, quant=recipe) on the arch the LUTs price (below, built by
hw_arch_doc and validated by hwsim's loader): its fake-quant and hardware columns (every
matrix op computed by the PE's own datapath, accumulator included) are listed beside the
grid's fake-quant, with how many ops agree bit for bit, and the joint front is recomputed
with those points' hardware accuracy. EfficientNet-Lite0 uses the same 4 images there.

Models (hwsim.eval tasks): MiniLM-L6 (all-MiniLM-L6-v2 embeddings of 4 sentences; accuracy
= cosine similarity to fp32) and EfficientNet-Lite0 (4 of the task's 8 images, to fit the
time: the centre and one corner crop of grace_hopper.jpg, Minduka_Present_Blue_Pack.png and
logo2.png; accuracy = 1 - total-variation distance of the softmax to fp32's, and the top-1
agreement is listed).

The grid, subsampled: every split is first measured alone (weights in that split with fp32
activations, and the reverse); then for each weight width x activation width (6 x 6) the grid
measures intW x intA and the best-measured weight split x the best-measured activation split
of those widths: 72 points per model instead of 477 (`--full` measures all 477).

Hardware: the LUTs of a 768-PE, 2-lane MAC array of that format pair on the ZCU104's
XCZU7EV with every multiplier in LUTs (hwsim/data/arch/fpga_zcu104.yaml with
multipliers_on: lut, no DSP packing), from hwsim's FPGA datapath model: integers multiply
with FINN's LUT multiplier and accumulate in A + W + ceil(log2 K) bits; minifloats multiply
their significands (hidden bit included), add exponents and accumulate exactly in a Kulisch
register of the two formats' span plus the same ceil(log2 K) guard bits (K: the model's
longest dot product). The shipped PE of fpga_zcu104 (fixed_point, ap_fixed<W,I> operands)
takes neither intB nor fp_eEmM QTensors, so the hardware column swaps in the PE the LUTs
price: int_mac(acc_bits = W + A + ceil(log2 K)) or float_mac(acc = kulisch), the rest of
the arch (array, buffers, part) unchanged. Results are cached in
$XDG_CACHE_HOME/hwsim/minifloat_fpga.json (default ~/.cache), keyed by model, inputs and
format pair, and for the hardware column also by the arch (PE kind and parameters) and
hwsim's version.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import hwsim  # noqa: E402
from hwsim.cost.datapath import mac_datapath, operand  # noqa: E402
from hwsim.cost.fpga import fpga_resources  # noqa: E402

BITS = range(3, 9)
SEED = 20261123
EFFICIENTNET_IMAGES = (0, 3, 6, 7)  # hwsim.eval.tasks.sample_images order (module doc)
PAPER = (
    'Aggarwal et al., "Post-Training Quantization with Low-precision Minifloats and Integers '
    'on FPGAs" (FPL 2024, arXiv 2311.12359): "integer quantization often remains the '
    'Pareto-optimal option, given its relatively smaller hardware resource footprint."'
)
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hwsim"


def minifloats(bits: int) -> list[str]:
    return [f"fp_e{e}m{bits - 1 - e}" for e in range(2, bits)]


def family(name: str) -> str:
    return "int" if name.startswith("int") else "fp"


def lut_arch():
    base = hwsim.load_arch("fpga_zcu104")
    params = {**base.pe_array.params, "dsp_packing": False}
    arr = replace(base.pe_array, pe_params=tuple(sorted(params.items())))
    return replace(base, pe_array=arr, fpga=replace(base.fpga, multipliers_on="lut"))


def luts(w: str, a: str, arch, k: int) -> tuple[int, bool]:
    """(LUTs, fits) of the MAC array for weights `w` x activations `a`."""
    guard = math.ceil(math.log2(k))
    xw, xa = operand(w), operand(a)
    if family(w) == "int" and family(a) == "int":
        parts = mac_datapath("int_mac", {"acc_bits": xw.bits + xa.bits + guard}, xa, xw, 2)
    else:
        parts = mac_datapath("float_mac", {"acc": "kulisch"}, xa, xw, 2, guard_bits=guard)
    r = fpga_resources(arch, parts)
    return r.luts, r.fits


def hw_arch_doc(w: str, a: str, k: int, acc_bits: int | None = None) -> dict:
    """fpga_zcu104 with the PE the LUT column prices for `w` x `a`: an INT MAC accumulating in
    W + A + ceil(log2 K) bits (or `acc_bits`), or a minifloat MAC with a Kulisch accumulator
    (exact by construction; its span follows the formats); multipliers in LUTs."""
    import yaml

    from hwsim.shipped import resolve

    doc = yaml.safe_load(resolve("arch", "fpga_zcu104").read_text())
    bw, ba = operand(w).bits, operand(a).bits
    if family(w) == "int" and family(a) == "int":
        bits = acc_bits or bw + ba + math.ceil(math.log2(k))
        pe = {"kind": "int_mac", "params": {"acc_bits": bits}}
    else:
        pe = {"kind": "float_mac", "params": {"acc": "kulisch"}}
    doc["pe_array"]["pe"] = pe
    doc["precision"] = {"weight_format": w, "activation_format": a, "weight_bits": bw,
                        "activation_bits": ba}  # fmt: skip
    doc["fpga"]["multipliers_on"] = "lut"
    params = ",".join(f"{k_}={v}" for k_, v in sorted(pe["params"].items()))
    doc["name"] = f"fpga_zcu104+{pe['kind']}({params})"
    return doc


def hw_arch(doc: dict):
    """The Arch of `hw_arch_doc`'s document (validated by hwsim's own loader)."""
    import tempfile

    import yaml

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "arch.yaml"
        path.write_text(yaml.safe_dump(doc))
        return hwsim.load_arch(path)


def hardware_accuracy(task, w: str, a: str, k: int, score, kinds, acc_bits=None) -> dict:
    """hwsim.evaluate of `task` with recipe(w, a) (its rules for op kinds in `kinds`: a rule
    selecting nothing is an error) on hw_arch: accuracy (`score`) of its fake-quant and
    hardware columns and how many ops agreed bit for bit."""
    doc = hw_arch_doc(w, a, k, acc_bits)
    rec = recipe(w, a)
    rec["rules"] = [r for r in rec["rules"] if r["kind"] in kinds]
    t = time.perf_counter()
    s = hwsim.evaluate(hw_arch(doc), replace(task, metric=score), quant=rec, reports_root=None)
    return {
        "arch": doc["name"],
        "fake_eval": s["metrics"]["fake"]["accuracy"],
        "hardware": s["metrics"]["hardware"]["accuracy"],
        "ops_equal": s["ops_hardware_equals_fake"],
        "ops_total": s["ops_total"],
        "wall_s": round(time.perf_counter() - t, 1),
    }


class Model:
    """A shipped model, its fp32 output, and fake-quant accuracy of a format pair (cached)."""

    def __init__(self, name: str, cache: dict):
        from hwsim.eval.tasks import load_task
        from hwsim.workload.tracer import import_torch, trace

        self.torch = import_torch()
        task = load_task(name)
        if name == "efficientnet-lite0":
            task = replace(task, inputs=(task.inputs[0][list(EFFICIENTNET_IMAGES)],))
        self.task, self.name, self.cache = task, name, cache
        wl = trace(task.model, *task.inputs, name=name, keep_tensors=False)
        self.k = max(op.K for op in wl.ops if op.kind in ("gemm", "conv"))
        self.kinds = {op.kind for op in wl.ops}
        with self.torch.no_grad():
            self.ref = task.forward(task.model, *task.inputs)
        self.inputs_key = "x".join(str(d) for d in task.inputs[0].shape)

    def _score(self, got, ref=None) -> dict:
        ref = self.ref if ref is None else ref
        if self.name == "minilm-l6":
            return {"accuracy": self.task.metric(ref, got)["embedding_cosine"]}
        tv = 0.5 * (got - ref).abs().sum(-1).mean().item()
        return {"accuracy": 1 - tv, "top1_fp32": self.task.metric(ref, got)["top1_fp32"]}

    def hardware(self, w: str, a: str) -> dict:
        """hardware_accuracy of one pair (cached by recipe, arch and hwsim version)."""
        doc = hw_arch_doc(w, a, self.k)
        key = f"{self.key(w, a)}|arch={doc['name']}|hwsim={hwsim.__version__}"
        if key not in self.cache:
            score = lambda ref, got: self._score(got, ref)  # noqa: E731
            self.cache[key] = hardware_accuracy(self.task, w, a, self.k, score, self.kinds)
            print(f"{self.name} w={w} a={a} hardware: {self.cache[key]}", file=sys.stderr)
        return self.cache[key]

    def key(self, w, a) -> str:
        return f"{self.name}|{self.inputs_key}|w={w}|a={a}"

    def measure(self, w: str | None, acts: list[str | None]) -> dict:
        """{a: score} for weights `w` (None: fp32) with each activation format (None: fp32);
        the weights are quantized once for all of them."""
        from hwsim.workload.accuracy import quantized

        todo = [a for a in acts if self.key(w, a) not in self.cache]
        if todo:
            rng = np.random.default_rng(SEED)
            outer = nullcontext() if w is None else quantized(self.task.model, recipe(w, None), rng)
            with outer:
                for a in todo:
                    t = time.perf_counter()
                    inner = (
                        nullcontext()
                        if a is None
                        else quantized(self.task.model, recipe(None, a), rng)
                    )
                    with inner, self.torch.no_grad():
                        got = self.task.forward(self.task.model, *self.task.inputs)
                    self.cache[self.key(w, a)] = self._score(got)
                    print(f"{self.name} w={w} a={a}: {self.cache[self.key(w, a)]} "
                          f"({time.perf_counter() - t:.1f} s)", file=sys.stderr)  # fmt: skip
        return {a: self.cache[self.key(w, a)] for a in acts}


def recipe(w: str | None, a: str | None) -> dict:
    """Weights `w` per channel, activations `a` per tensor (None: fp32); attention's K and V
    are activations, so they take `a` too."""
    rule = {}
    if w is not None:
        rule["weights"] = {"format": w, "granularity": "channel"}
    if a is not None:
        rule["activations"] = {"format": a}
    kv = None if a is None else {"format": a}
    rules = [{"kind": kind, "weights": kv} for kind in ("attn_qk", "attn_av")]
    return {"version": 1, "name": f"w_{w}_a_{a}", "default": rule, "rules": rules}


def pareto(points: list[tuple[float, float, str]]) -> set[str]:
    """Labels on the front: no other point has at most the LUTs and more accuracy."""
    return {
        name
        for luts_, acc, name in points
        if not any(
            o_l <= luts_ and o_a > acc or o_l < luts_ and o_a >= acc for o_l, o_a, _ in points
        )
    }


def study(m: Model, arch, full: bool, hardware: bool) -> dict:
    """Marginal scans, the grid, LUTs and Pareto fronts of one model."""
    all_fp = [f for b in BITS for f in minifloats(b)]
    alone_w = {w: m.measure(w, [None])[None]["accuracy"] for w in all_fp}
    alone_a = {a: s["accuracy"] for a, s in m.measure(None, all_fp).items()}
    best_w = {b: max(minifloats(b), key=alone_w.get) for b in BITS}
    best_a = {b: max(minifloats(b), key=alone_a.get) for b in BITS}
    pairs = [(f"int{wb}", f"int{ab}") for wb in BITS for ab in BITS]
    if full:
        pairs += [(w, a) for w in all_fp for a in all_fp]
    else:
        pairs += [(best_w[wb], best_a[ab]) for wb in BITS for ab in BITS]
    by_w: dict[str, list[str]] = {}
    for w, a in pairs:
        by_w.setdefault(w, []).append(a)
    grid = []
    for w, acts in by_w.items():
        for a, score in m.measure(w, acts).items():
            n, fits = luts(w, a, arch, m.k)
            grid.append({"w": w, "a": a, "luts": n, "fits": fits, **score})
    points = [(g["luts"], g["accuracy"], f"{g['w']}/{g['a']}") for g in grid]
    joint = pareto(points)
    own = pareto([p for p in points if family(p[2]) == "int"]) | pareto(
        [p for p in points if family(p[2]) == "fp"]
    )
    for g in grid:
        label = f"{g['w']}/{g['a']}"
        g["front_all"], g["front_own"] = label in joint, label in own
        if hardware and g["front_all"]:
            g["hw"] = m.hardware(g["w"], g["a"])
    return {"k": m.k, "alone_w": alone_w, "alone_a": alone_a, "grid": grid}


def hardware_table(res: dict) -> str:
    """Fake-quant vs hardware accuracy of the joint front's points, and the front again with
    their hardware accuracy in place of fake-quant's (the other points: fake-quant)."""
    rows = sorted((r for r in res["grid"] if "hw" in r), key=lambda r: r["luts"])
    if not rows:
        return ""
    lines = ["| point | kLUTs | fake-quant (grid) | fake-quant (hwsim.evaluate) | hardware | "
             "hw - fake | ops bit-equal | PE |", "|---" * 8 + "|"]  # fmt: skip
    for r in rows:
        h = r["hw"]
        lines.append(f"| {r['w']}/{r['a']} | {r['luts'] / 1000:.0f} | {r['accuracy']:.6f} | "
                     f"{h['fake_eval']:.6f} | {h['hardware']:.6f} | "
                     f"{h['hardware'] - h['fake_eval']:+.1e} | {h['ops_equal']}/{h['ops_total']} "
                     f"| {h['arch'].split('+', 1)[1]} |")  # fmt: skip
    points = [(g["luts"], g["hw"]["hardware"] if "hw" in g else g["accuracy"],
               f"{g['w']}/{g['a']}") for g in res["grid"]]  # fmt: skip
    again = pareto(points)
    before = {f"{r['w']}/{r['a']}" for r in rows}
    left, joined = sorted(before - again), sorted(again - before)
    change = "unchanged" if again == before else f"changed: leaves {left}, joins {joined}"
    lines += ["", f"Joint front with these points' hardware accuracy (the other points keep "
              f"the grid's fake-quant): {change}."]  # fmt: skip
    return "\n".join(lines)


def cell(rows, w, a):
    return next(r for r in rows if r["w"] == w and r["a"] == a)


def grid_table(name: str, res: dict) -> str:
    rows = res["grid"]
    label = "cosine" if name == "minilm-l6" else "1 - TV"
    head = "| W \\ A | " + " | ".join(f"A{b}" for b in BITS) + " |"
    lines = [f"**{name}** (K = {res['k']}): each cell `int: {label} @ kLUTs` over "
             f"`best minifloat pair: {label} @ kLUTs` (bold: on the joint Pareto front)", "",
             head, "|---" * (len(BITS) + 1) + "|"]  # fmt: skip
    for wb in BITS:
        cells = []
        for ab in BITS:
            i = cell(rows, f"int{wb}", f"int{ab}")
            fps = [r for r in rows if family(r["w"]) == "fp" and operand(r["w"]).bits == wb
                   and operand(r["a"]).bits == ab]  # fmt: skip
            f = max(fps, key=lambda r: r["accuracy"])

            def show(r, text):
                s = f"{text}: {r['accuracy']:.3f} @ {r['luts'] / 1000:.0f}k"
                s += "" if r["fits"] else " (no fit)"
                return f"**{s}**" if r["front_all"] else s

            short = f"{f['w'][3:]}/{f['a'][3:]}"
            cells.append(f"{show(i, 'int')}<br>{show(f, short)}")
        lines.append(f"| W{wb} | " + " | ".join(cells) + " |")
    front = sorted((r for r in rows if r["front_all"]), key=lambda r: r["luts"])
    n_int = sum(family(r["w"]) == "int" for r in front)
    lines += ["", f"Joint Pareto front ({len(front)} points, {n_int} integer): "
              + ", ".join(f"{r['w']}/{r['a']}" for r in front)]  # fmt: skip
    return "\n".join(lines)


def alone_table(results: dict) -> str:
    names = list(results)
    lines = ["| split | " + " | ".join(f"{n}: W alone | {n}: A alone" for n in names) + " |"]
    lines.append("|---" * (1 + 2 * len(names)) + "|")
    for b in BITS:
        for f in minifloats(b):
            vals = " | ".join(
                f"{results[n]['alone_w'][f]:.4f} | {results[n]['alone_a'][f]:.4f}" for n in names
            )
            lines.append(f"| {f} | {vals} |")
    return "\n".join(lines)


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(6.5 * len(results), 4.8))
    for ax, (name, res) in zip(np.atleast_1d(axes), results.items()):
        rows = res["grid"]
        for fam, marker, color, text in (("int", "o", "tab:blue", "integer"),
                                          ("fp", "^", "tab:orange", "minifloat")):  # fmt: skip
            own = [r for r in rows if family(r["w"]) == fam]
            ax.scatter([r["luts"] for r in own], [r["accuracy"] for r in own], marker=marker,
                       color=color, s=14, alpha=0.7, label=text)  # fmt: skip
            front = sorted((r for r in own if r["front_own"]), key=lambda r: r["luts"])
            ax.step([r["luts"] for r in front], [r["accuracy"] for r in front], where="post",
                    color=color, alpha=0.8)  # fmt: skip
        hw = [r for r in rows if "hw" in r]
        if hw:
            y = [r["hw"]["hardware"] for r in hw]
            ax.scatter([r["luts"] for r in hw], y, marker="s", facecolors="none",
                       edgecolors="k", s=40, label="front: hardware")  # fmt: skip
        for r in rows:
            if r["front_all"]:
                ax.annotate(f"{r['w']}/{r['a']}".replace("fp_", ""), (r["luts"], r["accuracy"]),
                            fontsize=6)  # fmt: skip
        ax.set_xscale("log")
        ax.set_xlabel("LUTs, 768-PE x 2-lane MAC array (XCZU7EV, multipliers in LUTs)")
        ax.set_ylabel("embedding cosine vs fp32" if name == "minilm-l6" else "1 - TV vs fp32")
        ax.set_title(f"{name}: W x A, 3-8 bits; Pareto fronts (steps) per family")
        ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


NOTE = """\
What agrees and why the rest differs.
- EfficientNet-Lite0 (vision, ReLU6-bounded activations: the paper's kind of workload)
  agrees with the paper: every point of its joint front is an integer pair, from int3/int3
  to int8/int8. At equal widths the best minifloat pair is both less accurate (its weights
  and activations lose more with a 2-bit exponent than with a uniform grid under
  round-to-nearest) and larger (the Kulisch accumulator grows as 2^E).
- MiniLM agrees at the cheap end (int3/int3 ... int4/int8, up to ~92k LUTs) and differs
  above: E2 weights with E3 activations take the upper front. MiniLM's FFN inputs are
  heavy-tailed (kurtosis in the thousands) and hwsim quantizes activations per tensor with
  plain round-to-nearest, so a 3-bit exponent spans them where a uniform grid does not. The
  paper applies PTQ (weight equalisation, bias correction, SmoothQuant, learned rounding,
  GPTQ), which tames such outliers for integers, and measures ImageNet top-1 on vision
  models; hwsim measures fidelity to fp32 on 4 sentences / 4 images, so its fronts are
  noisier (a 1-TV of 0.1-0.3 at 3-4 bits is near chance for these images).
- The paper's own FPGA cost model: not implemented, because not found. Its abstract says it
  evaluates "against an FPGA-based hardware cost model" built on "a custom FPGA-based
  multiply-accumulate operator library"; no LUT formula for a minifloat MAC was found in the
  stored sources searched (the arXiv 2311.12359 abstract pages, and Xilinx/brevitas, whose
  PTQ examples carry no hardware cost model). hwsim's minifloat LUTs come from its own
  component model (FINN's LUT multiplier for the significands, carry-chain adders, LUT6
  multiplexers, a Kulisch accumulator), so absolute LUTs differ from the paper's.
- A second LUT-multiplier model: hls4ml 1.3.0 publishes none. Its only resource estimate of a
  multiply (hls4ml/optimization/dsp_aware_pruning/objectives/vivado_objectives.py,
  VivadoDSPEstimator) counts one DSP per multiplication per reuse factor for weights of at
  least 9 bits and none below ("Vivado doesn't use DSP when precision < 9"), with no LUT
  count, so FINN's formula (finn custom_op fpgadataflow lut_estimation:
  (2 ceil((W + A) / 6) - 1)(W + A)) is the only one used.
- As the hardware computes (the tables under each grid): on every joint-front point of both
  models the hardware column equals hwsim.evaluate's own fake-quant column exactly, as it
  must where the accumulator cannot lose a bit: the INT MACs accumulate in W + A +
  ceil(log2 K) bits (no overflow possible) and the minifloat MACs in a Kulisch register
  (exact), and every op agrees bit for bit (49/49, 50/50). So the front does not move when
  its points are computed on the PE.
- The grid's fake-quant (hwsim.workload.accuracy.quantized) and hwsim.evaluate's differ by up
  to 0.037 on the fronts (MiniLM int3/int4: 0.334 vs 0.370), though both now take one scale
  per module input (hwsim.evaluate quantizes all heads and conv groups of a module as one
  tensor since commit c6947d8). What differs is the arithmetic between the quantizers: the
  grid multiplies in torch fp32, hwsim.evaluate in float64 with one fp32 rounding per output,
  and requantizing every layer's input to 3-8 bits per tensor turns last-bit differences into
  different codes downstream. Measured: the same grid point computed in float64 torch gives
  0.317 (MiniLM int3/int4); EfficientNet's grid, whose fp32 convolutions sum in an order that
  follows the thread count, moves by up to 0.046 between OMP_NUM_THREADS=1 and 2 (fp_e3m1
  activations alone: 0.513 vs 0.467; front point int5/int4: 0.390 vs 0.400), while
  hwsim.evaluate's columns agree to 1e-8 (the fp32 reference's own thread dependence) and
  MiniLM's grid does not move. The tables above are the default (2-thread) run. The grid
  stays on the fake path (its 144 points at 1-15 s a hardware evaluation are left out); the
  recomputed front mixes the two, so its "unchanged" holds for these points, not for a grid
  fully re-measured on the hardware. fpga_zcu104's own PE (fixed_point) takes only ap_fixed
  operands (intB and fp_eEmM are refused by its loader check), so the hardware column runs
  the PE the LUTs price, int_mac or float_mac(kulisch), on the otherwise unchanged arch.
- Run time, cold (`--no-cache`), AMD EPYC (Zen 5) with 2 cores (2026-12-02): 388 s wall with
  2 threads beside another 2-thread job (`python -m hwsim.eval.table`), 119 s with
  OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 beside a 1-thread job; the 25 hardware evaluations
  are 1-15 s each (EfficientNet-Lite0 the longest). A rerun reads the cache and takes seconds.
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="write minifloat_fpga.md and .png")
    ap.add_argument("--no-cache", action="store_true", help="re-measure every point")
    ap.add_argument("--full", action="store_true", help="every split pair in the grid")
    ap.add_argument("--no-hardware", action="store_true",
                    help="skip the hardware column of the joint fronts")  # fmt: skip
    args = ap.parse_args()
    cache_path = CACHE / "minifloat_fpga.json"
    cache = {} if args.no_cache or not cache_path.is_file() else json.loads(cache_path.read_text())
    arch, results, t0 = lut_arch(), {}, time.perf_counter()
    try:
        for name in ("minilm-l6", "efficientnet-lite0"):
            results[name] = study(Model(name, cache), arch, args.full, not args.no_hardware)
    finally:
        CACHE.mkdir(parents=True, exist_ok=True)
        cache_path.write_text(json.dumps(cache, indent=0, sort_keys=True))
    wall = time.perf_counter() - t0
    text = "\n\n".join(
        grid_table(n, r)
        + (f"\n\n{n}: the joint front as the hardware computes it\n\n{t}" if t else "")
        for n, r in results.items()
        for t in [hardware_table(r)]
    )
    alone = alone_table(results)
    print(text + "\n\nEach minifloat split alone (the other operand fp32):\n\n" + alone)
    print(f"wall {wall:.0f} s", file=sys.stderr)
    if args.write:
        here = Path(__file__)
        plot(results, here.with_suffix(".png"))
        here.with_suffix(".md").write_text(
            "# Minifloats vs integers on an FPGA: weights x activations (hwsim)\n\n"
            "Generated by `python reports/paper/minifloat_fpga.py --write` (what is measured "
            "and how the grid is subsampled: the script's docstring).\n\n"
            f"Paper: {PAPER}\n\n![Pareto fronts per model](minifloat_fpga.png)\n\n{text}\n\n"
            f"Each minifloat split alone (the other operand fp32; accuracy as above):\n\n"
            f"{alone}\n\n{NOTE}"
        )
        print(f"wrote {here.with_suffix('.md')}", file=sys.stderr)


if __name__ == "__main__":
    main()
