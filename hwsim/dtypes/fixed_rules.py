"""The rounding and overflow rule numbers the fixed-point kernels take (no numba here, so
formats can name rules without importing the kernels)."""

# Rounding rules (increment added to floor(x * 2^F)). The first seven are the AP q-modes.
TRN, TRN_ZERO, RND, RND_ZERO, RND_MIN_INF, RND_INF, RND_CONV, CEIL, STOCHASTIC = range(9)
# Overflow rules, the AP o-modes.
WRAP, SAT, SAT_ZERO, SAT_SYM, WRAP_SM = range(5)
