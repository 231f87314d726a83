"""Codebook formats: an explicit table of values indexed by code, encoded by nearest value.

A codebook value is in *integer-scaled units*: the quantizer supplies the scale
(`x_real = scale * value`), so `encode` takes x already divided by the scale. Encoding picks
the nearest value and saturates to the extreme values (codebooks have no inf/NaN codes, so
`saturate=False` is refused and NaN inputs raise `HwsimError`). Ties between two equally
near values follow the format's `tie` rule (see `TIE_RULES`).

Codes that decode to the same value (the "-0" slot of a sign-magnitude layout) are never
emitted twice: encode always emits the smallest code of a value ("canonical" code), and
never a code listed in `reserved`. A format may give its "-0" slot a meaning of its own
(`special_code`, `special_role`): BitMoD decodes it to an extra value, OliVe uses it as the
outlier identifier written into victim slots.

Two implementations, tested equal: `encode_scalar` is a linear scan over every code with
exact rational distances (`fractions.Fraction`); `encode` is `np.searchsorted` over the
sorted distinct values' midpoints with a tie fix-up table.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

import numpy as np

from hwsim.dtypes.base import (
    Format,
    Rounding,
    as_rounding,
    code_scalar,
    real_scalar,
    real_values,
    saturate_flag,
    stochastic_draws,
)
from hwsim.errors import HwsimError

TIE_RULES = {
    "lower": "ties go to the smaller value (toward -inf)",
    "upper": "ties go to the larger value (toward +inf)",
    "away": "ties go to the value of larger magnitude",
    "toward_zero": "ties go to the value of smaller magnitude",
    "even_code": "ties go to the value whose code is even (both or neither even: the smaller)",
}


def _pick_tie(rule: str, lo: float, hi: float, lo_code: int, hi_code: int) -> bool:
    """True when a tie between neighbours lo < hi goes to hi."""
    if rule == "lower":
        return False
    if rule == "upper":
        return True
    if rule == "away":
        return abs(hi) > abs(lo)
    if rule == "toward_zero":
        return abs(hi) < abs(lo)
    # even_code
    return hi_code % 2 == 0 and lo_code % 2 == 1


@dataclass(frozen=True)
class CodebookFormat(Format):
    """A NaN-free table of values indexed by code.

    label:        canonical name (`name`)
    table:        value of each code; len(table) must be a power of two (2**bits)
    tie:          tie rule of nearest rounding, a key of TIE_RULES
    special_code: the code that carries a format-specific meaning (BitMoD's extra value,
                  OliVe's outlier identifier), or None
    special_role: one line saying what `special_code` means
    reserved:     codes that encode never emits (they still decode to their table value)
    layout:       one line documenting how a code's bits map to the table
    source:       where the values and the tie rule come from
    """

    label: str
    table: tuple[float, ...]
    tie: str = "lower"
    special_code: int | None = None
    special_role: str = ""
    reserved: tuple[int, ...] = ()
    layout: str = ""
    source: str = ""

    def __post_init__(self):
        n = len(self.table)
        if n < 2 or n & (n - 1):
            raise HwsimError(f"{self.label}.table: expected 2**bits values (2, 4, 8, ...), got {n}")
        if not all(np.isfinite(v) for v in self.table):
            raise HwsimError(f"{self.label}.table: expected finite values (codebooks have no NaN)")
        if self.tie not in TIE_RULES:
            raise HwsimError(
                f"{self.label}.tie: expected one of {', '.join(TIE_RULES)}, got {self.tie!r}"
            )
        for field, codes in (("special_code", (self.special_code,)), ("reserved", self.reserved)):
            for c in codes:
                if c is not None and not 0 <= c < n:
                    raise HwsimError(f"{self.label}.{field}: expected a code in [0, {n}), got {c}")
        if len(set(self.reserved)) >= n:
            raise HwsimError(f"{self.label}.reserved: every code is reserved, nothing to encode")

    # --- derived facts ----------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.label

    @property
    def bits(self) -> int:
        return len(self.table).bit_length() - 1

    @cached_property
    def _lut(self) -> np.ndarray:
        lut = np.array(self.table, dtype=np.float64)
        lut.flags.writeable = False
        return lut

    @cached_property
    def _canonical(self) -> dict[float, int]:
        """Distinct encodable value -> the smallest non-reserved code holding it."""
        out: dict[float, int] = {}
        for code, v in enumerate(self.table):
            if code not in self.reserved and float(v) not in out:
                out[float(v)] = code
        return out

    @cached_property
    def values_sorted(self) -> np.ndarray:
        """The distinct values encode can produce, ascending (read-only)."""
        v = np.array(sorted(self._canonical), dtype=np.float64)
        v.flags.writeable = False
        return v

    @cached_property
    def codes_sorted(self) -> np.ndarray:
        """The canonical code of each entry of `values_sorted` (read-only)."""
        c = np.array([self._canonical[v] for v in self.values_sorted], dtype=self.code_dtype)
        c.flags.writeable = False
        return c

    @property
    def max_abs(self) -> float:
        """Largest magnitude encode can produce (the quantizer's `amax / max_abs` scale)."""
        return float(np.max(np.abs(self.values_sorted)))

    @property
    def special_value(self) -> float | None:
        """The value `special_code` decodes to, or None."""
        return None if self.special_code is None else float(self.table[self.special_code])

    @cached_property
    def _midpoints(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """float64 midpoints of neighbours and, per tie rule, whether x == midpoint goes up.

        A midpoint that float64 cannot hold exactly is no tie: an input equal to its rounded
        float64 value lies strictly on one side of the true midpoint, and goes that way.
        """
        v = self.values_sorted
        c = self.codes_sorted
        mids = (v[:-1] + v[1:]) / 2
        ups = {}
        for rule in TIE_RULES:
            up = np.zeros(len(mids), dtype=bool)
            for i, m in enumerate(mids):
                exact = (Fraction(v[i]) + Fraction(v[i + 1])) / 2
                if Fraction(m) == exact:
                    up[i] = _pick_tie(rule, v[i], v[i + 1], int(c[i]), int(c[i + 1]))
                else:
                    up[i] = Fraction(m) > exact
            ups[rule] = up
        return mids, ups

    # --- argument checks --------------------------------------------------------------
    def _check_saturate(self, saturate) -> None:
        saturate = saturate_flag(saturate, self.name)
        if saturate is not None and not saturate:
            raise HwsimError(
                f"{self.name}: saturate=False is not available (a codebook has no inf/NaN "
                "codes; out-of-range values saturate to the extreme values)"
            )

    def _tie_rule(self, mode: Rounding) -> str:
        return "away" if mode is Rounding.TIES_AWAY else self.tie

    # --- vectorised -------------------------------------------------------------------
    def encode(self, x, rounding="rne", saturate=None, rng=None) -> np.ndarray:
        """Codes of the values nearest to x (units of the scale).

        rounding: 'rne' = nearest with this format's `tie` rule; 'ties_away' = nearest,
        ties to the larger magnitude; 'down' / 'up' / 'toward_zero' = the neighbour in that
        direction; 'stochastic' = the upper neighbour with probability (x - lo) / (hi - lo).
        Beyond the extreme values every mode saturates.
        """
        mode = as_rounding(rounding)
        self._check_saturate(saturate)
        x = real_values(x, f"{self.name}.encode")
        if np.isnan(x).any():
            raise HwsimError(f"{self.name}: NaN input (a codebook has no NaN code)")
        draws = stochastic_draws(x.shape, mode, rng)
        return self.codes_sorted[self._index(x, mode, draws)]

    def _index(self, x: np.ndarray, mode: Rounding, draws) -> np.ndarray:
        v = self.values_sorted
        last = len(v) - 1
        if mode in (Rounding.RNE, Rounding.TIES_AWAY):
            mids, ups = self._midpoints
            if last == 0:
                return np.zeros(x.shape, dtype=np.intp)
            k = np.searchsorted(mids, x, side="left")
            kk = np.minimum(k, last - 1)
            tie = (k < last) & (x == mids[kk])
            return np.where(tie, kk + ups[self._tie_rule(mode)][kk], k)
        down = np.maximum(np.searchsorted(v, x, side="right") - 1, 0)
        up = np.minimum(np.searchsorted(v, x, side="left"), last)
        if mode is Rounding.DOWN:
            return down
        if mode is Rounding.UP:
            return up
        if mode is Rounding.TOWARD_ZERO:
            return np.where(x >= 0, down, up)
        gap = v[up] - v[down]
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(gap > 0, (x - v[down]) / np.where(gap > 0, gap, 1.0), 0.0)
        return np.where(draws < frac, up, down)

    def decode(self, codes) -> np.ndarray:
        """float64 value of each code."""
        c = np.asarray(codes)
        if c.dtype.kind not in "ui":
            raise HwsimError(f"{self.name}.decode: expected integer codes, got dtype {c.dtype}")
        if c.size and (c.min() < 0 or c.max() >= len(self.table)):
            raise HwsimError(
                f"{self.name}.decode: codes must lie in [0, {len(self.table)}), "
                f"got values in [{c.min()}, {c.max()}]"
            )
        return self._lut[c]

    # --- scalar reference -------------------------------------------------------------
    def encode_scalar(self, x: float, rounding="rne", saturate=None, u: float | None = None) -> int:
        """Reference: scan every code, compare exact rational distances."""
        mode = as_rounding(rounding)
        self._check_saturate(saturate)
        x = float(real_scalar(x, f"{self.name}.encode_scalar"))
        if x != x:
            raise HwsimError(f"{self.name}: NaN input (a codebook has no NaN code)")
        candidates = [
            (float(v), code)
            for code, v in enumerate(self.table)
            if code not in self.reserved and self._canonical[float(v)] == code
        ]
        below = [c for c in candidates if c[0] <= x]
        above = [c for c in candidates if c[0] >= x]
        lo = max(below) if below else min(candidates)  # saturate below the range
        hi = min(above) if above else max(candidates)  # saturate above the range
        if mode is Rounding.DOWN:
            return lo[1]
        if mode is Rounding.UP:
            return hi[1]
        if mode is Rounding.TOWARD_ZERO:
            return lo[1] if x >= 0 else hi[1]
        if mode is Rounding.STOCHASTIC:
            if hi[0] <= lo[0]:
                return lo[1]
            if u is None:
                raise HwsimError("rounding='stochastic' needs a draw u in [0, 1)")
            return hi[1] if u < (x - lo[0]) / (hi[0] - lo[0]) else lo[1]
        if x in (float("inf"), float("-inf")):
            return lo[1] if x > 0 else hi[1]
        best = None
        for v, code in candidates:
            d = abs(Fraction(x) - Fraction(v))
            if best is None or d < best[0]:
                best = (d, v, code)
            elif d == best[0]:
                a, b = sorted([(best[1], best[2]), (v, code)])
                go_up = _pick_tie(self._tie_rule(mode), a[0], b[0], a[1], b[1])
                best = (d, *(b if go_up else a))
        return best[2]

    def decode_scalar(self, code: int) -> float:
        code = code_scalar(code, self.bits, f"{self.name}.decode_scalar")
        if code >= len(self.table):
            raise HwsimError(f"{self.name}.decode: code {code} outside [0, {len(self.table)})")
        return float(self.table[code])
