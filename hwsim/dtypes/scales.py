"""Scale formats: the element-format facts a scale needs, and raw scales rounded to storage.

`round_scales` takes the float64 scale of every group (0 for an all-zero group) and returns
what hardware stores: fp32 / fp16 / bf16 (RNE from float64, saturating at the format's max;
meta['scale_saturated'] counts the groups clamped into the scale format's range),
e8m0 (MX shared exponent by `spec.scale_rule`, codes = exponent + 127), pow2 (the smallest
power of two >= the scale; codes = the exponent) or intN (N-bit unsigned codes times one
fp32 second-level scale per tensor in meta['scale2']; meta['scale_saturated'] counts the groups
whose code was raised to 1 or clamped to the top code). The quantizer that calls it is
hwsim.dtypes.quantize; its module docstring states every convention.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np

from hwsim.dtypes.base import Format
from hwsim.dtypes.qtensor import SCALE_RULES, QuantSpec
from hwsim.errors import HwsimError

# (mantissa bits, minimum normal exponent, largest finite value) of the float scale formats
_FLOAT_SCALES = {
    "fp32": (23, -126, float(np.finfo(np.float32).max)),
    "fp16": (10, -14, 65504.0),
    "bf16": (7, -126, float.fromhex("0x1.fep127")),
}
_INT_SCALE = re.compile(r"int([1-9]|1[0-6])")


def is_scale_format(name) -> bool:
    """A scale format `round_scales` knows: fp32 | fp16 | bf16 | e8m0 | pow2 | intN (N 1..16)."""
    return isinstance(name, str) and bool(
        name in _FLOAT_SCALES or name in ("e8m0", "pow2") or _INT_SCALE.fullmatch(name)
    )


# --- format facts -------------------------------------------------------------------------
@cache
def format_facts(fmt: Format) -> tuple[float, float, bool]:
    """(min value, max value, is an integer grid) of an element format."""
    is_int = getattr(fmt, "is_integer", None)
    if fmt.bits <= 16:
        v = fmt.values()
        v = v[np.isfinite(v)]
        lo, hi = float(v.min()), float(v.max())
        if is_int is None:
            u = np.unique(v)
            is_int = bool(np.all(u == np.round(u)) and u.size == hi - lo + 1)
    else:  # too many codes to list: an integer grid spans 2^bits (or 2^bits - 1) integers
        lo, hi = float(fmt.min_value), float(fmt.max_value)
        if is_int is None:
            integral = lo == round(lo) and hi == round(hi)
            is_int = integral and hi - lo + 1 in (2.0**fmt.bits, 2.0**fmt.bits - 1)
    return lo, hi, bool(is_int)


def symmetric_qmax(fmt: Format) -> float:
    """The code value an absmax input maps to (see hwsim.dtypes.quantize's module doc)."""
    lo, hi, is_int = format_facts(fmt)
    qmax = hi if is_int else max(hi, -lo)
    if not qmax > 0:  # int1 holds only -1 and 0: nothing for +absmax to map onto
        raise HwsimError(
            f"QuantSpec.symmetric: {fmt.name} has no positive value for a symmetric scale; "
            "use symmetric=False or an unsigned format"
        )
    return qmax


# --- scale formats ------------------------------------------------------------------------
def round_to_float(s: np.ndarray, man_bits: int, emin: int, max_finite: float) -> np.ndarray:
    """Round positive float64 values to a binary float format, RNE once, saturating."""
    s = np.asarray(s, dtype=np.float64)
    _, e = np.frexp(s)
    q_exp = np.maximum(e - 1, emin) - man_bits  # exponent of the format's ulp at s
    out = np.ldexp(np.rint(np.ldexp(s, -q_exp)), q_exp)
    return np.minimum(out, max_finite)


def e8m0_exponent(amax: np.ndarray, fmt: Format, rule: str) -> np.ndarray:
    """MX shared exponent per block, clipped to [-127, 127] (amax 0 -> -127).

    floor: floor(log2 amax) - emax (OCP spec); ceil: ceil(log2 amax) - emax;
    rceil: ceil(log2 d) with d = amax / max in float32 arithmetic (NVIDIA, torchao: the
    power of two at or above the plain scale; float32 rounding of d decides at the edge);
    even: floor(log2 of amax rounded RNE to the element's significand width) - emax.
    emax is the exponent of the element format's largest value.
    """
    if rule not in SCALE_RULES:
        raise HwsimError(
            f"QuantSpec.scale_rule: expected one of {', '.join(SCALE_RULES)}, got {rule!r}"
        )
    _, hi, _ = format_facts(fmt)
    emax = int(np.frexp(hi)[1]) - 1
    a = np.asarray(amax, dtype=np.float64)
    pos = a > 0
    safe = np.where(pos, a, 1.0)
    m, e = np.frexp(safe)  # safe = m * 2^e, 0.5 <= m < 1
    if rule == "floor":
        k = e - 1 - emax
    elif rule == "ceil":
        k = np.where(m == 0.5, e - 1, e) - emax
    elif rule == "even":
        sig = significand_bits(fmt)
        rounded = np.ldexp(np.rint(np.ldexp(m, sig)), e - sig)
        k = np.frexp(rounded)[1] - 1 - emax
    else:  # rceil, in float32 as NVIDIA/torchao: d = fl32(fl32(amax) * fl32(1/max))
        with np.errstate(over="ignore"):
            d = (safe.astype(np.float32) * np.float32(1.0 / hi)).astype(np.float64)
        md, ed = np.frexp(np.where(np.isfinite(d) & (d > 0), d, 1.0))
        k = np.where(md == 0.5, ed - 1, ed)
        k = np.where(d == 0, -127, np.where(np.isinf(d), 127, k))
        return np.clip(np.where(pos, k, -127), -127, 127).astype(np.int64)
    return np.clip(np.where(pos, k, -127), -127, 127).astype(np.int64)


def e8m0_saturated(amax: np.ndarray, fmt: Format) -> int:
    """Blocks whose E8M0 scale left its range (2^-127 .. 2^127): beyond it the elements clip
    at the format's max (or flush to zero below), so they are counted, never silent."""
    _, hi, _ = format_facts(fmt)
    v = fmt.values() if fmt.bits <= 16 else np.array([1.0])
    tiny = float(np.min(np.abs(v[np.isfinite(v) & (v != 0)])))
    a = np.asarray(amax, dtype=np.float64)
    over = a > np.ldexp(hi, 127)
    under = (a > 0) & (a < np.ldexp(tiny, -128))
    return int(np.count_nonzero(over | under))


def significand_bits(fmt: Format) -> int:
    """Significand width (mantissa + implicit bit) of a float element; integers: their width."""
    man = getattr(fmt, "man_bits", None)
    return int(man) + 1 if man is not None else int(fmt.bits) - 1


def round_scales(s, amax, fmt: Format, spec: QuantSpec):
    """(scales, scale_codes, meta) for raw float64 scales s (0 where the group is all zero)."""
    sf = spec.scale_format
    zero = ~(s > 0)
    s1 = np.where(zero, 1.0, s)
    if sf in _FLOAT_SCALES:
        man, emin, mx = _FLOAT_SCALES[sf]
        unclamped = round_to_float(s1, man, emin, np.inf)
        out = np.minimum(unclamped, mx)
        tiny = np.ldexp(1.0, emin - man)
        # never silent: groups whose scale left the scale format's range (clamped to its max,
        # or raised to its smallest subnormal so that their elements flush toward zero)
        clamped = ~zero & ((unclamped > mx) | (unclamped == 0))
        meta = {"scale_saturated": int(np.count_nonzero(clamped))}
        return np.where(zero, 1.0, np.maximum(out, tiny)), None, meta
    if sf == "e8m0":
        k = e8m0_exponent(amax, fmt, spec.scale_rule)
        meta = {"scale_saturated": e8m0_saturated(amax, fmt)}
        return np.ldexp(1.0, k), (k + 127).astype(np.uint8), meta
    if sf == "pow2":
        m, e = np.frexp(s1)
        k = np.where(m == 0.5, e - 1, e)
        k = np.where(zero, 0, k)
        return np.ldexp(1.0, k), k.astype(np.int32), {}
    # intN (QuantSpec admits no other scale format)
    n = int(_INT_SCALE.fullmatch(sf).group(1))
    top = 2**n - 1
    smax = float(np.max(np.where(zero, 0.0, s))) if s.size else 0.0
    scale2 = round_to_float(np.array(smax / top if smax > 0 else 1.0), 23, -126, 3e38)
    scale2 = float(scale2)
    raw = np.rint(s / scale2)
    codes = np.clip(raw, 1, top)
    # never silent: a group whose scale rounds to code 0 is raised to code 1 (its elements
    # may then flush to zero), one above the top code is clamped to it
    clamped = ~zero & (raw != codes)
    codes = np.where(zero, 0, codes).astype(np.uint8 if n <= 8 else np.uint16)
    scales = np.where(zero, 1.0, codes * scale2)
    return scales, codes, {"scale2": scale2, "scale_saturated": int(np.count_nonzero(clamped))}
