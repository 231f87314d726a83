"""Arch: an accelerator description as frozen dataclasses (one docstring per field, units in names).

Built only by `hwsim.spec.loader.load_arch`, which validates every field in one pass. Derived
facts are properties. Per-workload overrides (the BitMoD paper uses other array shapes and weight
widths for decode, and per model) are resolved with `Arch.for_workload(name)`.

Compute units. An arch has one PE array (`pe_array:` + `dataflow:`, seen as one unit named
"pe_array") or several `compute_units:`, each with its own PE kind, array shape, dataflow and
default precision, plus `routes:` sending ops to them (op kind and/or op-name glob, first match
wins; vector ops always go to the vector unit). Units share the buffers, the DRAM channel and
the vector unit, and run ops one after another in program order (a layer-sequential schedule:
a unit idles while another runs); concurrency between units is not modelled.

Mapping. `mapping: fixed` (the default) keeps hwsim.sim.mapping's fixed rule;
`mapping: {search: latency|energy|edp}` maps every op with the mapper (hwsim.sim.mapper) for
that objective, arch-wide or per compute unit (a unit's own wins); `hwsim run --objective`
overrides both. A `dataflow:` list (`dataflow: [ws, os, rs]`) lets the mapper choose the
spatial unrolling per op among its entries: the first is the one the fixed mapping and
SCALE-Sim mode use and must be os, ws or is; `rs` (row-stationary, Eyeriss) applies to convs.
One name keeps the declared dataflow for every op.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class PEArray:
    """The compute array: rows x cols PEs, each a `dot_product_width`-lane dot product."""

    rows: int
    """PEs along the array's rows dimension (output channels N under os)."""
    cols: int
    """PEs along the columns dimension (tokens M under os)."""
    pe_kind: str
    """PE kind from the PE registry (int_mac, bitmod, stripes, ...)."""
    pe_params: tuple[tuple[str, object], ...] = ()
    """Keyword parameters of the PE kind, as sorted (name, value) pairs."""
    dot_product_width: int = 1
    """Multiply lanes per PE reduced in one step (BitMoD: 4)."""
    systolic: bool = False
    """True: operands ripple through neighbours, so every fold pays pipeline fill and drain."""

    @property
    def pes(self) -> int:
        """Number of PEs."""
        return self.rows * self.cols

    @property
    def params(self) -> dict:
        """pe_params as a dict (for get_pe)."""
        return dict(self.pe_params)


@dataclass(frozen=True)
class ComputeUnit:
    """One compute array of the arch: its PEs, their dataflow and default precision."""

    name: str
    """Name used in routes, recipe rules and reports ("pe_array" for a `pe_array:` arch)."""
    array: PEArray
    """Its PE array (kind, parameters, geometry)."""
    dataflow: str
    """Dataflow name registered with @register_dataflow (os, ws, is): the fixed mapping's."""
    precision: Precision | None = None
    """Default precision of ops on this unit; None takes the arch's `precision:`."""
    dataflows: tuple[str, ...] = ()
    """Every dataflow the mapper may choose per op (`dataflow: [ws, os, rs]`: the first is
    `dataflow`; rs, row-stationary, applies to convs); () when one is declared."""
    mapping: str | None = None
    """fixed, or the mapper's objective (latency, energy, edp); None takes the arch's."""


@dataclass(frozen=True)
class Route:
    """Ops of `kind` (any kind when None) whose name matches `match` (any when None) -> unit."""

    unit: str
    """Name of the compute unit the selected ops run on."""
    kind: str | None = None
    """Op kind selected (gemm, conv, attn_qk, attn_av), or None for any."""
    match: str | None = None
    """fnmatch pattern on the op name, or None for any."""

    def selects(self, op) -> bool:
        """True when this route takes `op`."""
        if self.kind is not None and op.kind != self.kind:
            return False
        return self.match is None or fnmatch.fnmatchcase(op.name, self.match)


@dataclass(frozen=True)
class MemoryLevel:
    """One on-chip buffer level."""

    name: str
    """Name used in reports and counts (e.g. wbuf, ibuf)."""
    size_bytes: int
    """Capacity in bytes (both halves together when double-buffered)."""
    banks: int
    """Independent banks."""
    word_bits: int
    """Width of one access in bits."""
    read_bytes_per_cycle: int
    """Read bandwidth in bytes per cycle."""
    write_bytes_per_cycle: int
    """Write bandwidth in bytes per cycle."""
    operands: tuple[str, ...]
    """Operands held: any of weights, inputs, outputs."""
    double_buffered: bool = False
    """True: half the capacity fills while the other half is read."""

    @property
    def tile_capacity_bytes(self) -> int:
        """Bytes one tile may use (half the size when double-buffered)."""
        return self.size_bytes // 2 if self.double_buffered else self.size_bytes


@dataclass(frozen=True)
class DRAM:
    """Off-chip memory: one shared channel."""

    type: str
    """DRAM technology (lpddr4, hbm2, ddr4, ...), used by the cost model."""
    bytes_per_cycle: float
    """Sustained bandwidth in bytes per accelerator clock cycle."""
    latency_cycles: int
    """Cycles from request to first byte."""
    energy_pj_per_bit: float | None = None
    """Access energy in pJ per bit; None takes the profile's value for `type`."""


@dataclass(frozen=True)
class VectorUnit:
    """The unit running softmax, norms, activations and elementwise ops."""

    lanes: int
    """Elements processed per cycle."""
    cycles_per_element: dict = field(default_factory=dict)
    """Per vector_kind cycles each lane spends on one element (default 1)."""
    overlapped: bool = False
    """True: vector work pipelines behind the PE array (reported, adds no latency)."""


@dataclass(frozen=True)
class Technology:
    """Process and cost profile."""

    node_nm: int
    """Technology node in nm (cost scaling from the profile's node)."""
    profile: str = "horowitz45"
    """Energy/area profile name from hwsim.cost."""


@dataclass(frozen=True)
class Precision:
    """Default precisions, so a paper arch needs no quant recipe."""

    weight_format: str | None = None
    """Weight element format name (hwsim.format), or None when the PE is format-agnostic."""
    activation_format: str | None = None
    """Activation format name, or None."""
    weight_bits: float = 8.0
    """Mean stored bits per weight element (fractional for mixed precision, e.g. ANT 5.5)."""
    activation_bits: int = 8
    """Bits per activation element in memory (inputs and outputs)."""
    group_size: int | None = None
    """Weights per shared scale (None: per-channel or per-tensor, scale overhead ignored)."""
    scale_bits: int = 0
    """Bits of one group scale."""

    @property
    def weight_storage_bits(self) -> float:
        """Bits per weight in memory including the amortised group scale (BitMoD: 4.0625)."""
        if self.group_size:
            return self.weight_bits + self.scale_bits / self.group_size
        return self.weight_bits

    @property
    def weight_element_bits(self) -> int:
        """Integer bits of one weight element as the PE sees it (floor of weight_bits)."""
        return math.floor(self.weight_bits)


@dataclass(frozen=True)
class FPGADevice:
    """Resources of a real FPGA part, for fits-the-device checks."""

    part: str
    """Vendor part number."""
    luts: int
    """CLB LUTs."""
    dsps: int
    """DSP slices (DSP48E2 on UltraScale+)."""
    bram_36k: int
    """36 Kb block RAMs."""
    uram: int = 0
    """288 Kb UltraRAMs."""
    max_clock_mhz: float = 0.0
    """Highest clock the datapath closes timing at (0: use clock_mhz)."""
    multipliers_on: str = "dsp"
    """Where the design maps its multipliers: dsp or lut."""


@dataclass(frozen=True)
class Override:
    """Field replacements applied when a workload name matches `workload` (fnmatch)."""

    workload: str
    """Pattern matched against the workload name (e.g. '*:decode:*', 'llama-3-8b:decode:*')."""
    rows: int | None = None
    """Replacement pe_array.rows."""
    cols: int | None = None
    """Replacement pe_array.cols."""
    weight_bits: float | None = None
    """Replacement precision.weight_bits."""
    group_size: int | None = None
    """Replacement precision.group_size."""
    weight_format: str | None = None
    """Replacement precision.weight_format."""
    unit: str | None = None
    """Compute unit whose rows/cols are replaced (None: the only one)."""


@dataclass(frozen=True)
class Arch:
    """A whole accelerator."""

    version: int
    """Schema version of the YAML file."""
    name: str
    """Short name used in reports."""
    clock_mhz: float
    """Clock frequency in MHz."""
    pe_array: PEArray | None
    """The PE array of a one-array arch (None when `compute_units` are given)."""
    dataflow: str | None
    """Dataflow of `pe_array` (registered with @register_dataflow: os, ws, is), or None."""
    memory: tuple[MemoryLevel, ...]
    """On-chip buffer levels."""
    dram: DRAM
    """Off-chip memory."""
    vector_unit: VectorUnit
    """Vector unit."""
    technology: Technology
    """Process node and cost profile."""
    precision: Precision
    """Default precisions."""
    fpga: FPGADevice | None = None
    """FPGA device resources, for FPGA targets."""
    overrides: tuple[Override, ...] = ()
    """Per-workload replacements, applied in order."""
    compute_units: tuple[ComputeUnit, ...] = ()
    """Several compute arrays (instead of `pe_array`), in declaration order."""
    routes: tuple[Route, ...] = ()
    """Which unit runs which op (first match wins); needed with several units."""
    mapping: str = "fixed"
    """How ops are mapped: fixed (hwsim.sim.mapping's rule) or searched by the mapper for
    latency, energy or edp (`mapping: {search: latency}`); a run's --objective overrides it."""
    dataflows: tuple[str, ...] = ()
    """The mapper's dataflow choices of `pe_array` (see ComputeUnit.dataflows)."""
    source: str = ""
    """File this arch was loaded from."""

    def level_for(self, operand: str) -> MemoryLevel | None:
        """The innermost buffer holding `operand` (weights, inputs, outputs), or None."""
        for level in self.memory:
            if operand in level.operands:
                return level
        return None

    @property
    def units(self) -> tuple[ComputeUnit, ...]:
        """The compute units: `compute_units`, or `pe_array` as one unit named "pe_array"."""
        if self.compute_units:
            return self.compute_units
        return (ComputeUnit("pe_array", self.pe_array, self.dataflow, dataflows=self.dataflows),)

    def unit_view(self, unit: ComputeUnit) -> Arch:
        """This arch as a one-array arch of `unit` (its PE array, dataflow and precision), for
        code that prices or times one array (cost profiles, FPGA resources)."""
        return replace(
            self,
            pe_array=unit.array,
            dataflow=unit.dataflow,
            dataflows=unit.dataflows,
            precision=unit.precision or self.precision,
            compute_units=(),
            routes=(),
        )

    def for_workload(self, workload_name: str) -> Arch:
        """This arch with every override matching `workload_name` applied."""
        arch = self
        for ov in self.overrides:
            if not fnmatch.fnmatchcase(workload_name, ov.workload):
                continue

            def reshaped(arr: PEArray, ov=ov) -> PEArray:
                return replace(
                    arr,
                    rows=ov.rows if ov.rows is not None else arr.rows,
                    cols=ov.cols if ov.cols is not None else arr.cols,
                )

            if arch.compute_units:
                units = tuple(
                    replace(u, array=reshaped(u.array)) if u.name == ov.unit else u
                    for u in arch.compute_units
                )
                arch = replace(arch, compute_units=units)
            else:
                arch = replace(arch, pe_array=reshaped(arch.pe_array))
            prec = arch.precision
            if ov.weight_bits is not None:
                prec = replace(prec, weight_bits=ov.weight_bits)
            if ov.group_size is not None:
                prec = replace(prec, group_size=ov.group_size)
            if ov.weight_format is not None:
                prec = replace(prec, weight_format=ov.weight_format)
            arch = replace(arch, precision=prec)
        return arch

    @property
    def clock_hz(self) -> float:
        return self.clock_mhz * 1e6
