"""FPGA resources of a design: LUTs, FFs, DSPs and BRAM from its datapath, against its part.

Per datapath part (hwsim.cost.datapath), one instance, on an UltraScale+ fabric:
  int_mult (A, W)  on a DSP48E2 (27 x 18 signed multiplier, UG579) when the design maps its
                   multipliers there and the widths fit; with `dsp_packing` two products of
                   <= 8-bit operands share one DSP (Xilinx WP486) and four of <= 4-bit operands
                   (Xilinx WP521), each extra product paying A + W LUTs of sign correction.
                   Otherwise (and for significands of <= 8 bits inside a minifloat unit, which
                   are built in LUTs) FINN's LUT multiplier: (2 * ceil((A + W) / 6) - 1) * (A + W).
  adder (B,)       B LUTs on the CARRY8 chain (UG574)
  xor (B,)         ceil(B / 2) LUTs (a dual-output LUT6 holds two 2-input functions, UG574)
  shifter (B, S)   B * ceil(S / 2) LUTs (a LUT6 is a 4:1 multiplexer, UG574)
  lut (I, V)       V * ceil(2^I / 64) LUTs (a LUT6 is a 64 x 1 ROM, UG574)
  reg (B,)         B flip-flops
A PE of Q lanes holds per_mac x Q instances of each part; the design's LUTs are FINN's
300 + 1.1 x (PEs x per-PE LUTs) (control and routing overhead, FINN `lut_estimation`).
Power-of-two and K-hot weights have no int_mult, hence no DSP.
A radix-4 Booth multiplier (PE parameter `multiplier: booth`) is an ASIC choice and is refused:
a DSP48E2 is a hard multiplier whose build the design does not choose, and the LUT multipliers
are priced by FINN's formula, which fixes their structure. hls4ml 1.3.0 publishes no LUT
formula for a multiply: its only resource estimate of one (hls4ml/optimization/
dsp_aware_pruning/objectives/vivado_objectives.py, VivadoDSPEstimator) counts one DSP per
multiplication per reuse factor when the weights are at least 9 bits wide, and none below
("Vivado doesn't use DSP when precision < 9"), so FINN's formula stays the only LUT model.

BRAM: each buffer bank (word_bits / banks wide, size / banks deep) takes the fewest BRAM36
of one aspect ratio, 32K x 1 ... 512 x 72 (UG573). Fit: the arch's luts / dsps / bram_36k are
the budget (they may leave room for a shell), the part's flip-flops (hwsim/cost/data/tables/
fpga_parts.yaml, AMD DS891) the FF budget; the part must be a known device. Throughput is
limited by the slower of the design clock and the device's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from hwsim.cost.datapath import CATEGORIES
from hwsim.cost.tables import records
from hwsim.errors import HwsimError
from hwsim.spec.schema import Arch

BRAM36_SHAPES = ((1, 32768), (2, 16384), (4, 8192), (9, 4096), (18, 2048), (36, 1024), (72, 512))
RESOURCES = ("luts", "ffs", "dsps", "bram_36k")


@dataclass(frozen=True)
class FPGAReport:
    """Resources a design needs, its device's, whether it fits and its clock-limited speed."""

    luts: int
    dsps: int
    bram_36k: int
    fits: bool
    clock_mhz: float
    macs_per_s: float
    over: tuple[str, ...]  # resources exceeding the device
    ffs: int = 0
    part: str = ""
    device: dict = field(default_factory=dict)  # resource -> the budget it is checked against
    luts_by_category: dict = field(default_factory=dict)  # PE LUTs by datapath category

    def share(self) -> dict[str, float]:
        """Fraction of the device each resource uses."""
        return {r: getattr(self, r) / self.device[r] for r in RESOURCES if self.device.get(r)}

    def as_dict(self) -> dict:
        return {
            "part": self.part,
            **{r: getattr(self, r) for r in RESOURCES},
            "device": dict(self.device),
            "share": self.share(),
            "fits": self.fits,
            "over": list(self.over),
            "luts_by_category": dict(self.luts_by_category),
            "clock_mhz": self.clock_mhz,
            "macs_per_s": self.macs_per_s,
        }


def mult_luts(w_bits: int, a_bits: int, lanes: int = 1) -> int:
    """LUTs of `lanes` W x A multipliers built from LUTs (FINN)."""
    return lanes * (2 * math.ceil((w_bits + a_bits) / 6) - 1) * (w_bits + a_bits)


def part_resources(c, on_dsp: bool, packing: bool) -> tuple[float, float, float]:
    """(LUTs, FFs, DSPs) of one instance of datapath part `c`."""
    w = c.widths
    if c.part == "int_mult":
        a, b = sorted(w, reverse=True)
        minifloat = c.float_unit and a <= 8
        if on_dsp and not minifloat and a <= 27 and b <= 18:
            per_dsp = (4 if a <= 4 else 2 if a <= 8 else 1) if packing else 1
            return (per_dsp - 1) / per_dsp * (a + b), 0.0, 1.0 / per_dsp
        return float(mult_luts(w[0], w[1])), 0.0, 0.0
    if c.part == "adder":
        return float(w[0]), 0.0, 0.0
    if c.part == "xor":
        return float(math.ceil(w[0] / 2)), 0.0, 0.0
    if c.part == "shifter":
        return float(w[0] * math.ceil(w[1] / 2)), 0.0, 0.0
    if c.part == "lut":
        return float(w[1] * math.ceil((1 << w[0]) / 64)), 0.0, 0.0
    if c.part == "reg":
        return 0.0, float(w[0]), 0.0
    raise ValueError(f"unknown datapath part {c.part!r}")


def device_of(arch: Arch) -> dict[str, float]:
    """The part's resources (fpga_parts.yaml); an unknown part is a one-line error."""
    parts = records("fpga_parts", "parts")
    device = arch.fpga.part.lower().split("-")[0]
    if device not in parts:
        raise HwsimError(
            f"{arch.source}: arch.fpga.part: unknown device {arch.fpga.part!r}; expected a part "
            f"of {', '.join(sorted(parts))}"
        )
    return parts[device]


def bram36_of_level(level) -> int:
    """BRAM36 blocks of one buffer level, bank by bank (UG573 aspect ratios)."""
    width = max(1, math.ceil(level.word_bits / level.banks))
    depth = max(1, math.ceil(level.size_bytes * 8 / level.banks / width))
    per_bank = min(math.ceil(width / w) * math.ceil(depth / d) for w, d in BRAM36_SHAPES)
    return per_bank * level.banks


def fpga_resources(arch: Arch, parts, step_cycles: float = 1) -> FPGAReport:
    """Resources of `arch` whose MACs use datapath `parts`, and whether they fit its part."""
    if arch.fpga is None:
        raise HwsimError(f"arch.fpga: missing; {arch.name} is not an FPGA target ({arch.source})")
    dev, arr = arch.fpga, arch.pe_array
    part = device_of(arch)
    if any(c.part == "booth_mult" for c in parts):
        raise HwsimError(
            f"{arch.source}: arch.pe_array.pe.params.multiplier: booth is an ASIC multiplier; "
            "an FPGA maps multipliers to DSP48E2 slices or to LUT multipliers (FINN's formula, "
            "arch.fpga.multipliers_on); expected array"
        )
    packing = bool(arr.params.get("dsp_packing", False))
    mults = [c for c in parts if c.part == "int_mult" and c.category == "multiplier"]
    if packing and any(max(c.widths) > 8 for c in mults):
        raise HwsimError(
            "arch.pe_array.pe.params.dsp_packing: needs weights and activations <= 8 bits"
        )
    on_dsp = dev.multipliers_on == "dsp"
    lanes, pes = arr.dot_product_width, arr.pes
    luts = dict.fromkeys(CATEGORIES, 0.0)
    ffs = dsps = 0.0
    for c in parts:
        lut, ff, dsp = part_resources(c, on_dsp, packing)
        n = c.per_mac * lanes * pes
        luts[c.category] += lut * n
        ffs += ff * n
        dsps += dsp * n
    total_luts = math.ceil(300 + 1.1 * sum(luts.values()))
    bram = sum(bram36_of_level(lv) for lv in arch.memory)
    need = {"luts": total_luts, "ffs": math.ceil(ffs), "dsps": math.ceil(dsps), "bram_36k": bram}
    budget = {"luts": dev.luts, "ffs": int(part["ffs"]), "dsps": dev.dsps, "bram_36k": dev.bram_36k}
    over = tuple(r for r in RESOURCES if need[r] > budget[r])
    clock = min(arch.clock_mhz, dev.max_clock_mhz) if dev.max_clock_mhz else arch.clock_mhz
    return FPGAReport(
        luts=need["luts"],
        dsps=need["dsps"],
        bram_36k=bram,
        fits=not over,
        clock_mhz=clock,
        macs_per_s=pes * lanes / step_cycles * clock * 1e6,
        over=over,
        ffs=need["ffs"],
        part=dev.part,
        device=budget,
        luts_by_category={k: math.ceil(1.1 * v) for k, v in luts.items() if v},
    )
