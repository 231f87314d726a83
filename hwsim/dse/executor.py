"""Executors: run sweep tasks and hand back finished rows as they complete.

  inline  workers=1 on the local backend: this process, no pickling
  local   a process pool; a task whose worker dies is retried alone up to MAX_ATTEMPTS
          times, then recorded invalid with the reason. Workers are forked (they start with
          this process's imports, parsed archs, workloads and SQNRs: no start-up cost) where
          the platform forks and no other thread (Python's or numba's parallel pool) runs
          here; spawned otherwise
  ray     Ray remote tasks (`--address` joins a cluster, else a local one starts), at most two
          chunks in flight per worker; Ray retries tasks of dead workers itself (max_retries)
Rows never depend on the executor: each is a pure function of its task.

Finished work is never lost to a Ctrl-C: the first one stops new points, lets the ones in
flight finish and hands them to `on_rows` (which stores them) before KeyboardInterrupt is
raised; a second one stops at once. A SIGKILL loses at most the points in flight (inline:
one, since every point is handed over as it finishes; a pool: its chunks in flight).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from hwsim.dse.evaluate import Task, evaluate
from hwsim.errors import HwsimError

BACKENDS = ("local", "ray")
MAX_ATTEMPTS = 3
POOL_CHUNK = 8  # most tasks per pool job: bounds what a killed sweep loses


def evaluate_chunk(tasks: list[Task]) -> list[dict]:
    return [evaluate(t) for t in tasks]


def _chunks(tasks: list[Task], size: int) -> list[list[Task]]:
    return [tasks[i : i + size] for i in range(0, len(tasks), size)]


def run_tasks(
    tasks: list[Task],
    on_rows: Callable[[list[dict]], None],
    workers: int = 1,
    backend: str = "local",
    address: str | None = None,
    chunk_fn: Callable[[list[Task]], list[dict]] = evaluate_chunk,
) -> None:
    """Evaluate every task, calling `on_rows` with each batch of finished rows.

    `chunk_fn` (a picklable module-level function) evaluates a list of tasks; tests swap it."""
    check_executor(workers, backend)
    if not tasks:
        return
    with _deferred_interrupt() as stopping:
        if backend == "ray":
            _run_ray(tasks, on_rows, workers, address, chunk_fn, stopping)
        elif workers == 1:
            for t in tasks:
                if stopping():
                    break
                on_rows(chunk_fn([t]))
        else:
            _run_pool(tasks, on_rows, workers, chunk_fn, stopping)


@contextlib.contextmanager
def _deferred_interrupt():
    """Yield `stopping()`, true once Ctrl-C was pressed; KeyboardInterrupt is raised when the
    block ends (at once on a second Ctrl-C)."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    hit: list[bool] = []

    def handler(signum, frame):
        if hit:
            raise KeyboardInterrupt
        hit.append(True)
        print("hwsim: stopping after the points in flight (Ctrl-C again: now)", file=sys.stderr)

    old = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: bool(hit)
    finally:
        signal.signal(signal.SIGINT, old)
    if hit:
        raise KeyboardInterrupt


def _ignore_sigint() -> None:
    """Pool workers finish their chunk on Ctrl-C (the terminal signals them too); the parent
    decides when to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def check_executor(workers: int, backend: str) -> None:
    """One-line errors for a bad worker count or backend name."""
    if backend not in BACKENDS:
        raise HwsimError(f"--backend: expected one of {', '.join(BACKENDS)}, got {backend!r}")
    if not isinstance(workers, int) or workers < 1:
        raise HwsimError(f"--workers: expected an integer >= 1, got {workers}")


def _chunk_size(n: int, workers: int) -> int:
    # small enough to balance and to lose little on a kill, big enough to amortise pickling
    return max(1, min(POOL_CHUNK, n // (workers * 8)))


def _run_pool(tasks: list[Task], on_rows, workers: int, chunk_fn, stopping) -> None:
    """Chunks on `workers` processes, at most two in flight per worker. When a worker dies,
    the pool breaks and every chunk in flight becomes a suspect: suspects then run one task
    at a time in a one-worker pool, so a death is pinned on its task exactly, retried, and
    after MAX_ATTEMPTS recorded invalid; the innocent ones simply finish."""
    chunks = deque(_chunks(tasks, _chunk_size(len(tasks), workers)))
    suspects: deque[Task] = deque()
    attempts: dict[int, int] = {}
    while (chunks or suspects) and not stopping():
        ctx = _context()
        if suspects:
            _run_suspects(suspects, attempts, on_rows, chunk_fn, ctx, stopping)
            continue
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=ctx, initializer=_ignore_sigint
        ) as pool:
            inflight: dict = {}
            broken = False
            while ((chunks and not stopping()) or inflight) and not broken:
                while chunks and len(inflight) < 2 * workers and not stopping():
                    chunk = chunks.popleft()
                    inflight[pool.submit(chunk_fn, chunk)] = chunk
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for f in done:
                    chunk = inflight.pop(f)
                    try:
                        on_rows(f.result())
                    except BrokenProcessPool:
                        suspects.extend(chunk)
                        broken = True
            for f, chunk in inflight.items():  # finished before the break, or suspects
                try:
                    on_rows(f.result())
                except BrokenProcessPool:
                    suspects.extend(chunk)


def _context():
    """fork where it is safe (POSIX, no other Python thread or numba parallel pool to be copied
    mid-lock), else spawn."""
    if (
        "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
        and not _numba_threads_started()
    ):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _numba_threads_started() -> bool:
    numba = sys.modules.get("numba")
    if numba is None:
        return False
    try:
        numba.threading_layer()  # raises ValueError until a parallel kernel has run
    except ValueError:
        return False
    return True


def _run_suspects(suspects: deque, attempts: dict, on_rows, chunk_fn, ctx, stopping) -> None:
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=_ignore_sigint) as pool:
        while suspects and not stopping():
            t = suspects[0]
            try:
                rows = pool.submit(chunk_fn, [t]).result()
            except BrokenProcessPool:
                attempts[t.seq] = attempts.get(t.seq, 0) + 1
                if attempts[t.seq] >= MAX_ATTEMPTS:
                    suspects.popleft()
                    on_rows([_died(t, attempts[t.seq])])
                return  # a fresh pool for the next try
            suspects.popleft()
            on_rows(rows)


def _died(t: Task, n: int) -> dict:
    import json

    return {
        "seq": t.seq,
        "key": t.key,
        "params": json.dumps(dict(t.choice), sort_keys=True),
        "status": "invalid",
        "reason": f"worker process died evaluating this point ({n} attempts)",
    }


def _run_ray(tasks, on_rows, workers: int, address: str | None, chunk_fn, stopping) -> None:
    try:
        import ray
    except ImportError:
        raise HwsimError("--backend ray: needs ray (pip install 'hwsim[ray]')") from None
    started = False
    if not ray.is_initialized():
        kwargs = {"address": address} if address else {"num_cpus": workers}
        ray.init(include_dashboard=False, log_to_driver=False, **kwargs)
        started = True
    try:
        remote = ray.remote(max_retries=MAX_ATTEMPTS - 1)(chunk_fn)
        pending = deque(_chunks(tasks, _chunk_size(len(tasks), workers)))
        refs: list = []
        while pending or refs:
            # at most two chunks in flight per worker, as in the pool: a first Ctrl-C submits
            # no more and stores the ones in flight as they finish
            while pending and len(refs) < 2 * workers and not stopping():
                refs.append(remote.remote(pending.popleft()))
            if not refs:
                break
            done, refs = ray.wait(refs, num_returns=1)
            for ref in done:
                on_rows(ray.get(ref))
    finally:
        if started:
            ray.shutdown()


def progress(total: int, initial: int, desc: str, enabled: bool):
    """A tqdm bar with rate and ETA on stderr (shown only when `enabled`)."""
    from tqdm import tqdm

    class Bar(tqdm):
        monitor_interval = 0  # no monitor thread: workers can then be forked

    return Bar(total=total, initial=initial, desc=desc, unit="pt", disable=not enabled,
               dynamic_ncols=True, smoothing=0.1)  # fmt: skip
