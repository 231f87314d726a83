"""Workload files: YAML (with tensors beside it in .npz / .safetensors).

SCALE-Sim topology CSVs are read and written by hwsim.workload.scalesim_topology.

YAML schema, `version: 1` (every key documented; numbers only):

    version: 1
    name: minilm-l6            # workload name
    phase: prefill             # prefill | decode | "" (not an LLM)
    metadata: {...}            # free-form mapping, kept as is
    tensors: minilm-l6.npz     # optional: file in this YAML's folder (.npz, or .safetensors
                               #   with the models extra) holding "<op name>/inputs" and
                               #   "<op name>/weights" float32 arrays, both for each op named
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

import os
import zipfile
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import yaml

from hwsim import yamlsafe
from hwsim.errors import HwsimError
from hwsim.spec.yamlcheck import kind_of, shown
from hwsim.workload.fields import card_from_doc, check_metadata, op_from_dict
from hwsim.workload.op import PHASES, Op, Workload

VERSION = 1
_TENSOR_EXTS = (".npz", ".safetensors")
_TOP_KEYS = ("version", "name", "phase", "metadata", "tensors", "ops", "card", "length", "batch")


# --- YAML ------------------------------------------------------------------------------


def load_yaml(path) -> Workload:
    path = Path(path)
    doc = yamlsafe.load_file(path, "workload file")
    if not isinstance(doc, dict):
        got = kind_of(doc)
        raise HwsimError(f"{path}: top level: expected a mapping with version: and ops:, got {got}")
    version = doc.get("version")
    if type(version) is not int or version != VERSION:
        raise HwsimError(f"{path}: version: expected {VERSION}, got {shown(version)}")
    unknown = [k for k in doc if k not in _TOP_KEYS]
    if unknown:
        raise HwsimError(
            f"{path}: {unknown[0]}: unknown key; expected one of {', '.join(_TOP_KEYS)}"
        )
    name = doc.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        raise HwsimError(f"{path}: name: expected a non-empty string, got {kind_of(name)}")
    metadata = doc.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise HwsimError(f"{path}: metadata: expected a mapping, got {kind_of(metadata)}")
    check_metadata(f"{path}: metadata", metadata)
    if "card" in doc:
        return card_from_doc(path, doc)
    phase = doc.get("phase", "") or ""
    if phase not in PHASES:
        raise HwsimError(f"{path}: phase: expected one of prefill, decode, '', got {phase!r}")
    raw_ops = doc.get("ops")
    if not isinstance(raw_ops, list) or not raw_ops:
        got = kind_of(raw_ops) if raw_ops != [] else "an empty list"
        raise HwsimError(f"{path}: ops: expected a non-empty list of ops, got {got}")
    ops = [op_from_dict(path, i, d) for i, d in enumerate(raw_ops)]
    for i, op in enumerate(ops):
        check_size(f"{path}: ops[{i}]", op)
    names = [o.name for o in ops]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise HwsimError(f"{path}: ops: expected unique op names, got {dup!r} twice")
    if doc.get("tensors") is not None:
        ops = _attach_tensors(path, tensor_path(path, doc["tensors"]), ops)
    return Workload(name, tuple(ops), phase, dict(metadata))


# cycle and byte counts are int64 downstream; this bound keeps them exact with room to spare
MAX_OP_WORK = 2**53


def check_size(where: str, op: Op) -> None:
    work = op.total_macs if op.kind != "vector" else op.elements * op.repeat
    if work > MAX_OP_WORK:
        what = "MACs (M*N*K*batch*repeat)" if op.kind != "vector" else "elements*repeat"
        raise HwsimError(f"{where}: {work:.3g} {what}; expected at most 2**53 per op")


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
    path = writable_path(path)
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
    replace_atomically(
        path, lambda tmp: tmp.write_text(yaml.safe_dump(doc, sort_keys=False, width=100))
    )
    return path


def writable_path(path) -> Path:
    """`path` with its folder created, or an HwsimError before anything is written."""
    path = Path(path)
    if path.is_dir():
        raise HwsimError(f"output {path}: is a directory; expected a file path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise HwsimError(f"output {path}: cannot create its folder ({e.strerror})") from None
    return path


def replace_atomically(path: Path, write) -> None:
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
        replace_atomically(path, lambda tmp: np.savez(tmp, **arrays))
    else:
        save_file = _safetensors(path, "write").save_file
        replace_atomically(path, lambda tmp: save_file(arrays, str(tmp)))


def _safetensors(path: Path, verb: str):
    """safetensors.numpy, which only .safetensors files need (an optional extra)."""
    try:
        import safetensors.numpy
    except ImportError:
        raise HwsimError(
            f"{path}: tensors: expected the safetensors package to {verb} a .safetensors file "
            "(pip install 'hwsim[models]', or use .npz)"
        ) from None
    return safetensors.numpy


def tensor_path(path: Path, name) -> Path:
    """The tensor file a workload's `tensors:` names: a relative path inside its folder."""
    if not isinstance(name, str) or Path(name).suffix not in _TENSOR_EXTS:
        raise HwsimError(
            f"{path}: tensors: expected a .npz or .safetensors file name, got {shown(name)}"
        )
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts or rel.drive:
        raise HwsimError(
            f"{path}: tensors: expected a file inside the workload's folder, got {name!r}"
        )
    return path.parent / rel


def _load_arrays(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        got = "a folder" if path.is_dir() else "no such file"
        raise HwsimError(f"{path}: tensors: expected the tensor file the workload names, got {got}")
    try:
        if path.suffix == ".npz":
            with path.open("rb") as f:  # ours to close, whatever np.load raises
                z = np.load(f, allow_pickle=False)
                if not isinstance(z, np.lib.npyio.NpzFile):  # a lone .npy array, renamed
                    raise ValueError("one array, not an archive of named arrays")
                return {k: z[k] for k in z.files}
        st = _safetensors(path, "read")
        from safetensors import SafetensorError

        try:
            return st.load_file(str(path))
        except SafetensorError as e:
            raise ValueError(str(e)) from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        kind = "an .npz archive" if path.suffix == ".npz" else "a .safetensors file"
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise HwsimError(f"{path}: tensors: expected {kind} of float arrays ({reason})") from None


def expected_shapes(op: Op) -> dict[str, tuple[int, ...]]:
    """Shapes of an op's real tensors: inputs [batch?, M, K], weights [batch?, N, K]."""
    lead = (op.batch,) if op.batch > 1 else ()
    return {"inputs": (*lead, op.M, op.K), "weights": (*lead, op.N, op.K)}


_F32_MAX = float(np.finfo(np.float32).max)


def _attach_tensors(path: Path, tpath: Path, ops: list[Op]) -> list[Op]:
    """Ops with their real tensors: every array names a matrix op and a part, and every op
    with tensors has both (the simulator and recipes need inputs and weights together)."""
    arrays = _load_arrays(tpath)
    if not arrays:
        raise HwsimError(
            f"{tpath}: tensors: expected '<op>/inputs' and '<op>/weights' arrays, got none"
        )
    by_name = {op.name: op for op in ops}
    found: dict[str, dict] = {}
    for key, arr in arrays.items():
        name, _, part = key.rpartition("/")
        if name not in by_name or part not in ("inputs", "weights"):
            raise HwsimError(
                f"{tpath}: {key}: expected '<op>/inputs' or '<op>/weights' of an op of "
                f"{path.name}, got no such op/part"
            )
        op = by_name[name]
        if op.kind == "vector":
            raise HwsimError(f"{tpath}: {key}: expected tensors of matrix ops, got a vector op")
        if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
            raise HwsimError(f"{tpath}: {key}: expected real float numbers, got dtype {arr.dtype}")
        want = expected_shapes(op)[part]
        if tuple(arr.shape) != want:
            raise HwsimError(
                f"{tpath}: {key}: expected shape {want} (from {path.name}), got {tuple(arr.shape)}"
            )
        out_of_range = ~(np.abs(arr.astype(np.float64, copy=False)) <= _F32_MAX)
        if out_of_range.any():
            bad = np.unravel_index(np.argmax(out_of_range), arr.shape)
            raise HwsimError(
                f"{tpath}: {key}: expected finite values within float32 range, got "
                f"{float(arr[bad])!r} at index {tuple(int(i) for i in bad)}"
            )
        found.setdefault(name, {})[part] = arr
    for name, parts in found.items():
        if len(parts) == 1:
            have = next(iter(parts))
            other = "weights" if have == "inputs" else "inputs"
            raise HwsimError(
                f"{tpath}: {name}/{other}: expected beside {name}/{have} (an op's tensors come "
                "in pairs), got none"
            )
    return [replace(op, **found[op.name]) if op.name in found else op for op in ops]
