"""hwsim against ZigZag: ResNet-18 on the TPU-like array, latency and energy per layer.

    python reports/paper/zigzag_validation.py           # prints the tables
    python reports/paper/zigzag_validation.py --write   # also rewrites the tables section of
                                                        # reports/paper/zigzag_validation.md

Runs hwsim here (hwsim/data/arch/tpu_int8.yaml, `resnet-18:infer:224`): the fixed mapping in
event and analytic mode, and the mapper (`objective` latency and energy, event mode). ZigZag's
figures come from reports/paper/zigzag_results.json, which reports/paper/zigzag_run.py writes
where zigzag-dse is installed (it also records the exact inputs ZigZag was given). Only the
array ops are compared (ZigZag has no vector unit); hwsim's vector-op cycles and its leakage
are listed apart. hwsim energies here are dynamic: its action counts priced per op
(hwsim.cost.energy.price_counts), without leakage.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

import hwsim  # noqa: E402
from hwsim.cost import arch_datapath, energy_scale, load_profile  # noqa: E402
from hwsim.cost.asic import datapath_pj  # noqa: E402
from hwsim.cost.energy import price_counts  # noqa: E402

MD = HERE / "zigzag_validation.md"
BEGIN, END = "<!-- tables:begin -->", "<!-- tables:end -->"
RUNS = {  # label -> simulate() keywords
    "fixed, event": {"mode": "event"},
    "fixed, analytic": {"mode": "analytic"},
    "mapper latency, event": {"mode": "event", "objective": "latency"},
    "mapper energy, event": {"mode": "event", "objective": "energy"},
}
LOOP_DIMS = ("B", "K", "C", "OY", "OX", "FY", "FX")


def _zigzag_run():
    spec = importlib.util.spec_from_file_location("zigzag_run", HERE / "zigzag_run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


ZR = _zigzag_run()


def load_results(path: Path = ZR.RESULTS) -> dict:
    return json.loads(path.read_text())


def shape_mismatches(results: dict, workload) -> list[str]:
    """Where the layers ZigZag evaluated differ from hwsim's array ops of `workload` (names,
    loop sizes as ZigZag itself reported them, MACs; and stride, padding and input size in the
    workload it was given); [] when they are the same layers."""
    want = ZR.layer_shapes(workload)
    macs = {op.name: op.macs * op.batch for op in workload.ops if op.kind in ("conv", "gemm")}
    out = []
    for objective, run in results["runs"].items():
        got = run["layers"]
        if [g["name"] for g in got] != [w["name"] for w in want]:
            out.append(f"{objective}: layers {[g['name'] for g in got]} != hwsim's")
            continue
        for g, w in zip(got, want, strict=True):
            sizes = {d: g["loop_sizes"].get(d, 1) for d in LOOP_DIMS}
            expect = {d: w.get(d, 1) for d in LOOP_DIMS}
            if sizes != expect:
                out.append(f"{objective}: {g['name']}: ZigZag {sizes} != hwsim {expect}")
            if g["macs"] != macs[g["name"]]:
                out.append(
                    f"{objective}: {g['name']}: ZigZag {g['macs']} MACs != {macs[g['name']]}"
                )
    given = results["zigzag_inputs"]["workload.yaml"]
    prec = hwsim.load_arch(ZR.ARCH).precision
    bits = {"w": int(prec.weight_bits), "a": prec.activation_bits}
    keys = (
        "name",
        "loop_sizes",
        "dimension_relations",
        "pr_loop_sizes",
        "padding",
        "operand_precision",
    )
    for i, (g, w) in enumerate(zip(given, want, strict=False)):
        expect = ZR.zigzag_layer(i, w, bits)
        for key in keys:
            if g.get(key) != expect.get(key):
                out.append(f"input {g['name']}: {key} {g.get(key)} != hwsim's {expect.get(key)}")
    if len(given) != len(want):
        out.append(f"input: {len(given)} layers != hwsim's {len(want)}")
    return out


def run_hwsim() -> dict:
    """Per label of RUNS: per array op its cycles parts and dynamic energy by component."""
    wl = hwsim.load_workload(ZR.WORKLOAD)
    out = {}
    for label, kw in RUNS.items():
        st = hwsim.simulate(ZR.ARCH, wl, **kw)
        prof = load_profile(st.profile)
        scale = energy_scale(prof.node_nm, st.arch.technology.node_nm)
        pe_per_mac = datapath_pj(arch_datapath(st.arch), prof, scale)
        ops, vector_cycles = {}, 0
        for row, counts in zip(st.op_rows, st.op_counts, strict=True):
            if row.kind == "vector":
                vector_cycles += row.cycles * row.repeat
                continue
            parts, _ = price_counts(counts, st.arch, prof, pe_per_mac)
            ops[row.op] = {
                "cycles": row.cycles * row.repeat,
                "compute": row.compute_cycles * row.repeat,
                "fill_drain": row.fill_drain_cycles * row.repeat,
                "stall": row.stall_cycles * row.repeat,
                "dram_cycles": row.dram_cycles,
                "bound": row.bound,
                "mapping": row.mapping,
                "energy_pj": sum(parts.values()) * row.repeat,
                "parts": parts,
            }
        out[label] = {
            "ops": ops,
            "vector_cycles": vector_cycles,
            "leakage_pj": st.energy_breakdown_pj.get("leakage", 0.0),
            "cycles": st.cycles,
        }
    return out


def _shape(s: dict) -> str:
    if s["operator_type"] == "Gemm":
        return f"gemm {s['B']}x{s['C']}x{s['K']}"
    return f"{s['C']}->{s['K']} {s['FY']}x{s['FX']}/{s['stride'][0]} @{s['OY']}x{s['OX']}"


def _level_totals_hwsim(ops: dict) -> dict:
    out: dict[str, float] = {}
    for o in ops.values():
        for k, v in o["parts"].items():
            key = (
                "MAC" if k.startswith("pe") else "DRAM" if k == "dram" else k.removeprefix("sram:")
            )
            out[key] = out.get(key, 0.0) + v
    return out


def _level_totals_zigzag(layers: list) -> dict:
    out: dict[str, float] = {"MAC": sum(layer["mac_energy_pj"] for layer in layers)}
    for layer in layers:
        for key, v in layer["memory_energy_pj"].items():
            level = key.split("@")[1]
            level = "DRAM" if level == "dram" else level
            out[level] = out.get(level, 0.0) + v
    return out


def tables(hw: dict, zz: dict) -> str:
    shapes = {s["name"]: s for s in zz["shapes"]}
    lat, en = zz["runs"]["latency"]["layers"], zz["runs"]["energy"]["layers"]
    fe, fa = hw["fixed, event"]["ops"], hw["fixed, analytic"]["ops"]
    lines = [
        f"ZigZag: zigzag-dse {zz['zigzag_version']} (LOMA, lpf_limit {zz['lpf_limit']}); "
        f"hwsim: this checkout, arch `{zz['arch']}`, workload `{zz['workload']}`.",
        "",
        "### Per layer",
        "",
        "Cycles: hwsim event and analytic (fixed mapping) against ZigZag's latency-optimal "
        "mapping (`latency_total2`); energy (µJ, dynamic): hwsim fixed against ZigZag's "
        "energy-optimal mapping.",
        "",
        "| layer | shape (C->K FYxFX/stride @OYxOX) | hwsim event | hwsim analytic | ZigZag "
        "| ZigZag / event | hwsim bound | hwsim µJ | ZigZag µJ | ZigZag / hwsim |",
        "|---|---|--:|--:|--:|--:|---|--:|--:|--:|",
    ]
    for z_l, z_e in zip(lat, en, strict=True):
        name = z_l["name"]
        h, a = fe[name], fa[name]
        lines.append(
            f"| {name} | {_shape(shapes[name])} | {h['cycles']:,} | {a['cycles']:,} "
            f"| {z_l['latency_cycles']:,.0f} | {z_l['latency_cycles'] / h['cycles']:.2f} "
            f"| {h['bound']} | {h['energy_pj'] / 1e6:,.1f} | {z_e['energy_pj'] / 1e6:,.1f} "
            f"| {z_e['energy_pj'] / h['energy_pj']:.2f} |"
        )
    lines += [
        "",
        "### Whole network (array ops)",
        "",
        "| run | cycles | energy (µJ, dynamic) | layers whose mapping differs from fixed |",
        "|---|--:|--:|--:|",
    ]
    for label, run in hw.items():
        cyc = sum(o["cycles"] for o in run["ops"].values())
        pj = sum(o["energy_pj"] for o in run["ops"].values())
        moved = sum(
            1
            for n, o in run["ops"].items()
            if o["mapping"].split(":", 1)[1] != fe[n]["mapping"].split(":", 1)[1]
        )
        lines.append(f"| hwsim {label} | {cyc:,} | {pj / 1e6:,.1f} | {moved} |")
    for objective, run in zz["runs"].items():
        cyc = sum(layer["latency_cycles"] for layer in run["layers"])
        lines.append(
            f"| ZigZag {objective}-optimal | {cyc:,.0f} | {run['energy_pj'] / 1e6:,.1f} | - |"
        )
    same = sum(x["temporal_mapping"] == y["temporal_mapping"] for x, y in zip(lat, en, strict=True))
    cpu = ", ".join(f"{o} {r['cpu_s']} s" for o, r in zz["runs"].items() if "cpu_s" in r)
    lines += [
        "",
        f"ZigZag's latency- and energy-optimal searches chose the same temporal mapping in "
        f"{same} of {len(lat)} layers" + (f"; its search took {cpu} of CPU." if cpu else "."),
    ]
    vec = hw["fixed, event"]["vector_cycles"]
    leak = hw["fixed, event"]["leakage_pj"]
    lines += [
        "",
        f"Left out above (hwsim only): vector ops {vec:,} cycles; leakage "
        f"{leak / 1e6:,.1f} µJ (fixed, event). hwsim's whole-workload total is "
        f"{hw['fixed, event']['cycles']:,} cycles.",
        "",
        "### Energy by level (µJ, whole network)",
        "",
        "| level | hwsim fixed | ZigZag energy-optimal | ZigZag latency-optimal |",
        "|---|--:|--:|--:|",
    ]
    hl = _level_totals_hwsim(fe)
    ze, zl = _level_totals_zigzag(en), _level_totals_zigzag(lat)
    for level in ("MAC", "weight_fifo", "unified_buffer", "accumulators", "w_reg", "o_reg", "DRAM"):
        lines.append(
            f"| {level} | {hl.get(level, 0) / 1e6:,.1f} | {ze.get(level, 0) / 1e6:,.1f} "
            f"| {zl.get(level, 0) / 1e6:,.1f} |"
        )
    lines += [
        "",
        "### Cycles by cause (whole network, array ops)",
        "",
        "| hwsim fixed, event | cycles | ZigZag latency-optimal | cycles |",
        "|---|--:|---|--:|",
    ]
    hparts = [(k, sum(o[k] for o in fe.values())) for k in ("compute", "fill_drain", "stall")]
    zparts = [
        (k.removesuffix("_cycles"), sum(layer[k] for layer in lat))
        for k in (
            "ideal_temporal_cycles",
            "stall_slack_cycles",
            "onloading_cycles",
            "offloading_cycles",
            "systolic_drain_cycles",
        )
    ]
    for i in range(max(len(hparts), len(zparts))):
        hk, hv = hparts[i] if i < len(hparts) else ("", None)
        zk, zv = zparts[i]
        lines.append(f"| {hk} | {'' if hv is None else f'{hv:,}'} | {zk} | {zv:,.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    zz = load_results()
    wl = hwsim.load_workload(ZR.WORKLOAD)
    bad = shape_mismatches(zz, wl)
    if bad:
        sys.exit("zigzag_results.json does not match hwsim's workload:\n" + "\n".join(bad))
    text = tables(run_hwsim(), zz)
    print(text)
    if "--write" in sys.argv:
        doc = MD.read_text()
        head, _, rest = doc.partition(BEGIN)
        _, _, tail = rest.partition(END)
        if not rest:
            sys.exit(f"{MD.name}: no {BEGIN} ... {END} section to fill")
        MD.write_text(f"{head}{BEGIN}\n{text}{END}{tail}")
        print(f"wrote {MD.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
