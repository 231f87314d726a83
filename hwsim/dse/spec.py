"""Sweep files: what to vary, how to search, what to minimise.

    version: 1
    name: bitmod-array                  # default: the file's stem; outputs go to
                                        #   reports/sweeps/<name>, so a plain name
    arch: bitmod                        # base arch: a file (relative to the sweep file) or a
                                        #   shipped name, as are workloads and recipes
    workloads: [llama-2-7b:prefill:256] # cards or files; an axis of the space
    quant: [null, w8a8-int]             # recipes (null = the arch's own precisions); an axis
    mode: analytic                      # event | analytic | scalesim
    profile: horowitz45                 # cost profile (default: each arch's own)
    parameters:                         # dotted paths into the arch YAML -> values to try
      pe_array.rows: [16, 32, 64]
      memory[0].size_bytes: [131072, 524288]
      memory[wbuf].banks: [4, 8]        # a list item by index or by its `name`
    search: {method: grid}              # grid | random (samples, seed) | nsga2 (samples, seed,
                                        #   population)
    objectives: [cycles, energy_pj, area_mm2, sqnr_db]   # sqnr_db is maximised, others minimised
    eval: {model: minilm-l6, max_tokens: 64}  # optional: run the model on each point's arch and
                                        #   recipe (hwsim.evaluate); objectives eval:<metric>

Eval objectives are the hardware column of `hwsim eval` (every matrix op on its unit's PE, bit
for bit): eval:embedding_cosine (minilm-l6), eval:perplexity (minimised), eval:top1_text and
eval:top1_fp32 (smollm2-135m), eval:top1_fp32 and eval:p_fp32_top1 (efficientnet-lite0); the
others are maximised. `eval:` names the model (minilm-l6 | smollm2-135m | efficientnet-lite0)
and max_tokens (SmolLM2's tokens of text, default 256). Each point stores every metric of its
model; hwsim.dse.evalcache keeps them on disk next to the store, keyed by model, max_tokens,
recipe text, the point's arch document and the hwsim version, so points sharing them (other
workloads, modes, a re-run) evaluate the model once.

A point is one choice per axis; its key is the hash of its full configuration (the arch
document after the parameters are applied, the workload's text and that of the tensor file it
names, the recipe's text, the mode). A grid, `samples` and `population` are capped at
MAX_POINTS points (beyond, enumerating them would hang); NSGA-II needs a population >= 2.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from hwsim import yamlsafe
from hwsim.errors import HwsimError, read_text
from hwsim.eval.metrics import METRICS, SMALLER_IS_BETTER
from hwsim.shipped import resolve

VERSION = 1
METHODS = ("grid", "random", "nsga2")
MAX_POINTS = 1_000_000  # a sweep's points (grid size, samples): beyond, enumerating them hangs
MAX_SEED = 2**32 - 1  # NSGA-II's sampler seeds numpy's RandomState, which takes 32 bits
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
# objective -> +1 minimised, -1 maximised
OBJECTIVES = {
    "cycles": 1,
    "energy_pj": 1,
    "area_mm2": 1,
    "latency_s": 1,
    "dram_bytes": 1,
    "edp_pj_s": 1,
    "sqnr_db": -1,
}
# eval objective -> the models reporting it; minimised where smaller is better (perplexity)
EVAL_METRICS = {
    m: tuple(model for model, ms in METRICS.items() if m in ms)
    for m in dict.fromkeys(m for ms in METRICS.values() for m in ms)
}
OBJECTIVES.update({f"eval:{m}": 1 if m in SMALLER_IS_BETTER else -1 for m in EVAL_METRICS})
_TOP = ("version", "name", "arch", "workloads", "quant", "mode", "parameters", "search",
        "objectives", "profile", "eval")  # fmt: skip


@dataclass(frozen=True)
class Sweep:
    """A parsed, validated sweep file."""

    name: str
    arch: Path
    axes: tuple[tuple[str, tuple], ...]  # (name, choices): workload, quant, then arch params
    mode: str
    method: str
    samples: int
    seed: int
    population: int
    objectives: tuple[str, ...]
    source: str = ""
    profile: str | None = None  # cost profile; None = the arch's own
    eval: tuple[str, int] | None = None  # (model, max_tokens) of the eval objectives

    @property
    def size(self) -> int:
        """Points in the full grid."""
        n = 1
        for _, choices in self.axes:
            n *= len(choices)
        return n

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.axes)


def load_sweep(source) -> Sweep:
    """A Sweep from a YAML path, a shipped sweep's name or a mapping (relative paths then
    resolve against the cwd); hwsim.shipped.resolve says how its references resolve."""
    if isinstance(source, Sweep):
        return source
    if isinstance(source, dict):
        doc, path = source, Path("<sweep>")
        base = Path.cwd()
    else:
        path = resolve("sweep", source)
        base = path.parent
        try:
            doc = yamlsafe.load(read_text(path, "sweep file"))
        except OSError as e:
            raise HwsimError(f"sweep file {str(path)!r}: cannot read ({e.strerror})") from None
        except yaml.YAMLError as e:
            raise HwsimError(f"{path}: not valid YAML ({yamlsafe.describe(e)})") from None
    where = str(path)
    if not isinstance(doc, dict):
        raise HwsimError(f"{where}: expected a mapping at the top of the sweep file")
    if doc.get("version") != VERSION:
        raise HwsimError(f"{where}: version: expected {VERSION}, got {doc.get('version')!r}")
    for key in doc:
        if key not in _TOP:
            raise HwsimError(f"{where}: {key}: unknown key; expected one of {', '.join(_TOP)}")
    arch = _path(where, "arch", doc.get("arch"), base)
    workloads = _list(where, "workloads", doc.get("workloads"))
    workloads = tuple(_workload(where, base, w) for w in workloads)
    quant = doc.get("quant", [None])
    quant = _list(where, "quant", quant if quant is not None else [None])
    quant = tuple(None if q is None else _recipe(where, base, q) for q in quant)
    from hwsim.sim import MODES

    mode = doc.get("mode", "analytic")
    if mode not in MODES:
        raise HwsimError(f"{where}: mode: expected one of {', '.join(MODES)}, got {mode!r}")
    params = doc.get("parameters") or {}
    if not isinstance(params, dict):
        raise HwsimError(f"{where}: parameters: expected a mapping of arch path -> list of values")
    axes = [("workload", workloads), ("quant", quant)]
    for name, values in params.items():
        if name in ("workload", "quant") or not isinstance(name, str):
            raise HwsimError(
                f"{where}: parameters.{name}: expected an arch path like pe_array.rows"
            )
        axes.append((name, tuple(_list(where, f"parameters.{name}", values))))
    search = doc.get("search") or {}
    if not isinstance(search, dict):
        raise HwsimError(f"{where}: search: expected a mapping with method:")
    for key in search:
        if key not in ("method", "samples", "seed", "population"):
            raise HwsimError(
                f"{where}: search.{key}: unknown key; expected method, samples, seed, population"
            )
    method = search.get("method", "grid")
    if method not in METHODS:
        raise HwsimError(
            f"{where}: search.method: expected one of {', '.join(METHODS)}, got {method!r}"
        )
    samples = _int(where, "search.samples", search.get("samples", 100), high=MAX_POINTS)
    seed = _int(where, "search.seed", search.get("seed", 0), low=0, high=MAX_SEED)
    # NSGA-II breeds pairs: a population of one has no one to mate with
    population = _int(where, "search.population", search.get("population", 20), low=2,
                      high=MAX_POINTS)  # fmt: skip
    size = 1
    for _, choices in axes:
        size *= len(choices)
    if method == "grid" and size > MAX_POINTS:
        raise HwsimError(
            f"{where}: parameters: expected a grid of at most {MAX_POINTS} points, got {size} "
            "(use search.method random or nsga2 with search.samples)"
        )
    objectives = tuple(_list(where, "objectives", doc.get("objectives", ["cycles", "energy_pj"])))
    for o in objectives:
        if not isinstance(o, str) or o not in OBJECTIVES:
            raise HwsimError(
                f"{where}: objectives: unknown objective {o!r}; expected any of "
                + ", ".join(OBJECTIVES)
            )
    if "sqnr_db" in objectives and all(q is None for q in quant):
        raise HwsimError(f"{where}: objectives: sqnr_db needs at least one quant recipe")
    evaluation = _eval(where, doc.get("eval"), objectives)
    profile = doc.get("profile")
    if profile is not None:
        from hwsim.cost import profile_names

        if profile not in profile_names():
            raise HwsimError(
                f"{where}: profile: expected one of {', '.join(profile_names())}, got {profile!r}"
            )
    if "name" in doc:
        name = _name(where, doc["name"])
    else:  # the file's stem, made a plain name
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip(".-") or "sweep"
    return Sweep(name, arch, tuple(axes), mode, method, samples, seed, population, objectives,
                 where, profile, evaluation)  # fmt: skip


def _eval(where: str, block, objectives) -> tuple[str, int] | None:
    """(model, max_tokens) of the `eval:` block, checked against the eval objectives."""
    from hwsim.eval.tasks import MODELS

    wanted = [o for o in objectives if o.startswith("eval:")]
    if block is None:
        if wanted:
            raise HwsimError(
                f"{where}: objectives: {wanted[0]} needs an eval: block naming the model, e.g. "
                "eval: {model: minilm-l6}"
            )
        return None
    if not isinstance(block, dict):
        raise HwsimError(f"{where}: eval: expected a mapping with model: and max_tokens:, "
                         f"got {block!r}")  # fmt: skip
    for key in block:
        if key not in ("model", "max_tokens"):
            raise HwsimError(f"{where}: eval.{key}: unknown key; expected model, max_tokens")
    model = block.get("model")
    if model not in MODELS:
        raise HwsimError(f"{where}: eval.model: expected one of {', '.join(MODELS)}, got {model!r}")
    max_tokens = _int(where, "eval.max_tokens", block.get("max_tokens", 256), high=8192)
    for o in wanted:
        metric = o.removeprefix("eval:")
        if model not in EVAL_METRICS[metric]:
            has = ", ".join(f"eval:{m}" for m, ms in EVAL_METRICS.items() if model in ms)
            raise HwsimError(
                f"{where}: objectives: {o}: model {model} does not report it; expected one of {has}"
            )
    return model, max_tokens


def _list(where: str, key: str, value) -> list:
    if not isinstance(value, list) or not value:
        raise HwsimError(f"{where}: {key}: expected a non-empty list, got {value!r}")
    return value


def _int(where: str, key: str, value, low: int = 1, high: int | None = None) -> int:
    bad = not isinstance(value, int) or isinstance(value, bool) or value < low
    if bad or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in {low}..{high}"
        raise HwsimError(f"{where}: {key}: expected an integer {bound}, got {value!r}")
    return value


def _name(where: str, value) -> str:
    """The sweep's name: its outputs go to reports/sweeps/<name>, so one plain path part."""
    name = str(value)
    if not isinstance(value, str | int) or isinstance(value, bool) or not _NAME.match(name):
        raise HwsimError(
            f"{where}: name: expected a plain name (letters, digits, . _ -, not starting with "
            f". or -), got {name!r}"
        )
    return name


# References to files resolve against the sweep file's folder first, then as shipped names.


def _path(where: str, key: str, value, base: Path) -> Path:
    if not isinstance(value, str):
        raise HwsimError(f"{where}: {key}: expected a file path, got {value!r}")
    return resolve("arch", value, base, f"{where}: {key}")


def _workload(where: str, base: Path, w) -> str:
    from hwsim.workload import is_card

    w = str(w)
    return w if is_card(w) else str(resolve("workload", w, base, f"{where}: workloads"))


def _recipe(where: str, base: Path, q) -> str:
    return str(resolve("recipe", str(q), base, f"{where}: quant"))


def point_key(config: dict) -> str:
    """Hash of a point's full configuration (canonical JSON)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]
