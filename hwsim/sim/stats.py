"""Stats: what a simulation produced (cycles, traffic, action counts), never joules.

Two utilisation figures, per op (columns of `ops`) and for the whole workload:
  utilisation           fraction of PE-cycles doing work: MACs x cycles_per_mac / (PEs x
                        cycles), with each op's cycles_per_mac the one its timing used (the
                        PE's expected() value, or the measured one for ops with tensors). A
                        bit-serial PE busy every cycle reads 1.0 whatever its precision.
  mac_slot_utilisation  MACs / (PEs x dot_product_width x cycles): the share of the array's
                        nominal one-MAC-per-lane-per-cycle slots; a bit-serial PE cannot
                        exceed 1 / (its cycles per lane-MAC), e.g. 0.5 for BitMoD at W4.
The precision-aware compute roof, `peak_macs_per_cycle`, is PEs / cycles_per_mac (per op);
for the workload it is the MAC-weighted peak, total MACs / (sum over ops of PE-cycles of
work / the PEs of the op's unit). With several compute units the workload's utilisation
offers every unit's PEs for the whole run (units run ops one after another, so an idle unit
counts as idle), and mac_slots_per_cycle sums the units' slots.

`energy_pj`, `energy_breakdown_pj` and `area_mm2` are filled by `hwsim.cost.recost`, which
can be called again with another profile without re-simulating.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from hwsim.sim.rows import OP_COLUMNS, OpRow
from hwsim.spec.schema import Arch


@dataclass
class Stats:
    """Result of `hwsim.simulate`: per-op table, totals, counts and provenance hashes.

    `utilisation` is the fraction of PE-cycles doing work, MACs x cycles_per_mac / (PEs x
    cycles), each op at the cycles per MAC its timing used (measured for ops with tensors);
    `mac_slot_utilisation` is the precision-blind MACs / (PEs x dot_product_width x cycles).
    `peak_macs_per_cycle` is the precision-aware compute roof, `mac_slots_per_cycle` the
    precision-blind one. Per op, `ops` has utilisation, mac_slot_utilisation, cycles_per_mac.
    """

    arch: Arch  # the arch after per-workload overrides
    workload_name: str
    mode: str  # event | analytic | scalesim
    cycles: int  # whole workload, repeats included
    op_rows: list[OpRow]  # one row per op, per-instance figures
    op_counts: list[dict]  # per op, action counts of one instance ("component:action" keys)
    macs: int  # total MACs, repeats included
    # cycles: compute + fill_drain + memory_stall + vector == cycles; vector_overlapped is
    # vector-unit work hidden behind the array (vector_unit.overlapped)
    breakdown: dict = field(default_factory=dict)
    # unit name -> its PE's expected counts per MAC at the unit's run-wide precision
    unit_counts_per_mac: dict = field(default_factory=dict)
    unit_ops: dict = field(default_factory=dict)  # unit name -> ops it ran (0: idle)
    # the first unit's expected cycles per MAC at its precision (1 in scalesim mode); per-op
    # figures (data-dependent ones included) are in ops["cycles_per_mac"]
    cycles_per_mac: float = 1.0
    arch_hash: str = ""
    workload_hash: str = ""
    quant_hash: str = ""
    energy_pj: float = float("nan")
    energy_breakdown_pj: dict = field(default_factory=dict)  # per component
    area_mm2: float = float("nan")
    area_breakdown_mm2: dict = field(default_factory=dict)
    profile: str = ""  # cost profile used for energy/area
    fpga: object = None  # hwsim.cost.fpga.FPGAReport for FPGA targets (arch.fpga set)

    @cached_property
    def ops(self) -> pd.DataFrame:
        """One row per op, per-instance figures (columns OP_COLUMNS), built on first use."""
        return pd.DataFrame([r.values() for r in self.op_rows], columns=list(OP_COLUMNS))

    @property
    def counts(self) -> dict[str, float]:
        """Action counts of the whole workload (repeats included)."""
        total: dict[str, float] = {}
        for row, counts in zip(self.op_rows, self.op_counts, strict=True):
            repeat = row.repeat
            for key, value in counts.items():
                total[key] = total.get(key, 0) + value * repeat
        return dict(sorted(total.items()))

    @property
    def latency_s(self) -> float:
        """Wall time on the arch's clock."""
        return self.cycles / (self.arch.clock_mhz * 1e6)

    @property
    def pe_busy_cycles(self) -> float:
        """PE-cycles spent on MACs (sum over ops of MACs x cycles_per_mac x repeat)."""
        return float(sum(_busy(r) for r in self.op_rows if r.kind != "vector"))

    @property
    def pes(self) -> int:
        """PEs of all compute units."""
        return sum(u.array.pes for u in self.arch.units)

    @property
    def utilisation(self) -> float:
        """Fraction of the PE-cycles offered during `cycles` that did work (module doc)."""
        offered = self.cycles * self.pes
        return self.pe_busy_cycles / offered if offered else 0.0

    @property
    def mac_slot_utilisation(self) -> float:
        """MACs over the MAC slots (PEs x dot_product_width a cycle) offered during `cycles`."""
        slots = self.cycles * self.mac_slots_per_cycle
        return self.macs / slots if slots else 0.0

    @property
    def mac_slots_per_cycle(self) -> int:
        """Precision-blind array width: PEs x dot_product_width, over all units."""
        return sum(u.array.pes * u.array.dot_product_width for u in self.arch.units)

    @property
    def peak_macs_per_cycle(self) -> float:
        """Precision-aware compute roof: the MAC-weighted PEs / cycles_per_mac of the workload
        (the first unit's expected cycles_per_mac when it has no MACs)."""
        busy: dict[int, float] = {}  # per unit size: PE-cycles of work
        for r in self.op_rows:
            if r.kind != "vector":
                busy[r.rows * r.cols] = busy.get(r.rows * r.cols, 0.0) + _busy(r)
        per_pe = sum(b / pes for pes, b in busy.items())
        if self.macs and per_pe > 0:
            return self.macs / per_pe
        return self.arch.units[0].array.pes / self.cycles_per_mac

    @property
    def dram_bytes(self) -> int:
        return int(sum(r.dram_bytes * r.repeat for r in self.op_rows))

    def summary(self) -> dict:
        """Machine-readable totals (the CLI's --json keys included)."""
        return {
            "arch": self.arch.name,
            "workload": self.workload_name,
            "mode": self.mode,
            "cycles": int(self.cycles),
            "latency_s": self.latency_s,
            "energy_pj": float(self.energy_pj),
            "area_mm2": float(self.area_mm2),
            "macs": int(self.macs),
            "utilisation": self.utilisation,
            "mac_slot_utilisation": self.mac_slot_utilisation,
            "peak_macs_per_cycle": self.peak_macs_per_cycle,
            "mac_slots_per_cycle": self.mac_slots_per_cycle,
            "dram_bytes": self.dram_bytes,
            "breakdown_cycles": {k: int(v) for k, v in self.breakdown.items()},
            "energy_breakdown_pj": {
                k: v for k, v in self.energy_breakdown_pj.items() if k != "unpriced_actions"
            },
            "unpriced_actions": self.energy_breakdown_pj.get("unpriced_actions", ""),
            "profile": self.profile,
            "units": self.units_summary(),
            "node_nm": self.arch.technology.node_nm,
            "overrides_applied": self.overrides_applied,
            "arch_hash": self.arch_hash,
            "workload_hash": self.workload_hash,
            "quant_hash": self.quant_hash,
        }

    @property
    def overrides_applied(self) -> list[str]:
        """Workload patterns of the arch's `overrides:` that this workload matched, in order."""
        import fnmatch

        return [
            ov.workload
            for ov in self.arch.overrides
            if fnmatch.fnmatchcase(self.workload_name, ov.workload)
        ]

    def units_summary(self) -> list[dict]:
        """Per compute unit: its PE kind and parameters, geometry, dataflow, ops it ran."""
        return [
            {
                "name": u.name,
                "pe_kind": u.array.pe_kind,
                "pe_params": {k: v for k, v in u.array.pe_params},
                "rows": u.array.rows,
                "cols": u.array.cols,
                "dot_product_width": u.array.dot_product_width,
                "systolic": u.array.systolic,
                "dataflow": u.dataflow,
                "ops": self.unit_ops.get(u.name, 0),
            }
            for u in self.arch.units
        ]


def _busy(r: OpRow) -> float:
    return r.M * r.N * r.K * r.batch * r.cycles_per_mac * r.repeat
