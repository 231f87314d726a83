"""hwsim.dse: design-space exploration: sweep files, executors (local pool, Ray), the SQLite
result store, Pareto fronts. `hwsim.explore(sweep)` is the Python entry point."""

from hwsim.dse.explore import ExploreResult, explore, front_of
from hwsim.dse.pareto import pareto_mask, pareto_mask_reference
from hwsim.dse.spec import OBJECTIVES, Sweep, load_sweep
from hwsim.dse.store import ResultStore

__all__ = [
    "OBJECTIVES",
    "ExploreResult",
    "ResultStore",
    "Sweep",
    "explore",
    "front_of",
    "load_sweep",
    "pareto_mask",
    "pareto_mask_reference",
]
