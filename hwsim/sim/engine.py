"""Event-driven timing of one mapped op (simpy): events per tile, integer cycles.

The reference model of the event mode: hwsim.sim.pipeline computes the same timing as a
compiled recurrence (what `simulate(mode="event")` runs) and the tests hold the two equal.

Processes:
  loader   per tile, waits for a free buffer slot (2 when the weight and input buffers are
           double-buffered, else 1), then moves the tile's new operand bytes over the DRAM
           channel; data is ready `latency_cycles` after its transfer ends
  compute  per tile, waits for its data, holds the PE array for the tile's folds, frees the
           slot, and queues the tile's outputs for write-back on the same DRAM channel
           (reads and writes contend, in simpy's event order within a cycle; the op ends when
           its last write completes)
The DRAM channel is one FIFO server: a transfer is booked when requested, starting when the
channel frees (so requests are served in request order, ties in program order), and occupies
it ceil(b / bytes_per_cycle) cycles for b bytes. The op ends when the last
output is written. Work (bytes, folds, stream cycles) is split over tiles by `split`, so
the tiles' sums equal the mapping's totals exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from math import ceil, isinf

import simpy

from hwsim.sim.mapping import OpMapping
from hwsim.spec.schema import Arch


def split(total: int, parts: int) -> list[int]:
    """`total` in `parts` integers differing by at most one, larger ones first."""
    q, r = divmod(total, parts)
    return [q + 1] * r + [q] * (parts - r)


@dataclass(frozen=True)
class OpTiming:
    """Event-driven result of one op instance."""

    cycles: int
    compute_cycles: int  # PE array busy streaming operands
    fill_drain_cycles: int  # PE array busy filling/draining (systolic arrays)
    stall_cycles: int  # PE array idle waiting for memory
    dram_busy_cycles: int  # cycles the DRAM channel was transferring
    events: int  # tiles simulated


def transfer_cycles(nbytes: int, bytes_per_cycle: float) -> int:
    if nbytes == 0 or isinf(bytes_per_cycle):
        return 0
    return ceil(nbytes / bytes_per_cycle)


def tile_plan(m: OpMapping) -> list[tuple[int, int, int, int]]:
    """Per tile, in execution order: (read bytes, stream cycles, folds, write bytes).

    Tiles walk the nest (m.order, outer -> inner); an operand tile is read when its indices
    change; folds, write-backs and partial-sum re-reads are spread over an instance's tiles.
    """
    full = m.order + "".join(d for d in "mnk" if d not in m.order)
    counts = {"m": m.m_tiles, "n": m.n_tiles, "k": m.k_tiles}
    per_instance = m.m_tiles * m.n_tiles * m.k_tiles
    folds = split(m.folds, per_instance)
    writes = split(m.output_bytes + m.psum_bytes, per_instance)
    psums = split(m.psum_bytes, per_instance)
    w_parts = [split(p, m.k_tiles) for p in split(m.weight_bytes, m.n_tiles)]
    i_parts = [split(p, m.k_tiles) for p in split(m.input_bytes, m.m_tiles)]
    per_fold = m.fold_cycles - m.fill_drain_cycles
    tiles, done = [], 0
    for _ in range(m.instances):
        last_w = last_i = None
        for t, idx in enumerate(product(*(range(counts[d]) for d in full))):
            j = dict(zip(full, idx, strict=True))
            read = psums[t]
            if (j["n"], j["k"]) != last_w:
                last_w = (j["n"], j["k"])
                read += w_parts[j["n"]][j["k"]]
            if (j["m"], j["k"]) != last_i:
                last_i = (j["m"], j["k"])
                read += i_parts[j["m"]][j["k"]]
            if m.fold_stream is None:
                stream = folds[t] * per_fold
            else:
                stream = sum(m.fold_stream[done : done + folds[t]])
            done += folds[t]
            tiles.append((read, stream, folds[t], writes[t]))
    return tiles


def simulate_events(arch: Arch, m: OpMapping) -> OpTiming:
    """Run the op's tiles through loader, PE array and writer; return its timing."""
    env = simpy.Environment()
    channel_free = [0]  # cycle at which the DRAM channel finishes its booked transfers
    bw, latency = arch.dram.bytes_per_cycle, arch.dram.latency_cycles
    wlevel, ilevel = arch.level_for("weights"), arch.level_for("inputs")
    slots = simpy.Container(
        env, capacity=2 if wlevel.double_buffered and ilevel.double_buffered else 1
    )
    slots.put(slots.capacity)
    ready = simpy.Store(env)
    tiles = tile_plan(m)
    busy = {"dram": 0, "compute": 0, "fill": 0}

    def book(nbytes: int) -> int:
        """Queue a transfer on the channel; the cycle it completes."""
        cycles = transfer_cycles(nbytes, bw)
        if cycles:
            channel_free[0] = max(int(env.now), channel_free[0]) + cycles
            busy["dram"] += cycles
            return channel_free[0]
        return int(env.now)

    def move(nbytes: int):
        done = book(nbytes)
        if done > env.now:
            yield env.timeout(done - env.now)

    def loader():
        for read, stream, fills, write in tiles:
            yield slots.get(1)
            yield from move(read)
            if read and latency:
                env.process(arrive((stream, fills, write)))
            else:
                ready.put((stream, fills, write))

    def arrive(tile):
        yield env.timeout(latency)
        yield ready.put(tile)

    def compute():
        for _ in tiles:
            stream, fills, write = yield ready.get()
            cycles = stream + fills * m.fill_drain_cycles
            if cycles:
                yield env.timeout(cycles)
            busy["compute"] += stream
            busy["fill"] += fills * m.fill_drain_cycles
            slots.put(1)  # never blocks: at most `capacity` tiles are in flight
            if write:
                # the loader woken by the freed slot resumes after this timeout: the
                # write-back is booked before its read (simpy runs the put's callbacks first)
                yield env.timeout(0)
                book(write)
        end[0] = max(int(env.now), channel_free[0])

    end = [0]
    env.process(loader())
    env.run(until=env.process(compute()))
    cycles = end[0]
    return OpTiming(
        cycles=cycles,
        compute_cycles=busy["compute"],
        fill_drain_cycles=busy["fill"],
        stall_cycles=cycles - busy["compute"] - busy["fill"],
        dram_busy_cycles=busy["dram"],
        events=len(tiles),
    )
