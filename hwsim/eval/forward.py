"""A torch forward whose matrix ops are computed by a chosen column (fp32, fake-quant, hardware).

Forward hooks sit on every nn.Linear, nn.Conv2d and hwsim `MatMul` (the modules the tracer
records, named as it names them: module path, `path@k` for a later call) and replace the
module's output: the op's operands are read as the tracer reads them (hwsim.workload.tracer:
Linear [M, K] x [N, K], convolution by im2col per group, attention per head), computed by
hwsim.eval.datapath, and the fp32 result is fed back in the module's output layout, the
layer's bias added in fp32. Everything between (norms, softmax, activations, residuals) is
torch fp32, the vector unit's precision (archs declare none). So activations flow from layer
to layer and errors compound as they would on the chip.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np

from hwsim.errors import HwsimError
from hwsim.eval import datapath
from hwsim.workload.tracer import call_name, import_torch, matmul_class, record_op

COLUMNS = ("fp32", "fake", "hardware")


@dataclass
class OpLog:
    """What one matrix op did in one forward."""

    out: np.ndarray  # the module's output (fp32), for per-op SQNR against fp32
    inputs: np.ndarray | None = None  # hardware: operands as the tracer records them
    weights: np.ndarray | None = None
    pe_results: list = field(default_factory=list)  # hardware: PEResult per batch instance


@contextlib.contextmanager
def computed(model, column: str, plans: dict, log: dict, model_name: str, cache=None):
    """Within the block, `model`'s matrix ops compute by `column`; log[op name] = OpLog.
    `cache` (a dict kept across the forwards of one model) holds its quantized weights."""
    torch = import_torch()
    if column not in COLUMNS:
        raise HwsimError(f"column: expected one of {', '.join(COLUMNS)}, got {column!r}")
    mm = matmul_class()
    calls: dict[str, int] = {}
    handles = []

    def hook_for(mod_name):
        def hook(module, args, output):
            name = call_name(calls, mod_name)
            if column == "fp32":
                log[name] = OpLog(output.detach().float().numpy().copy())
                return None
            p = plans.get(name)
            if p is None:
                raise HwsimError(f"model {model_name}: layer {name}: not in the traced workload")
            try:
                return replaced_output(torch, module, name, args, output, p, column, log, cache)
            except HwsimError as e:
                raise HwsimError(f"model {model_name}: layer {name}: {e}") from None

        return hook

    for mod_name, module in model.named_modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d, mm)):
            handles.append(module.register_forward_hook(hook_for(mod_name)))
    try:
        with torch.no_grad():
            yield model
    finally:
        for h in handles:
            h.remove()


def replaced_output(torch, module, name, args, output, p, column, log, cache):
    op = record_op(torch, name, name, module, args, output, True)
    A, W = op.inputs, op.weights
    if A.ndim == 2:
        A, W = A[None], W[None]
    results = None
    if column == "fake":
        out = datapath.fake(p, A, W, cache, name)
    else:
        out, results = datapath.hardware(p, A, W, cache, name)
    y = torch.from_numpy(torch_layout(out, module, output, torch))
    bias = getattr(module, "bias", None)
    if bias is not None:
        y = y + (bias[:, None, None] if isinstance(module, torch.nn.Conv2d) else bias)
    entry = OpLog(y.numpy().copy())
    if results is not None:
        entry.inputs, entry.weights, entry.pe_results = op.inputs, op.weights, results
    log[name] = entry
    return y


def torch_layout(out: np.ndarray, module, output, torch) -> np.ndarray:
    """[batch, M, N] GEMM outputs in the module's output layout."""
    if isinstance(module, torch.nn.Conv2d):
        g, M, N = out.shape
        images, _, oh, ow = output.shape
        out = out.reshape(g, images, oh * ow, N).transpose(1, 0, 3, 2)
        return np.ascontiguousarray(out.reshape(images, g * N, oh, ow))
    return np.ascontiguousarray(out.reshape(output.shape))
