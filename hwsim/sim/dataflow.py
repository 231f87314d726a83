"""Dataflows (`@register_dataflow`): how a GEMM C[M,N] = A[M,K] W[N,K]^T folds onto R x C PEs.

Each dataflow names the dimension held along the array rows (Sr), along the columns (Sc), and
the one streamed in time (T). `folds = ceil(Sr/R) * ceil(Sc/C)`; under-filled folds still take
the whole array.

hwsim's own orientation of `os` puts output channels N down the rows and tokens M across the
columns (as the BitMoD paper's array: rows = h = C_out, cols = w = tokens) and streams the
reduction in `dot_product_width` lanes, T = ceil(K/dp). SCALE-Sim's `os` puts M on the rows;
`scalesim_dims` keeps SCALE-Sim's own convention for the compatibility mode.

Cycles per fold:
  ideal (broadcast array, no pipeline): ceil(T * step_cycles)
  systolic, physical (default):        2R + C + ceil(T*step) - 2 (fill R+C-2, stream, drain R)
  systolic, SCALE-Sim quirks:          os R + C + T - 2; ws/is 2R + C + T - 2; total - 1 once
SCALE-Sim also sizes a conv's output as ceil((in - k + s) / s) per side (hwsim.sim.mapping.
scalesim_rows), which the compatibility mode follows for conv ops.
The physical model charges every dataflow the R-cycle output drain (os) or weight preload
(ws/is) that SCALE-Sim's paper formula has; SCALE-Sim v2/v3's os omits it (scale-sim-v3
issue #4) and subtracts one cycle from the total (issue #125).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from math import ceil

_DATAFLOWS: dict[str, type] = {}


def register_dataflow(name: str):
    """Class decorator: make a dataflow available under `name`."""

    def wrap(cls):
        if name in _DATAFLOWS:
            raise RuntimeError(f"dataflow {name!r} registered twice")
        cls.name = name
        _DATAFLOWS[name] = cls
        return cls

    return wrap


def dataflow_names() -> list[str]:
    return sorted(_DATAFLOWS)


def get_dataflow(name: str):
    """The dataflow instance called `name` (names are validated in spec/)."""
    return _DATAFLOWS[name]()


class Dataflow(ABC):
    """Base: subclasses give dims() and scalesim_dims()."""

    name = ""
    scalesim_fill = 2  # R-multiples of fill+drain in SCALE-Sim's per-fold formula
    # GEMM dimensions (m, n, k) on the array rows, on the cols, and streamed (hwsim.sim.mapper)
    layout: tuple[str, str, str] = ("", "", "")
    stays = ""  # the operand that stays in the PEs: O (outputs), W (weights) or A (inputs)

    def mapper_blocks(self, extent: dict, rows: int, cols: int) -> tuple[dict, str | None]:
        """({m, n, k: blocks}, the streamed dimension) for the mapper: a spatial dimension in
        whole array blocks, the streamed one in steps (`extent`: m, n and k in dp steps)."""
        r, c, t = self.layout
        return {r: ceil(extent[r] / rows), c: ceil(extent[c] / cols), t: extent[t]}, t

    @abstractmethod
    def dims(self, M: int, N: int, K: int, dp: int) -> tuple[int, int, int]:
        """(Sr, Sc, T) in hwsim's orientation; T counts dp-wide steps."""

    @abstractmethod
    def scalesim_dims(self, M: int, N: int, K: int) -> tuple[int, int, int]:
        """(Sr, Sc, T) exactly as SCALE-Sim computes them."""

    def folds(self, M: int, N: int, K: int, dp: int, rows: int, cols: int) -> int:
        sr, sc, _ = self.dims(M, N, K, dp)
        return ceil(sr / rows) * ceil(sc / cols)

    @property
    def fold_key(self):
        """What its per-fold element counts depend on besides the array: its name here (an
        op-bound dataflow adds its geometry)."""
        return self.name

    def unrolling(self, rows: int, cols: int) -> str:
        """What the array's rows | cols hold, for the loop nest (e.g. n32|m32)."""
        r, c, _ = self.layout
        return f"{r}{rows}|{c}{cols}"

    def fold_uses(self, M: int, N: int, K: int, dp: int, rows: int, cols: int, folds: int):
        """[(rows used, cols used, folds)] of a GEMM instance's `folds` folds: the full folds and
        the part-filled last row / column block of its spatial grid, `folds` holding whole
        grids (heads of a GQA group, parts of a streamed dimension)."""
        sr, sc, _ = self.dims(M, N, K, dp)
        grid = ceil(sr / rows) * ceil(sc / cols)
        copies = folds // grid
        if copies * grid != folds:
            raise ValueError(f"{folds} folds are not whole {grid}-fold grids")
        out = []
        for r, nr in ((rows, sr // rows), (sr % rows, int(sr % rows > 0))):
            for c, nc in ((cols, sc // cols), (sc % cols, int(sc % cols > 0))):
                if nr * nc:
                    out.append((r, c, nr * nc * copies))
        return out

    def stream_steps(self, M: int, N: int, K: int, dp: int) -> int:
        """T: the dp-wide steps one fold streams."""
        return self.dims(M, N, K, dp)[2]

    def fold_cycles(
        self, T: int, step_cycles, rows: int, cols: int, systolic: bool, min_stream: int = 0
    ) -> int:
        """Cycles of one fold in the physical model (step_cycles may be a Fraction); the
        stream takes at least `min_stream` cycles (buffer read bandwidth)."""
        stream = max(ceil(T * step_cycles), min_stream)
        return stream + 2 * rows + cols - 2 if systolic else stream

    @abstractmethod
    def operand_reads(self, rows: int, cols: int, T: int, dp: int) -> tuple[int, int]:
        """(weight, input) elements the buffers deliver to the array in one fold."""

    def output_writes(self, rows: int, cols: int, T: int) -> int:
        """Output elements the array writes into the buffer in one fold: one per column per
        step when outputs stream out (ws, is); os overrides (each PE owns one output)."""
        return cols * T

    def scalesim_total(self, M: int, N: int, K: int, rows: int, cols: int) -> int:
        """SCALE-Sim's 'Total Cycles' for one GEMM without memory stalls (both quirks)."""
        sr, sc, t = self.scalesim_dims(M, N, K)
        folds = ceil(sr / rows) * ceil(sc / cols)
        per_fold = self.scalesim_fill * rows + cols + t - 2
        return folds * per_fold - 1


@register_dataflow("os")
class OutputStationary(Dataflow):
    """Each PE owns one output; operands stream in along K."""

    scalesim_fill = 1  # SCALE-Sim's os formula R + C + T - 2 (its documented bug)
    layout, stays = ("n", "m", "k"), "O"

    def dims(self, M, N, K, dp):
        return N, M, ceil(K / dp)

    def operand_reads(self, rows, cols, T, dp):
        return rows * dp * T, cols * dp * T

    def output_writes(self, rows, cols, T):
        return rows * cols

    def scalesim_dims(self, M, N, K):
        return M, N, K


@register_dataflow("ws")
class WeightStationary(Dataflow):
    """Each PE holds weights (K down the rows, N across); tokens stream through."""

    layout, stays = ("k", "n", "m"), "W"

    def dims(self, M, N, K, dp):
        return ceil(K / dp), N, M

    def operand_reads(self, rows, cols, T, dp):
        return rows * cols * dp, rows * dp * T

    def scalesim_dims(self, M, N, K):
        return K, N, M


@register_dataflow("is")
class InputStationary(Dataflow):
    """Each PE holds inputs (K down the rows, M across); output channels stream through."""

    layout, stays = ("k", "m", "n"), "A"

    def dims(self, M, N, K, dp):
        return ceil(K / dp), M, N

    def operand_reads(self, rows, cols, T, dp):
        return rows * dp * T, rows * cols * dp

    def scalesim_dims(self, M, N, K):
        return K, M, N
