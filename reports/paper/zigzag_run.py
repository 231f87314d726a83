"""Run ZigZag on hwsim's ResNet-18 and TPU-like array; write reports/paper/zigzag_results.json.

    python reports/paper/zigzag_run.py --zigzag-python /path/to/venv/bin/python

Needs zigzag-dse 3.9.1 (the committed results' version) and `six` in the environment of
--zigzag-python (default: this Python); hwsim itself is read from this checkout.
reports/paper/zigzag_validation.py reads the JSON, so the comparison regenerates without
ZigZag installed.

Both sides describe the same hardware, built here from hwsim's own files:
  array      hwsim/data/arch/tpu_int8.yaml: 256 x 256 INT8 MACs, weight-stationary, systolic
             (ZigZag: D1 = output channels K, as hwsim's columns; D2 = the reduction C x FY x
             FX, as hwsim's rows, unrolled as far as whole divisors of C, FY, FX reach 256)
  memories   a per-PE weight register and 32-bit output register (ZigZag needs them to keep
             a weight stationary and a partial sum local; priced 0, as hwsim prices a PE's
             registers per MAC), weight_fifo (weights), unified_buffer (inputs),
             accumulators (outputs), DRAM holding all three; sizes, port widths (the
             levels' read / write bytes per cycle) and the DRAM channel (48.6 B/cycle,
             rounded up to 389 bit) from the arch file
  energy     per bit as hwsim prices it (hwsim.cost.energy: Horowitz bank fit at 28 nm per
             SRAM level, 70 pJ/bit DDR3), given to ZigZag as pJ per widest access (ZigZag
             counts accesses of its port width); the MAC at hwsim's datapath pJ per MAC
  workload   hwsim's `resnet-18:infer:224` card, its 20 convolutions (native 7-loop form,
             with stride and padding) and the fc GEMM; ZigZag has no vector unit, so the
             norm / activation / pooling / residual ops stay on hwsim's side only
ZigZag searches the temporal mapping (LOMA, lpf_limit 6) per layer, once for latency and once
for energy. Outputs: per layer its loop sizes, latency (cycles, split as ZigZag reports it),
energy (MAC and memory per operand and level) and chosen mappings.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = HERE / "zigzag_results.json"
ARCH = "tpu_int8"
WORKLOAD = "resnet-18:infer:224"
OBJECTIVES = ("latency", "energy")
LPF_LIMIT = 6
ACC_BITS = 32  # partial sums in the TPU's 32-bit accumulators


# ---- hwsim side: build ZigZag's three input files (runs in hwsim's environment) ------------


def layer_shapes(workload) -> list[dict]:
    """Loop sizes of every array op of the hwsim workload, in ZigZag's loop names."""
    out = []
    for op in workload.ops:
        if op.kind == "conv":
            c = op.conv
            images = op.M // (c.out_hw[0] * c.out_hw[1])
            out.append(
                {
                    "name": op.name,
                    "operator_type": "Conv",
                    "B": images,
                    "K": c.out_channels,
                    "C": c.in_channels // c.groups,
                    "OY": c.out_hw[0],
                    "OX": c.out_hw[1],
                    "FY": c.kernel[0],
                    "FX": c.kernel[1],
                    "stride": list(c.stride),
                    "padding": list(c.padding),
                    "in_hw": list(c.in_hw),
                }
            )
        elif op.kind == "gemm":
            out.append(
                {
                    "name": op.name,
                    "operator_type": "Gemm",
                    "B": op.M * op.batch,
                    "K": op.N,
                    "C": op.K,
                }
            )
    return out


def zigzag_layer(i: int, s: dict, bits: dict) -> dict:
    prec = {"W": bits["w"], "I": bits["a"], "O": ACC_BITS, "O_final": bits["a"]}
    source = {"W": i, "I": i - 1 if i else i}
    if s["operator_type"] == "Gemm":
        return {
            "id": i,
            "name": s["name"],
            "operator_type": "Gemm",
            "equation": "O[b][k]+=W[k][c]*I[b][c]",
            "loop_dims": ["B", "K", "C"],
            "loop_sizes": [s["B"], s["K"], s["C"]],
            "operand_precision": prec,
            "operand_source": source,
        }
    (sy, sx), (py, px) = s["stride"], s["padding"]
    return {
        "id": i,
        "name": s["name"],
        "operator_type": "Conv",
        "equation": "O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][iy][ix]",
        "dimension_relations": [f"ix={sx}*ox+1*fx", f"iy={sy}*oy+1*fy"],
        "loop_dims": ["B", "K", "C", "OY", "OX", "FY", "FX"],
        "loop_sizes": [s[d] for d in ("B", "K", "C", "OY", "OX", "FY", "FX")],
        "operand_precision": prec,
        "operand_source": source,
        "pr_loop_dims": ["IY", "IX"],
        "pr_loop_sizes": list(s["in_hw"]),
        "padding": [[py, py], [px, px]],
    }


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def reduction_unrolling(s: dict, rows: int) -> list[tuple[str, int]]:
    """Whole divisors of C, FY, FX whose product is largest within the array's rows (hwsim
    packs the flattened C*FY*FX reduction onto the rows; ZigZag unrolls loop factors)."""
    dims = ["C"] + (["FY", "FX"] if s["operator_type"] == "Conv" else [])
    best: tuple[int, tuple] = (0, ())
    for combo in _products([divisors(s[d]) for d in dims]):
        p = math.prod(combo)
        if p <= rows and p > best[0]:
            best = (p, combo)
    return [(d, f) for d, f in zip(dims, best[1], strict=True) if f > 1] or [("C", 1)]


def _products(choices: list[list[int]]):
    if not choices:
        yield ()
        return
    for first in choices[0]:
        for rest in _products(choices[1:]):
            yield (first, *rest)


def zigzag_mapping(shapes: list[dict], rows: int, cols: int) -> list[dict]:
    links = {"O": "O", "W": "I2", "I": "I1"}
    out = []
    for s in shapes:
        k = max(d for d in divisors(s["K"]) if d <= cols)
        d2 = reduction_unrolling(s, rows)
        out.append(
            {
                "name": s["name"],
                "spatial_mapping": {"D1": [f"K, {k}"], "D2": [f"{d}, {f}" for d, f in d2]},
                "memory_operand_links": dict(links),
            }
        )
    out.append(
        {
            "name": "default",
            "spatial_mapping": {"D1": ["K, 1"]},
            "memory_operand_links": dict(links),
        }
    )
    return out


def _port(name: str, kind: str, bits: int, allocation: list[str]) -> dict:
    return {
        "name": name,
        "type": kind,
        "bandwidth_min": 8,
        "bandwidth_max": bits,
        "allocation": allocation,
    }


def _memory(size_bits, pj_per_bit, operands, ports, served) -> dict:
    width = max(p["bandwidth_max"] for p in ports)
    return {
        "size": int(size_bits),
        "r_cost": pj_per_bit * width,
        "w_cost": pj_per_bit * width,
        "area": 0,
        "latency": 1,
        "operands": operands,
        "ports": ports,
        "served_dimensions": served,
    }


def zigzag_accelerator(arch, pe_pj_per_mac: float, sram_pj: dict, dram_pj: float) -> dict:
    """ZigZag's accelerator dict for hwsim's `arch` (one array; levels by operand)."""
    arr = arch.pe_array
    op_of = {"weights": "I2", "inputs": "I1", "outputs": "O"}
    w_reg = _memory(
        8,
        0.0,
        ["I2"],
        [_port("r_port_1", "read", 8, ["I2, tl"]), _port("w_port_1", "write", 8, ["I2, fh"])],
        [],
    )
    o_reg = _memory(
        ACC_BITS,
        0.0,
        ["O"],
        [
            _port("r_port_1", "read", ACC_BITS, ["O, tl"]),
            _port("r_port_2", "read", ACC_BITS, ["O, th"]),
            _port("w_port_1", "write", ACC_BITS, ["O, fh"]),
            _port("w_port_2", "write", ACC_BITS, ["O, fl"]),
        ],
        [],
    )
    memories = {"w_reg": w_reg, "o_reg": o_reg}
    for level in arch.memory:
        (operand,) = level.operands  # tpu_int8: one operand per level
        zz = op_of[operand]
        if zz == "O":  # partial sums go both ways
            rd, wr = ["O, tl", "O, th"], ["O, fh", "O, fl"]
        else:
            rd, wr = [f"{zz}, tl"], [f"{zz}, fh"]
        ports = [
            _port("r_port_1", "read", int(level.read_bytes_per_cycle * 8), rd),
            _port("w_port_1", "write", int(level.write_bytes_per_cycle * 8), wr),
        ]
        memories[level.name] = _memory(
            level.size_bytes * 8, sram_pj[level.name], [zz], ports, ["D1", "D2"]
        )
    dram_bits = math.ceil(arch.dram.bytes_per_cycle * 8)
    alloc = [f"{o}, {d}" for o in ("I1", "I2") for d in ("fh", "tl")]
    alloc += [f"O, {d}" for d in ("fh", "tl", "fl", "th")]
    memories["dram"] = _memory(
        10**12,
        dram_pj,
        ["I1", "I2", "O"],
        [_port("rw_port_1", "read_write", dram_bits, alloc)],
        ["D1", "D2"],
    )
    return {
        "name": f"{arch.name}_from_hwsim",
        "memories": memories,
        "operational_array": {
            "unit_energy": pe_pj_per_mac,
            "unit_area": 1.0,
            "dimensions": ["D1", "D2"],
            "sizes": [arr.cols, arr.rows],  # D1 = hwsim's columns (K), D2 = its rows
            "systolic_dimensions": ["D1", "D2"] if arr.systolic else [],
        },
    }


def build_inputs(out_dir: Path) -> dict:
    """Write accelerator.yaml, mapping.yaml and workload.yaml for ZigZag; return their facts."""
    sys.path.insert(0, str(ROOT))
    import yaml

    import hwsim
    from hwsim.cost import arch_datapath, energy_scale, load_profile
    from hwsim.cost.asic import datapath_pj
    from hwsim.cost.energy import dram_pj_per_bit, sram_pj_per_bit

    arch = hwsim.load_arch(ARCH)
    prof = load_profile(arch.technology.profile)
    scale = energy_scale(prof.node_nm, arch.technology.node_nm)
    pe_pj = sum(datapath_pj(arch_datapath(arch), prof, scale).values())
    sram_pj = {lv.name: sram_pj_per_bit(lv, prof, scale) for lv in arch.memory}
    dram_pj = dram_pj_per_bit(arch, prof)
    shapes = layer_shapes(hwsim.load_workload(WORKLOAD))
    bits = {"w": int(arch.precision.weight_bits), "a": arch.precision.activation_bits}
    files = {
        "accelerator.yaml": zigzag_accelerator(arch, pe_pj, sram_pj, dram_pj),
        "mapping.yaml": zigzag_mapping(shapes, arch.pe_array.rows, arch.pe_array.cols),
        "workload.yaml": [zigzag_layer(i, s, bits) for i, s in enumerate(shapes)],
    }
    for name, doc in files.items():
        (out_dir / name).write_text(yaml.safe_dump(doc, sort_keys=False))
    return {
        "arch": ARCH,
        "workload": WORKLOAD,
        "pe_pj_per_mac": pe_pj,
        "sram_pj_per_bit": sram_pj,
        "dram_pj_per_bit": dram_pj,
        "dram_bits_per_cycle": math.ceil(arch.dram.bytes_per_cycle * 8),
        "shapes": shapes,
        "zigzag_inputs": {name: doc for name, doc in files.items()},
    }


# ---- ZigZag side (runs in ZigZag's environment; imports nothing of hwsim) -----------------


def _per_level(breakdown: dict, names: dict) -> dict:
    out = {}
    for operand, levels in breakdown.items():
        for name, pj in zip(names[str(operand)], levels, strict=True):
            out[f"{operand}@{name}"] = float(pj)
    return out


def evaluate(in_dir: Path, out_json: Path) -> None:
    """Run ZigZag on the three files in `in_dir` for each objective; dump per-layer figures."""
    import logging
    import time
    from importlib.metadata import version

    from zigzag.api import get_hardware_performance_zigzag

    logging.disable(logging.WARNING)
    results = {"zigzag_version": version("zigzag-dse"), "lpf_limit": LPF_LIMIT, "runs": {}}
    for objective in OBJECTIVES:
        start = time.process_time()
        with tempfile.TemporaryDirectory() as dump:
            energy, latency, cmes = get_hardware_performance_zigzag(
                workload=str(in_dir / "workload.yaml"),
                accelerator=str(in_dir / "accelerator.yaml"),
                mapping=str(in_dir / "mapping.yaml"),
                opt=objective,
                dump_folder=dump,
                lpf_limit=LPF_LIMIT,
                loma_show_progress_bar=False,
            )
        layers = []
        for cme, _ in cmes[0][1]:
            hier = cme.accelerator.memory_hierarchy
            names = {
                str(lop): [
                    lv.name
                    for lv in hier.get_memory_levels(cme.memory_operand_links.layer_to_mem_op(lop))
                ]
                for lop in cme.layer.layer_operands
            }
            layers.append(
                {
                    "name": cme.layer.name,
                    "loop_sizes": {str(d): int(s) for d, s in cme.layer.layer_dim_sizes.items()},
                    "macs": int(cme.layer.total_mac_count),
                    "latency_cycles": float(cme.latency_total2),
                    "ideal_temporal_cycles": float(cme.ideal_temporal_cycle),
                    "stall_slack_cycles": float(cme.stall_slack_comb),
                    "onloading_cycles": float(cme.data_onloading_cycle),
                    "offloading_cycles": float(cme.data_offloading_cycle),
                    "systolic_drain_cycles": float(cme.systolic_drain_cycle),
                    "spatial_utilisation": float(cme.mac_spatial_utilization),
                    "energy_pj": float(cme.energy_total),
                    "mac_energy_pj": float(cme.mac_energy),
                    "memory_energy_pj": _per_level(cme.mem_energy_breakdown, names),
                    "spatial_mapping": str(cme.layer.spatial_mapping),
                    "temporal_mapping": str(cme.temporal_mapping).strip(),
                }
            )
        results["runs"][objective] = {
            "energy_pj": float(energy),
            "latency_cycles": float(latency),
            "cpu_s": round(time.process_time() - start, 1),
            "layers": layers,
        }
    out_json.write_text(json.dumps(results))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zigzag-python", default=sys.executable, help="a Python with zigzag-dse")
    ap.add_argument("--evaluate", nargs=2, metavar=("IN_DIR", "OUT_JSON"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.evaluate:
        evaluate(Path(args.evaluate[0]), Path(args.evaluate[1]))
        return
    probe = subprocess.run([args.zigzag_python, "-c", "import zigzag, six"], capture_output=True)
    if probe.returncode:
        sys.exit(
            f"zigzag_run.py: error: {args.zigzag_python} cannot import zigzag and six; expected "
            "a Python with `pip install zigzag-dse==3.9.1 six` (--zigzag-python)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        facts = build_inputs(Path(tmp))
        out = Path(tmp) / "zigzag.json"
        cmd = [args.zigzag_python, __file__, "--evaluate", tmp, str(out)]
        subprocess.run(cmd, check=True)
        facts.update(json.loads(out.read_text()))
    RESULTS.write_text(json.dumps(facts, indent=1) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)} (zigzag-dse {facts['zigzag_version']})")


if __name__ == "__main__":
    main()
