"""Simulator speed: whole workloads through the event engine, and per-GEMM pace vs SCALE-Sim.

    python benchmarks/bench_sim.py [--scalesim-python PATH]

1. LLaMA-2-7B prefill-256 (32 layers + lm_head, shapes only), event mode, on the 32x32 arrays
   of the shipped archs bitmod (512 KiB buffers: ~70 tiles per GEMM) and scalesim (SCALE-Sim's
   64 KB SRAMs: up to 16,384 tiles per GEMM): target < 10 s wall.
2. ResNet-50 (224x224, batch 1), same archs, event mode: target < 2 s wall.
3. Per-GEMM pace: CPU time for the same GEMM, SCALE-Sim 3.0.0's over hwsim event mode's (each
   simulator's own cycle count differs, so the ratio is of times for the same work, not of
   cycles per second). `--scalesim-python` names an interpreter that can import scalesim
   (scalesim 3.0.0 needs numpy < 2.3:
   `python -m venv /tmp/ssenv && /tmp/ssenv/bin/pip install scalesim==3.0.0 "numpy<2.3"`),
   run in the same process tree on the same GEMMs. Without one, SCALE-Sim's time is estimated
   from its commonly measured pace of ~4,000 simulated cycles per CPU-second (traces on)
   applied to its own Total Cycles, and the line says so. Target: >= 1000x.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import hwsim  # noqa: E402
from hwsim.workload.op import Op, Workload  # noqa: E402

ARCH = ROOT / "hwsim" / "data" / "arch" / "scalesim.yaml"
WHOLE = ("bitmod.yaml", "scalesim.yaml")
GEMMS = ((128, 128, 128), (256, 256, 256), (512, 512, 512))
PUBLISHED_PACE = 4000.0  # SCALE-Sim v2 cycles per CPU-second, traces on

SCALESIM_CFG = """\
[general]
run_name = bench
[architecture_presets]
ArrayHeight: 32
ArrayWidth: 32
IfmapSramSzkB: 64
FilterSramSzkB: 64
OfmapSramSzkB: 64
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Bandwidth: 10
Dataflow: os
MemoryBanks: 1
ReadRequestBuffer: 32
WriteRequestBuffer: 32
[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2
[sparsity]
SparsitySupport: false
SparseRep: ellpack_block
OptimizedMapping: false
BlockSize: 8
RandomNumberGeneratorSeed: 40
[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""

SCALESIM_RUN = """\
import json, sys, time
from scalesim.scale_sim import scalesim
s = scalesim(save_disk_space=True, verbose=False, config=sys.argv[1], topology=sys.argv[2],
             layout=sys.argv[3], input_type_gemm=True)
t = time.process_time()
s.run_scale(top_path=sys.argv[4])
print(json.dumps({"cpu_s": time.process_time() - t}))
"""


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def scalesim_time(python: str, m: int, n: int, k: int) -> tuple[float, int]:
    """(CPU seconds, Total Cycles) of SCALE-Sim on one GEMM."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "a.cfg").write_text(SCALESIM_CFG)
        (d / "t.csv").write_text(f"Layer, M, N, K,\ng, {m}, {n}, {k},\n")
        (d / "l.csv").write_text("Layer, a, b, c, d, e, f, g,\ng, 1, 1, 1, 1, 1, 1, 1,\n")
        (d / "run.py").write_text(SCALESIM_RUN)
        args = [
            python,
            str(d / "run.py"),
            str(d / "a.cfg"),
            str(d / "t.csv"),
            str(d / "l.csv"),
            str(d / "out"),
        ]
        res = subprocess.run(args, capture_output=True, text=True, check=True, cwd=d)
        cpu = json.loads(res.stdout.strip().splitlines()[-1])["cpu_s"]
        report = next((d / "out").rglob("COMPUTE_REPORT.csv")).read_text().splitlines()[1]
        cycles = int(report.split(",")[2])
        return cpu, cycles


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scalesim-python", help="interpreter with scalesim 3.0.0 importable")
    args = ap.parse_args()
    arch = hwsim.load_arch(ARCH)
    hwsim.simulate(arch, Workload("warm", (Op("w", "gemm", M=8, N=8, K=8),)))  # imports

    for name in WHOLE:
        whole = hwsim.load_arch(ROOT / "hwsim" / "data" / "arch" / name)
        for card, target in (("llama-2-7b:prefill:256", 10.0), ("resnet-50:prefill:224", 2.0)):
            wl = hwsim.load_workload(card)
            st, wall, cpu = timed(lambda wl=wl, a=whole: hwsim.simulate(a, wl, mode="event"))
            verdict = "met" if wall < target else "MISSED"
            print(
                f"{name:14s} {card:24s} event: {wall:6.3f} s wall ({cpu:.3f} s CPU), "
                f"{st.cycles:,} cycles, {int(st.ops['tiles'].sum()):,} tiles; "
                f"target < {target} s: {verdict}"
            )

    print(f"per-GEMM pace (CPU time for the same GEMM), {ARCH.name} os 32x32:")
    for m, n, k in GEMMS:
        wl = Workload("g", (Op("g", "gemm", M=m, N=n, K=k),))
        reps = 20
        _, _, cpu = timed(lambda wl=wl, reps=reps: [hwsim.simulate(arch, wl) for _ in range(reps)])
        ours = cpu / reps
        ss_cycles = hwsim.simulate(arch, wl, mode="scalesim").cycles
        if args.scalesim_python:
            peer, peer_cycles = scalesim_time(args.scalesim_python, m, n, k)
            assert peer_cycles == ss_cycles, (peer_cycles, ss_cycles)
            label = f"SCALE-Sim 3.0.0 measured {peer:.3f} CPU-s (Total Cycles {peer_cycles:,})"
        else:
            peer = ss_cycles / PUBLISHED_PACE
            label = (
                f"SCALE-Sim estimated {peer:.3f} CPU-s ({ss_cycles:,} Total Cycles at a "
                "measured 4,000 cycles/CPU-s; no peer run)"
            )
        print(
            f"  {m}x{n}x{k}: hwsim event {ours * 1e3:.3f} ms CPU; {label}; "
            f"ratio {peer / ours:,.0f}x"
        )


if __name__ == "__main__":
    main()
