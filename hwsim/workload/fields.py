"""The fields of a workload YAML file, checked one by one: ops, conv shapes, an inline card,
metadata. Each check raises an HwsimError `FILE: field: expected ..., got ...`; numbers go
through hwsim.spec.yamlcheck.number, the checker every user file shares.
"""

from __future__ import annotations

import math
from dataclasses import fields
from pathlib import Path

from hwsim.errors import HwsimError
from hwsim.spec.yamlcheck import kind_of, number, shown
from hwsim.workload.cards import TransformerConfig, build_card, load_card
from hwsim.workload.op import OP_KINDS, VECTOR_KINDS, ConvShape, Op, Workload

_INT_FIELDS = ("M", "N", "K", "batch", "repeat", "elements", "kv_group")
_PAIRS = ("kernel", "stride", "padding", "in_hw", "out_hw")
# the least each conv field may be (padding may be 0, every other size at least 1)
_CONV_MIN = {"padding": 0}


def op_from_dict(path: Path, i: int, d) -> Op:
    where = f"{path}: ops[{i}]"
    if not isinstance(d, dict):
        raise HwsimError(f"{where}: expected a mapping, got {kind_of(d)}")
    allowed = {f.name for f in fields(Op)} - {"inputs", "weights"}
    for key in d:
        if key not in allowed:
            raise HwsimError(f"{where}.{key}: unknown key; expected one of {sorted(allowed)}")
    if not isinstance(d.get("name"), str) or not d["name"]:
        raise HwsimError(f"{where}.name: expected a non-empty string, got {kind_of(d.get('name'))}")
    kind = d.get("kind")
    if kind not in OP_KINDS:
        raise HwsimError(f"{where}.kind: expected one of {', '.join(OP_KINDS)}, got {kind!r}")
    for key in _INT_FIELDS:
        if key in d:
            number(f"{where}.", key, d[key], "int", ge=0)
    for key in ("module", "vector_kind"):
        if key in d and not isinstance(d[key], str):
            raise HwsimError(f"{where}.{key}: expected a string, got {kind_of(d[key])}")
    if "weight_is_activation" in d and not isinstance(d["weight_is_activation"], bool):
        got = kind_of(d["weight_is_activation"])
        raise HwsimError(f"{where}.weight_is_activation: expected true or false, got {got}")
    if kind == "vector":
        if d.get("elements", 0) <= 0:
            raise HwsimError(f"{where}.elements: expected an integer > 0 for a vector op, got 0")
        if d.get("vector_kind", "") not in VECTOR_KINDS:
            got = shown(d.get("vector_kind"))
            raise HwsimError(
                f"{where}.vector_kind: expected one of {', '.join(VECTOR_KINDS)}, got {got}"
            )
    else:
        for key in ("M", "N", "K", "batch", "repeat", "kv_group"):
            if d.get(key, 1) <= 0:
                raise HwsimError(f"{where}.{key}: expected an integer > 0 for a {kind} op, got 0")
        if d.get("batch", 1) % d.get("kv_group", 1):
            raise HwsimError(
                f"{where}.kv_group: expected a divisor of batch={d.get('batch', 1)}, "
                f"got {d['kv_group']}"
            )
    conv = conv_from_dict(f"{where}.conv", d["conv"]) if d.get("conv") is not None else None
    kw = {k: v for k, v in d.items() if k != "conv"}
    return Op(**kw, conv=conv)


def conv_from_dict(where: str, raw) -> ConvShape:
    """A conv shape: channels and groups integers >= 1, kernel/stride/padding/in_hw/out_hw
    pairs [h, w] of integers (padding >= 0, the others >= 1)."""
    if not isinstance(raw, dict):
        raise HwsimError(f"{where}: expected a mapping of conv fields, got {kind_of(raw)}")
    allowed = [f.name for f in fields(ConvShape)]
    for key in raw:
        if key not in allowed:
            raise HwsimError(f"{where}.{key}: unknown key; expected one of {', '.join(allowed)}")
    for key in ("in_channels", "out_channels", "kernel"):
        if key not in raw:
            raise HwsimError(f"{where}.{key}: missing required field")
    kw = {}
    for key, v in raw.items():
        if key in _PAIRS:
            if not isinstance(v, list) or len(v) != 2:
                raise HwsimError(f"{where}.{key}: expected a pair [h, w], got {shown(v)}")
            low = _CONV_MIN.get(key, 1)
            kw[key] = tuple(number(f"{where}.", key, x, "int", ge=low) for x in v)
        else:
            kw[key] = number(f"{where}.", key, v, "int", gt=0)
    shape = ConvShape(**kw)
    if shape.in_channels % shape.groups or shape.out_channels % shape.groups:
        raise HwsimError(
            f"{where}.groups: expected a divisor of in_channels={shape.in_channels} and "
            f"out_channels={shape.out_channels}, got {shape.groups}"
        )
    return shape


def card_from_doc(path: Path, doc: dict) -> Workload:
    """A workload file naming a card: `card: model:phase:length[:batch]`, or a mapping of
    TransformerConfig fields with `phase:`, `length:` and `batch:` beside it."""
    card = doc["card"]
    if isinstance(card, str):
        for key in ("phase", "length", "batch"):
            if key in doc:
                raise HwsimError(
                    f"{path}: {key}: expected none beside a card string (it holds the {key}), "
                    f"got {shown(doc[key])}"
                )
        try:
            return load_card(card)
        except HwsimError as e:
            raise HwsimError(f"{path}: card: {e}") from None
    if not isinstance(card, dict):
        raise HwsimError(
            f"{path}: card: expected a card string or a mapping of shapes, got {kind_of(card)}"
        )
    known = {f.name for f in fields(TransformerConfig)}
    unknown = set(map(str, card)) - known
    if unknown:
        bad = sorted(unknown)[0]
        raise HwsimError(f"{path}: card.{bad}: unknown key; expected {sorted(known)}")
    missing = {"family", "d_model", "ffn", "layers", "heads", "kv_heads"} - set(card)
    if missing:
        raise HwsimError(f"{path}: card.{sorted(missing)[0]}: missing required field")
    try:
        cfg = TransformerConfig(**card)
    except HwsimError as e:
        raise HwsimError(f"{path}: {e}") from None
    length = number(f"{path}: ", "length", doc.get("length", 1), "int", gt=0)
    batch = number(f"{path}: ", "batch", doc.get("batch", 1), "int", gt=0)
    phase = doc.get("phase", "prefill")
    if not isinstance(phase, str):
        raise HwsimError(f"{path}: phase: expected a string, got {kind_of(phase)}")
    try:
        wl = build_card(cfg, phase, length, batch)
    except HwsimError as e:
        raise HwsimError(f"{path}: card: {e}") from None
    return Workload(str(doc.get("name", path.stem)), wl.ops, wl.phase, wl.metadata)


def check_metadata(where: str, v) -> None:
    """Metadata is written into reports (JSON): strings, booleans, null, finite numbers,
    lists, and mappings with string keys, nothing else."""
    if v is None or isinstance(v, str | bool):
        return
    if isinstance(v, int | float):
        if isinstance(v, float) and not math.isfinite(v) or abs(v) > 2**53:
            raise HwsimError(f"{where}: expected a finite number, got {shown(v)}")
        return
    if isinstance(v, list):
        for j, x in enumerate(v):
            check_metadata(f"{where}[{j}]", x)
        return
    if isinstance(v, dict):
        for k, x in v.items():
            if not isinstance(k, str):
                raise HwsimError(f"{where}: expected string keys, got {kind_of(k)}")
            check_metadata(f"{where}.{k}", x)
        return
    raise HwsimError(
        f"{where}: expected a string, number, boolean, list or mapping, got {kind_of(v)}"
    )
