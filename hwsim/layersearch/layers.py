"""The layers a search chooses a precision for: one op each, named as the tracer names it.

Shipped workloads fold identical numbered layers into one op with a repeat count
(hwsim.workload.tracer.fold_layers: `model.layers.*.mlp.up_proj`, repeat 30); a per-layer
search needs each layer on its own, so `unfold_layers` undoes that fold (`model.layers.0...`
to `model.layers.29...`, repeat 1 each, in layer order), the names the tracer and the
sensitivity tables use. A recipe rule selects one layer with `rule_pattern(name)`.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import replace

from hwsim.errors import HwsimError
from hwsim.workload.op import Workload

SEARCHED_KINDS = ("gemm", "conv")  # ops with weights: attention's second operand is K / V
_FOLDED = ".*."


def unfold_layers(workload: Workload) -> Workload:
    """`workload` with every folded op (a `.*.` in its name) split into its layers: layer i of
    a repeat-R op is named with i in place of `*`, and ops are ordered layer by layer (the
    fold's layers 0..R-1, each run once, as the tracer and the model cards fold them)."""
    folded = [op for op in workload.ops if _FOLDED in op.name]
    if not folded:
        return workload
    layers = max(op.repeat for op in folded)
    out, pending = [], []  # pending: the folded ops of the current run of consecutive ones
    for op in [*workload.ops, None]:
        if op is not None and _FOLDED in op.name:
            pending.append(op)
            continue
        if pending:
            for i in range(layers):
                out.extend(_layer(f, i) for f in pending if i < f.repeat)
            pending = []
        if op is not None:
            out.append(op)
    return Workload(workload.name, tuple(out), workload.phase, dict(workload.metadata))


def _layer(op, i: int):
    def named(s: str) -> str:
        return s.replace(_FOLDED, f".{i}.", 1)

    return replace(op, name=named(op.name), module=named(op.module), repeat=1)


def rule_pattern(name: str) -> str:
    """An fnmatch pattern selecting exactly the op called `name`."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def select_layers(workload: Workload, patterns=None) -> list[str]:
    """Names of the weight ops (gemm, conv) of `workload` that `patterns` (globs on op names;
    None: all) select, in program order; a pattern selecting none is an error."""
    names = [op.name for op in workload.ops if op.kind in SEARCHED_KINDS]
    if not names:
        raise HwsimError(f"workload {workload.name}: no gemm or conv op to search")
    if patterns is None:
        return list(dict.fromkeys(names))
    pats = [patterns] if isinstance(patterns, str) else list(patterns)
    picked = []
    for pat in pats:
        hits = [n for n in names if fnmatch.fnmatchcase(n, pat)]
        if not hits:
            raise HwsimError(
                f"--layers {pat!r}: matches no gemm or conv op of {workload.name} "
                f"(e.g. {names[0]!r})"
            )
        picked.extend(hits)
    chosen = set(picked)
    return [n for n in dict.fromkeys(names) if n in chosen]
