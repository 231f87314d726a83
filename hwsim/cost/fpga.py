"""FPGA resources of an arch's PE array and buffers (FINN `lut_estimation`; FINN-R: Blott et
al., ACM TRETS 2018).

Per PE with Q = dot_product_width lanes, W weight bits, A activation bits:
  mult_luts     = Q * (2 * ceil((W + A) / 6) - 1) * (W + A)   (0 when multipliers are on DSPs)
  addertree_luts = (W + A) * (2Q - 1)
  acc_bits      = ceil(log2(K)) + W + A - 1 - signed(A), acc_luts = acc_bits
  LUTs          = 300 + 1.1 * P * (mult_luts + addertree_luts + acc_luts)
DSPs: one DSP48E2 per multiplier lane, halved when the PE packs two INT8 MACs sharing an
activation into one DSP (Xilinx WP486; needs W, A <= 8). BRAM: each buffer bank takes at least
one 36 Kb block. Throughput is limited by the slower of the design clock and the device's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hwsim.errors import HwsimError
from hwsim.spec.schema import Arch

BRAM_BITS = 36 * 1024


@dataclass(frozen=True)
class FPGAReport:
    """Resources a design needs, whether it fits its device, and its clock-limited speed."""

    luts: int
    dsps: int
    bram_36k: int
    fits: bool
    clock_mhz: float
    macs_per_s: float
    over: tuple[str, ...]  # resources exceeding the device


def mult_luts(w_bits: int, a_bits: int, lanes: int = 1) -> int:
    """LUTs of `lanes` W x A multipliers built from LUTs (FINN)."""
    return lanes * (2 * math.ceil((w_bits + a_bits) / 6) - 1) * (w_bits + a_bits)


def addertree_luts(w_bits: int, a_bits: int, lanes: int) -> int:
    return (w_bits + a_bits) * (2 * lanes - 1)


def acc_bits(k: int, w_bits: int, a_bits: int, signed_a: bool = True) -> int:
    """Accumulator width bound for a K-long dot product (FINN)."""
    return math.ceil(math.log2(max(k, 2))) + w_bits + a_bits - 1 - int(signed_a)


def fpga_resources(arch: Arch, max_k: int, step_cycles: int = 1) -> FPGAReport:
    """Resources of `arch` for dot products up to `max_k` long, and whether they fit."""
    if arch.fpga is None:
        raise HwsimError(f"arch.fpga: missing; {arch.name} is not an FPGA target ({arch.source})")
    dev, arr = arch.fpga, arch.pe_array
    w = math.ceil(arch.precision.weight_bits)
    a = arch.precision.activation_bits
    q, p = arr.dot_product_width, arr.pes
    packing = bool(arr.params.get("dsp_packing", False))
    on_dsp = dev.multipliers_on == "dsp"
    if packing and (w > 8 or a > 8):
        raise HwsimError(
            "arch.pe_array.pe.params.dsp_packing: needs weights and activations <= 8 bits"
        )
    per_pe = (0 if on_dsp else mult_luts(w, a, q)) + addertree_luts(w, a, q) + acc_bits(max_k, w, a)
    luts = math.ceil(300 + 1.1 * p * per_pe)
    # with packing, the dot_product_width lanes are the two MACs one DSP retires per cycle
    dsps = (math.ceil(p * q / 2) if packing else p * q) if on_dsp else 0
    bram = sum(max(lv.banks, math.ceil(lv.size_bytes * 8 / BRAM_BITS)) for lv in arch.memory)
    over = tuple(
        name
        for name, need, have in (
            ("luts", luts, dev.luts),
            ("dsps", dsps, dev.dsps),
            ("bram_36k", bram, dev.bram_36k),
        )
        if need > have
    )
    clock = min(arch.clock_mhz, dev.max_clock_mhz) if dev.max_clock_mhz else arch.clock_mhz
    return FPGAReport(luts, dsps, bram, not over, clock, p * q / step_cycles * clock * 1e6, over)
