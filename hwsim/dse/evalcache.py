"""Eval objectives of a sweep point: `hwsim.evaluate` on the point's arch and recipe, cached.

A point whose sweep has an `eval:` block runs its model (hwsim.eval) on the point's own arch
(the base document with the point's parameters) and recipe, and stores every metric of the
hardware column. Those depend on the model, its tokens, the recipe and the arch, not on the
workload, mode or profile of the point, so they are cached on disk: one JSON file per

    sha256(model, max_tokens, recipe text, arch document (canonical JSON, or a .cfg's text),
           hwsim version)

in `<store folder>/eval_cache/`, written atomically (a temporary file renamed into place), so
workers racing on one key write the same bytes and a killed sweep leaves no half file. Any
change to the arch document is a new key (conservative: array sizes do not change the numbers
of most PEs, but BitMoD's lanes do). A file there that is not a cache entry of this key is
recomputed and replaced; nothing else in the folder is touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from hwsim.errors import HwsimError

CACHE_DIR = "eval_cache"
FORMAT = 1  # version of the entry layout


def cache_dir(store_path) -> Path:
    """The eval cache folder of a result store."""
    return Path(store_path).parent / CACHE_DIR


def eval_key(model: str, max_tokens: int, recipe_text: str, arch_text: str) -> dict:
    """What an eval depends on (hashed for the file name, stored in the file)."""
    import hwsim

    def sha(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    return {"format": FORMAT, "model": model, "max_tokens": int(max_tokens),
            "recipe_sha256": sha(recipe_text), "arch_sha256": sha(arch_text),
            "hwsim_version": hwsim.__version__}  # fmt: skip


def _file(folder: Path, key: dict) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]
    return folder / f"{digest}.json"


def lookup(folder, key: dict) -> dict | None:
    """The cached metrics of `key`, or None."""
    path = _file(Path(folder), key)
    try:
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != key:
        return None
    metrics = entry.get("metrics")
    return metrics if isinstance(metrics, dict) else None


def store(folder, key: dict, metrics: dict, digest: str) -> None:
    """Write one entry atomically."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".eval-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump({"key": key, "metrics": metrics, "hardware_digest": digest}, f,
                          sort_keys=True, indent=1)  # fmt: skip
            os.replace(tmp, _file(folder, key))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as e:
        raise HwsimError(f"eval cache {str(folder)!r}: cannot write ({e.strerror})") from None


def run_eval(arch, model: str, recipe: str | None, max_tokens: int) -> tuple[dict, str]:
    """(metrics of every column, hardware digest) of one eval: the seam tests count."""
    from hwsim.eval import evaluate

    s = evaluate(arch, model, quant=recipe_arg(recipe), max_tokens=max_tokens, reports_root=None)
    return s["metrics"], s["hardware_digest"]


def recipe_arg(recipe: str | None):
    """A shipped recipe by its name (it serves many models: a rule selecting no layer of this
    one is fine), a recipe file of the user's by its path (strict about its rules)."""
    if recipe is None:
        return None
    from hwsim.shipped import shipped

    p = Path(recipe)
    ship = shipped("recipe", p.stem)
    return p.stem if ship is not None and ship.resolve() == p.resolve() else str(p)


def eval_metrics(folder, arch, model: str, max_tokens: int, recipe: str | None,
                 recipe_text: str, arch_text: str) -> dict:  # fmt: skip
    """The point's hardware-column metrics as `eval:<metric>` values, from the cache or run."""
    key = eval_key(model, max_tokens, recipe_text, arch_text)
    metrics = lookup(folder, key)
    if metrics is None:
        metrics, digest = run_eval(arch, model, recipe, max_tokens)
        store(folder, key, metrics, digest)
    return {f"eval:{k}": float(v) for k, v in metrics["hardware"].items()}
