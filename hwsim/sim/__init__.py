"""hwsim.sim: workload + arch -> cycles, traffic and action counts (never joules).

plan.py      the bind stage: plan(arch, workload, quant, objective) -> one OpPlan per op (its
             compute unit, QuantSpecs, PE model and mapping), every name resolved once
rows.py      OpRow: one op's row of the ops table, the column contract
dataflow.py  @register_dataflow os/ws/is: fold counts, physical and SCALE-Sim fold timing
pe_model.py  a unit's PE -> exact cycles per array step and counts per MAC
mapping.py   OpMapping (a loop nest), the fixed mapping, bytes per operand, port-bound folds
mapper.py    the mapper: loop-nest search for latency, energy or EDP (`objective`)
nest.py      a mapping as a Timeloop-style loop-nest string; `--explain` text
pipeline.py  event mode: the pipeline recurrence in numba, steady-state periods extended
engine.py    the simpy model of the same pipeline (the reference the recurrence equals)
tensors.py   data-dependent fold times from traced tensors through pe.run
actions.py   action counts per component (PE, SRAM level/operand/direction, DRAM, vector)
api.py       simulate(arch, workload, quant=None, mode="event"|"analytic"|"scalesim",
             objective=None): plan, then each mode's engine (ENGINES) times every OpPlan
stats.py     Stats: per-op table, totals, breakdown, counts, provenance hashes
"""

from hwsim.sim.api import MODES, simulate
from hwsim.sim.dataflow import dataflow_names, get_dataflow, register_dataflow
from hwsim.sim.plan import OpPlan, Plan, plan
from hwsim.sim.stats import Stats

__all__ = [
    "MODES",
    "OpPlan",
    "Plan",
    "Stats",
    "dataflow_names",
    "get_dataflow",
    "plan",
    "register_dataflow",
    "simulate",
]
