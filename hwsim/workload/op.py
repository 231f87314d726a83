"""Op and Workload: what a model asks the hardware to do, in order.

Conventions: every matrix op is C[M, N] = A[M, K] @ W[N, K].T, repeated `batch` times
independently (attention heads), and the whole op `repeat` times (identical decoder layers
folded into one op). Per-op figures are for one instance; totals multiply by `repeat`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

OP_KINDS = ("gemm", "conv", "attn_qk", "attn_av", "vector")


@dataclass(frozen=True)
class ConvShape:
    """A convolution before lowering (NCHW, square or not)."""

    in_channels: int
    out_channels: int
    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    in_hw: tuple[int, int] = (1, 1)
    out_hw: tuple[int, int] = (1, 1)
    groups: int = 1


@dataclass(frozen=True, eq=False)
class Op:
    """One operation: a GEMM (conv lowered by im2col), an attention matmul, or a vector op."""

    name: str
    kind: str  # one of OP_KINDS
    M: int = 0  # rows of the output (tokens, or output pixels for a conv)
    N: int = 0  # output features / channels (per group for grouped convs)
    K: int = 0  # reduction length (per group)
    batch: int = 1  # independent GEMMs of this shape (heads; groups of a conv)
    repeat: int = 1  # identical instances (folded layers)
    module: str = ""  # producing module (torch module path or card path)
    elements: int = 0  # vector ops: elements processed
    vector_kind: str = ""  # vector ops: softmax | norm | act | elementwise | ...
    conv: ConvShape | None = None
    # both operands are activations (QK^T, AV): no weight stored in memory
    weight_is_activation: bool = False
    # real tensors, when traced: inputs [batch?, M, K], weights [batch?, N, K]
    inputs: np.ndarray | None = field(default=None, repr=False)
    weights: np.ndarray | None = field(default=None, repr=False)

    @property
    def macs(self) -> int:
        """MACs of one instance (0 for vector ops)."""
        return 0 if self.kind == "vector" else self.M * self.N * self.K * self.batch

    @property
    def total_macs(self) -> int:
        return self.macs * self.repeat


@dataclass(frozen=True, eq=False)
class Workload:
    """An ordered list of ops plus what they came from."""

    name: str
    ops: tuple[Op, ...]
    phase: str = ""  # prefill | decode | "" (not an LLM)
    metadata: dict = field(default_factory=dict)

    @property
    def macs(self) -> int:
        """Total multiply-accumulates, repeat counts included."""
        return sum(op.total_macs for op in self.ops)

    def __len__(self) -> int:
        return len(self.ops)
