"""The Triton kernels behind `group_gemm` and `bitplane_gemm` (numerics: triton_kernels).

Operands live on the device: `device_group_weights` moves a GroupWeights there once (codes
packed two per byte), and `launch_group_gemm` / `launch_bitplane` take and return torch
tensors, so a benchmark times the kernels alone. `group_gemm_triton` / `bitplane_triton` are
the numpy-in, numpy-out wrappers the checks use.

group GEMM runs in two kernels. The group sums are independent, so the first kernel gives
every (row block, column block, group) its own program and writes RN32(P_g * s_g) to a
[G, M, N] buffer; the second adds those partials in group order, one fp32 rounding per add.
That is the same sequence of roundings as one sequential loop over groups, with G times
more programs in flight than a kernel that walks all of K (G = 32 at K = 4096).

`dev` "cpu" with TRITON_INTERPRET=1 set before triton is imported runs the same kernel code
in Triton's interpreter (tests/unit/test_reference_triton_interp.py).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from hwsim.reference.triton_kernels import GroupWeights, pack_int4


class DeviceGroupWeights(NamedTuple):
    """A GroupWeights as device tensors (codes packed two per byte)."""

    packed: object  # [N, ceil(K / 2)] uint8
    lut: object  # [T, 16] float32
    format_ids: object  # [N, G] int32
    scales: object  # [N, G] float32
    zero_points: object | None  # [N, G] float32
    K: int
    group_size: int


@lru_cache(maxsize=1)
def _kernels():
    return build_kernels()


def build_kernels():
    """(triton, group_partial, group_reduce, bitplane) kernels, freshly decorated (the tests
    build them under TRITON_INTERPRET=1 to run the very same code on a CPU)."""
    import triton
    import triton.language as tl

    @triton.jit
    def group_partial_kernel(
        a_ptr, wp_ptr, lut_ptr, fid_ptr, s_ptr, z_ptr, part_ptr, M, N, K, KP, G,
        GS: tl.constexpr, HAS_Z: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr,
    ):  # fmt: skip
        rm = tl.program_id(0) * BM + tl.arange(0, BM)
        rn = tl.program_id(1) * BN + tl.arange(0, BN)
        g = tl.program_id(2)
        mm, nm = rm < M, rn < N
        fid = tl.load(fid_ptr + rn * G + g, mask=nm, other=0)
        acc = tl.zeros((BM, BN), dtype=tl.float32)
        asum = tl.zeros((BM,), dtype=tl.float32)
        for kk in range(0, GS):  # in k order: one fp32 rounding per add
            k = g * GS + kk
            a = tl.load(a_ptr + rm * K + k, mask=mm, other=0.0).to(tl.float32)
            byte = tl.load(wp_ptr + rn * KP + k // 2, mask=nm, other=0).to(tl.int32)
            code = (byte >> ((k % 2) * 4)) & 15
            v = tl.load(lut_ptr + fid * 16 + code, mask=nm, other=0.0)
            acc = acc + a[:, None] * v[None, :]
            asum = asum + a
        if HAS_Z:
            z = tl.load(z_ptr + rn * G + g, mask=nm, other=0.0)
            acc = acc - z[None, :] * asum[:, None]
        s = tl.load(s_ptr + rn * G + g, mask=nm, other=0.0)
        off = g * M * N + rm[:, None] * N + rn[None, :]
        tl.store(part_ptr + off, acc * s[None, :], mask=mm[:, None] & nm[None, :])

    @triton.jit
    def group_reduce_kernel(part_ptr, out_ptr, MN, G, BLOCK: tl.constexpr):
        idx = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        mask = idx < MN
        out = tl.zeros((BLOCK,), dtype=tl.float32)
        for g in range(0, G):  # groups in order
            out = out + tl.load(part_ptr + g * MN + idx, mask=mask, other=0.0)
        tl.store(out_ptr + idx, out, mask=mask)

    @triton.jit
    def bitplane_kernel(
        a_ptr, w_ptr, c_ptr, M, N, K,
        ABITS: tl.constexpr, WBITS: tl.constexpr,
        BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr,
    ):  # fmt: skip
        rm = tl.program_id(0) * BM + tl.arange(0, BM)
        rn = tl.program_id(1) * BN + tl.arange(0, BN)
        acc = tl.zeros((BM, BN), dtype=tl.int32)
        for k0 in range(0, K, BK):
            rk = k0 + tl.arange(0, BK)
            a = tl.load(
                a_ptr + rm[:, None] * K + rk[None, :],
                mask=(rm[:, None] < M) & (rk[None, :] < K),
                other=0,
            )
            w = tl.load(
                w_ptr + rn[None, :] * K + rk[:, None],
                mask=(rn[None, :] < N) & (rk[:, None] < K),
                other=0,
            )
            for i in tl.static_range(ABITS):
                ai = ((a >> i) & 1).to(tl.int8)
                for j in tl.static_range(WBITS):
                    wj = ((w >> j) & 1).to(tl.int8)
                    p = tl.dot(ai, wj, out_dtype=tl.int32)
                    if (i == ABITS - 1) != (j == WBITS - 1):  # one sign plane: weight < 0
                        acc = acc - (p << (i + j))
                    else:
                        acc = acc + (p << (i + j))
        mask = (rm[:, None] < M) & (rn[None, :] < N)
        tl.store(c_ptr + rm[:, None] * N + rn[None, :], acc, mask=mask)

    return triton, group_partial_kernel, group_reduce_kernel, bitplane_kernel


def _tensor(x, dev):
    import torch

    return torch.from_numpy(np.ascontiguousarray(x)).to(dev)


def device_group_weights(w: GroupWeights, dev: str = "cuda") -> DeviceGroupWeights:
    z = None if w.zero_points is None else _tensor(w.zero_points, dev)
    return DeviceGroupWeights(
        _tensor(pack_int4(w.codes), dev),
        _tensor(w.lut, dev),
        _tensor(w.format_ids, dev),
        _tensor(w.scales, dev),
        z,
        w.codes.shape[1],
        w.group_size,
    )


def launch_group_gemm(ta16, dw: DeviceGroupWeights, kernels=None):
    """fp32 [M, N] tensor of a [M, K] fp16 tensor times the device weights (module doc)."""
    import torch

    triton, partial, reduce, _ = kernels or _kernels()
    M, K = ta16.shape
    N, G = dw.format_ids.shape
    part = torch.empty((G, M, N), dtype=torch.float32, device=ta16.device)
    out = torch.empty((M, N), dtype=torch.float32, device=ta16.device)
    BM, BN = min(16, triton.next_power_of_2(M)), 64  # decode (M = 1) wastes no rows
    z = dw.zero_points if dw.zero_points is not None else dw.scales  # unread when HAS_Z off
    grid = (triton.cdiv(M, BM), triton.cdiv(N, BN), G)
    partial[grid](
        ta16, dw.packed, dw.lut, dw.format_ids, dw.scales, z, part,
        M, N, K, dw.packed.shape[1], G,
        GS=dw.group_size, HAS_Z=dw.zero_points is not None, BM=BM, BN=BN, enable_fp_fusion=False,
    )  # fmt: skip
    BLOCK = 256
    reduce[(triton.cdiv(M * N, BLOCK),)](part, out, M * N, G, BLOCK=BLOCK, enable_fp_fusion=False)
    return out


def group_gemm_triton(a16: np.ndarray, w: GroupWeights, dev="cuda", kernels=None) -> np.ndarray:
    out = launch_group_gemm(_tensor(a16, dev), device_group_weights(w, dev), kernels)
    return out.cpu().numpy().astype(np.float64)


def launch_bitplane(ta, tw, a_bits: int, w_bits: int, kernels=None):
    """int32 [M, N] tensor (wrapping) of int8 tensors a [M, K] and w [N, K] by bit planes."""
    import torch

    triton, _, _, kernel = kernels or _kernels()
    M, K = ta.shape
    N = tw.shape[0]
    out = torch.empty((M, N), dtype=torch.int32, device=ta.device)
    BM, BN, BK = 64, 64, 64
    grid = (triton.cdiv(M, BM), triton.cdiv(N, BN))
    kernel[grid](ta, tw, out, M, N, K, ABITS=a_bits, WBITS=w_bits, BM=BM, BN=BN, BK=BK)
    return out


def bitplane_triton(A, W, a_bits: int, w_bits: int, dev="cuda", kernels=None) -> np.ndarray:
    ta, tw = _tensor(A.astype(np.int8), dev), _tensor(W.astype(np.int8), dev)
    return launch_bitplane(ta, tw, a_bits, w_bits, kernels).cpu().numpy().astype(np.int64)
