"""The Ray backend keeps at most two chunks in flight per worker and, after a first Ctrl-C,
submits no more but stores every chunk in flight (a stand-in `ray` module: Ray is an optional
extra; the stand-in runs each chunk when it is submitted and finishes them in order)."""

from __future__ import annotations

import sys
import types

from hwsim.dse import executor


def fake_ray(submitted: list):
    ray = types.ModuleType("ray")
    ray.is_initialized = lambda: True

    def remote(**_):
        def wrap(fn):
            class Remote:
                @staticmethod
                def remote(chunk):
                    submitted.append(len(chunk))
                    return fn(chunk)  # the "ref" is the finished result

            return Remote

        return wrap

    ray.remote = remote
    ray.wait = lambda refs, num_returns: (refs[:num_returns], refs[num_returns:])
    ray.get = lambda ref: ref
    return ray


def test_ray_stops_submitting_on_ctrl_c_and_stores_the_chunks_in_flight(monkeypatch):
    submitted: list[int] = []
    monkeypatch.setitem(sys.modules, "ray", fake_ray(submitted))
    stored: list[int] = []
    calls = {"n": 0}

    def stopping():  # a Ctrl-C arrives once the first chunk has been stored
        calls["n"] += 1
        return bool(stored)

    def chunk_fn(chunk):
        return [{"seq": t} for t in chunk]

    tasks = list(range(200))
    executor._run_ray(tasks, lambda rows: stored.extend(r["seq"] for r in rows), 2, None,
                      chunk_fn, stopping)  # fmt: skip
    size = executor._chunk_size(len(tasks), 2)
    assert len(submitted) == 2 * 2  # the window filled once, nothing submitted after Ctrl-C
    assert stored == list(range(4 * size))  # every chunk in flight was stored, in order


def test_ray_runs_every_chunk_without_an_interrupt(monkeypatch):
    submitted: list[int] = []
    monkeypatch.setitem(sys.modules, "ray", fake_ray(submitted))
    stored: list[int] = []
    executor._run_ray(list(range(50)), lambda rows: stored.extend(r["seq"] for r in rows), 2,
                      None, lambda c: [{"seq": t} for t in c], lambda: False)  # fmt: skip
    assert stored == list(range(50))
