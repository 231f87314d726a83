"""One op's mapping space on one unit and one dataflow, and the cost of each candidate.

A candidate is (loop order, m, n, k tile counts) at the DRAM level, C[M,N] = A[M,K] W[N,K]^T:
  DRAM level  a loop order over m, n, k (all 6) and a tile count per dimension. A spatial
              dimension is tiled in whole array blocks (the dataflow's mapper_blocks: ceil(
              extent / rows or cols) blocks for os/ws/is): tile sizes of 2^i blocks or a
              divisor of the block count; the streamed dimension is cut into equal parts (a
              divisor of its steps), each part a fold of its own.
  buffer      one tile of W and of A in their levels (tile capacity: half a double-buffered
              level, a level holding both splits it); splitting k with the k loop inside every
              tiled m/n loop accumulates the partial sums on chip (the output tile at the
              accumulator's 32 bits must fit the outputs level), else the partial sums spill
              to DRAM and are read back, 32 bits each, (k tiles - 1) times.
  array       the dataflow; a fold streams max(steps x step cycles, its port floor).
Traffic of an operand: its bytes x the trip counts of the loops it does not depend on that sit
above its innermost tiled dependent loop (Timeloop's reuse rule). Grouped-query attention:
the query heads of one KV head are one GEMM (rows stacked, hwsim.sim.mapping), so the mapper
may also pack them onto the array.

Costs: latency = max(compute cycles, DRAM bytes / bytes per cycle) (the analytic model);
energy = DRAM bits x pJ/bit + SRAM bits read and written x each level's pJ/bit (the cost
model's Horowitz bank fit at the arch's profile), the bits hwsim.sim.actions counts for the
nest: the mapping-dependent part of the energy (not modelled here: the per-cycle PE pricing
and leakage, which grow with the cycles);
edp = latency x energy. This module evaluates one candidate at a time, in plain Python: the
reference the vectorised search (hwsim.sim.mapper) is tested against.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from itertools import permutations
from math import ceil

import numpy as np

from hwsim.sim.mapping import ACC_BITS, OpMapping, operand_bytes, port_floor
from hwsim.spec.schema import Arch
from hwsim.workload.op import Op

ORDERS = tuple(sorted("".join(p) for p in permutations("mnk")))


class Space:
    """One op's mapping space on `unit` (hwsim.sim.plan.Unit) under `dataflow` (a Dataflow
    object; None: the unit's own), with the candidate costs."""

    def __init__(self, arch: Arch, unit, op: Op, pe, w_bits, a_bits, dataflow=None):
        if dataflow is not None and dataflow is not unit.dataflow:
            unit = replace(unit, dataflow=dataflow, dataflow_name=dataflow.name)
        self.arch, self.unit, self.op, self.pe = arch, unit, op, pe
        self.w_bits, self.a_bits = w_bits, a_bits
        arr, df = unit.array, unit.dataflow
        g = op.kv_group
        W, I, O = operand_bytes(op, w_bits, a_bits)
        self.W, self.I, self.O = W, I * g, O * g
        self.O_acc = ceil(op.N * ACC_BITS / 8) * op.M * g
        self.instances = op.batch // g
        extent = {"m": op.M * g, "n": op.N, "k": ceil(op.K / arr.dot_product_width)}
        self.blocks, self.time = df.mapper_blocks(extent, arr.rows, arr.cols)
        self.counts = {d: _counts(b, d == self.time) for d, b in self.blocks.items()}
        self.cap = {}
        for operand in ("weights", "inputs"):
            level = arch.level_for(operand)
            share = sum(1 for o in ("weights", "inputs") if o in level.operands)
            self.cap[operand] = level.tile_capacity_bytes / share
        olevel = arch.level_for("outputs")
        self.cap["outputs"] = olevel.tile_capacity_bytes / len(olevel.operands)
        if self.time is None:  # nothing streamed across folds (row-stationary)
            self.spatial_folds = self.blocks["m"] * self.blocks["n"] * self.blocks["k"]
            self.T = df.stream_steps(op.M, op.N, op.K, arr.dot_product_width)
            self.psum_bits = ACC_BITS if self.blocks["k"] > 1 else a_bits
        else:
            self.spatial_folds = 1
            for d in "mnk":
                self.spatial_folds *= 1 if d == self.time else self.blocks[d]
        self.bw = arch.dram.bytes_per_cycle
        self.pj = energies(arch)
        # what a fold's timing depends on besides its steps and output bits: shapes that
        # share their reduction share their folds
        key = (arch.memory, arr, df.fold_key, w_bits, a_bits, pe.step_cycles)
        if key not in _FOLD_KEYS and len(_FOLD_KEYS) > 4096:
            clear_folds()  # a long sweep: start over (the numbers key _FOLDS)
        self._fold_key = _FOLD_KEYS.setdefault(key, len(_FOLD_KEYS))  # hashed once

    # -- candidates -------------------------------------------------------------------
    def exhaustive(self):
        """Every feasible (order, m, n, k counts) of the space."""
        for order in ORDERS:
            for ck in self.counts["k"]:
                for cm in self.counts["m"]:
                    for cn in self.counts["n"]:
                        if self.feasible(order, cm, cn, ck):
                            yield order, cm, cn, ck

    def feasible(self, order, cm, cn, ck) -> bool:
        fk = self.frac("k", ck)
        if self.W * self.frac("n", cn) * fk > self.cap["weights"]:
            return False
        if self.I * self.frac("m", cm) * fk > self.cap["inputs"]:
            return False
        if ck > 1 and factor(order, "k", {"m": cm, "n": cn, "k": ck}, "mn") == 1:
            o_tile = self.O_acc * self.frac("m", cm) * self.frac("n", cn)
            return o_tile <= self.cap["outputs"]
        return True

    def frac(self, dim: str, count: int) -> float:
        """The largest tile's share of dimension `dim` cut in `count` tiles."""
        b = self.blocks[dim]
        return ceil(b / count) / b

    # -- cost -------------------------------------------------------------------------
    def split(self, cm: int, cn: int, ck: int) -> tuple[int, int]:
        """(folds per instance, steps per fold) of a candidate."""
        if self.time is None:
            return self.spatial_folds, self.T
        c = {"m": cm, "n": cn, "k": ck}[self.time]
        return self.spatial_folds * c, self.blocks[self.time] // c

    def out_bits(self, ck: int):
        """Bits of each output the array writes: partial sums while the reduction is split."""
        if self.time is None:
            return self.psum_bits
        return ACC_BITS if ck > 1 and self.time == "k" else self.a_bits

    def figures(self, cand):
        """(compute cycles, DRAM bytes, energy pJ, fields) of a candidate, all instances."""
        order, cm, cn, ck = cand
        c = {"m": cm, "n": cn, "k": ck}
        fw = factor(order, "m", c, "nk")
        fi = factor(order, "n", c, "mk")
        spill = factor(order, "k", c, "mn")
        psum = self.O_acc * (spill - 1)
        folds, T = self.split(cm, cn, ck)
        o_bits = self.out_bits(ck)
        _, fold, fill, floor, port = self.fold(T, o_bits)
        compute, dram, energy = self.costs(fw, fi, psum, folds, fold, self.elements(T, folds))
        fields = dict(
            weight_fetches=fw, input_fetches=fi, order=order, m_tiles=cm, n_tiles=cn,
            k_tiles=ck, folds=folds, steps=folds * T, stream_steps=T, fold_cycles=fold,
            fill_drain_cycles=fill, sram_stream_cycles=floor, port=port, psum_bytes=psum,
        )  # fmt: skip
        return compute, dram, energy, fields

    def costs(self, fw, fi, psum, folds, fold, elems):
        """(compute cycles, DRAM bytes, energy pJ) of all instances from a candidate's refetch
        factors, spilled partial sums, folds, fold cycles and array elements (`elements`):
        Python numbers or numpy arrays alike, so the vectorised search (hwsim.sim.mapper)
        runs these very expressions."""
        n = self.instances
        dram = n * (self.W * fw + self.I * fi + self.O + 2 * psum)
        energy = self.energy(n * self.W * fw, n * self.I * fi, n * psum, elems)
        return n * folds * fold, dram, energy + dram * 8 * self.pj["dram"]

    def fold(self, T: int, o_bits: float):
        """(T, fold cycles, fill/drain cycles, port floor, the port setting it) of a fold."""
        key = (self._fold_key, T, o_bits)
        if key not in _FOLDS:
            arr, step = self.unit.array, self.pe.step_cycles
            floor, port = port_floor(self.arch, self.unit, T, self.w_bits, self.a_bits, o_bits)
            fold = self.unit.dataflow.fold_cycles(T, step, arr.rows, arr.cols, arr.systolic, floor)
            stream = ceil(T * step)
            if len(_FOLDS) > 65536:
                _FOLDS.clear()
            port = port if floor > stream else ""
            _FOLDS[key] = (T, fold, fold - max(stream, floor), floor, port)
        return _FOLDS[key]

    def elements(self, T: int, folds: int, stacked: bool = True) -> tuple[int, int, int]:
        """(weight, input elements read, partial sums accumulated) by the array over one
        instance's `folds` folds of T steps, each fold at the rows and columns it uses, as
        hwsim.sim.actions counts them: an output written r times is read back r - 1 times.
        `stacked`: the mapper's GEMM of a GQA group's heads; else the fixed mapping's heads."""
        arr, df, op = self.unit.array, self.unit.dataflow, self.op
        M = op.M * op.kv_group if stacked else op.M
        dp = arr.dot_product_width
        w = i = out = 0
        for rows, cols, n in df.fold_uses(M, op.N, op.K, dp, arr.rows, arr.cols, folds):
            w_el, i_el = df.operand_reads(rows, cols, T, dp)
            w, i = w + n * w_el, i + n * i_el
            out += n * df.output_writes(rows, cols, T)
        return w, i, max(0, out - op.M * op.N * op.kv_group)

    def energy(self, w_fill, i_fill, psum, elems):
        """SRAM pJ, the bits hwsim.sim.actions counts: fills from DRAM and the array's operand
        reads; outputs written and read out to DRAM (spilled partial sums written again and
        read out once more); on-chip partial sums written and read back at ACC_BITS."""
        pj = self.pj
        w_el, i_el, acc = elems
        n = self.instances
        e = (w_fill * 8 + n * w_el * self.w_bits) * pj["weights"]
        e = e + (i_fill * 8 + n * i_el * self.a_bits) * pj["inputs"]
        out = (n * self.O + 2 * psum) * 8 + (n * self.O + psum) * 8 + 2 * n * acc * ACC_BITS
        return e + out * pj["outputs"]

    def score(self, compute: int, dram: int, energy: float, objective: str, both=False):
        """The objective's value (with `both`: and the tie-breaker, energy for latency and
        latency for energy and EDP)."""
        latency = np.maximum(compute, np.floor_divide(dram, self.bw).astype(np.int64))
        if objective == "latency":
            value, tie = latency, energy
        else:
            value, tie = (energy if objective == "energy" else latency * energy), latency
        return (value, tie) if both else value

    def ranked(self, cand, objective: str):
        """Sort key of a candidate: objective, tie-breaker, then fewest tiles, order name."""
        compute, dram, energy, _ = self.figures(cand)
        order, cm, cn, ck = cand
        return *self.score(compute, dram, energy, objective, True), 1, cm * cn * ck, order

    def fixed_cost(self, m: OpMapping, objective: str, both=False):
        """The objective's value of the fixed mapping `m` (mapped on this space's dataflow)."""
        n = m.instances
        energy = self.energy(
            m.dram_read_bytes["weights"], m.dram_read_bytes["inputs"], n * m.psum_bytes,
            self.elements(m.stream_steps, m.folds, stacked=False),
        )  # fmt: skip
        energy += m.dram_bytes * 8 * self.pj["dram"]
        return self.score(m.compute_cycles, m.dram_bytes, energy, objective, both)

    def mapping(self, cand, objective: str) -> OpMapping:
        _, _, _, fields = self.figures(cand)
        return OpMapping(
            op=self.op,
            instances=self.instances,
            weight_bytes=self.W,
            input_bytes=self.I,
            output_bytes=self.O,
            step_cycles=self.pe.step_cycles,
            search=objective,
            **fields,
        )


def factor(order: str, dim: str, counts: dict, relevant: str) -> int:
    """Trips of loop `dim` (irrelevant to an operand) re-fetching it: its count when it sits
    above the operand's innermost relevant loop with more than one trip, else 1."""
    here = order.index(dim)
    for d in relevant:
        if counts[d] > 1 and order.index(d) > here:
            return counts[dim]
    return 1


@cache
def _counts(blocks: int, streamed: bool) -> tuple[int, ...]:
    """Tile counts of a dimension of `blocks` blocks (steps when streamed): tiles of 2^i
    blocks or a divisor of the blocks; a streamed dimension is cut into equal parts only."""
    divisors = {
        d for i in range(1, int(blocks**0.5) + 1) if blocks % i == 0 for d in (i, blocks // i)
    }
    if streamed:
        return tuple(sorted(divisors))
    sizes = divisors | {1 << i for i in range(blocks.bit_length()) if 1 << i <= blocks}
    return tuple(sorted({ceil(blocks / s) for s in sizes}))


def energies(arch: Arch) -> dict:
    """pJ per bit of the weight, input and output levels and of DRAM at the arch's profile."""
    key = (arch.memory, arch.dram, arch.technology.profile)
    if key not in _ENERGY:
        from hwsim.cost.energy import dram_pj_per_bit, sram_pj_per_bit
        from hwsim.cost.profiles import load_profile

        profile = load_profile(arch.technology.profile)
        out = {
            o: sram_pj_per_bit(arch.level_for(o), profile) for o in ("weights", "inputs", "outputs")
        }
        out["dram"] = dram_pj_per_bit(arch, profile)
        if len(_ENERGY) > 256:
            _ENERGY.clear()
        _ENERGY[key] = out
    return _ENERGY[key]


_ENERGY: dict = {}
# (Space._fold_key, steps, output bits) -> Space.fold's figures; the keys' numbers
_FOLDS: dict = {}
_FOLD_KEYS: dict = {}


def clear_folds() -> None:
    _FOLDS.clear()
    _FOLD_KEYS.clear()
