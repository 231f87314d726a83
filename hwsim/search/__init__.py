"""hwsim.search: per-layer precision search under hardware budgets (HAWQ-V3, FLIQS).

`hwsim.search(arch, workload, candidates, budgets, sensitivity=None, ...)` (hwsim.search.api)
costs every layer at every candidate on the arch with hwsim's own simulation, takes a
sensitivity table (hwsim.search.sensitivity, or the caller's), solves the one-hot ILP exactly
(HiGHS) and returns the per-layer recipe with its re-simulated cost. The package itself is
callable as that function, so `hwsim.search(...)` works whichever of the two the name holds.
Names resolve on first use (hwsim.lazy): the command line loads `commands` without scipy.
"""

import sys

from hwsim.lazy import lazy_names

lazy_names(
    __name__,
    {
        "Budget": "hwsim.search.budget",
        "Candidate": "hwsim.search.candidates",
        "CostTable": "hwsim.search.costs",
        "SearchResult": "hwsim.search.api",
        "Solution": "hwsim.search.solver",
        "load_candidates": "hwsim.search.candidates",
        "parse_budget": "hwsim.search.budget",
        "search": "hwsim.search.api",
        "solve": "hwsim.search.solver",
        "unfold_layers": "hwsim.search.layers",
    },
)


class _CallablePackage(sys.modules[__name__].__class__):
    def __call__(self, *args, **kwargs):
        from hwsim.search.api import search

        return search(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
