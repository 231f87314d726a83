"""A quant recipe as the simulator sees it, and its accuracy proxy.

The simulator's timing and traffic depend on the default precisions only (`Precision` fields),
so a recipe's `default:` specs become a `quant` override for `hwsim.simulate`:
weight_bits / activation_bits = the widest format of each menu, group_size and scale_bits from
a group/block weight spec (scale bits plus, when asymmetric, a zero point of element width),
and a single-format menu names the format (a per-group menu keeps the arch's own weight
format, e.g. BitMoD's mixture, which the PE already models).

The accuracy proxy is the recipe's output SQNR (dB) on one calibrated synthetic FFN-down GEMM
(hwsim.workload.synthetic, the heavy-tailed case), seeded by the given Generator.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from hwsim.errors import HwsimError

PROXY_SHAPE = (64, 256, 1024)  # M tokens, N outputs, K inputs of the proxy GEMM
PROXY_OP = "model.layers.0.mlp.down_proj"


def resolve_recipe(name_or_path: str) -> Path:
    """A recipe path: a file, or the name of a shipped recipe under workloads/recipes."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    shipped = Path("workloads/recipes") / f"{name_or_path}.yaml"
    if shipped.is_file():
        return shipped
    raise HwsimError(
        f"--quant {name_or_path!r}: expected a recipe YAML file or a name in workloads/recipes"
    )


def recipe_quant(recipe) -> dict:
    """The Precision overrides (a dict for simulate's `quant`) of a recipe's default specs."""
    from hwsim.dtypes import format as get_format
    from hwsim.workload import load_recipe

    r = load_recipe(recipe)
    out: dict = {}
    w, a = r.default.get("weights"), r.default.get("activations")
    if w is not None:
        out["weight_bits"] = float(max(_bits(get_format, n) for n in w.menu))
        if len(w.menu) == 1 and not w.menu[0].startswith("olive_"):
            out["weight_format"] = w.menu[0]
        if w.granularity in ("group", "block") and w.group_size:
            out["group_size"] = int(w.group_size)
            # an asymmetric group also stores a zero point as wide as its elements
            zero_bits = 0 if w.symmetric else int(out["weight_bits"])
            out["scale_bits"] = _scale_bits(w.scale_format) + zero_bits
        else:
            out["group_size"] = None
            out["scale_bits"] = 0
    if a is not None:
        out["activation_bits"] = int(max(_bits(get_format, n) for n in a.menu))
        if len(a.menu) == 1:
            out["activation_format"] = a.menu[0]
    return out


_SCALE_BITS = {"fp32": 32, "fp16": 16, "bf16": 16, "e8m0": 8, "pow2": 8}


def _scale_bits(scale_format: str) -> int:
    if scale_format in _SCALE_BITS:
        return _SCALE_BITS[scale_format]
    if scale_format.startswith("int") and scale_format[3:].isdigit():
        return int(scale_format[3:])
    raise HwsimError(
        f"scale_format: expected fp32, fp16, bf16, e8m0, pow2 or intN, got {scale_format!r}"
    )


def _bits(get_format, name: str) -> int:
    if name.startswith("olive_"):
        return int("".join(ch for ch in name if ch.isdigit()) or 4)
    return int(get_format(name).bits)


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
