"""Technology scaling of logic and SRAM energy/area between nodes (Stillmaker & Baas 2017).

Known factors relative to 45 nm (Stillmaker & Baas, Integration 2017, as Accelergy uses
them): 65 nm area 1/0.66, energy 1/0.81; 16 nm area 0.19, energy 0.17; 7 nm area 0.059,
energy 0.094. Other nodes interpolate log(factor) linearly in log(node) between the
neighbouring known nodes (and extrapolate from the outermost pair). DRAM pJ/bit is never
scaled.
"""

from __future__ import annotations

import math
from functools import cache

from hwsim.errors import HwsimError

# node_nm -> (area factor, energy factor) relative to 45 nm
_KNOWN = {65: (1 / 0.66, 1 / 0.81), 45: (1.0, 1.0), 16: (0.19, 0.17), 7: (0.059, 0.094)}


@cache
def _factor(node_nm: float, which: int) -> float:
    if node_nm <= 0:
        raise HwsimError(f"technology node: expected a size in nm > 0, got {node_nm}")
    nodes = sorted(_KNOWN)
    if node_nm in _KNOWN:
        return _KNOWN[node_nm][which]
    lo = max([n for n in nodes if n < node_nm], default=nodes[0])
    hi = min([n for n in nodes if n > node_nm], default=nodes[-1])
    if lo == hi:  # outside the table: extrapolate from the outermost pair
        lo, hi = (nodes[0], nodes[1]) if node_nm < nodes[0] else (nodes[-2], nodes[-1])
    t = (math.log(node_nm) - math.log(lo)) / (math.log(hi) - math.log(lo))
    f_lo, f_hi = math.log(_KNOWN[lo][which]), math.log(_KNOWN[hi][which])
    return math.exp(f_lo + t * (f_hi - f_lo))


@cache
def energy_scale(from_nm: float, to_nm: float) -> float:
    """Multiply a logic/SRAM energy at `from_nm` by this to get it at `to_nm`."""
    return _factor(to_nm, 1) / _factor(from_nm, 1)


@cache
def area_scale(from_nm: float, to_nm: float) -> float:
    """Multiply a logic/SRAM area at `from_nm` by this to get it at `to_nm`."""
    return _factor(to_nm, 0) / _factor(from_nm, 0)
