"""One meaning for a weight's width: a named weight format fixes it.

A quant recipe that names a weight format sets precision.weight_bits to that format's bits
(hwsim.sim.precision.spec_overrides); a sweep point does the same, so sweeping
`precision.weight_format` moves the width with it, and a `precision.weight_bits` that
disagrees with the point's format is that point's error (naming both), not a silent no-op.
Without a format (a format-agnostic PE such as ANT's or OliVe's), weight_bits alone says it.
"""

from __future__ import annotations

from numbers import Real

from hwsim.errors import HwsimError

BITS = "precision.weight_bits"
FORMAT = "precision.weight_format"


def with_format_bits(base_precision, params: dict, where: str) -> dict:
    """`params` with BITS set to the point's weight format's bits when the point changes the
    format; HwsimError when the point sets BITS to other than its format's bits.

    `base_precision`: the base arch's `precision:` mapping (or None). Values the loader will
    refuse anyway (an unknown format, a non-number) are left for its message."""
    if BITS not in params and FORMAT not in params:
        return params
    base = base_precision if isinstance(base_precision, dict) else {}
    fmt = params.get(FORMAT, base.get("weight_format"))
    if not isinstance(fmt, str):
        return params
    from hwsim.dtypes import format as get_format

    try:
        bits = get_format(fmt).bits
    except HwsimError:
        return params
    if BITS not in params:
        return {**params, BITS: bits}
    value = params[BITS]
    if isinstance(value, Real) and not isinstance(value, bool) and value != bits:
        raise HwsimError(
            f"{where}: {BITS}: expected {bits} (the bits of {FORMAT} {fmt!r}), got {value!r}; "
            f"sweep {FORMAT} to change the weight width"
        )
    return params
