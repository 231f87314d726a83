"""OpRow: one op's row of the ops table. Its fields are the table's columns, in order: the one
definition of that contract (Stats.ops, hwsim.report.tables, tests/golden read it).

Figures are per op instance (the report multiplies by `repeat`). Users rely on the names and
their order; new columns are appended at the end. The effective configuration of the op
closes the row: the unit it ran on, that unit's array shape and dataflow, and the formats it
ran at (`weight_format` is the weight-side operand's, the K / V cache's for attention ops;
`group_size` 0 and `scale_format` "" when the weights have no group scales). Vector ops name
the "vector" unit and leave the array figures 0. `bound` names what set the cycles (the largest
of: DRAM time, the stream (compute, or the SRAM read / write port when a port floor sets it),
fill/drain; vector for vector ops); `mapping` is the loop nest (hwsim.sim.nest).
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class OpRow:
    """One op's row (not frozen: a frozen dataclass's __init__ costs a setattr per field, and
    a sweep builds every op's row; rows are copied with `but`, never changed in place)."""

    op: str
    kind: str
    M: int
    N: int
    K: int
    batch: int
    repeat: int
    cycles: int = 0
    compute_cycles: int = 0
    dram_cycles: int = 0
    dram_bytes: int = 0
    energy_pj: float = float("nan")
    fill_drain_cycles: int = 0
    stall_cycles: int = 0
    vector_cycles: int = 0
    utilisation: float = 0.0
    mac_slot_utilisation: float = 0.0
    cycles_per_mac: float = 0.0
    loop_order: str = ""
    tiling: str = ""
    tiles: int = 0
    weight_fetches: int = 0
    input_fetches: int = 0
    dram_read_weights_bytes: int = 0
    dram_read_inputs_bytes: int = 0
    dram_write_outputs_bytes: int = 0
    unit: str = ""
    rows: int = 0
    cols: int = 0
    dataflow: str = ""
    weight_format: str = ""
    activation_format: str = ""
    group_size: int = 0
    scale_format: str = ""
    # what set the op's cycles: compute | dram | sram_read | sram_write | fill_drain | vector
    bound: str = ""
    # the loop nest, prefixed by how it was chosen (fixed, or the mapper's objective)
    mapping: str = ""

    def but(self, **changes) -> OpRow:
        """A copy with `changes` (dataclasses.replace without its per-call field walk: the
        engine and the cost model copy every op's row)."""
        if not _FIELDS.issuperset(changes):
            unknown = sorted(set(changes) - _FIELDS)
            raise TypeError(f"OpRow has no column(s) {', '.join(unknown)}")
        values = self.__dict__.copy()
        values.update(changes)
        row = object.__new__(OpRow)
        row.__dict__ = values
        return row

    def values(self) -> tuple:
        """The row's values in column order."""
        return tuple(getattr(self, c) for c in OP_COLUMNS)


OP_COLUMNS = tuple(f.name for f in fields(OpRow))
_FIELDS = frozenset(OP_COLUMNS)
# the effective configuration of each op, then its bound and mapping (the last columns,
# reported as they are)
CONFIG_COLUMNS = OP_COLUMNS[OP_COLUMNS.index("unit") :]
