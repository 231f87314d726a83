"""Quant recipes: which QuantSpec each op's weights and activations get, and the result.

Recipe YAML, `version: 1`:

    version: 1
    name: bitmod-w4g128-a16
    default:                       # every matrix op, unless a rule matches
      weights: {format: [bitmod_fp4_er_pos, bitmod_fp4_er_neg], granularity: group,
                group_size: 128, scale_format: int8}
      activations: {format: float16}
    rules:                         # first match wins; `match` is an fnmatch pattern on the op
      - match: lm_head             #   name, `kind` an op kind (gemm | conv | attn_qk | attn_av)
        weights: {format: int8, granularity: channel}
      - kind: attn_qk              # K and V are activations: KV cache at FP16
        weights: {format: float16}
      - match: "*.mlp.*"           # `unit` runs the selected ops on that compute unit of the
        unit: int4_gemm            #   arch (hwsim.spec.schema), overriding its routes
      - kind: gemm                 # `outliers` splits GEMMs into a dense and a sparse part
        outliers: {threshold: 6.0, fraction: 0.001, weights: {format: float16}}
                                   #   (hwsim.workload.outliers, LLM.int8() style)

A spec mapping takes QuantSpec's fields (`format` a name or a list = a per-group menu);
`null` (or an absent key) leaves that operand unquantized (float). A rule may set one operand
only; the other then comes from `default`. Weights [N, K] and activations [M, K] are
quantized along K (axis -1): `channel` = one scale per output channel / per token.
Attention's second operand (K or V) is an activation: a rule selecting the op may give it a
spec in its `weights:` slot, else it is quantized like the op's activations; the default's
`weights:` are the model's weights only, never its KV cache.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from hwsim import yamlsafe
from hwsim.errors import HwsimError
from hwsim.shipped import resolve
from hwsim.spec.yamlcheck import kind_of, number, shown
from hwsim.workload.op import OP_KINDS, Op, Workload

VERSION = 1
_PARTS = ("weights", "activations")


@dataclass(frozen=True)
class Rule:
    """Specs for the ops a pattern or kind selects; UNSET parts fall back to the default."""

    match: str | None = None
    kind: str | None = None
    specs: dict = field(default_factory=dict)  # part -> QuantSpec | None (float)
    unit: str | None = None  # compute unit the selected ops run on (None: the arch's routes)
    outliers: object = None  # hwsim.workload.outliers.Outliers: split GEMMs (LLM.int8() style)

    def selects(self, op: Op) -> bool:
        if self.kind is not None and op.kind != self.kind:
            return False
        return self.match is None or fnmatch.fnmatchcase(op.name, self.match)


@dataclass(frozen=True)
class Recipe:
    name: str
    default: dict  # part -> QuantSpec | None
    rules: tuple[Rule, ...] = ()
    source: str = ""  # file it was read from, for messages

    def rule_for(self, op: Op) -> Rule | None:
        """The first rule selecting `op`, or None."""
        return next((rule for rule in self.rules if rule.selects(op)), None)

    def specs_for(self, op: Op) -> tuple:
        """(second-operand spec, activation spec) of an op; None = left in float. The second
        operand is the weights, or for attention K / V (module doc)."""
        rule = self.rule_for(op)
        specs = rule.specs if rule is not None else {}
        out = {**self.default, **specs}
        if op.weight_is_activation:  # K / V: the rule's spec for them, else the activations'
            return specs.get("weights", out.get("activations")), out.get("activations")
        return out.get("weights"), out.get("activations")


def _spec(where: str, raw):
    from hwsim.dtypes import QuantSpec

    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise HwsimError(
            f"{where}: expected a mapping of QuantSpec fields or null, got {kind_of(raw)}"
        )
    allowed = {f.name for f in fields(QuantSpec)}
    for key in raw:
        if key not in allowed:
            raise HwsimError(f"{where}.{key}: unknown key; expected one of {sorted(allowed)}")
    for key, kind, bound in (
        ("axis", "int", {}),
        ("percentile", "num", {"gt": 0}),
        ("group_size", "int", {"gt": 0}),
        ("bits_per_weight", "num", {"gt": 0}),
    ):
        if raw.get(key) is not None:  # the range of each number, before QuantSpec's own checks
            number(f"{where}.", key, raw[key], kind, **bound)
    try:
        return QuantSpec(**raw)  # QuantSpec checks its fields: a mistake names this file's key
    except HwsimError as e:
        msg = str(e)  # "QuantSpec.clipping: ..." becomes "FILE: default.weights.clipping: ..."
        field_msg = msg.removeprefix("QuantSpec.")
        raise HwsimError(
            f"{where}.{field_msg}" if field_msg != msg else f"{where}: {msg}"
        ) from None


def _parts(where: str, doc) -> dict:
    if not isinstance(doc, dict):
        raise HwsimError(
            f"{where}: expected a mapping with weights: and/or activations:, got {kind_of(doc)}"
        )
    out = {}
    for key in doc:
        if key not in _PARTS and key not in ("match", "kind", "unit", "outliers"):
            raise HwsimError(f"{where}.{key}: unknown key; expected weights, activations")
    for part in _PARTS:
        if part in doc:
            out[part] = _spec(f"{where}.{part}", doc[part])
    return out


def load_recipe(source) -> Recipe:
    """A Recipe from a YAML path, a shipped recipe's name (hwsim.shipped.resolve) or an
    already-parsed mapping."""
    if isinstance(source, Recipe):
        return source
    if isinstance(source, dict):
        path, doc = Path("<recipe>"), source
    else:
        path = resolve("recipe", source)
        doc = yamlsafe.load_file(path, "recipe")
    if not isinstance(doc, dict):
        got = kind_of(doc)
        raise HwsimError(f"{path}: top level: expected a mapping with version: 1, got {got}")
    version = doc.get("version")
    if type(version) is not int or version != VERSION:
        raise HwsimError(f"{path}: version: expected {VERSION}, got {shown(version)}")
    for key in doc:
        if key not in ("version", "name", "description", "default", "rules"):
            raise HwsimError(f"{path}: {key}: unknown key; expected name, default, rules")
    default = _parts(f"{path}: default", doc.get("default") or {})
    raw_rules = doc.get("rules") or []
    if not isinstance(raw_rules, list):
        raise HwsimError(
            f"{path}: rules: expected a list of mappings with match: or kind:, "
            f"got {kind_of(raw_rules)}"
        )
    rules = []
    for i, raw in enumerate(raw_rules):
        where = f"{path}: rules[{i}]"
        if not isinstance(raw, dict) or ("match" not in raw and "kind" not in raw):
            raise HwsimError(f"{where}: expected a mapping with match: or kind:")
        if raw.get("match") is not None and not isinstance(raw["match"], str):
            raise HwsimError(f"{where}.match: expected an op-name pattern, got {raw['match']!r}")
        if raw.get("kind") is not None and raw["kind"] not in OP_KINDS:
            raise HwsimError(f"{where}.kind: expected one of {', '.join(OP_KINDS)}")
        if raw.get("unit") is not None and not isinstance(raw["unit"], str):
            raise HwsimError(f"{where}.unit: expected a compute unit name, got {raw['unit']!r}")
        parts = _parts(where, raw)
        outliers = None
        if raw.get("outliers") is not None:
            from hwsim.workload.outliers import parse

            outliers = parse(f"{where}.outliers", raw["outliers"], _parts)
        rules.append(Rule(raw.get("match"), raw.get("kind"), parts, raw.get("unit"), outliers))
    return Recipe(str(doc.get("name", path.stem)), default, tuple(rules), str(path))


@dataclass(frozen=True, eq=False)
class QuantizedOp:
    """An op's quantized operands and errors (dB; None where the operand stayed float)."""

    op: Op
    weight_spec: object
    act_spec: object
    weights: object  # QTensor | None
    inputs: object  # QTensor | None
    weight_sqnr_db: float | None
    input_sqnr_db: float | None
    output_sqnr_db: float  # (deq(a) @ deq(w).T) against (a @ w.T), float64


@dataclass(frozen=True, eq=False)
class QuantizedWorkload:
    workload: Workload
    recipe: Recipe
    ops: dict  # op name -> QuantizedOp, in workload order

    def table(self):
        """pandas DataFrame: op, kind, weight_format, act_format and the three SQNRs (dB)."""
        import pandas as pd

        def fmt(spec):
            return "float" if spec is None else "|".join(spec.menu)

        return pd.DataFrame(
            [
                {
                    "op": q.op.name, "kind": q.op.kind, "weight_format": fmt(q.weight_spec),
                    "act_format": fmt(q.act_spec), "weight_sqnr_db": q.weight_sqnr_db,
                    "input_sqnr_db": q.input_sqnr_db, "output_sqnr_db": q.output_sqnr_db,
                }
                for q in self.ops.values()
            ]
        )  # fmt: skip


def _quantize(x: np.ndarray, spec, rng):
    from hwsim.dtypes import dequantize, quantize, sqnr_db

    if spec is None:
        return None, x.astype(np.float64), None
    qt = quantize(x, spec, rng)
    x_hat = dequantize(qt)
    return qt, x_hat, sqnr_db(x, x_hat)


def apply_recipe(workload: Workload, recipe, rng: np.random.Generator, ops=None):
    """Quantize each matrix op's weights and input activations as the recipe says.

    Ops without real tensors get synthetic ones first (hwsim.workload.synthetic.materialize,
    seeded by `rng`); `ops` (names / patterns / kinds) limits which ops are processed.
    Returns a QuantizedWorkload (per-op QTensors and SQNRs; `.table()` for a DataFrame).
    """
    from hwsim.dtypes import sqnr_db
    from hwsim.workload.synthetic import materialize

    if not isinstance(rng, np.random.Generator):
        raise HwsimError("apply_recipe: rng: expected a numpy.random.Generator")
    recipe = load_recipe(recipe)
    wl = materialize(workload, rng, ops=ops)
    chosen = set(wl.metadata.get("synthetic", ())) | {
        op.name for op in workload.ops if op.weights is not None
    }
    out = {}
    for op in wl.ops:
        if op.kind == "vector" or op.name not in chosen or op.weights is None:
            continue
        if ops is not None and not _picked(op, ops):
            continue
        w_spec, a_spec = recipe.specs_for(op)
        try:
            w_qt, w_hat, w_db = _quantize(op.weights, w_spec, rng)
            a_qt, a_hat, a_db = _quantize(op.inputs, a_spec, rng)
        except HwsimError as e:
            raise HwsimError(f"recipe {recipe.name}, op {op.name}: {e}") from None
        ref = np.matmul(op.inputs.astype(np.float64), np.swapaxes(op.weights, -1, -2))
        got = np.matmul(a_hat, np.swapaxes(w_hat, -1, -2))
        out[op.name] = QuantizedOp(op, w_spec, a_spec, w_qt, a_qt, w_db, a_db, sqnr_db(ref, got))
    return QuantizedWorkload(wl, recipe, out)


def _picked(op: Op, ops) -> bool:
    pats = [ops] if isinstance(ops, str) else ops
    return any(op.kind == p or fnmatch.fnmatchcase(op.name, p) for p in pats)
