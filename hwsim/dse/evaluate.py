"""One design point of a sweep: apply its parameters to the base arch, simulate, measure.

Runs inside executor workers, so everything it needs travels in a small picklable `Task`;
parsed base archs, workloads and SQNRs are cached per process (same inputs, same values).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from hwsim.dse.bits import BITS, FORMAT, with_format_bits
from hwsim.errors import HwsimError, one_line

SQNR_SEED = 20261123
_STEP = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)((?:\[[^\]]+\])*)$")


@dataclass(frozen=True)
class Task:
    """What a worker needs for one point: everything by value, nothing shared."""

    seq: int
    key: str
    arch: str  # base arch path
    mode: str
    choice: tuple[tuple[str, object], ...]  # (axis, value) pairs
    profile: str | None = None  # cost profile; None = the arch's own
    sqnr_db: float | None = None  # the recipe's SQNR when the caller already knows it
    eval_model: str | None = None  # the sweep's eval: block (hwsim.dse.evalcache), if any
    eval_max_tokens: int = 256
    eval_cache: str | None = None  # the eval cache folder


@lru_cache(maxsize=16)
def base_doc(arch_path: str):
    """The base arch YAML parsed with line numbers (hwsim.spec's loader)."""
    import yaml

    from hwsim.spec.yamlcheck import LineLoader  # the spec package's line-numbering loader

    p = Path(arch_path)
    if p.suffix.lower() == ".cfg":
        return None  # SCALE-Sim configs take no parameters
    try:
        return yaml.load(p.read_text(), Loader=LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        raise HwsimError(f"{p}: not valid YAML ({str(e).splitlines()[0]})") from None


def apply_params(doc, params: dict, where: str):
    """`doc` with each dotted path (a.b[0].c, memory[wbuf].banks) set; `doc` is left as it is
    (every container on a path is copied before it changes, the rest is shared)."""
    out = copy.copy(doc)
    copied = {id(out)}
    for path, value in params.items():
        node, parts = out, _steps(path, where)
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(part, str):
                if not isinstance(node, dict):
                    raise HwsimError(f"{where}: parameter {path}: {part!r} is not inside a mapping")
                if last:
                    if part not in node and hasattr(node, "lines"):
                        node.lines = {**node.lines, part: node.line}
                    node[part] = value
                elif part not in node:
                    raise HwsimError(f"{where}: parameter {path}: no field {part!r} in the arch")
                else:
                    node = _own(node, part, copied)
            else:
                index = _index(node, part, path, where)
                if last:
                    raise HwsimError(f"{where}: parameter {path}: expected a field after [..]")
                node = _own(node, index, copied)
    return out


def _own(parent, key, copied: set):
    """parent[key], replaced by a shallow copy the first time a path goes through it."""
    child = parent[key]
    if id(child) not in copied and isinstance(child, dict | list):
        child = copy.copy(child)  # keeps the loader's line attributes
        parent[key] = child
        copied.add(id(child))
    return child


def _steps(path: str, where: str) -> list:
    steps: list = []
    for seg in path.split("."):
        m = _STEP.match(seg)
        if not m:
            raise HwsimError(
                f"{where}: parameter {path}: expected a path like memory[0].size_bytes"
            )
        steps.append(m.group(1))
        for idx in re.findall(r"\[([^\]]+)\]", m.group(2)):
            steps.append(int(idx) if idx.lstrip("-").isdigit() else ("name", idx))
    return steps


def _index(node, part, path: str, where: str) -> int:
    if not isinstance(node, list):
        raise HwsimError(f"{where}: parameter {path}: [..] on something that is not a list")
    if isinstance(part, int):
        if not -len(node) <= part < len(node):
            raise HwsimError(f"{where}: parameter {path}: index {part} out of range")
        return part
    for i, item in enumerate(node):
        if isinstance(item, dict) and item.get("name") == part[1]:
            return i
    raise HwsimError(f"{where}: parameter {path}: no list item named {part[1]!r}")


@lru_cache(maxsize=64)
def _workload(source: str):
    from hwsim.workload import load_workload

    return load_workload(source)


@lru_cache(maxsize=64)
def _recipe(path: str):
    """The parsed recipe: simulate times each op at its rule's precision."""
    from hwsim.workload import load_recipe

    return load_recipe(path)


@lru_cache(maxsize=64)
def recipe_text(path: str | None) -> str:
    return "" if path is None else Path(path).read_text()


def workload_identity(source: str) -> str:
    """A card string as it is; a workload file by its contents and those of the tensor file
    it names (so paths may move, and an edited .npz is a new point)."""
    p = Path(source)
    if not p.is_file():
        return source
    return _by_stat("workload", p, lambda: _file_identity(p))


def _file_identity(p: Path) -> str:
    from hwsim import yamlsafe

    text = p.read_text()
    ident = f"{p.suffix}:{text}"
    if p.suffix.lower() not in (".yaml", ".yml"):
        return ident
    try:
        doc = yamlsafe.load(text)
    except Exception:  # noqa: BLE001 - the loader reports a bad file when the point runs
        return ident
    tensors = doc.get("tensors") if isinstance(doc, dict) else None
    if tensors and (p.parent / str(tensors)).is_file():
        tpath = p.parent / str(tensors)
        digest = _by_stat("sha256", tpath, lambda: _digest(tpath))
        ident += f"\ntensors sha256:{digest}"
    return ident


# (kind, resolved path, size, mtime_ns) -> value: each file read once per run, again if edited
_STAT_CACHE: dict = {}


def _by_stat(kind: str, p: Path, compute):
    st = p.stat()
    key = (kind, str(p.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _STAT_CACHE:
        _STAT_CACHE[key] = compute()
    return _STAT_CACHE[key]


def _digest(p: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with p.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=16)
def arch_identity(arch: str) -> str:
    """The base arch by its contents (parsed YAML as canonical JSON, or the .cfg text)."""
    doc = base_doc(arch)
    if doc is None:
        return Path(arch).read_text()
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)


def point_config(
    arch: str, mode: str, choice: dict, profile: str | None = None, evaluation=None
) -> dict:
    """The full configuration of a point, as hashed for its key: the base arch's contents
    and the parameters applied to it, the workload, the recipe's text, the mode, and the
    sweep's eval (model, max_tokens) where it has one (without, keys are as they were)."""
    params = {k: v for k, v in choice.items() if k not in ("workload", "quant")}
    config = {
        "arch": arch_identity(arch),
        "params": params,
        "workload": workload_identity(choice["workload"]),
        "quant": recipe_text(choice["quant"]),
        "mode": mode,
        "profile": profile,
    }
    if evaluation is not None:
        config["eval"] = list(evaluation)
    return config


def clear_caches() -> None:
    """Forget this process's parsed archs, workloads, recipes, SQNRs and section-memo archs
    (benchmarks use it so that every timed sweep pays for them)."""
    from hwsim.dse import archmemo
    from hwsim.dse.quant import cached_sqnr_db

    for f in (base_doc, _workload, _recipe, recipe_text, arch_identity, cached_sqnr_db,
              archmemo._partial):  # fmt: skip
        f.cache_clear()
    archmemo._TRUSTED.clear()
    _STAT_CACHE.clear()


def recipes_of(tasks: list[Task]) -> list[str]:
    """The distinct quant recipes of `tasks`, in order of first use."""
    quants = (dict(t.choice).get("quant") for t in tasks)
    return [q for q in dict.fromkeys(quants) if q is not None]


def recipe_sqnr(recipe: str) -> float | None:
    """The recipe's SQNR (dB) as a point measures it, or None if that fails (the point's
    worker then records the failure as its reason)."""
    from hwsim.dse.quant import cached_sqnr_db

    try:
        _recipe(recipe)
        return cached_sqnr_db(recipe, SQNR_SEED)
    except HwsimError:
        return None


def with_sqnr(tasks: list[Task], values: dict) -> list[Task]:
    """The tasks with their recipe's SQNR filled in where `values` knows it."""
    out = []
    for t in tasks:
        v = values.get(dict(t.choice).get("quant"))
        out.append(t if v is None else replace(t, sqnr_db=v))
    return out


def known_sqnr(tasks: list[Task]) -> list[Task]:
    """with_sqnr, each recipe measured once here."""
    return with_sqnr(tasks, {q: recipe_sqnr(q) for q in recipes_of(tasks)})


def warm(tasks: list[Task]) -> None:
    """Parse the base archs and load the workloads of `tasks` once, here, so that workers
    forked from this process start with them (errors are left for the workers to record)."""
    import hwsim.sim  # noqa: F401 - the simulator's imports, inherited by forked workers

    for arch, workload in dict.fromkeys((t.arch, dict(t.choice)["workload"]) for t in tasks):
        try:
            base_doc(arch)
            _workload(workload)
        except HwsimError:
            pass


def evaluate(task: Task) -> dict:
    """Simulate one point: a result row (status ok, or invalid with a one-line reason)."""
    choice = dict(task.choice)
    row = {"seq": task.seq, "key": task.key, "params": json.dumps(choice, sort_keys=True)}
    try:
        row.update(_measure(task, choice), status="ok", reason="")
    except HwsimError as e:  # one line by contract; a file name's newline stays escaped
        row.update(status="invalid", reason=one_line(str(e)))
    except Exception as e:  # noqa: BLE001 - one configuration's failure is its reason, not
        # the sweep's end (an ArithmeticError deep in a model, a ValueError in a library)
        text = str(e).splitlines()[0] if str(e) else ""
        row.update(status="invalid", reason=f"{type(e).__name__}: {text}" if text else
                   type(e).__name__)  # fmt: skip
    return row


def _measure(task: Task, choice: dict) -> dict:
    from hwsim.dse.archmemo import point_arch
    from hwsim.dse.quant import cached_sqnr_db
    from hwsim.sim import simulate

    params = {k: v for k, v in choice.items() if k not in ("workload", "quant")}
    doc = base_doc(task.arch)
    if doc is not None and ({BITS, FORMAT} & params.keys()):
        params = with_format_bits(doc.get("precision"), params, point_label(task.arch, params))
    # fast path: sections validated once per distinct value, source = the base path (so the
    # simulator's per-arch caches hit); any error is re-derived on the exact path, whose
    # messages name the point ("arch.yaml [pe_array.rows=0, ...]") as they always have
    arch = point_arch(task.arch, params)
    fast = arch is not None
    if not fast:
        arch = _exact_arch(task, params)
    quant, sqnr = None, None
    if choice["quant"] is not None:
        quant = _recipe(choice["quant"])
        sqnr = (
            task.sqnr_db if task.sqnr_db is not None else cached_sqnr_db(choice["quant"], SQNR_SEED)
        )
    workload = _workload(choice["workload"])
    try:
        st = simulate(arch, workload, quant=quant, mode=task.mode, profile=task.profile)
    except HwsimError:
        if not fast:
            raise
        arch = _exact_arch(task, params)
        st = simulate(arch, workload, quant=quant, mode=task.mode, profile=task.profile)
    row = {
        "cycles": int(st.cycles),
        "energy_pj": float(st.energy_pj),
        "area_mm2": float(st.area_mm2),
        "latency_s": float(st.latency_s),
        "dram_bytes": int(st.dram_bytes),
        "edp_pj_s": float(st.energy_pj) * float(st.latency_s),
        "sqnr_db": sqnr,
        "utilisation": float(st.utilisation),
    }
    if task.eval_model is not None:
        # the point's own arch, before the simulator's per-workload overrides; a model the
        # point cannot run makes it invalid, with the reason (its cycles alone are no answer)
        try:
            evals = _eval_metrics(task, choice, params, arch)
        except HwsimError as e:
            raise HwsimError(f"eval: {e}") from None
        row["eval_metrics"] = json.dumps(evals, sort_keys=True)
    return row


def _eval_metrics(task: Task, choice: dict, params: dict, arch) -> dict:
    """The point's eval objectives (hwsim.dse.evalcache), keyed by its own arch document."""
    from hwsim.dse.evalcache import eval_metrics

    doc = base_doc(task.arch)
    if doc is None:
        text = Path(task.arch).read_text()
    else:
        text = json.dumps(apply_params(doc, params, task.arch) if params else doc,
                          sort_keys=True, separators=(",", ":"), default=str)  # fmt: skip
    return eval_metrics(task.eval_cache, arch, task.eval_model, task.eval_max_tokens,
                        choice["quant"], recipe_text(choice["quant"]), text)  # fmt: skip


def _exact_arch(task: Task, params: dict):
    """The point's arch validated from its own document, labelled with its parameters."""
    from hwsim.spec import load_arch
    from hwsim.spec.loader import arch_from_mapping

    doc = base_doc(task.arch)
    if doc is None:
        if params:
            raise HwsimError(f"{task.arch}: a SCALE-Sim .cfg base arch takes no parameters")
        return load_arch(task.arch)
    return arch_from_mapping(apply_params(doc, params, task.arch), point_label(task.arch, params))


def point_label(arch: str, params: dict) -> str:
    """How messages name a point: its base arch and its parameters."""
    return f"{arch} [{', '.join(f'{k}={v}' for k, v in params.items())}]"
