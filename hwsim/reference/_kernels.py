"""numba inner loops of the reference kernels' CPU fallbacks (no fastmath: IEEE fp32 order)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def group_gemm_fp32(a, codes, lut, fid, scales, zps, has_z, gs):
    """group_gemm numerics (triton_kernels module doc), one output at a time.

    a [M, K] float32 (FP16 values), codes [N, K] uint8, lut [T, 16] float32, fid [N, G]
    int32, scales / zps [N, G] float32. Every operation is one fp32 rounding, in order.
    """
    M, K = a.shape
    N = codes.shape[0]
    G = K // gs
    out = np.zeros((M, N), np.float32)
    for m in range(M):
        for n in range(N):
            total = np.float32(0.0)
            for g in range(G):
                t = fid[n, g]
                s = np.float32(0.0)
                sa = np.float32(0.0)
                for k in range(g * gs, (g + 1) * gs):
                    x = a[m, k]
                    s = np.float32(s + np.float32(x * lut[t, codes[n, k]]))
                    sa = np.float32(sa + x)
                if has_z:
                    s = np.float32(s - np.float32(zps[n, g] * sa))
                total = np.float32(total + np.float32(s * scales[n, g]))
            out[m, n] = total
    return out
