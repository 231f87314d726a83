"""Event-driven timing of one mapped op (simpy): events per tile, integer cycles.

Processes:
  loader   per tile, waits for a free buffer slot (2 when the weight and input buffers are
           double-buffered, else 1), then moves the tile's new operand bytes over the DRAM
           channel; data is ready `latency_cycles` after its transfer ends
  compute  per tile, waits for its data, holds the PE array for the tile's folds, frees the
           slot, and queues the tile's outputs for write-back on the same DRAM channel
           (reads and writes contend, reads booked first within a cycle; the op ends when
           its last write completes)
The DRAM channel is one FIFO server: a transfer is booked when requested, starting when the
channel frees (so requests are served in request order, ties in program order), and occupies
it ceil(b / bytes_per_cycle) cycles for b bytes. The op ends when the last
output is written. Work (bytes, folds, stream cycles) is split over tiles by `split`, so
the tiles' sums equal the mapping's totals exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    """Per tile, in execution order: (read bytes, stream cycles, folds, write bytes)."""
    if m.loop_order == "weights_outer":
        outer_total, inner_total = m.weight_bytes, m.input_bytes
        inner_refetched = m.input_fetches > 1
    else:
        outer_total, inner_total = m.input_bytes, m.weight_bytes
        inner_refetched = m.weight_fetches > 1
    outer_parts = split(outer_total, m.outer_chunks)
    inner_parts = split(inner_total, m.inner_chunks)
    per_instance = m.outer_chunks * m.inner_chunks
    folds = split(m.folds, per_instance)
    writes = split(m.output_bytes, per_instance)
    per_fold = m.fold_cycles - m.fill_drain_cycles
    tiles, done = [], 0
    for _ in range(m.instances):
        t = 0
        for j in range(m.outer_chunks):
            for i in range(m.inner_chunks):
                read = outer_parts[j] if i == 0 else 0
                if j == 0 or inner_refetched:
                    read += inner_parts[i]
                if m.fold_stream is None:
                    stream = folds[t] * per_fold
                else:
                    stream = sum(m.fold_stream[done : done + folds[t]])
                done += folds[t]
                tiles.append((read, stream, folds[t], writes[t]))
                t += 1
    return tiles


def simulate_op(arch: Arch, m: OpMapping) -> OpTiming:
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
                # reads first: the loader, woken by the freed slot, books its next read at
                # this same cycle before the write-back is queued behind it
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
