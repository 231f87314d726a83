"""SCALE-Sim's SRAM IFMAP stop cycle for a conv whose rounded-up output overhangs its IFMAP.

SCALE-Sim sizes a conv's output as ceil((in - k + s) / s) per side; when the stride does not
divide in - k, the last output row's and column's windows run past the IFMAP and SCALE-Sim
marks those window elements invalid (-1) instead of reading them (scalesim 3.0.0 and 2.0.2,
compute/operand_matrix.py). They still count as reads, but DETAILED_ACCESS_REPORT's "SRAM
IFMAP Stop Cycle" is the last cycle holding a valid address, which can fall before the end of
the last fold, or in an earlier fold. Window element j of output pixel p = (oy, ox) is
(r, c, ch) with j = (r * Fw + c) * C + ch, valid when oy * s + r < H and ox * s + c < W.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from hwsim.workload.op import Op


@dataclass(frozen=True)
class Overhang:
    """A conv as SCALE-Sim lays it out: IFMAP H x W x C, Fh x Fw filter, strides, ofmap width."""

    H: int
    W: int
    fh: int
    fw: int
    C: int
    sh: int
    sw: int
    ow: int

    def last_valid(self, p: int, below: int) -> int:
        """The largest valid window index j < below of output pixel p, or -1."""
        oy, ox = divmod(p, self.ow)
        rmax = min(self.fh, self.H - oy * self.sh) - 1
        cmax = min(self.fw, self.W - ox * self.sw) - 1
        if rmax < 0 or cmax < 0 or below <= 0:
            return -1
        r, rest = divmod(below - 1, self.fw * self.C)
        c = rest // self.C
        if r > rmax:
            return (rmax * self.fw + cmax) * self.C + self.C - 1
        if c > cmax:
            return (r * self.fw + cmax) * self.C + self.C - 1
        return below - 1

    def valid(self, p: int, j: int) -> bool:
        oy, ox = divmod(p, self.ow)
        r, rest = divmod(j, self.fw * self.C)
        return oy * self.sh + r < self.H and ox * self.sw + rest // self.C < self.W


def overhang(op: Op) -> Overhang | None:
    """The op's layout when SCALE-Sim would mark some of its IFMAP reads invalid, else None
    (GEMMs, convs whose strides divide, and shapes SCALE-Sim cannot express: groups, batches)."""
    c = op.conv
    if c is None or c.groups != 1 or c.kernel[0] * c.kernel[1] * c.in_channels != op.K:
        return None
    H, W = (c.in_hw[i] + 2 * c.padding[i] for i in (0, 1))
    sides = [ceil((n - k + s) / s) for n, k, s in zip((H, W), c.kernel, c.stride, strict=True)]
    exact = all((n - k) % s == 0 for n, k, s in zip((H, W), c.kernel, c.stride, strict=True))
    if exact or c.out_hw[0] * c.out_hw[1] != op.M:
        return None
    return Overhang(H, W, *c.kernel, c.in_channels, *c.stride, sides[1])


def ifmap_stop(flow: str, win: Overhang, sr, sc, t, R, C, per_fold) -> int | None:
    """The last cycle with a valid IFMAP address, folds in SCALE-Sim's order (column folds
    outer); None if no fold has one. os streams pixels on rows, window in time; ws streams
    pixels in time, window on rows (after an R-cycle preload); is holds window x pixels,
    loaded bottom row first."""
    rf, cf = ceil(sr / R), ceil(sc / C)
    for f in reversed(range(rf * cf)):
        fc, fr = divmod(f, rf)
        start, a, b = f * per_fold, fr * R, min(sr, fr * R + R)
        if flow == "os":
            offs = [j + p - a for p in range(a, b) if (j := win.last_valid(p, t)) >= 0]
            if offs:
                return start + max(offs) + 1
        elif flow == "ws":
            offs = [q + j - a for q in range(t) if (j := win.last_valid(q, b)) >= a]
            if offs:
                return start + R + max(offs) + 1
        else:
            pixels = range(fc * C, min(sc, fc * C + C))
            for i in range(b - a):
                if any(win.valid(p, a + i) for p in pixels):
                    return start + R - i
    return None
