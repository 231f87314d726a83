"""Bit-accurate processing-element kernels (one module per PE kind).

Bit-serial / shift-and-add / mixed-datatype PEs (E2) and their action keys (each module's
doc says exactly what one count is):
  bitmod        term, and.L, shift.L (AND-and-shift per non-zero term), add.B (adder tree),
                fadd.22 (e6m15 group accumulator), align.L (exponent match), lut.w (term
                decoder), dequant.N (bit-serial group-scale unit), fadd.32, fmul.32
  stripes       and.w, add.acc (lane-cycles), shift.acc (shift-accumulate), reg_write.acc
  loom          and.1 or mul.bxb, add.acc, shift.acc, reg_write.acc
  mixpe         shift.a + add.(a+w) per set weight bit, add.acc or fadd.32 (group sums),
                mul.wxacc (zero-point term), fmul.32 / fadd.32 (dequantization)
  denseshift    add.e (exponent add) or shift.a, fadd.32 or add.acc, fmul.32, fadd.32
  mixed_dtype   lut.w, mul.axv, add.acc, fmul.32|64, fadd.32|64
  mx_mac        mul.{ma+1}x{mw+1}, add.{span} per MAC; add.9 (E8M0 exponents), fadd.32 per block
`fadd.{bits}` / `fmul.{bits}` are floating-point adds / multiplies of that total width,
`add` / `mul` integer ones.

MAC-family PEs (E1) and their action keys (accumulator models: hwsim.pe.accumulators):
  int_mac       mul.{a}x{w}, add.{acc} (M*N*K each); add.{bits} per zero-point subtraction
  float_mac     fmul.{a}x{w}; fadd.{1+E+M} (float acc) | add.{span} (kulisch) |
                add.{p+1} + acc_norm.32 per chunk + fadd.32 per promotion (trunc_align)
  fixed_point   mul.{Wa}x{Ww} | dsp.27x18 + add.48 (DSP packing) | shift.{Wa} per weight term
                + add.{Wa+Ww} per extra term (pow2 / khot); add.{Wacc} per accumulation
  hawq          int_mac's keys + add.{acc} (bias), mul.{acc}x31 (dyadic), shift.64,
                add.{out_bits} (zero point) per output
  cycles: one MAC per cycle per PE (M*N*K; DSP packing M*ceil(N/2)*K); tile_cycles None.
"""

from hwsim.pe.counts import ActionCounts, action_key, split_key
from hwsim.pe.registry import PEEstimate, PEResult, get_pe, pe_kinds, register_pe, run

__all__ = [
    "ActionCounts",
    "PEEstimate",
    "PEResult",
    "action_key",
    "get_pe",
    "pe_kinds",
    "register_pe",
    "run",
    "split_key",
]

# PE modules register themselves on import (E1: MAC family)
# E2: bit-serial, shift-and-add, mixed-datatype
from hwsim.pe import (
    bit_serial,  # noqa: E402,F401
    bitmod,  # noqa: E402,F401
    fixed_point,  # noqa: E402,F401
    float_mac,  # noqa: E402,F401
    hawq,  # noqa: E402,F401
    int_mac,  # noqa: E402,F401
    mixed_dtype,  # noqa: E402,F401
    mx_mac,  # noqa: E402,F401
    shift_add,  # noqa: E402,F401
)
