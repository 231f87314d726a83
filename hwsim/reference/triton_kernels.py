"""Triton GPU kernels and CPU fallbacks with the same numerics, bit for bit.

group_gemm -- weight-only low-bit GEMM with per-group dequantization after the group sum
    (MixPE-style), weights as 4-bit codes packed two per byte read through a lookup table
    per datatype (INT4 g128: one table; BitMoD: the group's datatype picks the table).
    Numerics, for out[m, n] (every rounding listed; RN32 = fp32 round to nearest even):
      a is rounded to FP16 (RNE), v[n, k] = lut[fid[n, g], code[n, k]];
      S_g = fp32 register over k in group g, in k order: S = RN32(S + a_k * v_k) (the
            product is exact in fp32: an FP16 significand times a table value of at most
            13 significant bits, checked);
      with zero points z: A_g = the same register over a_k, P_g = RN32(S_g - RN32(z_g*A_g)),
            else P_g = S_g;
      out = fp32 register over groups in order: out = RN32(out + RN32(P_g * s_g)).
    This is hwsim's `mixpe` PE (W4A16 path) exactly; against `mixed_dtype` (exact group sums)
    it differs only by the fp32 group register. The Triton kernel walks k one element at a
    time per group (CUDA cores, outer products), one program per group, and adds the groups'
    partials in order in a second kernel (triton_jit); both are launched with fp fusion
    off, so no FMA contraction changes a rounding. The fallbacks do the same operations on
    float32 arrays (`group_gemm_numpy`) or in a numba loop (`group_gemm_cpu`).

bitplane_gemm -- arbitrary-precision integer GEMM by bit-plane decomposition (the approach
    of arbitrary-precision tensor-core kernels and ABQ-LLM): a (p-bit two's complement) and
    w (q-bit) split into binary planes; out = sum_{i,j} c_i c_j 2**(i+j) (A_i @ W_j.T) with
    c = -1 for each sign plane, +1 otherwise; every binary GEMM is an int8 tensor-core dot
    into int32, combined in int32 arithmetic (which wraps). The result is the exact product
    sum modulo 2**32 read as int32: hwsim's `int_mac` with a 32-bit wrapping accumulator
    and `torch._int_mm` for 8-bit operands. The fallback computes the planes with exact
    float64 matmuls (0/1 entries, K < 2**53) and wraps once at the end (wrapping is
    modular, so where it happens does not change the result).

`backend`: "auto" (Triton on CUDA when both are present, else the fallback), "triton",
"cpu". Triton is imported lazily; without it, "triton" is a one-line HwsimError.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.errors import HwsimError

BACKENDS = ("auto", "triton", "cpu")
MAX_LUT_SIG_BITS = 13  # fp16 (11) + 13 = 24: every a * v exact in fp32


@dataclass(frozen=True)
class GroupWeights:
    """Kernel inputs of a group-quantized weight: codes, tables, per-group data."""

    codes: np.ndarray  # [N, K] uint8, each < 16
    lut: np.ndarray  # [T, 16] float32 value of each code per datatype
    format_ids: np.ndarray  # [N, G] int32 index into lut
    scales: np.ndarray  # [N, G] float32
    zero_points: np.ndarray | None  # [N, G] float32 (integers) or None
    group_size: int


def triton_available() -> bool:
    try:
        import torch
        import triton  # noqa: F401
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise HwsimError(f"backend: expected auto, triton or cpu, got {backend!r}")
    if backend == "auto":
        return "triton" if triton_available() else "cpu"
    if backend == "triton" and not triton_available():
        raise HwsimError("backend 'triton' needs triton, torch and a CUDA GPU (none present)")
    return backend


# --- group_gemm ------------------------------------------------------------------------------


def weights_from_qtensor(w) -> GroupWeights:
    """GroupWeights of a QTensor with 4-bit (or narrower) codes grouped along K."""
    from hwsim.pe.terms import read_operand

    op = read_operand(w, "group_gemm")
    if max(f.bits for f in op.formats) > 4:
        raise HwsimError("group_gemm: weight formats must have at most 4-bit codes")
    lut = np.zeros((len(op.formats), 16), np.float32)
    for i, f in enumerate(op.formats):
        vals = f.values()
        lut[i, : vals.size] = vals
    zp = None if op.zero_points is None or not np.any(op.zero_points) else op.zero_points
    return make_weights(op.codes, lut, op.format_ids, op.scales, zp, op.group_size)


def make_weights(codes, lut, format_ids, scales, zero_points=None, group_size=128):
    """Validated GroupWeights (shapes, code range, exact fp32 products, integer zero points)."""
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.dtype.kind not in "iu" or codes.min(initial=0) < 0:
        raise HwsimError("group_gemm: codes must be a 2-D array of non-negative integers")
    if codes.max(initial=0) > 15:
        raise HwsimError("group_gemm: codes must be 4-bit (< 16)")
    N, K = codes.shape
    gs = int(group_size)
    if gs <= 0 or K % gs:
        raise HwsimError(f"group_gemm: group_size {group_size} must divide K={K}")
    G = K // gs
    lut = np.atleast_2d(np.asarray(lut, np.float64))
    if lut.shape[1] != 16 or not np.all(np.isfinite(lut)):
        raise HwsimError(f"group_gemm: lut must be finite [T, 16], got shape {lut.shape}")
    m, _ = np.frexp(lut)
    sig = np.ldexp(m, MAX_LUT_SIG_BITS)
    if not np.all(sig == np.round(sig)) or np.abs(lut).max() > 2.0**16:
        raise HwsimError(
            f"group_gemm: lut values need <= {MAX_LUT_SIG_BITS} significant bits and "
            f"|v| <= 65536 (exact fp32 products with FP16 activations)"
        )
    fid = np.broadcast_to(np.asarray(format_ids, np.int64), (N, G))
    if fid.min(initial=0) < 0 or fid.max(initial=0) >= lut.shape[0]:
        raise HwsimError(f"group_gemm: format_ids must index the {lut.shape[0]} lut rows")
    scales = np.broadcast_to(np.asarray(scales, np.float64), (N, G)).astype(np.float32)
    if zero_points is not None:
        zero_points = np.broadcast_to(np.asarray(zero_points, np.float64), (N, G))
        if not np.all(zero_points == np.round(zero_points)):
            raise HwsimError("group_gemm: zero points must be integers")
        zero_points = zero_points.astype(np.float32)
    return GroupWeights(
        codes.astype(np.uint8),
        lut.astype(np.float32),
        np.ascontiguousarray(fid, np.int32),
        np.ascontiguousarray(scales),
        zero_points,
        gs,
    )


def _fp16_activations(a) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 2 or a.dtype.kind != "f":
        raise HwsimError(f"group_gemm: activations must be a 2-D float array, got {a.shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        a16 = a.astype(np.float16)
    if not np.all(np.isfinite(a16)):
        raise HwsimError("group_gemm: activations must be finite in FP16 (|a| <= 65504)")
    return a16


def group_gemm(a, w: GroupWeights, backend: str = "auto") -> np.ndarray:
    """out = a @ dequant(w).T with the numerics of the module doc; fp32 values as float64."""
    a16 = _fp16_activations(a)
    if a16.shape[1] != w.codes.shape[1]:
        raise HwsimError(f"group_gemm: K mismatch, a is {a16.shape} and w is {w.codes.shape}")
    if _backend(backend) == "triton":
        from hwsim.reference.triton_jit import group_gemm_triton

        return group_gemm_triton(a16, w)
    return group_gemm_cpu(a16, w)


def group_gemm_cpu(a16: np.ndarray, w: GroupWeights) -> np.ndarray:
    """CPU fallback (numba): the kernel's operations in the kernel's order."""
    from hwsim.reference._kernels import group_gemm_fp32

    a = np.ascontiguousarray(np.asarray(a16, np.float16).astype(np.float32))
    z = w.zero_points if w.zero_points is not None else np.zeros_like(w.scales)
    out = group_gemm_fp32(
        a, w.codes, w.lut, w.format_ids, w.scales, z, w.zero_points is not None, w.group_size
    )
    return out.astype(np.float64)


def group_gemm_numpy(a16: np.ndarray, w: GroupWeights) -> np.ndarray:
    """The same numerics on float32 numpy arrays, vectorised over outputs (a second path)."""
    a = np.asarray(a16, np.float16).astype(np.float32)
    M, K = a.shape
    N, gs = w.codes.shape[0], w.group_size
    fid_el = np.repeat(w.format_ids, gs, axis=1)  # [N, K]
    v = w.lut[fid_el, w.codes]  # [N, K] float32
    out = np.zeros((M, N), np.float32)
    for g in range(K // gs):
        acc = np.zeros((M, N), np.float32)
        asum = np.zeros((M, 1), np.float32)
        for k in range(g * gs, (g + 1) * gs):
            acc = acc + a[:, k, None] * v[None, :, k]  # product exact, one RN32 per add
            asum = asum + a[:, k, None]
        if w.zero_points is not None:
            acc = acc - w.zero_points[None, :, g] * asum
        out = out + acc * w.scales[None, :, g]
    return out.astype(np.float64)


def pack_int4(codes: np.ndarray) -> np.ndarray:
    """[N, K] codes < 16 -> [N, K/2] bytes, element 2i in the low nibble of byte i."""
    c = np.asarray(codes, np.uint8)
    if c.shape[1] % 2:
        c = np.pad(c, ((0, 0), (0, 1)))
    return (c[:, 0::2] | (c[:, 1::2] << 4)).astype(np.uint8)


def unpack_int4(packed: np.ndarray, k: int) -> np.ndarray:
    p = np.asarray(packed, np.uint8)
    out = np.empty((p.shape[0], p.shape[1] * 2), np.uint8)
    out[:, 0::2], out[:, 1::2] = p & 15, p >> 4
    return out[:, :k]


# --- bitplane_gemm ---------------------------------------------------------------------------


def _signed_operand(x, bits: int, who: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2 or x.dtype.kind not in "iu":
        raise HwsimError(f"bitplane_gemm: {who} must be a 2-D integer array, got {x.dtype}")
    if not (isinstance(bits, int) and 1 <= bits <= 8):
        raise HwsimError(f"bitplane_gemm: {who}_bits must be an integer in [1, 8], got {bits!r}")
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    if x.size and (x.min() < lo or x.max() > hi):
        raise HwsimError(f"bitplane_gemm: {who} values must lie in [{lo}, {hi}] ({bits} bits)")
    return x.astype(np.int64)


def wrap_int32(x: np.ndarray) -> np.ndarray:
    """Integers modulo 2**32 read as int32 (two's complement), as int64."""
    x = np.asarray(x, np.int64)
    return ((x + 2**31) & 0xFFFFFFFF) - 2**31


def bitplane_gemm(a, w, a_bits: int = 8, w_bits: int = 8, backend: str = "auto") -> np.ndarray:
    """a [M, K] @ w[N, K].T by bit planes, int32 (wrapping) results as int64."""
    A = _signed_operand(a, a_bits, "a")
    W = _signed_operand(w, w_bits, "w")
    if A.shape[1] != W.shape[1]:
        raise HwsimError(f"bitplane_gemm: K mismatch, a is {A.shape} and w is {W.shape}")
    if _backend(backend) == "triton":
        from hwsim.reference.triton_jit import bitplane_triton

        return bitplane_triton(A, W, a_bits, w_bits)
    return bitplane_gemm_cpu(A, W, a_bits, w_bits)


def planes(x: np.ndarray, bits: int) -> list[tuple[int, np.ndarray]]:
    """[(signed weight c_i * 2**i, 0/1 plane i)] of a two's complement `bits`-bit array."""
    u = np.asarray(x, np.int64) & ((1 << bits) - 1)
    out = []
    for i in range(bits):
        weight = -(1 << i) if i == bits - 1 else 1 << i
        out.append((weight, ((u >> i) & 1).astype(np.float64)))
    return out


def bitplane_gemm_cpu(A: np.ndarray, W: np.ndarray, a_bits: int, w_bits: int) -> np.ndarray:
    """All plane products in one BLAS call: [planes of A] @ [planes of W].T, exact because
    entries are 0/1 and K < 2**24 (float32) or K < 2**53 (float64), then combined mod 2**32."""
    M, K = A.shape
    N = W.shape[0]
    if K >= 2**53:
        raise HwsimError("bitplane_gemm: K too large for exact float plane products")
    dt = np.float32 if K < 2**24 else np.float64
    pa, pw = planes(A, a_bits), planes(W, w_bits)
    stack_a = np.concatenate([p for _, p in pa]).astype(dt)  # [a_bits * M, K]
    stack_w = np.concatenate([p for _, p in pw]).astype(dt)  # [w_bits * N, K]
    binary = (stack_a @ stack_w.T).astype(np.int64).reshape(a_bits, M, w_bits, N)
    total = np.zeros((M, N), np.int64)
    for i, (ca, _) in enumerate(pa):
        for j, (cw, _) in enumerate(pw):
            total = wrap_int32(total + wrap_int32(binary[i, :, j, :] * (ca * cw)))
    return total
