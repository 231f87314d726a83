"""hwsim.dse: design-space exploration: sweep files, executors (local pool, Ray), the SQLite
result store, Pareto fronts. `hwsim.explore(sweep)` is the Python entry point.
Names resolve on first use (hwsim.lazy): the command line loads `commands` without pandas."""

from hwsim.lazy import lazy_names

lazy_names(
    __name__,
    {
        "OBJECTIVES": "hwsim.dse.spec",
        "ExploreResult": "hwsim.dse.explore",
        "ResultStore": "hwsim.dse.store",
        "Sweep": "hwsim.dse.spec",
        "explore": "hwsim.dse.explore",
        "front_of": "hwsim.dse.explore",
        "load_sweep": "hwsim.dse.spec",
        "pareto_mask": "hwsim.dse.pareto",
        "pareto_mask_reference": "hwsim.dse.pareto",
    },
)
