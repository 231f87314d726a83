"""The `measured` sensitivity (hwsim.layersearch.sensitivity's module doc): the task metric's change
when only one layer is quantized, the rest of the model fp32."""

from __future__ import annotations

import numpy as np

from hwsim.errors import HwsimError
from hwsim.eval.metrics import METRICS, headline, worse_sign
from hwsim.layersearch.sensitivity import (
    candidate_recipe,
    hooked,
    op_instances,
    op_plans,
    spec_quantizer,
)
from hwsim.layersearch.sensitivity_cache import Store, arch_key, task_key
from hwsim.workload.tracer import import_torch, matmul_class, record_op


def measured(task, candidates, arch, cache_dir, wl, names) -> dict:
    """{layer: {candidate: sign * (metric(candidate) - metric(unquantized))}} for `names`."""
    torch = import_torch()
    if task.name not in METRICS:
        raise HwsimError(f"model {task.name}: no measured metric; expected one of "
                         f"{', '.join(METRICS)}")  # fmt: skip
    metric = headline(task.name)
    sign = worse_sign(metric)
    ak = arch_key(arch)
    base = Store(cache_dir, "measured", task_key(task, rule=None))
    stores = {c.name: Store(cache_dir, "measured", task_key(task, rule=c.rule, arch=ak))
              for c in candidates}  # fmt: skip
    plans = {c.name: op_plans(arch, wl, c) for c in candidates} if arch is not None else None
    specs = {c.name: candidate_recipe(c) for c in candidates}
    upstream = _Upstream(torch, task)
    ops = {op.name: op for op in wl.ops}

    def score(name, compute) -> float:
        out = upstream.forward(name, compute)
        return float(task.metric(upstream.reference, out)[metric])

    for name in names:
        todo = [c for c in candidates if name not in stores[c.name].data]
        if not todo:
            continue
        if name not in base.data:
            base.data[name] = score(name, _fake_compute(torch, (None, None)))
            base.save()
        for c in todo:
            if plans is not None:
                compute = _hardware_compute(torch, plans[c.name][name])
            else:
                w, a = specs[c.name].specs_for(ops[name])
                compute = _fake_compute(torch, (a, w))
            stores[c.name].data[name] = sign * (score(name, compute) - base.data[name]) + 0.0
            stores[c.name].save()
    return {n: {c.name: stores[c.name].data[n] for c in candidates} for n in names}


def _fake_compute(torch, specs):
    """compute(module, name, args, output) -> the op's output from operands quantized ->
    dequantized by `specs` (activations, second operand), float64 products, fp32."""
    from hwsim.eval.forward import torch_layout

    qa, qw = (spec_quantizer(s) for s in specs)

    def compute(module, name, args, output):
        op = record_op(torch, name, name, module, args, output, True)
        A, W = op_instances(op)
        outs = np.stack([(qa(a) @ qw(w).T).astype(np.float32) for a, w in zip(A, W)])
        y = torch.from_numpy(torch_layout(outs, module, output, torch))
        bias = getattr(module, "bias", None)
        if bias is not None:
            y = y + (bias[:, None, None] if isinstance(module, torch.nn.Conv2d) else bias)
        return y

    return compute


def _hardware_compute(torch, p):
    """compute(...) -> the op's output as its unit's PE computes it (the eval's hardware
    column, hwsim.eval.forward)."""
    from hwsim.eval.forward import replaced_output

    def compute(module, name, args, output):
        return replaced_output(torch, module, name, args, output, p, "hardware", {}, None)

    return compute


class _Upstream:
    """The fp32 forward of a task, recorded once; `forward(layer, compute)` reruns it with that
    layer computed by `compute`, the blocks wholly before the layer returning their recorded
    outputs (a block called more than once is always run)."""

    def __init__(self, torch, task):
        self.torch, self.task = torch, task
        mm = matmul_class()
        kinds = (torch.nn.ModuleList, torch.nn.Sequential)
        self.blocks = [b for m in task.model.modules() if isinstance(m, kinds) for b in m]
        self.records: dict = {}  # block index -> (end op index, module calls, output) | None
        self.order: dict = {}  # op name -> index in the forward
        starts: dict = {}

        def op_hook(name, module, args, output):
            self.order[name] = len(self.order)

        def pre_for(i):
            def pre(module, args):
                starts[i] = (len(self.order), dict(calls))

            return pre

        def post_for(i):
            def post(module, args, output):
                start, before = starts.pop(i)
                called = {k: v - before.get(k, 0) for k, v in calls.items() if v != before.get(k)}
                once = i not in self.records
                self.records[i] = (len(self.order), called, output) if once else None

            return post

        handles = []
        for i, b in enumerate(self.blocks):
            if any(isinstance(m, (torch.nn.Linear, torch.nn.Conv2d, mm)) for m in b.modules()):
                handles += [b.register_forward_pre_hook(pre_for(i)),
                            b.register_forward_hook(post_for(i))]  # fmt: skip
        try:
            with hooked(torch, task.model, op_hook) as calls:
                self.reference = task.forward(task.model, *task.inputs)
        finally:
            for h in handles:
                h.remove()

    def forward(self, layer, compute):
        from torch.utils._pytree import tree_map

        t = self.order[layer]
        calls_box: list = []

        def skip_for(called, output):
            def skip(*args, **kwargs):
                for k, v in called.items():  # the op names a later call of these modules gets
                    calls_box[0][k] = calls_box[0].get(k, 0) + v
                return tree_map(lambda x: x.clone() if hasattr(x, "clone") else x, output)

            return skip

        skipped = []

        def fn(name, module, args, output):
            return compute(module, name, args, output) if name == layer else None

        try:
            for i, rec in self.records.items():
                if rec is not None and rec[0] <= t:
                    self.blocks[i].forward = skip_for(rec[1], rec[2])
                    skipped.append(self.blocks[i])
            with hooked(self.torch, self.task.model, fn) as calls:
                calls_box.append(calls)
                return self.task.forward(self.task.model, *self.task.inputs)
        finally:
            for b in skipped:
                del b.forward
