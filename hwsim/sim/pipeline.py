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

Steady state, extended exactly: a period is one instance, or one trip of a tiled loop (each
level of the nest). When two consecutive periods of a level get identical tiles (the same
read pattern, no split threshold between them) and the pipeline's state at the start of the
second equals the state at the start of the first shifted by a constant delta (every pending
time shifted alike), the pipeline is time-invariant, so every following identical period of
that level repeats it shifted by delta: the run is skipped in one step. Data-dependent folds
(traced ops) are walked tile by tile.
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
def _run(
    instances, order, counts, wbytes, ibytes, psum, out_total, folds_total, per_fold, fill,
    cum_stream, bw, latency, slots,
):  # fmt: skip
    """(cycles, stream cycles, fill cycles, DRAM busy cycles) of the whole op."""
    c_in, c_mid, c_out = counts[order[2]], counts[order[1]], counts[order[0]]
    cm, cn, ck = counts[0], counts[1], counts[2]
    per = cm * cn * ck
    total = instances * per
    traced = cum_stream.shape[0] > 0
    # period levels, outer first: instances (level 0), then each tiled loop; lv_len tiles
    lv_dim = np.full(4, -1, np.int64)
    lv_len = np.zeros(4, np.int64)
    lv_len[0] = per
    nl = 1
    span = per
    for level in range(3):
        d = order[level]
        if counts[d] > 1:
            span //= counts[d]
            lv_dim[nl], lv_len[nl] = d, span
            nl += 1
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
    # per level, the state at the start of its previous period (times as they were)
    s_time = np.zeros((4, 7), np.int64)  # loader, cf, end_prev, sched, ends t-1, t-2, t-3
    s_busy = np.zeros((4, 4), np.int64)  # dram, stream, fill, folds
    s_pend = np.zeros((4, 8, 4), np.int64)
    s_npend = np.full(4, -1, np.int64)  # -1: nothing saved in this enclosing period
    now = np.zeros(7, np.int64)
    idx = np.empty(3, np.int64)
    last_w = (-1, -1)
    last_i = (-1, -1)
    t = 0  # global tile index
    while t < total:
        lt = t % per
        if lt == 0:
            last_w = (-1, -1)
            last_i = (-1, -1)
        if not traced:
            jumped = False
            for lv in range(nl):
                L = lv_len[lv]
                if t % L:
                    continue
                enc = total if lv == 0 else lv_len[lv - 1]
                pos = t if lv == 0 else lt
                j = (pos % enc) // L
                now[0], now[1], now[2], now[3] = loader, cf, end_prev, sched_prev_read
                now[4], now[5], now[6] = ends[(t - 1) % 3], ends[(t - 2) % 3], ends[(t - 3) % 3]
                run = 0
                if j >= 2 and s_npend[lv] == npend and npend <= 8:
                    run = (enc - pos % enc) // L  # periods left in the enclosing one
                    if lv > 0:
                        for r in (folds_total % per, out_total % per, psum % per):
                            if lt - L >= r:
                                continue
                            run = min(run, (r - lt) // L) if lt <= r else 0
                        d = lv_dim[lv]
                        idx[order[2]] = lt % c_in
                        idx[order[1]] = (lt // c_in) % c_mid
                        idx[order[0]] = lt // (c_in * c_mid) % c_out
                        for r in _part_thresholds(d, idx, wbytes, ibytes, cm, cn, ck):
                            if r >= 0 and j - 1 < r:
                                run = min(run, r - j)
                if run > 0:
                    delta = end_prev - s_time[lv, 2]
                    same = True
                    for q in range(7):
                        unset = now[q] < 0 or s_time[lv, q] < 0 if q == 3 else t < q - 3
                        if unset:  # no transfer yet / no such tile: equal as they are
                            same = same and now[q] == s_time[lv, q]
                        else:
                            same = same and now[q] - s_time[lv, q] == delta
                    for k in range(npend):
                        same = same and pend_end[k] - s_pend[lv, k, 0] == delta
                        same = same and pend_start[k] - s_pend[lv, k, 1] == delta
                        same = same and pend_cyc[k] == s_pend[lv, k, 2]
                        same = same and t - pend_tile[k] == s_pend[lv, k, 3]
                    if same:  # periodic from here: extend exactly over the identical run
                        shift = run * delta
                        loader += shift
                        cf += shift
                        end_prev += shift
                        if sched_prev_read >= 0:
                            sched_prev_read += shift
                        busy_dram += run * (busy_dram - s_busy[lv, 0])
                        busy_stream += run * (busy_stream - s_busy[lv, 1])
                        busy_fill += run * (busy_fill - s_busy[lv, 2])
                        done_folds += run * (done_folds - s_busy[lv, 3])
                        for k in range(npend):
                            pend_end[k] += shift
                            pend_start[k] += shift
                            pend_tile[k] += run * L
                        t += run * L
                        ends[(t - 1) % 3] = now[4] + shift
                        ends[(t - 2) % 3] = now[5] + shift
                        ends[(t - 3) % 3] = now[6] + shift
                        s_npend[lv:] = -1
                        jumped = True
                        break
                # a new period of this level: inner levels start their enclosing one afresh
                s_npend[lv + 1 :] = -1
                s_time[lv, :] = now
                s_busy[lv, 0], s_busy[lv, 1] = busy_dram, busy_stream
                s_busy[lv, 2], s_busy[lv, 3] = busy_fill, done_folds
                s_npend[lv] = npend if npend <= 8 else -1
                for k in range(min(npend, 8)):
                    s_pend[lv, k, 0], s_pend[lv, k, 1] = pend_end[k], pend_start[k]
                    s_pend[lv, k, 2], s_pend[lv, k, 3] = pend_cyc[k], t - pend_tile[k]
            if jumped:
                continue
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
    for k in range(npend):
        cf = max(pend_end[k], cf) + pend_cyc[k]
    return max(end_prev, cf), busy_stream, busy_fill, busy_dram


@njit(cache=True)
def _part_thresholds(d, idx, wbytes, ibytes, cm, cn, ck):
    """Index thresholds along loop dimension d (0 m, 1 n, 2 k) where an operand's split part
    changes size (the first r parts are one larger; -1: none)."""
    out = np.full(2, -1, np.int64)
    if d == 1:
        out[0] = wbytes % cn
    elif d == 0:
        out[0] = ibytes % cm
    elif d == 2:
        out[0] = _part(wbytes, cn, idx[1]) % ck
        out[1] = _part(ibytes, cm, idx[0]) % ck
    return out


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
