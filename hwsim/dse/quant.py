"""A quant recipe as the simulator sees it, and its accuracy proxy.

The simulator takes a Recipe as `quant` and times each op at its rule's precision
(hwsim.sim.precision says how specs become `Precision` fields); `recipe_quant` gives the
run-wide part alone, the overrides of the recipe's `default:` specs.

The accuracy proxy is the recipe's output SQNR (dB) on one calibrated synthetic FFN-down GEMM
(hwsim.workload.synthetic, the heavy-tailed case), seeded by the given Generator.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

PROXY_SHAPE = (64, 256, 1024)  # M tokens, N outputs, K inputs of the proxy GEMM
PROXY_OP = "model.layers.0.mlp.down_proj"


def recipe_quant(recipe) -> dict:
    """The Precision overrides (a dict for simulate's `quant`) of a recipe's default specs;
    pass the Recipe itself as `quant` to time each op at its own rule's precision."""
    from hwsim.sim.precision import spec_overrides
    from hwsim.workload import load_recipe

    r = load_recipe(recipe)
    return spec_overrides(r.default.get("weights"), r.default.get("activations"))


def recipe_sqnr_db(recipe, rng: np.random.Generator) -> float:
    """Output SQNR (dB) of the recipe on the proxy GEMM."""
    from hwsim.workload import Op, Workload, apply_recipe

    M, N, K = PROXY_SHAPE
    wl = Workload("sqnr-proxy", (Op(PROXY_OP, "gemm", M=M, N=N, K=K),))
    q = apply_recipe(wl, recipe, rng)
    return float(q.ops[PROXY_OP].output_sqnr_db)


@lru_cache(maxsize=64)
def cached_sqnr_db(recipe_path: str, seed: int) -> float:
    """recipe_sqnr_db with a Generator seeded by `seed`, once per process and recipe."""
    return recipe_sqnr_db(recipe_path, np.random.default_rng(seed))
