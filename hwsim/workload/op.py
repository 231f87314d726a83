"""Op and Workload: what a model asks the hardware to do, in order.

Conventions: every matrix op is C[M, N] = A[M, K] @ W[N, K].T, repeated `batch` times
independently (attention heads), and the whole op `repeat` times (identical decoder layers
folded into one op). Per-op figures are for one instance; totals multiply by `repeat`.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, field

import numpy as np

OP_KINDS = ("gemm", "conv", "attn_qk", "attn_av", "vector")
PHASES = ("prefill", "decode", "")
VECTOR_KINDS = ("softmax", "norm", "act", "elementwise", "pool", "embedding")


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
    # attention under grouped-query / multi-query attention: consecutive instances of `batch`
    # in groups of kv_group (query heads per KV head) read the same K / V
    kv_group: int = 1
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

    @property
    def input_elements(self) -> int:
        """Elements of the input activation of one instance (a conv's feature map, not im2col)."""
        if self.kind == "vector":
            return self.elements
        if self.kind == "conv" and self.conv is not None:
            c = self.conv
            images = self.M // max(1, c.out_hw[0] * c.out_hw[1])
            return images * c.in_channels * c.in_hw[0] * c.in_hw[1]
        return self.batch * self.M * self.K

    @property
    def weight_elements(self) -> int:
        """Elements of the second operand (weights, or K/V for attention, once per KV head; 0 for
        vector ops)."""
        return 0 if self.kind == "vector" else self.batch // self.kv_group * self.N * self.K

    @property
    def output_elements(self) -> int:
        return self.elements if self.kind == "vector" else self.batch * self.M * self.N

    def bytes(self, act_bits: int = 16, weight_bits: int = 16) -> int:
        """Bytes read and written by one instance: inputs + weights + outputs, each once.

        Attention ops read their second operand (K or V) as an activation, at `act_bits`.
        """
        wb = act_bits if self.weight_is_activation else weight_bits
        bits = (self.input_elements + self.output_elements) * act_bits
        return math.ceil(bits / 8) + math.ceil(self.weight_elements * wb / 8)


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

    def bytes(self, act_bits: int = 16, weight_bits: int = 16) -> int:
        """Total bytes moved, each op's operands once per instance, repeat counts included."""
        return sum(op.bytes(act_bits, weight_bits) * op.repeat for op in self.ops)

    @property
    def weight_params(self) -> int:
        """Stored weight elements (attention operands excluded), repeat counts included."""
        return sum(
            op.weight_elements * op.repeat
            for op in self.ops
            if op.kind in ("gemm", "conv") and not op.weight_is_activation
        )

    def select(self, pattern: str) -> tuple[Op, ...]:
        """Ops whose name matches an fnmatch pattern or whose kind equals `pattern`."""
        return tuple(
            op for op in self.ops if op.kind == pattern or fnmatch.fnmatchcase(op.name, pattern)
        )

    def op(self, name: str) -> Op:
        """The op with this exact name (KeyError if none)."""
        for o in self.ops:
            if o.name == name:
                return o
        raise KeyError(name)
