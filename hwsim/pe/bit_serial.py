"""Bit-serial classics: Stripes (MICRO'16) and Loom (DAC'18), exact integer outputs.

Operands are integer arrays or QTensors of integer formats (read by hwsim.pe.int_mac's
`integer_operand`: zero points subtracted first); `out` holds the exact integer sums
a @ w.T (int64) and `hwsim.pe.int_mac.dequantize_output` applies per-tensor / per-row
scales. The accumulator is wide enough by construction (its width, `acc_bits` in info, is
the bound K * max|a| * max|w| needs), so nothing overflows.

A PE has `lanes` lanes that work in lockstep on consecutive K elements (a *chunk*), an adder
tree, and a shift-accumulate register per output.

* stripes: activation bits serial (one bit of every lane per cycle), weights parallel. A chunk
  takes `pa` cycles, pa = its activation precision.
* loom: both serial, `bits_per_cycle` b bits of each per cycle. A chunk takes
  ceil(pa / b) * ceil(pw / b) cycles.

Precision (`dynamic=False`): the operand widths (the format's bits; for arrays the smallest
two's-complement width of the tensor). With `dynamic=True` (Dynamic Stripes / Loom's runtime
precision detection, modelled per chunk of `lanes` elements): pa per (row m, chunk) and, for
Loom, pw per (column n, chunk) are the fewest bits that hold the chunk's values (unsigned
width when none is negative, two's-complement width otherwise), so cycles follow the data.

Cycles: `tile_cycles[m, n]` = sum over chunks of the chunk's cycles (one PE computing output
(m, n)); `cycles` = its sum over outputs (one PE doing the whole call; divide by the number
of PEs for an array).
Counts: stripes `and.{wbits}` and `add.{acc_bits}` one per lane per cycle (lane-cycles,
idle lanes of a short last chunk excluded); loom `and.1` (b = 1) or `mul.{b}x{b}` and
`add.{acc_bits}` one per lane per cycle; both `shift.{acc_bits}` one per output per cycle
(the shift-accumulate) and `reg_write.{acc_bits}` one per output.
"""

from __future__ import annotations

import math

import numpy as np

from hwsim.errors import HwsimError
from hwsim.lazy import lazy_module
from hwsim.pe.counts import ActionCounts
from hwsim.pe.int_mac import check_shapes, integer_operand
from hwsim.pe.registry import PEEstimate, PEResult, check_flag, register_pe

# numba kernels load on first use: a shapes-only run never compiles or imports them
KS = lazy_module("hwsim.pe._kernels_serial")


def value_width(lo: int, hi: int) -> int:
    """Fewest bits holding [lo, hi]: unsigned when lo >= 0, else two's complement."""
    if lo >= 0:
        return max(1, int(hi).bit_length())
    bits = 1
    while not (-(2 ** (bits - 1)) <= lo and hi <= 2 ** (bits - 1) - 1):
        bits += 1
    return bits


def chunk_precision(x: np.ndarray, lanes: int) -> np.ndarray:
    """value_width per (row, chunk of `lanes` consecutive elements): int64 [R, C]."""
    R, K = x.shape
    C = -(-K // lanes)
    pad = np.zeros((R, C * lanes), np.int64)
    pad[:, :K] = x
    lo = pad.reshape(R, C, lanes).min(axis=2)
    hi = pad.reshape(R, C, lanes).max(axis=2)
    unsigned = np.maximum(1, bit_length(hi))
    signed = 1 + np.maximum(bit_length(np.maximum(hi, 0)), bit_length(np.maximum(-lo - 1, 0)))
    return np.where(lo >= 0, unsigned, signed)


def bit_length(x: np.ndarray) -> np.ndarray:
    """int.bit_length of non-negative int64 values, elementwise (0 -> 0)."""
    x = np.asarray(x, np.int64)
    bl = np.frexp(x.astype(np.float64))[1].astype(np.int64)
    # float64 may round a value >= 2**53 up to the next power of two: step back where so
    over = (bl > 0) & (bl <= 63) & ((np.int64(1) << np.maximum(bl - 1, 0)) > x)
    return bl - over


def exact_int_matmul(a: np.ndarray, w: np.ndarray, who: str) -> np.ndarray:
    """Exact int64 a @ w.T: float64 BLAS when K * max|a| * max|w| < 2**53, else numba."""
    K = a.shape[1]
    bound = K * float(np.abs(a).max(initial=0)) * float(np.abs(w).max(initial=0))
    if bound < 2.0**53:
        return (a.astype(np.float64) @ w.astype(np.float64).T).astype(np.int64)
    if bound >= 2.0**62:
        raise HwsimError(f"{who}: operands too wide for an exact 63-bit accumulator")
    return KS.int_gemm_exact(a, w)


class _SerialBase:
    def __init__(self, lanes: int = 16, dynamic: bool = False):
        if not (isinstance(lanes, int) and 1 <= lanes <= 4096):
            raise HwsimError(f"{self.kind}.lanes: expected an integer in [1, 4096], got {lanes!r}")
        self.lanes = lanes
        self.dynamic = check_flag(dynamic, f"{self.kind}.dynamic")

    def check(self, a_format=None, w_format=None) -> None:
        from hwsim.dtypes import format as get_format
        from hwsim.pe.int_mac import integer_format_check

        for f in (a_format, w_format):
            if f is not None:
                integer_format_check(get_format(f), self.kind)

    def _operands(self, a, w):
        av, abits, _ = integer_operand(a, f"{self.kind}: a")
        wv, wbits, _ = integer_operand(w, f"{self.kind}: w")
        check_shapes(av, wv, self.kind)
        return av, abits, wv, wbits

    def _precisions(self, x, bits):
        C = -(-x.shape[1] // self.lanes)
        if self.dynamic:
            return chunk_precision(x, self.lanes)
        return np.full((x.shape[0], C), bits, np.int64)

    def _lanes_per_chunk(self, K: int) -> np.ndarray:
        C = -(-K // self.lanes)
        L = np.full(C, self.lanes, np.int64)
        L[-1] = K - self.lanes * (C - 1)
        return L

    @staticmethod
    def _acc_bits(K, abits, wbits) -> int:
        return abits + wbits + max(1, math.ceil(math.log2(max(K, 2))))


@register_pe("stripes")
class StripesPE(_SerialBase):
    """Activations bit-serial x weights bit-parallel; see the module doc."""

    def expected(
        self, a_format=None, w_format=None, group_size=None, scale_bits=None
    ) -> PEEstimate:
        self.check(a_format, w_format)
        abits, wbits = _bits(a_format, 8), _bits(w_format, 8)
        acc = self._acc_bits(4096, abits, wbits)
        counts = {f"and.{wbits}": abits, f"add.{acc}": abits, f"shift.{acc}": abits / self.lanes}
        return PEEstimate(cycles_per_mac=abits / self.lanes, counts_per_mac=counts)

    def run(self, a, w) -> PEResult:
        av, abits, wv, wbits = self._operands(a, w)
        M, K = av.shape
        N = wv.shape[0]
        pa = self._precisions(av, abits)  # [M, C]
        per_row = pa.sum(axis=1)  # cycles of one output of row m
        tile = np.broadcast_to(per_row[:, None], (M, N)).copy()
        acc = self._acc_bits(K, abits, wbits)
        lane_cycles = int((pa * self._lanes_per_chunk(K)).sum()) * N
        c = ActionCounts()
        c.add("and", lane_cycles, wbits)
        c.add("add", lane_cycles, acc)
        c.add("shift", int(tile.sum()), acc)
        c.add("reg_write", M * N, acc)
        out = exact_int_matmul(av, wv, self.kind)
        info = {"acc_bits": acc, "a_precision_mean": float(pa.mean()) if pa.size else 0.0}
        return PEResult(out, c, int(tile.sum()), tile, 0, info)


@register_pe("loom")
class LoomPE(_SerialBase):
    """Activations and weights both bit-serial, `bits_per_cycle` of each per cycle."""

    def __init__(self, lanes: int = 16, dynamic: bool = False, bits_per_cycle: int = 1):
        super().__init__(lanes, dynamic)
        if bits_per_cycle not in (1, 2, 4, 8):
            raise HwsimError(f"loom.bits_per_cycle: expected 1, 2, 4 or 8, got {bits_per_cycle!r}")
        self.b = bits_per_cycle

    def expected(
        self, a_format=None, w_format=None, group_size=None, scale_bits=None
    ) -> PEEstimate:
        self.check(a_format, w_format)
        abits, wbits = _bits(a_format, 8), _bits(w_format, 8)
        steps = -(-abits // self.b) * -(-wbits // self.b)
        acc = self._acc_bits(4096, abits, wbits)
        pp = "and.1" if self.b == 1 else f"mul.{self.b}x{self.b}"
        counts = {pp: steps, f"add.{acc}": steps, f"shift.{acc}": steps / self.lanes}
        return PEEstimate(cycles_per_mac=steps / self.lanes, counts_per_mac=counts)

    def run(self, a, w) -> PEResult:
        av, abits, wv, wbits = self._operands(a, w)
        M, K = av.shape
        N = wv.shape[0]
        ca = -(-self._precisions(av, abits) // self.b)  # activation steps [M, C]
        cw = -(-self._precisions(wv, wbits) // self.b)  # weight steps [N, C]
        tile = ca @ cw.T  # sum over chunks of ceil(pa/b) * ceil(pw/b), exact int64
        acc = self._acc_bits(K, abits, wbits)
        lane_steps = int(((ca * self._lanes_per_chunk(K)) @ cw.T).sum())
        c = ActionCounts()
        if self.b == 1:
            c.add("and", lane_steps, 1)
        else:
            c.add("mul", lane_steps, self.b, self.b)
        c.add("add", lane_steps, acc)
        c.add("shift", int(tile.sum()), acc)
        c.add("reg_write", M * N, acc)
        out = exact_int_matmul(av, wv, self.kind)
        info = {"acc_bits": acc, "bits_per_cycle": self.b}
        return PEResult(out, c, int(tile.sum()), tile, 0, info)


def _bits(fmt, default: int) -> int:
    if fmt is None:
        return default
    from hwsim.dtypes import format as get_format

    return int(get_format(fmt).bits)


# --- scalar references ----------------------------------------------------------------------
def digits_scalar(v: int, p: int, b: int, signed: bool) -> list[int]:
    """v as ceil(p/b) base-2**b digits, least significant first; the top digit carries the
    sign for a two's-complement `signed` value (p bits sign-extended to a multiple of b)."""
    n = -(-p // b)
    if signed:
        assert -(2 ** (p - 1)) <= v < 2 ** (p - 1)
    else:
        assert 0 <= v < 2**p
    pattern = v & ((1 << (n * b)) - 1)
    digits = [(pattern >> (i * b)) & ((1 << b) - 1) for i in range(n)]
    if signed and digits[-1] >= 1 << (b - 1):
        digits[-1] -= 1 << b
    return digits


def serial_reference(av, wv, lanes, pa, pw, b_a, b_w) -> np.ndarray:
    """Pure-Python bit-serial dot products: per chunk, digits of both operands, shift-add.

    pa [M, C] / pw [N, C] precisions; b_a / b_w bits per step (stripes: b_w = pw, one step).
    """
    M, K = av.shape
    N = wv.shape[0]
    out = np.zeros((M, N), np.int64)
    for m in range(M):
        for n in range(N):
            acc = 0
            for c in range(-(-K // lanes)):
                ks = range(c * lanes, min(K, (c + 1) * lanes))
                a_neg = any(int(av[m, k]) < 0 for k in ks)
                w_neg = any(int(wv[n, k]) < 0 for k in ks)
                p, q = int(pa[m, c]), int(pw[n, c])
                da = [digits_scalar(int(av[m, k]), p, b_a, a_neg) for k in ks]
                dw = [digits_scalar(int(wv[n, k]), q, b_w(q), w_neg) for k in ks]
                for i in range(len(da[0])):  # one activation step per cycle group
                    for j in range(len(dw[0])):
                        tree = sum(x[i] * y[j] for x, y in zip(da, dw, strict=True))
                        acc += tree << (i * b_a + j * b_w(q))
            out[m, n] = acc
    return out
