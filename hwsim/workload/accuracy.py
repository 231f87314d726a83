"""End-to-end accuracy proxies of a quant recipe on the shipped real models.

The recipe's weight spec replaces each nn.Linear's and nn.Conv2d's weight by its quantize ->
dequantize image (once; a conv's weight as the tracer's GEMM view, one row per output channel);
its activation spec fake-quantizes the layer's input on every call; attention
`MatMul`s get both operands fake-quantized (activation spec for Q / P; K / V as
hwsim.workload.recipe.Recipe.specs_for says: the attn rule's "weights" spec, else the
activations'). Everything else (norms, softmax, GELU) stays fp32.
  * MiniLM: cosine similarity of sentence embeddings against fp32 (mean over sentences).
  * SmolLM2: perplexity and next-token top-1 agreement (with the text, and with the fp32
    model's own predictions) on hwsim's SAMPLE_TEXT.
Run `python -m hwsim.workload.accuracy` for the table over the shipped recipes.

`traced_sqnr` is the per-op output SQNR of a recipe on a workload's own traced tensors (what
`hwsim run` reports when the workload carries them, instead of the synthetic proxy GEMM).
"""

from __future__ import annotations

import contextlib

import numpy as np

from hwsim.workload.op import Op
from hwsim.workload.recipe import load_recipe
from hwsim.workload.tracer import import_torch, matmul_class

SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "Accelerators multiply small integers very quickly.",
    "A quantized network stores its weights in only a few bits.",
    "The weather in the mountains changed suddenly that afternoon.",
)


TRACED_SOURCE = "traced tensors"


def traced_sqnr(workload, recipe, rng: np.random.Generator) -> dict | None:
    """{"output_sqnr_db": mean over the traced matrix ops, "sqnr_source", "op_sqnr_db": per op}
    of `recipe` on the workload's own tensors; None when no op carries tensors."""
    from hwsim.workload.recipe import apply_recipe

    traced = [op.name for op in workload.ops if op.weights is not None and op.inputs is not None]
    if not traced:
        return None
    table = apply_recipe(workload, recipe, rng, ops=traced).table()
    per_op = {r.op: float(r.output_sqnr_db) for r in table.itertuples()}
    return {
        "output_sqnr_db": float(np.mean(list(per_op.values()))),
        "sqnr_source": TRACED_SOURCE,
        "op_sqnr_db": per_op,
    }


def _fake(torch, x, spec, rng, rows: bool = False):
    """x's quantize -> dequantize image; `rows`: quantized as [shape[0], rest] (a conv weight
    as one row per output channel, the tracer's GEMM view)."""
    if spec is None:
        return x
    from hwsim.dtypes import dequantize, quantize

    arr = x.detach().float().cpu().numpy()
    flat = arr.reshape(arr.shape[0], -1) if rows else arr
    out = dequantize(quantize(flat, spec, rng)).reshape(arr.shape)
    return torch.from_numpy(out.astype(np.float32))


@contextlib.contextmanager
def quantized(model, recipe, rng: np.random.Generator):
    """Within the block, `model` computes with the recipe's fake-quantized operands."""
    torch = import_torch()
    recipe = load_recipe(recipe)
    mm = matmul_class()
    saved, handles = {}, []
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Linear | torch.nn.Conv2d):
            kind = "gemm" if isinstance(mod, torch.nn.Linear) else "conv"
            w_spec, a_spec = recipe.specs_for(Op(name, kind, M=1, N=1, K=1))
            saved[name] = mod.weight.data
            if w_spec is not None:
                mod.weight.data = _fake(torch, mod.weight.data, w_spec, rng, rows=True)
            if a_spec is not None:
                handles.append(mod.register_forward_pre_hook(_pre(torch, (a_spec,), rng)))
        elif isinstance(mod, mm):
            attn = Op(name, mod.kind, M=1, N=1, K=1, weight_is_activation=True)
            w_spec, a_spec = recipe.specs_for(attn)
            handles.append(mod.register_forward_pre_hook(_pre(torch, (a_spec, w_spec), rng)))
    try:
        yield model
    finally:
        for h in handles:
            h.remove()
        for name, mod in model.named_modules():
            if name in saved:
                mod.weight.data = saved[name]


def _pre(torch, specs, rng):
    def hook(module, args):
        out = [_fake(torch, a, s, rng) for a, s in zip(args, specs)]
        return (*out, *args[len(specs) :])

    return hook


def minilm_cosine(recipe, rng, model_tok=None) -> float:
    """Mean cosine similarity of quantized vs fp32 MiniLM sentence embeddings."""
    from hwsim.workload import models

    model, tok = model_tok or models.load_minilm()
    ids, mask = models.minilm_inputs(tok, SENTENCES)
    ref = models.minilm_embed(model, ids, mask)
    with quantized(model, recipe, rng):
        got = models.minilm_embed(model, ids, mask)
    return float((ref * got).sum(-1).mean())  # both L2-normalised


def smollm2_scores(recipe, rng, model_tok=None, max_tokens: int = 0) -> dict:
    """Perplexity and top-1 agreements of quantized SmolLM2 on SAMPLE_TEXT."""
    torch = import_torch()
    from hwsim.workload import models

    model, tok = model_tok or models.load_smollm2()
    ids = models.smollm2_ids(tok, models.SAMPLE_TEXT, max_tokens)
    with torch.no_grad():
        ref_top = model(ids)[0, :-1].argmax(-1)
    with quantized(model, recipe, rng):
        ppl, agree = models.perplexity(model, ids)
        with torch.no_grad():
            top = model(ids)[0, :-1].argmax(-1)
    return {
        "perplexity": ppl,
        "top1_text": agree,
        "top1_fp32": float((top == ref_top).double().mean()),
    }


def main() -> None:
    from hwsim.shipped import files
    from hwsim.workload import models

    recipes = list(files("recipe").values())
    mt, st = models.load_minilm(), models.load_smollm2()
    fp = models.perplexity(st[0], models.smollm2_ids(st[1]))
    print("| recipe | MiniLM cosine | SmolLM2 ppl | top-1 vs text | top-1 vs fp32 |")
    print("|---|---|---|---|---|")
    print(f"| fp32 | 1.0000 | {fp[0]:.2f} | {fp[1]:.3f} | 1.000 |")
    for path in recipes:
        cos = minilm_cosine(path, np.random.default_rng(0), mt)
        s = smollm2_scores(path, np.random.default_rng(0), st)
        print(
            f"| {path.stem} | {cos:.4f} | {s['perplexity']:.2f} | {s['top1_text']:.3f} | "
            f"{s['top1_fp32']:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
