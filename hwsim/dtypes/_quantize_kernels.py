"""Numba inner loop of the quantizer (hwsim.dtypes.quantize): the fused int/absmax/fp32 path.

Its twin is the generic numpy path of `quantize_groups` (`fast=False`); the tests hold the
two equal.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def int_absmax_fp32_kernel(G, qmax, lo, hi, mask, codes, scales) -> int:
    """Fused symmetric absmax quantizer, fp32 scales, RNE, for integer formats.

    The same arithmetic as the generic path (scale = fl32(amax / qmax), 1 for an all-zero
    group, 2^-149 on underflow; code = RNE(clip(x / scale)) in two's complement). Returns
    the number of groups whose scale underflowed (the generic path's scale_saturated), or
    -1, leaving the work to the generic path, on a non-finite input.
    """
    n, g = G.shape
    saturated = 0
    big = G.dtype.type(3.4028234663852886e38)
    for i in range(n):
        row = G[i]
        amax = abs(row[0]) * 0  # the row's dtype; branch-light loops so that LLVM vectorises
        bad = False
        for j in range(g):
            v = abs(row[j])
            bad |= not v <= big
            amax = v if v > amax else amax
        if bad:
            return -1
        s = 1.0
        if amax > 0:
            s = np.float64(np.float32(np.float64(amax) / qmax))
            if s == 0.0:  # below fp32's smallest subnormal: raised to it
                s = 2.0**-149
                saturated += 1
        scales[i] = s
        out = codes[i]
        for j in range(g):
            q = np.float64(row[j]) / s
            q = lo if q < lo else q
            q = hi if q > hi else q
            out[j] = np.int32(np.rint(q)) & mask
    return saturated
