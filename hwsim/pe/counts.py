"""ActionCounts: what a PE did, as named actions with bit widths (never joules).

Keys are `action.widths`, e.g. `mul.8x4` (an 8-bit by 4-bit multiply), `add.32`,
`shift.16`, `and.1`, `reg_write.32`, `lut.4`, `dequant.8`, `acc_norm.21`. The cost model
prices each key from an energy table; the simulator only adds and scales counts.
"""

from __future__ import annotations

from collections import Counter


def action_key(action: str, *widths: int) -> str:
    """'mul', 8, 4 -> 'mul.8x4'; 'add', 32 -> 'add.32'; 'lut' -> 'lut'."""
    if not widths:
        return action
    return f"{action}." + "x".join(str(int(w)) for w in widths)


def split_key(key: str) -> tuple[str, tuple[int, ...]]:
    """Inverse of action_key: 'mul.8x4' -> ('mul', (8, 4))."""
    action, _, widths = key.partition(".")
    return action, tuple(int(w) for w in widths.split("x")) if widths else ()


class ActionCounts(Counter):
    """A Counter of action keys with integer counts."""

    def add(self, action: str, count: int, *widths: int) -> ActionCounts:
        if count:
            self[action_key(action, *widths)] += int(count)
        return self

    def scaled(self, factor: int) -> ActionCounts:
        """Counts for `factor` repetitions of the same work."""
        return ActionCounts({k: v * int(factor) for k, v in self.items()})

    def as_dict(self) -> dict[str, int]:
        return {k: int(v) for k, v in sorted(self.items())}
