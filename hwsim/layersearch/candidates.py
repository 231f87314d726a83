"""Candidates of a per-layer precision search: a name and the recipe-rule body it gives a layer.

A candidate's `rule` is what a recipe rule holds besides `match` (hwsim.workload.recipe):
`weights:`, `activations:` (QuantSpec mappings or null = float) and optionally `unit:`.

Candidates come from a YAML file,

    version: 1
    candidates:
      int8: {weights: {format: int8, granularity: channel}, activations: {format: int8}}
      int4: {weights: {format: int4, granularity: channel}, activations: {format: int8}}

or from a list whose items are Candidates, `{name: ..., weights: ..., ...}` mappings or names.
A name is a shipped recipe without rules (`w8a8-int`, `fp8-e4m3`: its `default:` is the body)
or a format name (`int4`: weights per output channel and activations per token in that format,
as HAWQ-V3's W4A4 / W8A8 and FLIQS's per-layer formats).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hwsim import yamlsafe
from hwsim.errors import HwsimError
from hwsim.spec.yamlcheck import kind_of, shown

_BODY_KEYS = ("weights", "activations", "unit")


@dataclass(frozen=True)
class Candidate:
    """One choice for a layer: `rule` is a recipe rule's body without `match`."""

    name: str
    rule: dict


def _checked(where: str, name, body) -> Candidate:
    from hwsim.workload.recipe import load_recipe

    if not isinstance(name, str) or not name:
        raise HwsimError(f"{where}: name: expected a non-empty string, got {shown(name)}")
    if not isinstance(body, dict):
        raise HwsimError(
            f"{where}: expected a mapping of weights/activations/unit, got {kind_of(body)}"
        )
    for key in body:
        if key not in _BODY_KEYS:
            raise HwsimError(f"{where}.{key}: unknown key; expected one of {', '.join(_BODY_KEYS)}")
    if not any(k in body for k in _BODY_KEYS):
        raise HwsimError(f"{where}: expected at least one of {', '.join(_BODY_KEYS)}")
    doc = {"version": 1, "name": name, "rules": [{"match": "*", **body}]}
    try:
        load_recipe(doc)
    except HwsimError as e:  # "<recipe>: rules[0].weights.format: ..." -> "WHERE.weights..."
        msg = str(e).removeprefix("<recipe>: rules[0]")
        raise HwsimError(f"{where}{msg}") from None
    return Candidate(name, dict(body))


def _named(name: str) -> Candidate:
    from hwsim.dtypes import format_names
    from hwsim.shipped import names as shipped_names
    from hwsim.shipped import resolve

    if name in shipped_names("recipe"):
        doc = yamlsafe.load_file(resolve("recipe", name), "recipe")
        if doc.get("rules"):
            raise HwsimError(
                f"candidate {name}: recipe {name} has rules; a candidate is one "
                "rule body (expected a recipe with only default:)"
            )
        return _checked(f"candidate {name}", name, doc.get("default") or {})
    if name in format_names():
        spec = {"format": name, "granularity": "channel"}
        return _checked(f"candidate {name}", name, {"weights": spec, "activations": dict(spec)})
    raise HwsimError(
        f"candidate {name}: expected a shipped recipe without rules "
        f"({', '.join(n for n in shipped_names('recipe'))}) or a format name, got {name!r}"
    )


def load_candidates(source) -> list[Candidate]:
    """Candidates from a YAML path, or a list of Candidates / mappings with `name:` / names;
    each validated as a recipe rule (one-line HwsimError naming the candidate)."""
    if isinstance(source, (str, Path)) and Path(source).is_file():
        path = Path(source)
        doc = yamlsafe.load_file(path, "candidates")
        if not isinstance(doc, dict) or doc.get("version") != 1:
            got = shown(doc.get("version")) if isinstance(doc, dict) else kind_of(doc)
            raise HwsimError(f"{path}: version: expected 1, got {got}")
        for key in doc:
            if key not in ("version", "candidates", "description"):
                raise HwsimError(f"{path}: {key}: unknown key; expected version, candidates")
        raw = doc.get("candidates")
        if not isinstance(raw, dict) or not raw:
            raise HwsimError(
                f"{path}: candidates: expected a mapping of name -> rule body, got {kind_of(raw)}"
            )
        out = [_checked(f"{path}: candidates.{n}", n, body) for n, body in raw.items()]
    elif isinstance(source, str):
        out = [_named(n.strip()) for n in source.split(",") if n.strip()]
    elif isinstance(source, (list, tuple)):
        out = []
        for i, item in enumerate(source):
            if isinstance(item, Candidate):
                out.append(_checked(f"candidate {item.name}", item.name, item.rule))
            elif isinstance(item, str):
                out.append(_named(item))
            elif isinstance(item, dict):
                body = {k: v for k, v in item.items() if k != "name"}
                out.append(_checked(f"candidates[{i}]", item.get("name"), body))
            else:
                raise HwsimError(
                    f"candidates[{i}]: expected a name or a mapping, got {kind_of(item)}"
                )
    else:
        raise HwsimError(f"candidates: expected a file, names or a list, got {kind_of(source)}")
    if not out:
        raise HwsimError("candidates: expected at least one candidate, got none")
    seen: set[str] = set()
    for c in out:
        if c.name in seen:
            raise HwsimError(f"candidate {c.name}: named twice")
        seen.add(c.name)
    return out
