"""Workload files: YAML (with tensors beside it in .npz / .safetensors) and SCALE-Sim CSV.

YAML schema, `version: 1` (every key documented; numbers only):

    version: 1
    name: minilm-l6            # workload name
    phase: prefill             # prefill | decode | "" (not an LLM)
    metadata: {...}            # free-form mapping, kept as is
    tensors: minilm-l6.npz     # optional: file beside this YAML (.npz or .safetensors) holding
                               #   "<op name>/inputs" and "<op name>/weights" float32 arrays
    ops:                       # in execution order
      - name: encoder.layer.*.attention.self.query
        kind: gemm             # gemm | conv | attn_qk | attn_av | vector
        M: 12                  # output rows; N: output features; K: reduction (per group)
        N: 384
        K: 384
        batch: 1               # optional: independent GEMMs (heads, conv groups)
        repeat: 6              # optional: identical instances (folded layers)
        module: ...            # optional: producing module
        elements: 0            # vector ops: elements processed
        vector_kind: softmax   # vector ops: softmax | norm | act | elementwise | pool | embedding
        conv: {in_channels, out_channels, kernel: [h, w], stride, padding, in_hw, out_hw, groups}
        weight_is_activation: false
        kv_group: 1            # optional, attention: query heads sharing one K/V head (GQA/MQA)

Instead of `ops:` a file may name a card: `card: llama-2-7b:decode:256`, or a custom
transformer `card: {family: llama, d_model: ..., ffn: ..., layers: ..., heads: ..., kv_heads:
..., vocab: ...}` with `phase:`, `length:` and `batch:` keys.

Tensor layout: inputs [M, K] (or [batch, M, K] when batch > 1; convs im2col-lowered),
weights [N, K] (or [batch, N, K]).
"""

from __future__ import annotations

import csv
import os
import zipfile
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
import yaml

from hwsim import yamlsafe
from hwsim.errors import HwsimError, read_text
from hwsim.workload.cards import TransformerConfig, build_card, load_card
from hwsim.workload.op import OP_KINDS, PHASES, VECTOR_KINDS, ConvShape, Op, Workload

VERSION = 1
_INT_FIELDS = ("M", "N", "K", "batch", "repeat", "elements", "kv_group")
_TENSOR_EXTS = (".npz", ".safetensors")
_TOP_KEYS = ("version", "name", "phase", "metadata", "tensors", "ops", "card", "length", "batch")


# --- YAML ------------------------------------------------------------------------------


def load_yaml(path) -> Workload:
    path = Path(path)
    try:
        doc = yamlsafe.load(read_text(path, "workload file"))
    except OSError as e:
        raise HwsimError(f"{path}: cannot read workload file ({e.strerror})") from None
    except yaml.YAMLError as e:
        raise HwsimError(f"{path}: not valid YAML ({yamlsafe.describe(e)})") from None
    if not isinstance(doc, dict):
        raise HwsimError(f"{path}: expected a mapping with version: and ops:")
    if doc.get("version") != VERSION:
        raise HwsimError(f"{path}: version: expected {VERSION}, got {doc.get('version')!r}")
    unknown = [k for k in doc if k not in _TOP_KEYS]
    if unknown:
        raise HwsimError(
            f"{path}: {unknown[0]}: unknown key; expected one of {', '.join(_TOP_KEYS)}"
        )
    if "card" in doc:
        return _card_from_doc(path, doc)
    name = str(doc.get("name", path.stem))
    phase = doc.get("phase", "") or ""
    if phase not in PHASES:
        raise HwsimError(f"{path}: phase: expected one of prefill, decode, '', got {phase!r}")
    raw_ops = doc.get("ops")
    if not isinstance(raw_ops, list) or not raw_ops:
        raise HwsimError(f"{path}: ops: expected a non-empty list of ops")
    ops = [_op_from_dict(path, i, d) for i, d in enumerate(raw_ops)]
    for i, op in enumerate(ops):
        _check_size(f"{path}: ops[{i}]", op)
    names = [o.name for o in ops]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise HwsimError(f"{path}: ops: duplicate op name {dup!r}")
    metadata = doc.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise HwsimError(f"{path}: metadata: expected a mapping")
    if doc.get("tensors"):
        ops = _attach_tensors(path, path.parent / str(doc["tensors"]), ops)
    return Workload(name, tuple(ops), phase, dict(metadata))


def _card_from_doc(path: Path, doc: dict) -> Workload:
    card = doc["card"]
    if isinstance(card, str):
        return load_card(card)
    if not isinstance(card, dict):
        raise HwsimError(f"{path}: card: expected a card string or a mapping of shapes")
    known = {f.name for f in fields(TransformerConfig)}
    unknown = set(card) - known
    if unknown:
        bad = sorted(unknown)[0]
        raise HwsimError(f"{path}: card.{bad}: unknown key; expected {sorted(known)}")
    missing = {"family", "d_model", "ffn", "layers", "heads", "kv_heads"} - set(card)
    if missing:
        raise HwsimError(f"{path}: card.{sorted(missing)[0]}: missing")
    try:
        cfg = TransformerConfig(**card)
    except HwsimError as e:
        raise HwsimError(f"{path}: {e}") from None
    for key in ("length", "batch"):
        v = doc.get(key, 1)
        if not isinstance(v, int) or v <= 0:
            raise HwsimError(f"{path}: {key}: expected an integer > 0, got {v!r}")
    phase = str(doc.get("phase", "prefill"))
    wl = build_card(cfg, phase, doc.get("length", 1), doc.get("batch", 1))
    return Workload(str(doc.get("name", path.stem)), wl.ops, wl.phase, wl.metadata)


# cycle and byte counts are int64 downstream; this bound keeps them exact with room to spare
MAX_OP_WORK = 2**53


def _check_size(where: str, op: Op) -> None:
    work = op.total_macs if op.kind != "vector" else op.elements * op.repeat
    if work > MAX_OP_WORK:
        what = "MACs (M*N*K*batch*repeat)" if op.kind != "vector" else "elements*repeat"
        raise HwsimError(f"{where}: {work:.3g} {what}; expected at most 2**53 per op")


def _op_from_dict(path: Path, i: int, d) -> Op:
    where = f"{path}: ops[{i}]"
    if not isinstance(d, dict):
        raise HwsimError(f"{where}: expected a mapping")
    allowed = {f.name for f in fields(Op)} - {"inputs", "weights"}
    for key in d:
        if key not in allowed:
            raise HwsimError(f"{where}.{key}: unknown key; expected one of {sorted(allowed)}")
    if not isinstance(d.get("name"), str) or not d["name"]:
        raise HwsimError(f"{where}.name: expected a non-empty string")
    kind = d.get("kind")
    if kind not in OP_KINDS:
        raise HwsimError(f"{where}.kind: expected one of {', '.join(OP_KINDS)}, got {kind!r}")
    for key in _INT_FIELDS:
        if key in d and (not isinstance(d[key], int) or isinstance(d[key], bool) or d[key] < 0):
            raise HwsimError(f"{where}.{key}: expected an integer >= 0, got {d[key]!r}")
    if kind == "vector":
        if d.get("elements", 0) <= 0:
            raise HwsimError(f"{where}.elements: expected an integer > 0 for a vector op")
        if d.get("vector_kind", "") not in VECTOR_KINDS:
            raise HwsimError(f"{where}.vector_kind: expected one of {', '.join(VECTOR_KINDS)}")
    else:
        for key in ("M", "N", "K", "batch", "repeat", "kv_group"):
            if d.get(key, 1) <= 0:
                raise HwsimError(f"{where}.{key}: expected an integer > 0 for a {kind} op")
        if d.get("batch", 1) % d.get("kv_group", 1):
            raise HwsimError(
                f"{where}.kv_group: expected a divisor of batch={d.get('batch', 1)}, "
                f"got {d['kv_group']}"
            )
    conv = None
    if d.get("conv") is not None:
        try:
            c = dict(d["conv"])
            for k in ("kernel", "stride", "padding", "in_hw", "out_hw"):
                if k in c:
                    c[k] = tuple(int(x) for x in c[k])
            conv = ConvShape(**c)
        except (TypeError, ValueError) as e:
            raise HwsimError(f"{where}.conv: expected ConvShape fields ({e})") from None
    kw = {k: v for k, v in d.items() if k != "conv"}
    return Op(**kw, conv=conv)


def _op_to_dict(op: Op) -> dict:
    out = {"name": op.name, "kind": op.kind}
    if op.kind == "vector":
        out.update(elements=op.elements, vector_kind=op.vector_kind)
    else:
        out.update(M=op.M, N=op.N, K=op.K)
        if op.batch != 1:
            out["batch"] = op.batch
    if op.repeat != 1:
        out["repeat"] = op.repeat
    if op.module and op.module != op.name:
        out["module"] = op.module
    if op.conv is not None:
        conv = asdict(op.conv)
        out["conv"] = {k: list(v) if isinstance(v, tuple) else v for k, v in conv.items()}
    if op.weight_is_activation:
        out["weight_is_activation"] = True
    if op.kv_group != 1:
        out["kv_group"] = op.kv_group
    return out


def save_yaml(workload: Workload, path, tensors: str | None = None) -> Path:
    """Write `workload` to `path`; with tensors='npz'|'safetensors', its real tensors beside it."""
    path = _writable(path)
    doc = {"version": VERSION, "name": workload.name, "phase": workload.phase}
    meta = {k: v for k, v in workload.metadata.items() if _plain(v)}
    if meta:
        doc["metadata"] = meta
    if tensors:
        ext = "." + tensors.lstrip(".")
        if ext not in _TENSOR_EXTS:
            raise HwsimError(f"tensors: expected npz or safetensors, got {tensors!r}")
        arrays = tensor_dict(workload)
        if arrays:
            tpath = path.with_suffix(ext)
            _save_arrays(tpath, arrays)
            doc["tensors"] = tpath.name
    doc["ops"] = [_op_to_dict(op) for op in workload.ops]
    _replace_atomically(
        path, lambda tmp: tmp.write_text(yaml.safe_dump(doc, sort_keys=False, width=100))
    )
    return path


def _writable(path) -> Path:
    """`path` with its folder created, or an HwsimError before anything is written."""
    path = Path(path)
    if path.is_dir():
        raise HwsimError(f"output {path}: is a directory; expected a file path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise HwsimError(f"output {path}: cannot create its folder ({e.strerror})") from None
    return path


def _replace_atomically(path: Path, write) -> None:
    """write(tmp) beside `path`, then rename over it: never a half-written file."""
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as e:
        raise HwsimError(f"output {path}: cannot write ({e.strerror})") from None
    finally:
        tmp.unlink(missing_ok=True)


def _plain(v) -> bool:
    """True for values YAML can hold without tags (numbers, strings, lists, dicts of those)."""
    if isinstance(v, (str, int, float, bool)) or v is None:
        return True
    if isinstance(v, (list, tuple)):
        return all(_plain(x) for x in v)
    if isinstance(v, dict):
        return all(isinstance(k, str) and _plain(x) for k, x in v.items())
    return False


def tensor_dict(workload: Workload) -> dict[str, np.ndarray]:
    out = {}
    for op in workload.ops:
        for part in ("inputs", "weights"):
            arr = getattr(op, part)
            if arr is not None:
                out[f"{op.name}/{part}"] = np.ascontiguousarray(arr, dtype=np.float32)
    return out


def _save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    if path.suffix == ".npz":
        _replace_atomically(path, lambda tmp: np.savez(tmp, **arrays))
    else:
        from safetensors.numpy import save_file

        _replace_atomically(path, lambda tmp: save_file(arrays, str(tmp)))


def _load_arrays(path: Path) -> dict[str, np.ndarray]:
    if path.suffix not in _TENSOR_EXTS:
        raise HwsimError(f"{path}: tensors: expected a .npz or .safetensors file")
    if not path.exists():
        raise HwsimError(f"{path}: tensor file named by the workload YAML does not exist")
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        return load_file(str(path))
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, SafetensorError) as e:
        kind = "an .npz archive" if path.suffix == ".npz" else "a .safetensors file"
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise HwsimError(f"{path}: tensors: expected {kind} of float arrays ({reason})") from None


def expected_shapes(op: Op) -> dict[str, tuple[int, ...]]:
    """Shapes of an op's real tensors: inputs [batch?, M, K], weights [batch?, N, K]."""
    lead = (op.batch,) if op.batch > 1 else ()
    return {"inputs": (*lead, op.M, op.K), "weights": (*lead, op.N, op.K)}


def _attach_tensors(path: Path, tpath: Path, ops: list[Op]) -> list[Op]:
    arrays = _load_arrays(tpath)
    by_name = {op.name: op for op in ops}
    found: dict[str, dict] = {}
    for key, arr in arrays.items():
        name, _, part = key.rpartition("/")
        if name not in by_name or part not in ("inputs", "weights"):
            raise HwsimError(f"{tpath}: tensor {key!r} names no op/part of {path.name}")
        if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
            raise HwsimError(
                f"{tpath}: tensor {key!r} has dtype {arr.dtype}; expected real float numbers"
            )
        want = expected_shapes(by_name[name])[part]
        if tuple(arr.shape) != want:
            raise HwsimError(
                f"{tpath}: tensor {key!r} has shape {tuple(arr.shape)}, {path.name} expects {want}"
            )
        found.setdefault(name, {})[part] = arr
    from dataclasses import replace

    return [replace(op, **found[op.name]) if op.name in found else op for op in ops]


# --- SCALE-Sim topology CSV --------------------------------------------------------------

GEMM_HEADER = ["Layer", "M", "N", "K"]
CONV_HEADER = [
    "Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width",
    "Channels", "Num Filter", "Strides",
]  # fmt: skip


def load_scalesim_csv(path) -> Workload:
    """A SCALE-Sim topology file (GEMM or conv form) as a Workload of gemm/conv ops.

    Conv form: SCALE-Sim has no padding (IFMAP sizes are the padded sizes), one stride for both
    axes; lowered as M = output pixels, N = filters, K = Fh*Fw*C.
    """
    path = Path(path)
    try:
        lines = read_text(path, "topology file").splitlines()
        rows = [r for r in csv.reader(lines) if any(c.strip() for c in r)]
    except OSError as e:
        raise HwsimError(f"{path}: cannot read topology file ({e.strerror})") from None
    if not rows:
        raise HwsimError(f"{path}: empty topology file")
    header = [c.strip() for c in rows[0] if c.strip()]
    gemm = [h.lower() for h in header] == [h.lower() for h in GEMM_HEADER]
    if not gemm and [h.lower() for h in header[:8]] != [h.lower() for h in CONV_HEADER]:
        raise HwsimError(
            f"{path}: header: expected '{', '.join(GEMM_HEADER)},' or '{', '.join(CONV_HEADER)},'"
        )
    ops = []
    for line, row in enumerate(rows[1:], 2):
        cells = [c.strip() for c in row if c.strip()]
        width = 4 if gemm else 8
        if len(cells) < width:
            raise HwsimError(f"{path} line {line}: expected {width} fields, got {len(cells)}")
        name = cells[0]
        try:
            nums = [int(c) for c in cells[1:width]]
        except ValueError:
            msg = f"{path} line {line}: expected integers after the layer name"
            raise HwsimError(msg) from None
        if min(nums) <= 0:
            raise HwsimError(f"{path} line {line}: expected integers > 0, got {nums}")
        if gemm:
            M, N, K = nums
            ops.append(Op(name, "gemm", M=M, N=N, K=K, module=name))
            continue
        h, w, fh, fw, c, n, s = nums
        if fh > h or fw > w:
            raise HwsimError(f"{path} line {line}: filter {fh}x{fw} larger than IFMAP {h}x{w}")
        oh, ow = (h - fh) // s + 1, (w - fw) // s + 1
        shape = ConvShape(c, n, (fh, fw), (s, s), (0, 0), (h, w), (oh, ow), 1)
        ops.append(Op(name, "conv", M=oh * ow, N=n, K=fh * fw * c, module=name, conv=shape))
    if not ops:
        raise HwsimError(f"{path}: no layers after the header")
    for line, op in enumerate(ops, 2):
        _check_size(f"{path} line {line}", op)
    return Workload(path.stem, tuple(ops), "", {"source": "scalesim", "path": str(path)})


def save_scalesim_csv(workload: Workload, path, form: str = "gemm") -> Path:
    """Write the matrix ops as a SCALE-Sim topology; form: gemm | conv.

    SCALE-Sim has no batch or repeat: a batched op (heads, groups) or a repeated op is written
    once per instance, named `name#i`. Vector ops are left out (SCALE-Sim has none). The conv
    form writes convs with padding folded into the IFMAP size, and GEMMs as 1xK IFMAPs with
    a 1xK filter (M rows of IFMAP height), which SCALE-Sim lowers back to the same M, N, K.
    """
    if form not in ("gemm", "conv"):
        raise HwsimError(f"form: expected gemm or conv, got {form!r}")
    path = _writable(path)
    lines = [", ".join(GEMM_HEADER if form == "gemm" else CONV_HEADER) + ","]
    for op in workload.ops:
        if op.kind == "vector":
            continue
        copies = op.batch * op.repeat
        for i in range(copies):
            name = op.name if copies == 1 else f"{op.name}#{i}"
            if form == "gemm":
                row = [op.M, op.N, op.K]
            elif _scalesim_conv(op):
                c = op.conv
                h, w = c.in_hw[0] + 2 * c.padding[0], c.in_hw[1] + 2 * c.padding[1]
                row = [h, w, *c.kernel, c.in_channels, c.out_channels, c.stride[0]]
            else:  # an M x K "image" of one channel, a 1 x K filter: SCALE-Sim's own GEMM lowering
                row = [op.M, op.K, 1, op.K, 1, op.N, 1]
            lines.append(", ".join([name, *map(str, row)]) + ",")
    _replace_atomically(path, lambda tmp: tmp.write_text("\n".join(lines) + "\n"))
    return path


def _scalesim_conv(op: Op) -> bool:
    """True if SCALE-Sim's conv row can express this op exactly (one image, one group)."""
    c = op.conv
    return (
        c is not None
        and c.groups == 1
        and c.stride[0] == c.stride[1]
        and c.out_hw[0] * c.out_hw[1] == op.M
    )
