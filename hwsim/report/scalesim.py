"""SCALE-Sim's COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv.

Columns, order, separators (comma-space, trailing comma) and number formats are SCALE-Sim's,
per version (checked against the output of pip `scalesim==2.0.2`, scalesim-project/scale-sim-v2
tag v2.0.2 = c2b408e, and pip `scalesim==3.0.0`, the scale-sim-v3 release): 3.0.0 adds the
compute report's second column, "Total Cycles (incl. prefetch)". Sizes are words (SCALE-Sim's
word is one byte; an hwsim element here). Per layer on an R x C array, with (Sr, Sc, T) the
dataflow's SCALE-Sim dims, and folds (column folds outer, row folds inner) of
P = fill*R + C + T - 2 cycles:

  Total Cycles        folds * P - 1 (hwsim's scalesim mode), Stall Cycles 0
  Overall Util %      MACs * 100 / (Total Cycles * R * C)
  Mapping Efficiency  mean over folds of used PEs / (R * C), * 100
  Compute Util %      mean over folds of used PEs * T / (R * C * P'), * 100, where SCALE-Sim
                      counts P' = P for os but P + C - 1 for ws/is (its stationary operand's
                      demand matrix, R + (R + C + T - 2) rows, plus C - 1 of skew)
  SRAM reads/writes   SCALE-Sim's demand counts: os ifmap cf*T*Sr, filter rf*T*Sc, ofmap
                      Sr*Sc + folds*(R + C) (its os count adds R + C per fold); ws/is the
                      stationary operand Sr*Sc, the streamed one cf*T*Sr, ofmap rf*T*Sc
  SRAM start/stop     the first/last cycle of those demands, SCALE-Sim's cycle numbering

A conv's output is SCALE-Sim's ceil((in - k + s) / s) per side everywhere (hwsim.sim.mapping.
scalesim_rows), so a stride-2 layer's cycles, MACs and utilisations agree with each other and
with SCALE-Sim; where that output's last windows overhang the IFMAP, the SRAM IFMAP stop cycle
follows SCALE-Sim's invalid reads (hwsim.report.scalesim_ifmap).

The DRAM columns come from hwsim's own traffic model (the op's DRAM bytes, in words) on a
simple timeline, not from SCALE-Sim's request-buffer simulation: each operand's first buffer
half (SCALE-Sim's active half) is prefetched at the DRAM bandwidth before cycle 0 (negative
cycles, as SCALE-Sim writes them) and any rest streams in until its SRAM stop; outputs that fit
half the OFMAP buffer drain after the last cycle, otherwise from the first write on.
Avg DRAM BW = words / (stop - start + 1), the rate that timeline needs (as SCALE-Sim's CALC
mode reports it), which can exceed the arch's DRAM bandwidth: scalesim mode has no stalls.
Avg SRAM BW = words / Total Cycles. The words are
hwsim's, so they differ from SCALE-Sim's where it writes ws/is partial sums once per row fold
or refetches, and where its rounded-up output's last window reads an IFMAP row or column that
hwsim's valid output does not (hwsim.sim.mapping.read_extent).
SCALE-Sim has no vector unit: vector ops get no row. A batched op (heads) becomes `batch`
identical layers, as SCALE-Sim would need them listed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from math import ceil

from hwsim.errors import HwsimError
from hwsim.report.scalesim_ifmap import ifmap_stop, overhang
from hwsim.sim.dataflow import get_dataflow
from hwsim.sim.mapping import scalesim_rows

VERSIONS = ("2.0.2", "3.0.0")
LATEST = VERSIONS[-1]
REPORTS = ("COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv")
_MAX_EXACT_FOLDS = 1 << 20  # beyond this the per-fold means use the (equal) closed form

COMPUTE_HEADER = {
    "2.0.2": "LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, "
    "Compute Util %,",
    "3.0.0": "LayerID, Total Cycles (incl. prefetch), Total Cycles, Stall Cycles, "
    "Overall Util %, Mapping Efficiency %, Compute Util %,",
}
BANDWIDTH_HEADER = (
    "LayerID, Avg IFMAP SRAM BW, Avg FILTER SRAM BW, Avg OFMAP SRAM BW, "
    "Avg IFMAP DRAM BW, Avg FILTER DRAM BW, Avg OFMAP DRAM BW,"
)
DETAIL_HEADER = (
    "LayerID, "
    + ", ".join(
        f"{mem} {what} {col}"
        for mem in ("SRAM", "DRAM")
        for what, rw in (("IFMAP", "Reads"), ("Filter", "Reads"), ("OFMAP", "Writes"))
        for col in ("Start Cycle", "Stop Cycle", rw)
    )
    + ","
)


def check_version(version: str) -> str:
    if version not in VERSIONS:
        raise HwsimError(
            f"--scalesim-version: expected one of {', '.join(VERSIONS)}, got {version!r}"
        )
    return version


@dataclass(frozen=True)
class Access:
    """One operand's accesses to one memory: first and last cycle, words."""

    start: int
    stop: int
    words: int

    def cells(self) -> list[str]:
        return [repr(float(self.start)), repr(float(self.stop)), str(self.words)]

    def bandwidth(self) -> float:
        span = self.stop - self.start + 1
        return self.words / span if span > 0 else 0.0


@dataclass(frozen=True)
class Layer:
    """One SCALE-Sim layer's figures (the three reports' rows)."""

    total: int
    stall: int
    overall: float
    mapping: float
    compute: float
    sram: tuple[Access, Access, Access]  # ifmap, filter, ofmap
    dram: tuple[Access, Access, Access]

    @property
    def total_with_prefetch(self) -> int:
        return int(self.dram[2].stop - min(self.dram[0].start, self.dram[1].start))


def _fold_means(sr, sc, t, R, C, util_cycles) -> tuple[float, float]:
    """(mapping, compute) utilisation: means over folds in SCALE-Sim's order, as fractions."""
    rf, cf = ceil(sr / R), ceil(sc / C)
    if rf * cf > _MAX_EXACT_FOLDS:
        used = sr * sc / (R * C * rf * cf)
        return used, used * t / util_cycles
    rows = [min(R, sr - i * R) for i in range(rf)]
    cols = [min(C, sc - j * C) for j in range(cf)]
    maps, comps = [], []
    for c in cols:
        for r in rows:
            maps.append(r * c / (R * C))
            comps.append(r * c * t / (R * C * util_cycles))
    return sum(maps) / len(maps), sum(comps) / len(comps)


def _sram(flow_name, sr, sc, t, R, C, per_fold) -> tuple[Access, Access, Access]:
    rf, cf = ceil(sr / R), ceil(sc / C)
    last = (rf * cf - 1) * per_fold  # first cycle of the last fold
    r_first, r_last, c_last = min(R, sr), sr - (rf - 1) * R, sc - (cf - 1) * C
    if flow_name == "os":
        ifmap = Access(1, last + t + r_last - 1, cf * t * sr)
        filt = Access(1, last + t + c_last - 1, rf * t * sc)
        ofmap = Access(t - 1 + R - r_first, last + t + R + c_last - 3, sr * sc + rf * cf * (R + C))
        return ifmap, filt, ofmap
    stationary = Access(1 + R - r_first, last + R, sr * sc)
    streamed = Access(R + 1, last + R + t + r_last - 1, cf * t * sr)
    ofmap = Access(2 * R - 1, last + 2 * R + t + c_last - 3, rf * t * sc)
    return (streamed, stationary, ofmap) if flow_name == "ws" else (stationary, streamed, ofmap)


def _dram(words, sram: Access, buffer_words: int, per_cycle: float, total: int, read: bool):
    """hwsim's DRAM timeline of one operand (see the module docstring)."""
    first = min(words, buffer_words // 2)
    if read:
        start = -ceil(first / per_cycle) if first else -1
        return Access(start, -1 if words <= first else sram.stop, words)
    if words <= first:
        return Access(total, total + max(1, ceil(words / per_cycle)) - 1, words)
    return Access(sram.start, total + ceil(first / per_cycle) - 1, words)


def layers(stats, workload) -> list[Layer]:
    """Every SCALE-Sim layer of a scalesim-mode run of `workload`, in order (batch and repeat
    expanded); the workload gives each conv's shape, which SCALE-Sim's output size needs."""
    arch = stats.arch
    R, C = arch.pe_array.rows, arch.pe_array.cols
    flow = get_dataflow(arch.dataflow)
    prec = arch.precision
    bits = {"inputs": prec.activation_bits, "weights": prec.weight_storage_bits}
    bits["outputs"] = prec.activation_bits
    buffers = {}
    for operand in bits:
        level = arch.level_for(operand)
        buffers[operand] = int(level.size_bytes * 8 / bits[operand]) if level else 0
    out = []
    for op, row in zip(workload.ops, stats.op_rows, strict=True):
        if op.kind == "vector":
            continue
        m = scalesim_rows(op)
        sr, sc, t = flow.scalesim_dims(m, op.N, op.K)
        per_fold = flow.scalesim_fill * R + C + t - 2
        total = int(row.cycles // op.batch)
        util_cycles = per_fold if flow.name == "os" else per_fold + C - 1
        mapping, compute = _fold_means(sr, sc, t, R, C, util_cycles)
        sram = _sram(flow.name, sr, sc, t, R, C, per_fold)
        win = overhang(op)
        stop = win and ifmap_stop(flow.name, win, sr, sc, t, R, C, per_fold)
        if stop is not None:
            sram = (replace(sram[0], stop=stop), *sram[1:])

        def words(key, operand, scale=1.0, row=row, batch=op.batch):
            return round(getattr(row, key) / batch * 8 / bits[operand] * scale)

        per = {k: arch.dram.bytes_per_cycle * 8 / b for k, b in bits.items()}
        dram = (
            _dram(words("dram_read_inputs_bytes", "inputs"), sram[0], buffers["inputs"],
                  per["inputs"], total, True),
            _dram(words("dram_read_weights_bytes", "weights"), sram[1], buffers["weights"],
                  per["weights"], total, True),
            # hwsim's own op counts floor(...)+1 output pixels; SCALE-Sim writes its m rows
            _dram(words("dram_write_outputs_bytes", "outputs", m / op.M), sram[2],
                  buffers["outputs"], per["outputs"], total, False),
        )  # fmt: skip
        layer = Layer(
            total=total,
            stall=int(row.stall_cycles // op.batch),
            overall=(m * op.N * op.K * 100) / (total * R * C) if total else 0.0,
            mapping=mapping * 100,
            compute=compute * 100,
            sram=sram,
            dram=dram,
        )
        out.extend([layer] * (op.batch * op.repeat))
    return out


def compute_report_rows(stats, workload, version: str = LATEST) -> list[tuple]:
    """COMPUTE_REPORT.csv's rows (layer id first) in `version`'s column order."""
    check_version(version)
    return [_compute_row(lid, x, version) for lid, x in enumerate(layers(stats, workload))]


def _compute_row(lid: int, x: Layer, version: str) -> tuple:
    head = (lid,) if version == "2.0.2" else (lid, x.total_with_prefetch)
    return (*head, x.total, x.stall, x.overall, x.mapping, x.compute)


def _csv(header: str, rows) -> str:
    return "\n".join([header, *(", ".join(map(str, row)) + "," for row in rows)]) + "\n"


def scalesim_reports(stats, workload, version: str = LATEST) -> dict[str, str]:
    """{file name: text} of SCALE-Sim's three reports for a scalesim-mode run."""
    check_version(version)
    all_layers = layers(stats, workload)
    bandwidth = [
        (lid, *(a.words / x.total if x.total else 0.0 for a in x.sram),
         *(a.bandwidth() for a in x.dram))
        for lid, x in enumerate(all_layers)
    ]  # fmt: skip
    detail = [
        (lid, *(c for a in (*x.sram, *x.dram) for c in a.cells()))
        for lid, x in enumerate(all_layers)
    ]
    return {
        "COMPUTE_REPORT.csv": _csv(
            COMPUTE_HEADER[version],
            [_compute_row(lid, x, version) for lid, x in enumerate(all_layers)],
        ),
        "BANDWIDTH_REPORT.csv": _csv(BANDWIDTH_HEADER, bandwidth),
        "DETAILED_ACCESS_REPORT.csv": _csv(DETAIL_HEADER, detail),
    }
