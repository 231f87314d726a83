"""The mapper: search an op's loop nest for the latency, energy or EDP objective.

Space (per GEMM instance, C[M,N] = A[M,K] W[N,K]^T on one compute unit, its dataflow fixed by
the hardware: os puts N on rows and M on cols and streams K; ws K on rows, N on cols, streams
M; is K on rows, M on cols, streams N):
  DRAM level  a loop order over m, n, k (all 6) and a tile count per dimension. A spatial
              dimension is tiled in whole array blocks (ceil(extent / rows or cols) blocks):
              tile sizes of 2^i blocks or a divisor of the block count; the streamed dimension
              is cut into equal parts (a divisor of its steps), each part a fold of its own.
  buffer      one tile of W and of A in their levels (tile capacity: half a double-buffered
              level, a level holding both splits it); splitting k with the k loop inside every
              tiled m/n loop accumulates the partial sums on chip (the output tile at the
              accumulator's 32 bits must fit the outputs level), else the partial sums spill
              to DRAM and are read back, 32 bits each, (k tiles - 1) times.
  array       the unit's dataflow; a fold streams max(steps x step cycles, its port floor).
Traffic of an operand: its bytes x the trip counts of the loops it does not depend on that sit
above its innermost tiled dependent loop (Timeloop's reuse rule). Grouped-query attention:
the query heads of one KV head are one GEMM (rows stacked, hwsim.sim.mapping), so the mapper
may also pack them onto the array.

Objectives: latency = max(compute cycles, DRAM bytes / bytes per cycle) (the analytic model);
energy = DRAM bits x pJ/bit + SRAM bits read and written x each level's pJ/bit (the cost
model's Horowitz bank fit at the arch's profile), the mapping-dependent part of the energy;
edp = latency x energy. The fixed mapping (hwsim.sim.mapping.map_op) is always a candidate,
so the choice is never worse than it on the objective; ties go to the lower energy (latency
objective) or latency (the others), then to the fixed mapping, the fewest tiles and the order
name (deterministic).

Pruned search: every cost term is non-decreasing in each tile count, so for each order, k
count and m count only the smallest feasible n count is evaluated; `exhaustive` walks the
whole space (the tests hold the two equal).
"""

from __future__ import annotations

from functools import cache
from itertools import permutations
from math import ceil

from hwsim.errors import HwsimError
from hwsim.sim.mapping import OpMapping, operand_bytes, port_floor
from hwsim.spec.schema import Arch
from hwsim.workload.op import Op

OBJECTIVES = ("latency", "energy", "edp")
ACC_BITS = 32  # partial sums: the INT32 / FP32 accumulators of the modelled arrays
ORDERS = tuple("".join(p) for p in permutations("mnk"))
# dataflow -> (dimension on the rows, on the cols, streamed)
_LAYOUT = {"os": ("n", "m", "k"), "ws": ("k", "n", "m"), "is": ("k", "m", "n")}


def check_objective(objective: str | None) -> None:
    if objective is not None and objective not in OBJECTIVES:
        raise HwsimError(f"objective: expected one of {', '.join(OBJECTIVES)}, got {objective!r}")


def choose_mapping(arch: Arch, unit, op: Op, pe, w_bits, a_bits, fixed: OpMapping, objective):
    """The best nest for `objective` (the fixed mapping when it is as good, or when the
    dataflow is not one the mapper models)."""
    space = Space(arch, unit, op, pe, w_bits, a_bits)
    if not space.layout:
        return fixed
    # what fixes the choice: the buffers, DRAM, profile, array, the op's shape and bits
    key = (arch.memory, arch.dram, arch.technology.profile, unit.array, unit.dataflow_name)
    key += (op.kind, op.M, op.N, op.K, op.batch, op.kv_group, op.conv, w_bits, a_bits)
    key += (pe.step_cycles, objective)
    if key not in _CHOSEN:
        best_key, best = (*space.fixed_cost(fixed, objective, True), 0, 0, ""), None
        for cand in space.pruned():
            rank = space.ranked(cand, objective)
            if rank < best_key:
                best_key, best = rank, cand
        if len(_CHOSEN) > 4096:
            _CHOSEN.clear()
        _CHOSEN[key] = best
    best = _CHOSEN[key]
    return fixed if best is None else space.mapping(best, objective)


# search key -> the chosen candidate (None: the fixed mapping): a sweep maps the same shapes
# at many points
_CHOSEN: dict = {}


class Space:
    """One op's mapping space on one unit, with the candidate costs."""

    def __init__(self, arch: Arch, unit, op: Op, pe, w_bits, a_bits):
        self.arch, self.unit, self.op, self.pe = arch, unit, op, pe
        self.w_bits, self.a_bits = w_bits, a_bits
        self.layout = _LAYOUT.get(unit.dataflow_name)
        if not self.layout:
            return
        arr = unit.array
        g = op.kv_group
        W, I, O = operand_bytes(op, w_bits, a_bits)
        self.W, self.I, self.O = W, I * g, O * g
        self.O_acc = ceil(op.N * ACC_BITS / 8) * op.M * g
        self.instances = op.batch // g
        extent = {"m": op.M * g, "n": op.N, "k": ceil(op.K / arr.dot_product_width)}
        rows, cols, self.time = self.layout
        self.blocks = {
            rows: ceil(extent[rows] / arr.rows),
            cols: ceil(extent[cols] / arr.cols),
            self.time: extent[self.time],
        }
        self.counts = {d: _counts(b, d == self.time) for d, b in self.blocks.items()}
        self.cap = {}
        for operand in ("weights", "inputs"):
            level = arch.level_for(operand)
            share = sum(1 for o in ("weights", "inputs") if o in level.operands)
            self.cap[operand] = level.tile_capacity_bytes / share
        olevel = arch.level_for("outputs")
        self.cap["outputs"] = olevel.tile_capacity_bytes / len(olevel.operands)
        self.spatial_folds = self.blocks[rows] * self.blocks[cols]
        self.bw = arch.dram.bytes_per_cycle
        self.pj = _energies(arch)
        self._folds: dict = {}

    # -- candidates -------------------------------------------------------------------
    def exhaustive(self):
        """Every feasible (order, m, n, k counts) of the space."""
        for order in ORDERS:
            for ck in self.counts["k"]:
                for cm in self.counts["m"]:
                    for cn in self.counts["n"]:
                        if self.feasible(order, cm, cn, ck):
                            yield order, cm, cn, ck

    def pruned(self):
        """The smallest feasible n count per (order, k count, m count); orders that differ
        only in untiled loops are one candidate."""
        fr = {d: [self._frac(d, c) for c in self.counts[d]] for d in "mnk"}
        seen = set()
        for ik, ck in enumerate(self.counts["k"]):
            fk = fr["k"][ik]
            # fractions fall as counts grow: the first n count whose W tile fits
            start = _first_at_most(fr["n"], self.cap["weights"] / (self.W * fk or 1))
            if start is None:
                continue
            for im, cm in enumerate(self.counts["m"]):
                if self.I * fr["m"][im] * fk > self.cap["inputs"]:
                    continue
                for order in ORDERS if ck > 1 else ("mnk", "nmk"):
                    for cn in self.counts["n"][start:]:
                        if self.feasible(order, cm, cn, ck):
                            c = {"m": cm, "n": cn, "k": ck}
                            key = ("".join(d for d in order if c[d] > 1), cm, cn, ck)
                            if key not in seen:
                                seen.add(key)
                                yield order, cm, cn, ck
                            break

    def feasible(self, order, cm, cn, ck) -> bool:
        fk = self._frac("k", ck)
        if self.W * self._frac("n", cn) * fk > self.cap["weights"]:
            return False
        if self.I * self._frac("m", cm) * fk > self.cap["inputs"]:
            return False
        if ck > 1 and _factor(order, "k", {"m": cm, "n": cn, "k": ck}, "mn") == 1:
            o_tile = self.O_acc * self._frac("m", cm) * self._frac("n", cn)
            return o_tile <= self.cap["outputs"]
        return True

    def _frac(self, dim: str, count: int) -> float:
        """The largest tile's share of dimension `dim` cut in `count` tiles."""
        b = self.blocks[dim]
        return ceil(b / count) / b

    # -- cost -------------------------------------------------------------------------
    def figures(self, cand):
        """(compute cycles, DRAM bytes, energy pJ, fields) of a candidate, all instances."""
        order, cm, cn, ck = cand
        c = {"m": cm, "n": cn, "k": ck}
        fw = _factor(order, "m", c, "nk")
        fi = _factor(order, "n", c, "mk")
        spill = _factor(order, "k", c, "mn")
        psum = self.O_acc * (spill - 1)
        split = c[self.time]
        o_bits = ACC_BITS if ck > 1 and self.time == "k" else self.a_bits
        T, fold, fill, floor, port = self._fold(self.blocks[self.time] // split, o_bits)
        folds = self.spatial_folds * split
        n = self.instances
        dram = n * (self.W * fw + self.I * fi + self.O + 2 * psum)
        energy = self._energy(n * self.W * fw, n * self.I * fi, n * psum, n * folds, T, o_bits)
        energy += dram * 8 * self.pj["dram"]
        fields = dict(
            weight_fetches=fw, input_fetches=fi, order=order, m_tiles=cm, n_tiles=cn,
            k_tiles=ck, folds=folds, steps=folds * T, stream_steps=T, fold_cycles=fold,
            fill_drain_cycles=fill, sram_stream_cycles=floor, port=port, psum_bytes=psum,
        )  # fmt: skip
        return n * folds * fold, dram, energy, fields

    def _fold(self, T: int, o_bits: float):
        key = (T, o_bits)
        if key not in self._folds:
            arr, step = self.unit.array, self.pe.step_cycles
            floor, port = port_floor(self.arch, self.unit, T, self.w_bits, self.a_bits, o_bits)
            fold = self.unit.dataflow.fold_cycles(T, step, arr.rows, arr.cols, arr.systolic, floor)
            stream = ceil(T * step)
            self._folds[key] = (
                T,
                fold,
                fold - max(stream, floor),
                floor,
                port if floor > stream else "",
            )
        return self._folds[key]

    def _energy(self, w_fill, i_fill, psum, folds, T, o_bits) -> float:
        """SRAM pJ: fills, the array's operand reads and output writes, write-back reads."""
        arr, df, pj = self.unit.array, self.unit.dataflow, self.pj
        w_el, i_el = df.operand_reads(arr.rows, arr.cols, T, arr.dot_product_width)
        out_el = df.output_writes(arr.rows, arr.cols, T)
        n = self.instances
        e = (w_fill * 8 + folds * w_el * self.w_bits) * pj["weights"]
        e += (i_fill * 8 + folds * i_el * self.a_bits) * pj["inputs"]
        e += (folds * out_el * o_bits + (n * self.O + 2 * psum) * 8) * pj["outputs"]
        return e

    def score(self, compute: int, dram: int, energy: float, objective: str, both=False):
        """The objective's value (with `both`: and the tie-breaker, energy for latency and
        latency for energy and EDP)."""
        latency = max(compute, int(dram // self.bw))
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
        n = m.instances
        energy = self._energy(
            m.dram_read_bytes["weights"], m.dram_read_bytes["inputs"], 0, n * m.folds,
            m.stream_steps, self.a_bits,
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


def best_exhaustive(space: Space, fixed: OpMapping, objective: str) -> float:
    """The objective's best value over the whole space (fixed mapping included)."""
    best = space.fixed_cost(fixed, objective)
    for cand in space.exhaustive():
        best = min(best, space.ranked(cand, objective)[0])
    return best


def cost_of(space: Space, m: OpMapping, objective: str) -> float:
    """The objective's value of a mapping the space produced (or the fixed one)."""
    if m.search == "fixed":
        return space.fixed_cost(m, objective)
    return space.ranked((m.order, m.m_tiles, m.n_tiles, m.k_tiles), objective)[0]


def _first_at_most(values: list, limit: float) -> int | None:
    """Index of the first of the falling `values` at most `limit` (None: none is)."""
    for i, v in enumerate(values):
        if v <= limit:
            return i
    return None


def _factor(order: str, dim: str, counts: dict, relevant: str) -> int:
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


def _energies(arch: Arch) -> dict:
    """pJ per bit of the weight, input and output levels and of DRAM at the arch's profile."""
    return _energies_cached(arch.memory, arch.dram, arch.technology.profile, arch)


def _energies_cached(memory, dram, profile_name, arch):
    key = (memory, dram, profile_name)
    if key not in _ENERGY:
        from hwsim.cost.energy import dram_pj_per_bit, sram_pj_per_bit
        from hwsim.cost.profiles import load_profile

        profile = load_profile(profile_name)
        out = {
            o: sram_pj_per_bit(arch.level_for(o), profile) for o in ("weights", "inputs", "outputs")
        }
        out["dram"] = dram_pj_per_bit(arch, profile)
        if len(_ENERGY) > 256:
            _ENERGY.clear()
        _ENERGY[key] = out
    return _ENERGY[key]


_ENERGY: dict = {}

__all__ = ["OBJECTIVES", "Space", "best_exhaustive", "check_objective", "choose_mapping"]
