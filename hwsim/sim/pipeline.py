"""Event timing of one mapped op as a recurrence over its tile schedule (numba, no objects).

The same pipeline as the simpy model in hwsim.sim.engine, computed tile by tile in a compiled
loop with O(1) memory (the tile schedule is generated from the loop nest as it is walked):
  loader   tile t takes a buffer slot at g_t = max(loader free, end of tile t - slots), books
           its new operand bytes on the DRAM channel (start = max(g_t, channel free)); its
           data is ready `latency_cycles` after the transfer ends
  compute  starts at max(ready_t, end of tile t-1), holds the array for the tile's folds,
           frees its slot at its end and books its write-back on the same channel
  channel  one FIFO server booked in time order; within one cycle a write-back goes before a
           read booked by a loader woken by that write's slot release, and otherwise the
           process whose wake-up was scheduled first books first (simpy's event order)
The op ends when its last write completes. Tiles walk the nest `order` (outer -> inner); an
operand tile is read when its indices change; folds, write-backs and partial-sum re-reads are
spread over an instance's tiles by `split` (hwsim.sim.engine), so the sums equal the mapping's.

Steady state, extended exactly: a period is one trip of the outermost tiled loop. When two
consecutive periods get identical tiles (no split threshold falls in them) and the pipeline's
state at the start of the second equals the state at the start of the first shifted by a
constant delta (every pending time shifted alike), the pipeline is time-invariant, so every
following identical period repeats it shifted by delta: the run of identical periods is
skipped in one step. Data-dependent folds (traced ops) are walked tile by tile.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hwsim.sim.engine import OpTiming
from hwsim.sim.mapping import OpMapping
from hwsim.spec.schema import Arch

_DIM = {"m": 0, "n": 1, "k": 2}


@njit(cache=True, inline="always")
def _part(total, parts, index):
    q, r = divmod(total, parts)
    return q + 1 if index < r else q


@njit(cache=True, inline="always")
def _cycles(nbytes, bw):
    if nbytes == 0 or bw == np.inf:
        return 0
    return int(np.ceil(nbytes / bw))


@njit(cache=True)
def _grown(a):
    out = np.zeros(2 * a.shape[0], np.int64)
    out[: a.shape[0]] = a
    return out


@njit(cache=True)
def _limit(r, L, j0, jend):
    """Periods of L tiles before the one `r` tiles in (a split's first r parts are one larger)
    cuts the run of periods identical to period j0 - 1 (-1: period j0 - 1 straddles it)."""
    if (j0 - 1) * L >= r:
        return jend
    if j0 * L <= r:
        return min(jend, r // L)
    return -1


@njit(cache=True)
def _run(
    instances, order, counts, wbytes, ibytes, psum, out_total, folds_total, per_fold, fill,
    cum_stream, bw, latency, slots,
):  # fmt: skip
    """(cycles, stream cycles, fill cycles, DRAM busy cycles) of the whole op."""
    c_in, c_mid, c_out = counts[order[2]], counts[order[1]], counts[order[0]]
    cm, cn, ck = counts[0], counts[1], counts[2]
    per = cm * cn * ck
    traced = cum_stream.shape[0] > 0
    # periods: iterations of the outermost loop with more than one trip, L tiles each
    dim0 = -1
    for level in range(3):
        if counts[order[level]] > 1:
            dim0 = order[level]
            break
    c0 = counts[dim0] if dim0 >= 0 else 1
    L = per // c0
    # split thresholds a run of identical periods must not cross (in period units)
    part_r = np.full(4, -1, np.int64)
    if dim0 == 1:
        part_r[0] = wbytes % cn
    elif dim0 == 0:
        part_r[0] = ibytes % cm
    elif dim0 == 2:
        part_r[0] = (wbytes // cn) % ck
        part_r[1] = (wbytes // cn + 1) % ck
        part_r[2] = (ibytes // cm) % ck
        part_r[3] = (ibytes // cm + 1) % ck
    cf = 0  # cycle the channel frees
    loader = 0  # cycle the loader asks for its next slot
    sched_prev_read = -1  # cycle the loader's last transfer wake-up was scheduled
    ends = np.zeros(3, np.int64)  # end of tiles t-1, t-2, t-3 (ring)
    pend_end = np.zeros(4, np.int64)  # booked-later write-backs: end, cycles, start
    pend_cyc = np.zeros(4, np.int64)
    pend_start = np.zeros(4, np.int64)
    pend_tile = np.zeros(4, np.int64)
    npend = 0
    end_prev = 0
    busy_dram = busy_stream = busy_fill = 0
    done_folds = 0
    t = 0  # global tile index
    # the state at the start of the previous period (times as they were)
    s_time = np.zeros(7, np.int64)  # loader, cf, end_prev, sched, ends t-1, t-2, t-3
    s_busy = np.zeros(4, np.int64)  # dram, stream, fill, folds
    s_pend = np.zeros((0, 4), np.int64)
    have_prev = False
    idx = np.empty(3, np.int64)
    for _ in range(instances):
        last_w = (-1, -1)
        last_i = (-1, -1)
        have_prev = False
        lt = 0
        while lt < per:
            if lt % L == 0 and not traced:
                j0 = lt // L
                now = np.array(
                    (loader, cf, end_prev, sched_prev_read, ends[(t - 1) % 3],
                     ends[(t - 2) % 3], ends[(t - 3) % 3])
                )  # fmt: skip
                jend = c0 if j0 >= 2 and have_prev else -1
                for r in (folds_total % per, out_total % per, psum % per):
                    if jend >= 0:
                        jend = _limit(r, L, j0, jend)
                for r in part_r:
                    if jend >= 0 and r >= 0 and j0 - 1 < r:
                        jend = min(jend, r)
                if jend > j0 and npend == s_pend.shape[0]:
                    delta = end_prev - s_time[2]
                    same = True
                    for q in range(7):
                        unset = now[q] < 0 or s_time[q] < 0 if q == 3 else t < q - 3
                        if unset:  # no transfer yet / no such tile: equal as they are
                            same = same and now[q] == s_time[q]
                        else:
                            same = same and now[q] - s_time[q] == delta
                    for k in range(npend):
                        same = same and pend_end[k] - s_pend[k, 0] == delta
                        same = same and pend_start[k] - s_pend[k, 1] == delta
                        same = same and pend_cyc[k] == s_pend[k, 2]
                        same = same and t - pend_tile[k] == s_pend[k, 3]
                    if same:  # periodic from here: extend exactly over the identical run
                        n = jend - j0
                        shift = n * delta
                        loader += shift
                        cf += shift
                        end_prev += shift
                        if sched_prev_read >= 0:
                            sched_prev_read += shift
                        e1, e2, e3 = now[4] + shift, now[5] + shift, now[6] + shift
                        busy_dram += n * (busy_dram - s_busy[0])
                        busy_stream += n * (busy_stream - s_busy[1])
                        busy_fill += n * (busy_fill - s_busy[2])
                        done_folds += n * (done_folds - s_busy[3])
                        for k in range(npend):
                            pend_end[k] += shift
                            pend_start[k] += shift
                            pend_tile[k] += n * L
                        t += n * L
                        lt += n * L
                        ends[(t - 1) % 3], ends[(t - 2) % 3], ends[(t - 3) % 3] = e1, e2, e3
                        have_prev = False
                        continue
                s_time[:] = now
                s_busy[0], s_busy[1], s_busy[2], s_busy[3] = (
                    busy_dram, busy_stream, busy_fill, done_folds
                )  # fmt: skip
                s_pend = np.empty((npend, 4), np.int64)
                for k in range(npend):
                    s_pend[k, 0], s_pend[k, 1] = pend_end[k], pend_start[k]
                    s_pend[k, 2], s_pend[k, 3] = pend_cyc[k], t - pend_tile[k]
                have_prev = True
            idx[order[2]] = lt % c_in
            idx[order[1]] = (lt // c_in) % c_mid
            idx[order[0]] = lt // (c_in * c_mid) % c_out
            jm, jn, jk = idx[0], idx[1], idx[2]
            read = _part(psum, per, lt)
            if (jn, jk) != last_w:
                read += _part(_part(wbytes, cn, jn), ck, jk)
                last_w = (jn, jk)
            if (jm, jk) != last_i:
                read += _part(_part(ibytes, cm, jm), ck, jk)
                last_i = (jm, jk)
            folds = _part(folds_total, per, lt)
            if traced:
                stream = cum_stream[done_folds + folds] - cum_stream[done_folds]
            else:
                stream = folds * per_fold
            done_folds += folds
            write = _part(out_total, per, lt)
            # the loader takes a slot
            g = loader
            slot_wait = False
            if t >= slots:
                freed = ends[(t - slots) % 3]
                if freed > g:
                    g, slot_wait = freed, True
            # write-backs booked before this read (time order; ties as simpy orders them)
            k = 0
            while k < npend:
                e = pend_end[k]
                if slot_wait:  # the slot's own tile writes first, later tiles resume after
                    first = e < g or (e == g and pend_tile[k] <= t - slots)
                else:
                    first = e < g or (e == g and pend_start[k] < sched_prev_read)
                if not first:
                    break
                cf = max(e, cf) + pend_cyc[k]
                k += 1
            if k:
                for j in range(k, npend):
                    pend_end[j - k] = pend_end[j]
                    pend_cyc[j - k] = pend_cyc[j]
                    pend_start[j - k] = pend_start[j]
                    pend_tile[j - k] = pend_tile[j]
                npend -= k
            c = _cycles(read, bw)
            if c:
                cf = max(g, cf) + c
                busy_dram += c
                done = cf
                sched_prev_read = g
            else:
                done = g
            loader = done
            ready = done + latency if read and latency else done
            s = max(ready, end_prev)
            cyc = stream + folds * fill
            end = s + cyc
            busy_stream += stream
            busy_fill += folds * fill
            ends[t % 3] = end
            end_prev = end
            wc = _cycles(write, bw)
            if write:
                if npend == pend_end.shape[0]:  # zero-cycle tiles ending together
                    pend_end = _grown(pend_end)
                    pend_cyc = _grown(pend_cyc)
                    pend_start = _grown(pend_start)
                    pend_tile = _grown(pend_tile)
                pend_end[npend] = end
                pend_cyc[npend] = wc
                pend_start[npend] = s
                pend_tile[npend] = t
                npend += 1
                busy_dram += wc
            t += 1
            lt += 1
    for k in range(npend):
        cf = max(pend_end[k], cf) + pend_cyc[k]
    return max(end_prev, cf), busy_stream, busy_fill, busy_dram


def simulate_op(arch: Arch, m: OpMapping) -> OpTiming:
    """The op's event timing by the recurrence (equal to hwsim.sim.engine's simpy model)."""
    wlevel, ilevel = arch.level_for("weights"), arch.level_for("inputs")
    slots = 2 if wlevel.double_buffered and ilevel.double_buffered else 1
    if m.fold_stream is None:
        cum = np.zeros(0, np.int64)
    else:
        cum = np.concatenate(([0], np.cumsum(np.asarray(m.fold_stream, np.int64))))
    order = np.array([_DIM[d] for d in _full_order(m.order)], np.int64)
    counts = np.array([m.m_tiles, m.n_tiles, m.k_tiles], np.int64)
    cycles, stream, fill, dram = _run(
        m.instances, order, counts, m.weight_bytes, m.input_bytes, m.psum_bytes,
        m.output_bytes + m.psum_bytes, m.folds, m.fold_cycles - m.fill_drain_cycles,
        m.fill_drain_cycles, cum, float(arch.dram.bytes_per_cycle), arch.dram.latency_cycles,
        slots,
    )  # fmt: skip
    return OpTiming(
        cycles=int(cycles),
        compute_cycles=int(stream),
        fill_drain_cycles=int(fill),
        stall_cycles=int(cycles - stream - fill),
        dram_busy_cycles=int(dram),
        events=m.tiles,
    )


def _full_order(order: str) -> str:
    """`order` with the dimensions it leaves out appended innermost (their count is 1)."""
    return order + "".join(d for d in "mnk" if d not in order)
