"""hwsim.layersearch: per-layer precision search under hardware budgets (HAWQ-V3, FLIQS).

`hwsim.search(arch, workload, candidates, budgets, sensitivity=None, ...)` (hwsim.layersearch.api)
costs every layer at every candidate on the arch with hwsim's own simulation, takes a
sensitivity table (hwsim.layersearch.sensitivity, or the caller's), solves the one-hot ILP exactly
(HiGHS) and returns the per-layer recipe with its re-simulated cost. (The package is
not named `search`, so that `hwsim.search` stays the function once a submodule is imported.)
Names resolve on first use (hwsim.lazy): the command line loads `commands` without scipy.
"""

from hwsim.lazy import lazy_names

lazy_names(
    __name__,
    {
        "Budget": "hwsim.layersearch.budget",
        "Candidate": "hwsim.layersearch.candidates",
        "CostTable": "hwsim.layersearch.costs",
        "SearchResult": "hwsim.layersearch.api",
        "Solution": "hwsim.layersearch.solver",
        "load_candidates": "hwsim.layersearch.candidates",
        "parse_budget": "hwsim.layersearch.budget",
        "search": "hwsim.layersearch.api",
        "solve": "hwsim.layersearch.solver",
        "unfold_layers": "hwsim.layersearch.layers",
    },
)
