"""Sensitivity results on disk (hwsim.layersearch.sensitivity): one JSON file per key, the
key (model, its inputs, the method's settings, the candidate's rule, the arch, hwsim's version)
inside it."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from hwsim.errors import HwsimError

SCHEMA = 1  # bump when what a cached file means changes


def task_key(task, **more) -> dict:
    import hwsim

    return {"schema": SCHEMA, "hwsim": hwsim.__version__, "model": task.name,
            "inputs": task.meta, **more}  # fmt: skip


def arch_key(arch):
    if arch is None:
        return None
    return {"name": arch.name, "digest": hashlib.sha256(repr(arch).encode()).hexdigest()[:16]}


class Store:
    """One JSON file under `cache_dir` (None: kept in memory only) holding `data` for `key`;
    a file there that hwsim did not write, or wrote for another key, is refused, not
    overwritten."""

    def __init__(self, cache_dir, kind: str, key: dict):
        self.key, self.data, self.path = key, {}, None
        if cache_dir is None:
            return
        text = json.dumps(key, sort_keys=True, default=str)
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        self.path = Path(cache_dir) / f"{kind}-{key['model']}-{digest}.json"
        self.key = json.loads(text)
        if self.path.exists():
            try:
                doc = json.loads(self.path.read_text())
            except (OSError, ValueError):
                doc = None
            if not isinstance(doc, dict) or doc.get("key") != self.key:
                raise HwsimError(f"{self.path}: not a sensitivity cache hwsim wrote for this key; "
                                 "expected a cache_dir of hwsim's own")  # fmt: skip
            self.data = doc["data"]

    def save(self, data=None) -> None:
        if data is not None:
            self.data = data
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps({"key": self.key, "data": self.data}, default=float))
        os.replace(tmp, self.path)
