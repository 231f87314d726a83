"""Per-layer sensitivity of a model to each candidate format: the accuracy side of the search.

`sensitivities(task, candidates, method)` -> {layer: {candidate name: value}}, larger = worse.
A layer is a matrix op as hwsim's tracer names it (module path, `path@k` for a later call of
the same module): the names a recipe's `match:` selects.

hessian   HAWQ-V2 / V3 (Dong et al., NeurIPS 2020; Yao et al., ICML 2021;
          github.com/Zhen-Dong/HAWQ), per layer and candidate
              Omega = Tr(H_W) / n_W * |Q(W) - W|^2  +  Tr(H_A) / n_A * |Q(A) - A|^2
          with H_W, H_A the Hessian of the task loss w.r.t. that op call's weights (K / V for
          attention) and w.r.t. its input activations: each call computes from leaf tensors of
          its own, so `path@2` is a layer of its own and the activation term covers only what
          this op reads. Traces by Hutchinson's estimator (`hutchinson`): the mean of v'Hv over
          `samples` Rademacher vectors from a torch.Generator seeded with `seed`, with the
          standard error of that mean (HessianTrace); one forward and one backward with
          create_graph, then one Hessian-vector product for all layers per sample. Q: the
          candidate's QuantSpecs (hwsim.dtypes.quantize -> dequantize, groups zero-padded as
          stored; with `arch`, the operands exactly as hwsim.sim.tensors.operands gives them to
          the PE, arch defaults included) on the operands in the tracer's layout (im2col for
          convolutions, one instance per group or head); |.|^2 / n is the mean squared error over
          that layout, so the activation term of a convolution uses the MSE per im2col element.
          The loss: SmolLM2, next-token cross-entropy on its own text; MiniLM and EfficientNet
          have no labels, so self-distillation against the fp32 model: mean squared error of the
          sentence embeddings, KL(p_fp32 || p) of the class probabilities (at fp32 their Hessian
          is the Gauss-Newton matrix, positive semidefinite).
          Cost: one forward, 1 + `samples` backwards, one quantization of every operand per
          candidate (measured on SmolLM2-135M and MiniLM: benchmarks/RESULTS.md).
measured  (hwsim.layersearch.measured) the task metric's change when only that layer is quantized,
          every other op fp32: perplexity (SmolLM2), 1 - embedding cosine (MiniLM),
          1 - p(fp32 top-1) (EfficientNet), against the same layer computed from unquantized
          operands (float64 products rounded once to fp32): a lossless candidate scores 0.
          With `arch` the layer is computed as the hardware computes it (the eval's hardware
          column, hwsim.eval.forward; the op bound by hwsim.sim.plan to a recipe whose only
          rule is the candidate's); without, fake-quant (quantize -> dequantize, float64
          product, one fp32 rounding).
          Blocks (items of ModuleLists and Sequentials) that end before the layer return their
          recorded fp32 outputs, so each forward runs the layer and what follows it only.
          Cost per layer: 1 + len(candidates) such partial forwards (half a model forward on
          average), the one op on numpy or, with `arch`, on the PE simulation.

`cache_dir`: results as JSON files keyed by model, its inputs, the method's settings, the
candidate's rule, the arch and hwsim's version; `measured` stores after every layer, so a
stopped run resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import fnmatch
import math
from dataclasses import dataclass

import numpy as np

from hwsim.errors import HwsimError
from hwsim.eval.metrics import METRICS
from hwsim.layersearch.sensitivity_cache import Store, arch_key, task_key
from hwsim.workload.tracer import call_name, import_torch, matmul_class, record_op

METHODS = ("hessian", "measured")
WEIGHTED_KINDS = ("gemm", "conv")


@dataclass(frozen=True)
class HessianTrace:
    """Hutchinson's estimate of the trace of one operand's Hessian block."""

    trace: float
    stderr: float  # standard error of the mean over the samples (nan for one sample)
    samples: int
    elements: int  # the operand's element count (n in Tr(H) / n)


def sensitivities(
    task, candidates, method="hessian", cache_dir=None, arch=None, samples=16, seed=0, layers=None
) -> dict:
    """{layer: {candidate name: sensitivity}} of `task` (a hwsim.eval.tasks.Task or a shipped
    model's name) for each Candidate (hwsim.layersearch.candidates) by `method` (module doc);
    `layers`: op names or fnmatch patterns to limit it to; `samples` / `seed`: Hutchinson's."""
    from hwsim.eval.tasks import Task, load_task
    from hwsim.layersearch.candidates import load_candidates

    if method not in METHODS:
        raise HwsimError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    task = task if isinstance(task, Task) else load_task(task)
    candidates = load_candidates(candidates)
    if arch is not None and not hasattr(arch, "units"):
        from hwsim.spec import load_arch

        arch = load_arch(arch)
    wl = _shapes(task)
    names = _selected(wl, layers)
    if method == "hessian":
        traces = hessian_traces(task, samples, seed, cache_dir)
        out = {n: {} for n in names}
        for c in candidates:
            errs = operand_errors(task, c, arch, cache_dir, wl)
            for n in names:
                t, e = traces[n], errs[n]
                out[n][c.name] = _clamped(t["weights"]) * e[0] + _clamped(t["inputs"]) * e[1]
        return out
    from hwsim.layersearch.measured import measured

    return measured(task, candidates, arch, cache_dir, wl, names)


def _clamped(t: HessianTrace) -> float:
    """The trace for Omega, at least 0: a negative estimate (noise around a positive
    semidefinite block, or negative curvature where the loss is not at a minimum) must not
    make quantizing a layer look better than leaving it in float."""
    return max(t.trace, 0.0)


def _shapes(task):
    from hwsim.workload.tracer import trace

    try:
        return trace(task.model, *task.inputs, name=task.name, keep_tensors=False)
    except HwsimError as e:
        raise HwsimError(f"model {task.name}: {e}") from None


def _selected(wl, layers) -> list[str]:
    """The layers to score: `layers` (names / fnmatch patterns) of the matrix ops, by default
    those with weights (gemm, conv: attention's second operand is K / V)."""
    names = [op.name for op in wl.ops if op.kind != "vector"]
    if layers is None:
        return [op.name for op in wl.ops if op.kind in WEIGHTED_KINDS]
    for pat in layers:
        if not any(fnmatch.fnmatchcase(n, pat) for n in names):
            raise HwsimError(f"layers: {pat!r} selects no layer of model {wl.name}; expected an "
                             f"op name or fnmatch pattern such as {names[0]!r}")  # fmt: skip
    return [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in layers)]


# --- Hessian traces ---------------------------------------------------------------------------
def hutchinson(loss, tensors: list, samples: int, seed: int = 0) -> list[HessianTrace]:
    """Tr of the Hessian of scalar `loss` w.r.t. each of `tensors` (its diagonal block): mean of
    v'Hv over `samples` Rademacher v (torch.Generator seeded with `seed`, drawn in `tensors`
    order), one Hessian-vector product per sample for all tensors."""
    torch = import_torch()
    if samples < 1:
        raise HwsimError(f"samples: expected an integer >= 1, got {samples!r}")
    grads = torch.autograd.grad(loss, tensors, create_graph=True, allow_unused=True)
    live = [i for i, g in enumerate(grads) if g is not None and g.requires_grad]  # else H = 0
    gen = torch.Generator().manual_seed(seed)
    est = np.zeros((samples, len(tensors)))
    for s in range(samples):
        vs = [_rademacher(torch, tensors[i], gen) for i in live]
        hv = torch.autograd.grad(
            [grads[i] for i in live], [tensors[i] for i in live], vs, retain_graph=True,
            allow_unused=True,
        )  # fmt: skip
        for i, v, h in zip(live, vs, hv):
            if h is not None:
                est[s, i] = float((v * h).sum(dtype=torch.float64))
    mean = est.mean(axis=0)
    se = est.std(axis=0, ddof=1) / math.sqrt(samples) if samples > 1 else np.full(len(mean), np.nan)
    return [
        HessianTrace(float(m), float(e), samples, t.numel()) for m, e, t in zip(mean, se, tensors)
    ]


def _rademacher(torch, like, gen):
    v = torch.randint(0, 2, like.shape, generator=gen, dtype=torch.int8)
    return v.to(like.dtype) * 2 - 1


def task_loss(task):
    """loss(model) -> a scalar tensor with autograd (module doc: cross-entropy or, without
    labels, self-distillation against the fp32 output, which is recorded now)."""
    torch = import_torch()
    F = torch.nn.functional
    if task.name == "smollm2-135m":
        target = task.inputs[0][0, 1:]
        return lambda m: F.cross_entropy(task.forward(m, *task.inputs), target)
    if task.name == "minilm-l6":
        ids, mask = task.inputs

        def embed(m):  # hwsim.workload.models.minilm_embed's pooling, which runs under no_grad
            w = mask[..., None].float()
            states, _ = m(ids, mask)
            return F.normalize((states * w).sum(1) / w.sum(1).clamp(min=1e-9), dim=-1)

        with torch.no_grad():
            ref = embed(task.model)
        return lambda m: ((embed(m) - ref) ** 2).mean()
    if task.name == "efficientnet-lite0":
        with torch.no_grad():
            ref = task.forward(task.model, *task.inputs)
        log_ref = ref.log()
        return lambda m: (ref * (log_ref - task.forward(m, *task.inputs).log())).sum(-1).mean()
    raise HwsimError(f"model {task.name}: no sensitivity loss; expected one of "
                     f"{', '.join(METRICS)}")  # fmt: skip


def hessian_traces(task, samples=16, seed=0, cache_dir=None) -> dict:
    """{layer: {"weights": HessianTrace, "inputs": HessianTrace}} of `task` (module doc)."""
    store = Store(cache_dir, "hessian", task_key(task, samples=samples, seed=seed))
    if store.data:
        return {n: {k: HessianTrace(**v) for k, v in d.items()} for n, d in store.data.items()}
    torch = import_torch()
    loss_of = task_loss(task)
    leaves: dict = {}
    with _leaves(torch, task.model, leaves):
        loss = loss_of(task.model)
    keys = list(leaves)
    est = hutchinson(loss, [leaves[k] for k in keys], samples, seed)
    out: dict = {}
    for (name, part), t in zip(keys, est):
        out.setdefault(name, {})[part] = t
    store.save({n: {k: vars(t) for k, t in d.items()} for n, d in out.items()})
    return out


@contextlib.contextmanager
def _leaves(torch, model, leaves: dict):
    """Within, every matrix op call computes from tensors of its own, leaves[(op name, part)]:
    part `weights` (a detached copy of the module's weight; attention: zeros added to K / V)
    and `inputs` (zeros added to its input). The model's parameters take no gradient."""
    mm = matmul_class()
    calls: dict = {}
    saved: dict = {}

    def pre_for(mod_name):
        def pre(module, args):
            name = call_name(calls, mod_name)
            da = torch.zeros_like(args[0], requires_grad=True)
            leaves[(name, "inputs")] = da
            if isinstance(module, mm):
                dw = torch.zeros_like(args[1], requires_grad=True)
                leaves[(name, "weights")] = dw
                return (args[0] + da, args[1] + dw, *args[2:])
            w = module.weight.detach().requires_grad_()
            leaves[(name, "weights")] = w
            saved[module] = module._parameters["weight"]
            module._parameters["weight"] = w  # what forward reads as self.weight
            return (args[0] + da, *args[1:])

        return pre

    def post(module, args, output):
        if module in saved:
            module._parameters["weight"] = saved.pop(module)

    params = list(model.parameters())
    flags = [p.requires_grad for p in params]
    handles = []
    for mod_name, module in model.named_modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d, mm)):
            handles.append(module.register_forward_pre_hook(pre_for(mod_name)))
            handles.append(module.register_forward_hook(post))
    try:
        for p in params:
            p.requires_grad_(False)
        with torch.enable_grad():
            yield
    finally:
        for h in handles:
            h.remove()
        for module, w in saved.items():
            module._parameters["weight"] = w
        for p, f in zip(params, flags):
            p.requires_grad_(f)


# --- quantization errors ----------------------------------------------------------------------
def operand_errors(task, candidate, arch=None, cache_dir=None, wl=None) -> dict:
    """{layer: (weight MSE, input MSE)} of `candidate`'s quantization of each matrix op's
    operands in the tracer's layout, from one fp32 forward (module doc)."""
    store = Store(cache_dir, "errors", task_key(task, rule=candidate.rule, arch=arch_key(arch)))
    if store.data:
        return {n: tuple(v) for n, v in store.data.items()}
    torch = import_torch()
    quantizers = _Quantizers(candidate, arch, wl or _shapes(task))
    out: dict = {}

    def measure(name, module, args, output):
        op = record_op(torch, name, name, module, args, output, True)
        A, W = op_instances(op)
        qa, qw = quantizers.for_op(name)
        out[name] = (_mse(W, qw), _mse(A, qa))

    with hooked(torch, task.model, measure):
        task.forward(task.model, *task.inputs)
    store.save(out)
    return out


def op_instances(op) -> tuple:
    A, W = op.inputs, op.weights
    return (A, W) if A.ndim == 3 else (A[None], W[None])


def _mse(X: np.ndarray, q) -> float:
    err = sum(float(((q(x) - x.astype(np.float64)) ** 2).sum()) for x in X)
    return err / X.size if X.size else 0.0


class _Quantizers:
    """Per op, (activation quantizer, second-operand quantizer): x [rows, K] -> dequantized
    float64 [rows, K], by the candidate's specs or, with an arch, by the op's OpPlan."""

    def __init__(self, candidate, arch, wl):
        self.ops = {op.name: op for op in wl.ops if op.kind != "vector"}
        self.recipe = candidate_recipe(candidate)
        self.plans = op_plans(arch, wl, candidate) if arch is not None else None

    def for_op(self, name):
        if self.plans is not None:
            return _plan_quantizers(self.plans[name])
        w, a = self.recipe.specs_for(self.ops[name])
        return spec_quantizer(a), spec_quantizer(w)


def candidate_recipe(candidate, match: str = "*"):
    """The Recipe whose one rule gives the ops `match` selects the candidate's rule body."""
    from hwsim.workload import load_recipe

    rule = {"match": match, **candidate.rule}
    return load_recipe({"version": 1, "name": candidate.name, "rules": [rule]})


def op_plans(arch, wl, candidate) -> dict:
    """{op name: OpPlan} of the candidate on every op; one op it cannot run is named alone."""
    from hwsim.sim.plan import plan

    try:
        bound = plan(arch, wl, candidate_recipe(candidate))
    except HwsimError:
        for op in wl.ops:  # the first op it cannot run, in a message naming it
            if op.kind != "vector":
                try:
                    plan(arch, wl, candidate_recipe(candidate, op.name))
                except HwsimError as e:
                    raise HwsimError(f"candidate {candidate.name}: layer {op.name}: {e}") from None
        raise
    return {p.op.name: p for p in bound.ops if p.op.kind != "vector"}


def spec_quantizer(spec):
    from hwsim.dtypes import dequantize, quantize
    from hwsim.sim.tensors import pad_k, padded_k

    def q(x):
        if spec is None:
            return np.asarray(x, dtype=np.float64)
        K = x.shape[-1]
        return dequantize(quantize(pad_k(x, padded_k(K, [spec])), spec))[..., :K]

    return q


def _plan_quantizers(p):
    """The PE's operands of OpPlan `p` (hwsim.sim.tensors.operands), dequantized."""
    from hwsim.eval.datapath import dequantized
    from hwsim.sim.tensors import operands

    def part(i):
        def q(x):
            zeros = np.zeros((1, x.shape[-1]))
            pair = operands(p, x, zeros) if i == 0 else operands(p, zeros, x)
            return dequantized(pair[i])[..., : x.shape[-1]]

        return q

    return part(0), part(1)


@contextlib.contextmanager
def hooked(torch, model, fn):
    """Within, fn(op name, module, args, output) runs after every matrix op call (no_grad);
    a value it returns replaces the module's output."""
    mm = matmul_class()
    calls: dict = {}

    def hook_for(mod_name):
        return lambda module, args, output: fn(call_name(calls, mod_name), module, args, output)

    handles = [
        module.register_forward_hook(hook_for(mod_name))
        for mod_name, module in model.named_modules()
        if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d, mm))
    ]
    try:
        with torch.no_grad():
            yield calls
    finally:
        for h in handles:
            h.remove()
