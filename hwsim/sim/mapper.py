"""The mapper: search an op's loop nest (and, on a flexible unit, its dataflow) for the
latency, energy or EDP objective.

The space and the cost of one candidate are hwsim.sim.mapspace's (Space.costs and
Space.score, the expressions the one-candidate reference evaluates too). The search
evaluates the candidates of a dataflow at once with numpy, an array of loop orders x cells
((k, m, n) tile counts), after pruning the cells no optimum needs (_cells): a cell whose W
or A tile does not fit is dropped, and on a dimension that is not streamed the cost is
non-decreasing in its count at the same tiled / untiled status (the loops that refetch an
operand and the spilled partial sums only grow; compute does not change), so only the
smallest counts that fit stay. The streamed dimension's count sets the steps per fold,
whose cycles are not monotone in it, so all of its counts stay. On the shapes of a
LLaMA-2-70B layer this leaves ~90 of ~860 cells.
Ties go to the lower energy (latency objective) or latency (the others), then the fewest
tiles, the loop order's name, the dataflow's place in the unit's list; the fixed mapping
(hwsim.sim.mapping.map_op) is a candidate and wins every tie, so the choice is never worse
than it on the objective, and deterministic. A choice is memoised per (buffers, DRAM,
profile, array, dataflows, op shape, bits, PE step, objective): a model repeats its layer
shapes, a sweep its points' shapes.

Dataflows: the unit's declared one, plus the others its `dataflow:` list names (hwsim.spec:
`dataflow: [os, ws, rs]`); `rs` is row-stationary (hwsim.sim.rowstationary), for convs only.
"""

from __future__ import annotations

from bisect import bisect_left
from math import ceil

import numpy as np

from hwsim.errors import HwsimError
from hwsim.sim.dataflow import get_dataflow
from hwsim.sim.mapping import OpMapping
from hwsim.sim.mapspace import ORDERS, Space, clear_folds
from hwsim.sim.rowstationary import row_stationary
from hwsim.spec.schema import Arch
from hwsim.workload.op import Op

OBJECTIVES = ("latency", "energy", "edp")
MAPPINGS = ("fixed", *OBJECTIVES)  # what a run, an arch or a unit may ask for


def check_objective(objective: str | None) -> None:
    if objective is not None and objective not in MAPPINGS:
        raise HwsimError(f"objective: expected one of {', '.join(MAPPINGS)}, got {objective!r}")


def choose_mapping(arch: Arch, unit, op: Op, pe, w_bits, a_bits, fixed: OpMapping, objective):
    """(the best nest for `objective`, the Dataflow it runs on): the fixed mapping on the
    unit's dataflow when it is as good."""
    key = (arch.memory, arch.dram, arch.technology.profile, unit.array, unit.dataflow_name)
    key += (unit.dataflows, op.kind, op.M, op.N, op.K, op.batch, op.kv_group, op.conv)
    key += (w_bits, a_bits, pe.step_cycles, objective)
    flows = dataflows(unit, op)
    if key not in _CHOSEN:
        spaces = [Space(arch, unit, op, pe, w_bits, a_bits, df) for df in flows]
        best_rank = (*spaces[0].fixed_cost(fixed, objective, True), 0, 0, "", 0)
        best = None
        for i, space in enumerate(spaces):
            found = search(space, objective)
            if found is not None and (*found[0], i) < best_rank:
                best_rank, best = (*found[0], i), (i, found[1])
        if len(_CHOSEN) > 4096:
            _CHOSEN.clear()
        _CHOSEN[key] = best
    best = _CHOSEN[key]
    if best is None:
        return fixed, unit.dataflow
    i, cand = best
    space = Space(arch, unit, op, pe, w_bits, a_bits, flows[i])  # this op's own
    return space.mapping(cand, objective), flows[i]


# search key -> (index into dataflows(), the chosen candidate), or None: the fixed mapping
_CHOSEN: dict = {}


def clear_caches() -> None:
    """Forget every memoised choice and fold timing (benchmarks time a cold search)."""
    _CHOSEN.clear()
    clear_folds()


def dataflows(unit, op: Op) -> list:
    """The Dataflow objects the mapper may use for `op`: the unit's, then the others of its
    list that apply (row-stationary: convs whose filter rows fit the array's rows)."""
    out = [unit.dataflow]
    arr = unit.array
    for name in unit.dataflows:
        if name == unit.dataflow_name:
            continue
        if name == "rs":
            df = row_stationary(op, arr.rows, arr.cols, arr.dot_product_width)
            if df is not None:
                out.append(df)
        else:
            out.append(get_dataflow(name))
    return out


def search(space: Space, objective: str):
    """(rank, candidate) of the best feasible candidate of `space`, or None when none fits.
    rank = (objective, tie-breaker, 1, tiles, order), comparable with Space.ranked."""
    fr = {d: _fracs(space, d) for d in "mnk"}
    cells = _cells(space, fr)  # every cell's W and I tiles fit
    if cells is None:
        return None
    ik, im, in_ = cells  # one (k, m, n) count index triple per cell; orders x cells below
    ck, cm, cn = (np.array(space.counts[d], dtype=np.int64)[i] for d, i in zip("kmn", cells))
    tiled = (cm > 1) + 2 * (cn > 1) + 4 * (ck > 1)
    fw = np.where(_REFETCH["m"][:, tiled], cm, 1)
    fi = np.where(_REFETCH["n"][:, tiled], cn, 1)
    spill = np.where(_REFETCH["k"][:, tiled], ck, 1)
    # k split with its loop inside every tiled m/n loop: the output tile accumulates on chip
    o_tile = space.O_acc * fr["m"][im] * fr["n"][in_]
    ok = (spill > 1) | (ck == 1) | (o_tile <= space.cap["outputs"])
    if not ok.any():
        return None

    # per count of the streamed dimension (or once): folds, fold cycles, array elements
    t = space.time
    if t is None:
        table = [_fold_row(space, space.spatial_folds, space.T, space.out_bits(1))]
        pick = np.zeros(len(ik), dtype=np.int64)
    else:
        pick = {"k": ik, "m": im, "n": in_}[t]
        used = set(pick.tolist())
        table = [
            _fold_row(space, space.spatial_folds * c, space.blocks[t] // c,
                      space.out_bits(c if t == "k" else 1)) if i in used else (0,) * 5
            for i, c in enumerate(space.counts[t])
        ]  # fmt: skip
    per = np.array(table, dtype=np.int64)[pick]
    folds, fold = per[:, 0], per[:, 1]
    compute, dram, energy = space.costs(
        fw, fi, space.O_acc * (spill - 1), folds, fold, (per[:, 2], per[:, 3], per[:, 4])
    )
    value, tie = space.score(compute, dram, energy, objective, True)
    value = np.where(ok, value, np.inf)
    # ties: the tie-breaker, then the fewest tiles, then the order's name (ORDERS is sorted,
    # the flat index runs over orders first)
    best = np.flatnonzero(value == value.min())
    for key in (tie, np.broadcast_to(ck * cm * cn, value.shape)):
        k = key.flat[best]
        best = best[k == k.min()]
    flat = int(best[0])
    n_cells = len(ik)
    cell = flat % n_cells
    cand = (ORDERS[flat // n_cells], int(cm[cell]), int(cn[cell]), int(ck[cell]))
    cand = (_canonical(cand), *cand[1:])
    tiles = cand[1] * cand[2] * cand[3]
    return (_scalar(value.flat[flat]), _scalar(tie.flat[flat]), 1, tiles, cand[0]), cand


def _scalar(v):
    """A numpy scalar as a Python number (an object array, e.g. of a padded group's Fraction
    bits, already holds Python numbers)."""
    return v.item() if isinstance(v, np.generic) else v


def _refetch_table(dim: str, relevant: str) -> np.ndarray:
    """[order, tiled mask (m: 1, n: 2, k: 4)] -> True where loop `dim` refetches the operand
    that does not depend on it: a tiled `relevant` loop sits below it (mapspace.factor)."""
    bit = {"m": 1, "n": 2, "k": 4}
    out = np.zeros((len(ORDERS), 8), dtype=bool)
    for o, order in enumerate(ORDERS):
        for mask in range(8):
            out[o, mask] = any(
                mask & bit[d] and order.index(d) > order.index(dim) for d in relevant
            )
    return out


# loop -> its refetch table: m refetches W (relevant n, k), n refetches A (m, k), k the
# partial sums (m, n)
_REFETCH = {"m": _refetch_table("m", "nk"), "n": _refetch_table("n", "mk"),
            "k": _refetch_table("k", "mn")}  # fmt: skip


def _fold_row(space: Space, folds: int, T: int, o_bits: int) -> tuple:
    """(folds, fold cycles, weight / input elements read, partial sums) of an instance's
    `folds` folds of T steps (their outputs written at `o_bits`)."""
    return folds, space.fold(T, o_bits)[1], *space.elements(T, folds)


def _canonical(cand) -> str:
    """The loop order with its one-trip loops moved to the end (they change no cost)."""
    order, cm, cn, ck = cand
    c = {"m": cm, "n": cn, "k": ck}
    return "".join(d for d in order if c[d] > 1) + "".join(d for d in order if c[d] == 1)


def _fracs(space: Space, dim: str) -> np.ndarray:
    """The largest tile's share of `dim` for each of its tile counts (falling)."""
    b = space.blocks[dim]
    return np.array([ceil(b / c) / b for c in space.counts[dim]])


def _cells(space: Space, fr: dict):
    """Index arrays (k, m, n) into space.counts of the cells an optimum may use, or None when
    no tile fits (`fr`: each dimension's tile fractions, falling).

    Every cell's W and I tiles fit. The cost is non-decreasing in the count of a dimension
    that is not streamed, at the same tiled / untiled status of each dimension (an untiled
    loop refetches nothing and spills nothing), so per k count, with `lo` the first count
    whose tile fits:
      k = 1        nothing accumulates: lo of m and of n (every count of a streamed one);
      k > 1        spilling orders: lo or the first tiled count from lo, of m and of n;
                   accumulating orders (the output tile must fit): per m count (per n count
                   when n is streamed) the first count of the other whose output tile fits.
    On k itself, when it is not streamed: none above the first count whose tiles fit
    whatever m and n are (it dominates every larger one)."""
    W, I, O, cap = space.W, space.I, space.O_acc, space.cap
    fk, fm, fn = fr["k"].tolist(), fr["m"].tolist(), fr["n"].tolist()
    neg_m, neg_n = [-f for f in fm], [-f for f in fn]
    counts = space.counts
    k_idx = range(len(fk))
    if space.time != "k":
        first = next((i for i, f in enumerate(fk) if W * f <= cap["weights"] and
                      I * f <= cap["inputs"]), len(fk))  # fmt: skip
        k_idx = [i for i in k_idx if i <= first]
    out: set = set()
    o_cap = cap["outputs"]
    # the accumulating frontier: the first count of the other dimension whose output tile
    # fits, per m count (per n count when n is streamed); k only raises its floor
    by_n = space.time == "n"
    if by_n:
        acc = [_first(fm, neg_m, O, f, o_cap) for f in fn]
    else:
        acc = [_first(fn, neg_n, O * f, 1, o_cap) for f in fm]
    tiled = {d: next((i for i, c in enumerate(counts[d]) if c > 1), None) for d in "mn"}
    for k in k_idx:
        m_lo = _first(fm, neg_m, I, fk[k], cap["inputs"])
        n_lo = _first(fn, neg_n, W, fk[k], cap["weights"])
        if m_lo is None or n_lo is None:
            continue
        m_all, n_all = range(m_lo, len(fm)), range(n_lo, len(fn))
        if counts["k"][k] == 1:
            ms = m_all if space.time == "m" else (m_lo,)
            ns = n_all if space.time == "n" else (n_lo,)
            out.update((k, m, n) for m in ms for n in ns)
            continue
        ms = m_all if space.time == "m" else _lo_and_tiled(m_lo, tiled["m"])
        ns = n_all if space.time == "n" else _lo_and_tiled(n_lo, tiled["n"])
        out.update((k, m, n) for m in ms for n in ns)  # spilling orders
        if by_n:  # accumulating orders
            out.update((k, max(m_lo, acc[n]), n) for n in n_all if acc[n] is not None)
        else:
            out.update((k, m, max(n_lo, acc[m])) for m in m_all if acc[m] is not None)
    if not out:
        return None
    return tuple(np.array(a, dtype=np.int64) for a in zip(*sorted(out), strict=True))


def _first(fr: list, neg: list, pre: float, post: float, cap: float, start: int = 0):
    """Index of the first count from `start` whose tile (pre x fraction) x post fits `cap`,
    in Space.feasible's float order (`fr` falling, `neg` its negation), or None."""
    size = pre * post
    i = bisect_left(neg, -cap / size, start) if size > 0 else start
    while i > start and pre * fr[i - 1] * post <= cap:  # the guess, made exact
        i -= 1
    while i < len(fr) and pre * fr[i] * post > cap:
        i += 1
    return i if i < len(fr) else None


def _lo_and_tiled(lo: int, tiled: int | None) -> tuple:
    """Count index `lo` and the first from it with more than one tile (`tiled`: the first
    such index of the rising counts; it may be lo)."""
    first = None if tiled is None else max(lo, tiled)
    return (lo,) if first in (None, lo) else (lo, first)


def best_exhaustive(space: Space, fixed: OpMapping, objective: str) -> float:
    """The objective's best value over the whole space, one candidate at a time (the
    reference the search is tested against; fixed mapping included)."""
    best = space.fixed_cost(fixed, objective)
    for cand in space.exhaustive():
        best = min(best, space.ranked(cand, objective)[0])
    return best


def cost_of(space: Space, m: OpMapping, objective: str) -> float:
    """The objective's value of a mapping the space produced (or the fixed one)."""
    if m.search == "fixed":
        return space.fixed_cost(m, objective)
    return space.ranked((m.order, m.m_tiles, m.n_tiles, m.k_tiles), objective)[0]


__all__ = [
    "MAPPINGS",
    "OBJECTIVES",
    "best_exhaustive",
    "check_objective",
    "choose_mapping",
    "clear_caches",
    "cost_of",
    "dataflows",
    "search",
]
