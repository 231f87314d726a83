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
    traced = cum_stream.shape[0] > 0
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
    for _ in range(instances):
        last_w = (-1, -1)
        last_i = (-1, -1)
        for lt in range(per):
            idx = np.empty(3, np.int64)
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
