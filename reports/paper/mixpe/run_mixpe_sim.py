"""Run the MixPE simulator and write its figures to reports/paper/mixpe/mixpe_sim_run.json.

    cd PATH/TO/mixpe_simulator      # yuzhang712/mixpe_simulator, CACTI built as its README says
    PYTHONHASHSEED=0 python PATH/TO/reports/paper/mixpe/run_mixpe_sim.py [WORKLOADS [CONFIGS]]
    # WORKLOADS: comma-separated of vit, vit_huge, opt, llama; CONFIGS: of the keys below
    PYTHONHASHSEED=0 python .../run_mixpe_sim.py --check-unmemoised WORKLOAD CONFIGS
    # reruns those without the memo and records whether every sum is identical

(its requirements: pandas, numpy). It does what that repo's run_mix.py does -- for each
configuration, Simulator(conf_*.ini) and SimulatorSweep.sweep over the benchmark at batch 64,
output-stationary, then Stats.get_energy_breakdown on the layer sums -- one configuration and
workload at a time, and stores each result as soon as it has it. Three changes, none of which
changes a number:
- the optimizer's multiprocessing Pool(cpu_count()) becomes a serial map (on a shared 2-core
  machine the pool died with BrokenPipe);
- Simulator.get_conv_cycles is memoised on its exact arguments and the accelerator's state:
  the lists repeat each layer shape 12-40 times and the search is deterministic;
- PYTHONHASHSEED=0 fixes the iteration order of the set() of loop orders (ties keep the first).
Besides run_mix.py's totals it records the sums over the linear layers the hwsim workloads
hold ("main") apart from the per-configuration extra GEMMs.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "mixpe_sim_run.json"
CONFIGS = {  # configuration -> (config file, bench_type, benchmark list file), as run_mix.py
    "mixpe_w4a8": ("conf_mixint.ini", "mix_int", "int48"),
    "mixpe_w4a16": ("conf_mixfloat.ini", "mix_float", "mixfloat"),
    "ant": ("conf_ant.ini", "ant", "ant"),
    "bitfusion": ("conf_bitfusion.ini", "bit", "bitfusion"),
    "int8": ("conf_int.ini", "int", "int88"),
    "fp16": ("conf_float.ini", "float", "float"),
}
D_MODEL = {"vit": 768, "vit_huge": 1280, "opt": 4096, "llama": 5120}
BATCH = 64


def patch_simulator(memoise: bool = True):
    import bitfusion.src.optimizer.optimizer as optimizer
    from bitfusion.src.simulator.simulator import Simulator

    class Done:
        def __init__(self, value):
            self.value = value

        def get(self, timeout=None):
            return self.value

    class SerialPool:
        def __init__(self, *args, **kwargs):
            pass

        def map_async(self, fn, items):
            return Done([fn(x) for x in items])

        def close(self):
            pass

        def join(self):
            pass

        def terminate(self):
            pass

    optimizer.Pool = SerialPool
    if not memoise:
        return
    original, memo = Simulator.get_conv_cycles, {}

    def get_conv_cycles(self, *args, **kwargs):
        a = self.accelerator
        key = (
            a.N,
            a.M,
            a.pmax,
            a.pmin,
            tuple(sorted(a.sram.items())),
            a.mem_if_width,
            a.frequency,
            args,
            tuple(sorted(kwargs.items())),
        )
        if key not in memo:
            memo[key] = original(self, *args, **kwargs)
        return copy.deepcopy(memo[key])

    Simulator.get_conv_cycles = get_conv_cycles


def is_main(row: list, d: int) -> bool:
    """The patch convolution and the four linear layers of a block (not the extra GEMMs)."""
    shapes = {(3 * d, d), (d, d), (4 * d, d), (d, 4 * d)}
    return row[6] == 0 or tuple(row[1]) in shapes


def sums(df, energy_cost) -> dict:
    from bitfusion.src.simulator.stats import Stats

    st = Stats()
    st.total_cycles = float(df["Cycles"].sum())
    st.mem_stall_cycles = float(df["Memory wait cycles"].sum())
    for part, col in (("act", "IBUF"), ("out", "OBUF"), ("wgt", "WBUF"), ("dram", "DRAM")):
        st.reads[part] = float(df[f"{col} Read"].sum())
        st.writes[part] = float(df[f"{col} Write"].sum())
    static, dram, buffer, core = st.get_energy_breakdown(energy_cost)
    return {
        "cycles": st.total_cycles,
        "mem_stall_cycles": st.mem_stall_cycles,
        "dram_read_bits": st.reads["dram"],
        "dram_write_bits": st.writes["dram"],
        "energy_nj": {"static": static, "dram": dram, "buffer": buffer, "core": core},
    }


def run_one(config: str, bench: str) -> dict:
    from bitfusion.src.simulator.simulator import Simulator
    from bitfusion.src.sweep.sweep import SimulatorSweep

    conf, btype, listfile = CONFIGS[config]
    tree = ast.parse(Path(f"bitfusion/src/benchmarks/{listfile}_bench.py").read_text())
    rows = next(
        ast.literal_eval(n.value)
        for n in tree.body
        if isinstance(n, ast.Assign) and n.targets[0].id == bench
    )
    t0, c0 = time.time(), time.process_time()
    sim = Simulator(conf, False)
    df = SimulatorSweep(None, conf).sweep(
        sim, list_bench=[bench], list_batch=[BATCH], bench_type=btype, weight_stationary=False
    )
    # layer names are conv{i}/... or fc{i}/... with i the row of the list
    index = df["Layer"].str.extract(r"^(?:conv|fc)(\d+)/")[0].astype(int)
    main = index.map(lambda i: is_main(rows[i], D_MODEL[bench]))
    cost = sim.get_energy_cost()
    return {
        "all": sums(df, cost),
        "main": sums(df[main.values], cost),
        "layers": len(df),
        "main_layers": int(main.sum()),
        "wall_s": time.time() - t0,
        "cpu_s": time.process_time() - c0,
    }


def check_unmemoised(bench: str, configs: list[str]) -> None:
    """Rerun without the memo; store per configuration whether all sums equal the memo run's."""
    patch_simulator(memoise=False)
    doc = json.loads(OUT.read_text())
    checks = doc.setdefault("unmemoised_check", {})
    for config in configs:
        got, want = run_one(config, bench), doc["results"][config][bench]
        same = got["all"] == want["all"] and got["main"] == want["main"]
        checks[f"{config}/{bench}"] = {"identical": same, "wall_s": got["wall_s"]}
        OUT.with_suffix(".tmp").write_text(json.dumps(doc, indent=1, sort_keys=True))
        os.replace(OUT.with_suffix(".tmp"), OUT)
        print(f"{config}/{bench} unmemoised: identical={same}, {got['wall_s']:.1f} s", flush=True)


def main() -> None:
    sys.path.insert(0, os.getcwd())
    if sys.argv[1:2] == ["--check-unmemoised"]:
        check_unmemoised(sys.argv[2], sys.argv[3].split(","))
        return
    patch_simulator()
    benches = sys.argv[1].split(",") if len(sys.argv) > 1 else ["llama", "vit", "vit_huge", "opt"]
    configs = sys.argv[2].split(",") if len(sys.argv) > 2 else list(CONFIGS)
    doc = json.loads(OUT.read_text()) if OUT.exists() else {}
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    doc.setdefault("simulator", "yuzhang712/mixpe_simulator")
    # a checkout made with `git archive` has no .git: then the caller names the commit
    doc["commit"] = commit or os.environ.get("MIXPE_SIM_COMMIT", "unknown (not a git checkout)")
    doc["batch"] = BATCH
    doc["command"] = "PYTHONHASHSEED=0 nice -n 10 python run_mixpe_sim.py (1 process)"
    results = doc.setdefault("results", {})
    for bench in benches:
        for config in configs:
            results.setdefault(config, {})[bench] = run_one(config, bench)
            OUT.with_suffix(".tmp").write_text(json.dumps(doc, indent=1, sort_keys=True))
            os.replace(OUT.with_suffix(".tmp"), OUT)
            r = results[config][bench]
            print(
                f"{config}/{bench}: {r['all']['cycles']:.0f} cycles, {r['wall_s']:.1f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
