"""Which torch modules the tracer records as vector ops, and hwsim's own `Elementwise` module.

A vector op is work for the vector unit, counted in elements (Op.elements): normalisations
(`norm`), activations (`act`), softmax (`softmax`) and elementwise arithmetic (`elementwise`).
Modules are recognised by class (torch's own norm/activation/softmax classes, subclasses
included) or, for third-party leaf modules, by class name: `...Norm` / `...Norm2d`
(LlamaRMSNorm, T5LayerNorm, FrozenBatchNorm2d) and activation names (`GELUActivation`,
`Swish`, `QuickGELUActivation`, ...). Name matches count only for leaf modules, so a
`PreNorm(dim, fn)` wrapper is not mistaken for a norm.

Elementwise arithmetic is no module in most models; hwsim's model re-implementations wrap
it in `Elementwise(fn)` so the tracer sees it (rotary embedding, SwiGLU's gate multiply,
residual adds). torch is imported on first use.
"""

from __future__ import annotations

import re

_NORM_NAME = re.compile(r"Norm(\dd)?$")
_ACT_NAME = re.compile(r"(GELU|Gelu|SiLU|Swish|Mish|ReLU\d*|Sigmoid|Tanh|(?<!Linear)Activation)$")
_TORCH_ACTS = (
    "ReLU", "ReLU6", "GELU", "SiLU", "Sigmoid", "Tanh", "Hardswish", "Hardsigmoid", "Mish",
    "LeakyReLU", "ELU", "SELU", "CELU", "GLU", "Softplus", "PReLU", "Hardtanh", "Softsign",
    "Tanhshrink", "LogSigmoid", "Threshold", "RReLU", "Softshrink", "Hardshrink",
)  # fmt: skip
_TORCH_SOFTMAX = ("Softmax", "Softmax2d", "LogSoftmax", "Softmin")


def _torch_classes(torch) -> dict[str, tuple]:
    nn = torch.nn
    norms = (
        nn.LayerNorm,
        nn.GroupNorm,
        nn.LocalResponseNorm,
        nn.modules.batchnorm._BatchNorm,
        nn.modules.instancenorm._InstanceNorm,
    ) + ((nn.RMSNorm,) if hasattr(nn, "RMSNorm") else ())
    return {
        "norm": norms,
        "act": tuple(getattr(nn, n) for n in _TORCH_ACTS if hasattr(nn, n)),
        "softmax": tuple(getattr(nn, n) for n in _TORCH_SOFTMAX),
    }


def vector_kind(torch, module) -> str:
    """The vector op kind a module performs (norm | act | softmax | elementwise), or ""."""
    if isinstance(module, elementwise_class()):
        return "elementwise"
    for kind, classes in _torch_classes(torch).items():
        if isinstance(module, classes):
            return kind
    if next(module.children(), None) is not None:
        return ""
    name = type(module).__name__
    if _NORM_NAME.search(name):
        return "norm"
    if _ACT_NAME.search(name):
        return "act"
    return ""


def output_elements(output) -> int:
    """Elements of a module's output: a tensor, or the tensors of a tuple/list."""
    if isinstance(output, (tuple, list)):
        return sum(output_elements(o) for o in output)
    return int(output.numel()) if hasattr(output, "numel") else 0


def _elementwise_class():
    from hwsim.workload.tracer import import_torch

    torch = import_torch()

    class Elementwise(torch.nn.Module):
        """Runs `fn(*args)`; traced as one vector op of the output's elements.

        merge_calls: all calls count as one op, placed at the first call, their elements
        summed (a decoder layer's two residual adds are one `residual_add` on the cards).
        """

        def __init__(self, fn, merge_calls: bool = False):
            super().__init__()
            self.fn, self.merge_calls = fn, merge_calls

        def forward(self, *args):
            return self.fn(*args)

    return Elementwise


_ELEMENTWISE = None


def elementwise_class():
    """The `Elementwise` module class (made on first use: it subclasses torch.nn.Module)."""
    global _ELEMENTWISE
    if _ELEMENTWISE is None:
        _ELEMENTWISE = _elementwise_class()
    return _ELEMENTWISE


def Elementwise(fn, merge_calls: bool = False):  # noqa: N802 (reads as the class it builds)
    """A new `Elementwise` module computing fn(*args); see the class docstring."""
    return elementwise_class()(fn, merge_calls)
