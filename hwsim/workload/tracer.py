"""Trace a torch model into a Workload with forward hooks.

Hooks sit on every `nn.Linear`, `nn.Conv2d` (matched with isinstance, so subclasses such as
EfficientNet's static-same-padding conv count) and `MatMul` (hwsim's own two-operand module,
which hwsim's model re-implementations use for QK^T and AV so that attention operands are
real tensors too). For third-party models, attention matmuls (and their softmax) come from
the config instead (`AttentionConfig`): they are inserted after each op whose name matches
`after`, with shapes from that op's input. Vector ops come from hooks on normalisation,
activation, softmax and hwsim `Elementwise` modules (see hwsim.workload.vector_ops), named
after their modules and folded like the rest; functional calls (F.gelu, x + y) are not seen.
`torch.fx.symbolic_trace` fails on HF BERT and `FlopCounterMode` misses CPU SDPA
(measured, torch 2.13 CPU), hence hooks; `export_linears` cross-checks the linears against
`torch.export(strict=False)`.

torch is optional for hwsim: it is imported on first use.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, replace

import numpy as np

from hwsim.errors import HwsimError
from hwsim.workload.op import ConvShape, Op, Workload
from hwsim.workload.vector_ops import output_elements, vector_kind


def import_torch():
    """torch, or a one-line HwsimError saying how to install it."""
    try:
        import torch
    except ImportError:
        raise HwsimError("tracing needs torch: pip install torch==2.13.0") from None
    return torch


@dataclass(frozen=True)
class AttentionConfig:
    """Attention shapes for models whose attention matmuls are not modules.

    after: fnmatch pattern of the op the attention follows (e.g. `*.self_attn.v_proj`); its
    input [sequences, tokens, d] gives the shapes. past: cached tokens before these (decode).
    """

    heads: int
    head_dim: int
    after: str
    past: int = 0


def _matmul_class():
    torch = import_torch()

    class MatMul(torch.nn.Module):
        """out[b] = a[b] @ w[b].T for every b: a batch of GEMMs whose operands are activations."""

        def __init__(self, kind: str):
            super().__init__()
            self.kind = kind

        def forward(self, a, w):
            return torch.matmul(a, w.transpose(-1, -2))

    return MatMul


_MATMUL = None


def matmul_class():
    """The `MatMul` module class (made on first use: it subclasses torch.nn.Module)."""
    global _MATMUL
    if _MATMUL is None:
        _MATMUL = _matmul_class()
    return _MATMUL


def MatMul(kind: str = "attn_qk"):  # noqa: N802 (reads as the class it builds)
    """A new `MatMul` module computing a @ w.T per batch; kind: attn_qk | attn_av."""
    if kind not in ("attn_qk", "attn_av"):
        raise HwsimError(f"MatMul kind: expected attn_qk or attn_av, got {kind!r}")
    return matmul_class()(kind)


def trace(
    model,
    *inputs,
    name: str = "traced",
    phase: str = "",
    attention: AttentionConfig | None = None,
    keep_tensors: bool = True,
    **kwargs,
) -> Workload:
    """Run `model(*inputs, **kwargs)` under forward hooks and record its ops in order.

    Ops are named by module path; a module called k > 1 times gets `name@k` for its later
    calls (an `Elementwise(merge_calls=True)` module instead adds them to its first op).
    Vector ops (norms, activations, softmax, Elementwise): elements = output elements, no
    tensors kept. Linear: M = all leading dims, inputs [M, K], weights [N, K]. Conv2d: im2col,
    M = images x output pixels, N = out channels per group, K = in channels per group x kh x kw,
    batch = groups, inputs [groups?, M, K], weights [groups?, N, K]. MatMul (attention):
    operands [batch, M, K] and [batch, N, K], weight_is_activation=True.
    """
    torch = import_torch()
    if not isinstance(model, torch.nn.Module):
        raise HwsimError(f"trace: expected a torch.nn.Module, got {type(model).__name__}")
    matmul_cls = matmul_class()
    records: list[tuple[Op, tuple]] = []
    calls: dict[str, int] = {}
    merged: dict[str, int] = {}  # module path -> index in records, for merge_calls modules
    handles = []

    def matrix_hook(mod_name):
        def hook(module, args, output):
            op_name = call_name(calls, mod_name)
            op = record_op(torch, op_name, mod_name, module, args, output, keep_tensors)
            records.append((op, tuple(args[0].shape[:-1])))

        return hook

    def vector_hook(mod_name, kind):
        def hook(module, args, output):
            n = output_elements(output)
            if getattr(module, "merge_calls", False) and mod_name in merged:
                i = merged[mod_name]
                records[i] = (replace(records[i][0], elements=records[i][0].elements + n), ())
                return
            op = Op(
                call_name(calls, mod_name), "vector", elements=n, vector_kind=kind, module=mod_name
            )
            merged[mod_name] = len(records)
            records.append((op, ()))

        return hook

    for mod_name, module in model.named_modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d, matmul_cls)):
            handles.append(module.register_forward_hook(matrix_hook(mod_name)))
        elif kind := vector_kind(torch, module):
            handles.append(module.register_forward_hook(vector_hook(mod_name, kind)))
    try:
        with torch.no_grad():
            model(*inputs, **kwargs)
    finally:
        for h in handles:
            h.remove()
    if not any(op.kind != "vector" for op, _ in records):
        raise HwsimError(
            f"trace {name}: {type(model).__name__} ran no nn.Linear, nn.Conv2d or MatMul module"
        )
    ops = _insert_attention(records, attention) if attention else [r[0] for r in records]
    meta = {"source": "trace", "model_class": type(model).__name__}
    return Workload(name, tuple(ops), phase, meta)


def call_name(calls: dict[str, int], mod_name: str) -> str:
    """`mod_name` for a module's first call, `mod_name@k` for its k-th."""
    calls[mod_name] = calls.get(mod_name, 0) + 1
    n = calls[mod_name]
    return mod_name if n == 1 else f"{mod_name}@{n}"


def _np(t) -> np.ndarray:
    return t.detach().float().cpu().numpy()


def record_op(torch, op_name, mod_name, module, args, output, keep) -> Op:
    if isinstance(module, torch.nn.Linear):
        x = args[0]
        K = x.shape[-1]
        M = int(np.prod(x.shape[:-1]))
        op = Op(op_name, "gemm", M=M, N=module.out_features, K=K, module=mod_name)
        if keep:
            op = replace(op, inputs=_np(x.reshape(M, K)), weights=_np(module.weight))
        return op
    if isinstance(module, torch.nn.Conv2d):
        return _record_conv(torch, op_name, mod_name, module, args[0], output, keep)
    a, w = args[0], args[1]
    batch = int(np.prod(a.shape[:-2]))
    M, K, N = a.shape[-2], a.shape[-1], w.shape[-2]
    op = Op(op_name, module.kind, M=M, N=N, K=K, batch=batch, module=mod_name)
    op = replace(op, weight_is_activation=True)
    if keep:
        op = replace(op, inputs=_np(a.reshape(batch, M, K)), weights=_np(w.reshape(batch, N, K)))
    return op


def _record_conv(torch, op_name, mod_name, conv, x, output, keep) -> Op:
    images, cin, h, w = x.shape
    oh, ow = output.shape[-2:]
    g, kh, kw = conv.groups, *conv.kernel_size
    pad = _effective_padding(conv, (h, w), (oh, ow))
    shape = ConvShape(
        cin, conv.out_channels, (kh, kw), tuple(conv.stride), (pad[0], pad[2]), (h, w), (oh, ow), g
    )
    M, N, K = images * oh * ow, conv.out_channels // g, cin // g * kh * kw
    op = Op(op_name, "conv", M=M, N=N, K=K, batch=g, module=mod_name, conv=shape)
    if not keep:
        return op
    xp = torch.nn.functional.pad(x, (pad[2], pad[3], pad[0], pad[1]))
    cols = torch.nn.functional.unfold(xp, (kh, kw), dilation=conv.dilation, stride=conv.stride)
    # cols: [images, cin*kh*kw, L], channel-major like the weight's [cout, cin/g, kh, kw]
    cols = cols.reshape(images, g, K, oh * ow).permute(1, 0, 3, 2).reshape(g, M, K)
    wts = conv.weight.reshape(g, N, K)
    if g == 1:
        cols, wts = cols[0], wts[0]
    return replace(op, inputs=_np(cols), weights=_np(wts))


def _effective_padding(conv, in_hw, out_hw) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) padding that yields the observed output size.

    Plain convs use `conv.padding`; static "same" convs (EfficientNet) pad inside forward, so
    their padding is recovered as TF-style same padding (extra pixel at the bottom/right).
    """
    if isinstance(conv.padding, str):
        pads = None
    else:
        pads = (conv.padding[0], conv.padding[0], conv.padding[1], conv.padding[1])
    out = []
    for i in range(2):
        k = (conv.kernel_size[i] - 1) * conv.dilation[i] + 1
        want = out_hw[i]
        if pads is not None and (in_hw[i] + 2 * pads[2 * i] - k) // conv.stride[i] + 1 == want:
            out += [pads[2 * i], pads[2 * i + 1]]
            continue
        total = max((want - 1) * conv.stride[i] + k - in_hw[i], 0)
        out += [total // 2, total - total // 2]
    return tuple(out)


def _insert_attention(records, cfg: AttentionConfig) -> list[Op]:
    out = []
    for op, lead in records:
        out.append(op)
        if op.kind != "gemm" or not fnmatch.fnmatchcase(op.module, cfg.after):
            continue
        q = lead[-1] if lead else 1
        seqs = op.M // q
        ctx, b, hd = cfg.past + q, seqs * cfg.heads, cfg.head_dim
        prefix = op.module.rpartition(".")[0]
        at = f"{prefix}." if prefix else ""  # a top-level `after` module: no leading dot
        out += [
            Op(f"{at}attn_qk", "attn_qk", M=q, N=ctx, K=hd, batch=b, module=prefix,
               weight_is_activation=True),
            Op(f"{at}softmax", "vector", elements=b * q * ctx, vector_kind="softmax",
               module=prefix),
            Op(f"{at}attn_av", "attn_av", M=q, N=hd, K=ctx, batch=b, module=prefix,
               weight_is_activation=True),
        ]  # fmt: skip
    return out


_LAYER = re.compile(r"\.(\d+)\.")


def fold_layers(workload: Workload) -> Workload:
    """Fold ops of identical numbered layers into one op each with a repeat count.

    `encoder.layer.3.attention.self.query` -> `encoder.layer.*.attention.self.query`, when
    every op sharing that folded name has the same shape. Real tensors are dropped from folded
    ops (the layers' weights differ); ops that do not fold keep theirs.
    """
    groups: dict[str, list[Op]] = {}
    for op in workload.ops:
        groups.setdefault(_LAYER.sub(".*.", op.name, count=1), []).append(op)
    out = []
    placed = set()
    for op in workload.ops:
        key = _LAYER.sub(".*.", op.name, count=1)
        members = groups[key]
        if len(members) == 1 or len({_signature(m) for m in members}) != 1:
            out.append(op)
            continue
        if key in placed:
            continue
        placed.add(key)
        rep = sum(m.repeat for m in members)
        module = _LAYER.sub(".*.", op.module, count=1)
        out.append(replace(op, name=key, module=module, repeat=rep, inputs=None, weights=None))
    return Workload(workload.name, tuple(out), workload.phase, dict(workload.metadata))


def _signature(op: Op):
    return (op.kind, op.M, op.N, op.K, op.batch, op.elements, op.vector_kind, op.conv)


def export_linears(model, *inputs) -> list[tuple[str, int, int, int]]:
    """(module path, M, N, K) of every linear in `torch.export.export(strict=False)`'s graph.

    A cross-check for `trace`: the same model exported to an ATen graph, linears read from
    `aten.linear` nodes and their `nn_module_stack` metadata. Raises HwsimError if export fails.
    """
    torch = import_torch()
    try:
        ep = torch.export.export(model, tuple(inputs), strict=False)
    except Exception as e:  # export failures are many and model-specific
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise HwsimError(f"torch.export failed on {type(model).__name__}: {msg}") from None
    out = []
    for node in ep.graph.nodes:
        if node.op != "call_function" or node.target is not torch.ops.aten.linear.default:
            continue
        x, w = node.args[0].meta["val"], node.args[1].meta["val"]
        stack = node.meta.get("nn_module_stack", {})
        path = list(stack.values())[-1][0] if stack else ""
        out.append((_clean_path(path), int(np.prod(x.shape[:-1])), w.shape[0], w.shape[1]))
    return out


def _clean_path(path: str) -> str:
    """export's module paths look like `L['self'].encoder.layer[0].x` or `encoder.layer.0.x`."""
    path = re.sub(r"^L\['self'\]\.?", "", path)
    return re.sub(r"\[(\d+)\]", r".\1", path).replace("._modules['", ".").replace("']", "")
