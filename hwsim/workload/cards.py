"""Model cards: the shapes of published models as Workloads, with no weights at all.

A card string is `model:phase:length[:batch]`:
  * decoder LLMs (llama-2-7b, ..., smollm2-135m): `prefill` runs `length` tokens per sequence
    (causal attention counted as the full length x length matmul, as GEMM hardware runs it;
    lm_head over every token, as HF `forward` and the BitMoD simulator do); `decode` runs one
    new token per sequence against a KV cache of `length` tokens (attention M=1, N/K=length).
  * encoders (bert-base, minilm-l6): `prefill` (alias `infer`) over `length` tokens.
  * vision (vit-b-16, resnet-18, resnet-50): `prefill` / `infer`, `length` = input resolution
    in pixels (224 for the published figures).
Op names follow the source model's module names (HF transformers for LLMs/BERT/ViT, torchvision
for ResNet). Identical layers are folded: `model.layers.*.self_attn.q_proj` with repeat=32
stands for `model.layers.0.self_attn.q_proj` ... `model.layers.31...`; identical ResNet blocks
1..n-1 of a stage become `layer3.[1-5].conv1` with repeat=5. Both spellings are fnmatch
patterns matching the real module names. Names of attention matmuls and vector ops that are
not modules in the source (`self_attn.attn_qk`, `self_attn.softmax`, `residual_add`) sit under
the module that performs them; `name@k` is the k-th call of a module called more than once
(torchvision's shared `relu`).

Linear ops: M = tokens (batch x tokens per sequence), N = out features, K = in features.
Attention: batch = sequences x query heads (GQA: each query head reads its group's K/V,
so k_proj/v_proj have N = kv_heads x head_dim while attn_qk/attn_av keep batch = heads and
carry kv_group = heads / kv_heads, the query heads sharing one K/V head);
attn_qk M = queries, N = context, K = head_dim; attn_av M = queries, N = head_dim, K = context.
Both operands are activations (KV at activation precision, e.g. FP16 as in the BitMoD sim).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from hwsim.errors import HwsimError, closest
from hwsim.spec.yamlcheck import number
from hwsim.workload.op import ConvShape, Op, Workload


@dataclass(frozen=True)
class TransformerConfig:
    """A transformer's shapes. family: llama | opt | phi (decoders), bert | vit (encoders)."""

    family: str
    d_model: int
    ffn: int
    layers: int
    heads: int
    kv_heads: int
    vocab: int = 0
    patch: int = 0  # vit: patch size in pixels
    classes: int = 0  # vit: classifier outputs
    head_dim: int = 0  # 0: d_model // heads

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise HwsimError(
                f"card.family: expected one of {', '.join(FAMILIES)}, got {self.family!r}"
            )
        for f in ("d_model", "ffn", "layers", "heads", "kv_heads"):
            number("card.", f, getattr(self, f), "int", gt=0)
        for f in ("vocab", "patch", "classes", "head_dim"):  # 0: none, or the default
            number("card.", f, getattr(self, f), "int", ge=0)
        if self.heads % self.kv_heads:
            raise HwsimError(
                f"card.kv_heads: expected a divisor of heads={self.heads}, got {self.kv_heads}"
            )
        if not self.head_dim and self.d_model % self.heads:
            raise HwsimError(
                f"card.heads: expected a divisor of d_model={self.d_model}, got {self.heads}"
            )
        if self.family in DECODERS and self.vocab <= 0:
            raise HwsimError(f"card.vocab: expected an integer > 0 for a decoder, got {self.vocab}")
        if self.family == "vit" and (self.patch <= 0 or self.classes <= 0):
            raise HwsimError("card.patch/classes: expected integers > 0 for a vit card")

    @property
    def hd(self) -> int:
        return self.head_dim or self.d_model // self.heads


@dataclass(frozen=True)
class ResNetConfig:
    """torchvision ResNet: block `basic` (18/34) or `bottleneck` (50+, v1.5 stride in 3x3)."""

    block: str
    stages: tuple[int, ...]
    classes: int = 1000


FAMILIES = ("llama", "opt", "phi", "bert", "vit")
DECODERS = ("llama", "opt", "phi")

# Shapes from each model's Hugging Face config.json.
MODELS: dict[str, TransformerConfig | ResNetConfig] = {
    "llama-2-7b": TransformerConfig("llama", 4096, 11008, 32, 32, 32, 32000),
    "llama-2-13b": TransformerConfig("llama", 5120, 13824, 40, 40, 40, 32000),
    "llama-2-70b": TransformerConfig("llama", 8192, 28672, 80, 64, 8, 32000),
    "llama-3-8b": TransformerConfig("llama", 4096, 14336, 32, 32, 8, 128256),
    "mistral-7b": TransformerConfig("llama", 4096, 14336, 32, 32, 8, 32000),
    "opt-1.3b": TransformerConfig("opt", 2048, 8192, 24, 32, 32, 50272),
    "opt-6.7b": TransformerConfig("opt", 4096, 16384, 32, 32, 32, 50272),
    "phi-2": TransformerConfig("phi", 2560, 10240, 32, 32, 32, 51200),
    "yi-6b": TransformerConfig("llama", 4096, 11008, 32, 32, 4, 64000),
    "smollm2-135m": TransformerConfig("llama", 576, 1536, 30, 9, 3, 49152),
    "bert-base": TransformerConfig("bert", 768, 3072, 12, 12, 12),
    "minilm-l6": TransformerConfig("bert", 384, 1536, 6, 12, 12),
    "vit-b-16": TransformerConfig("vit", 768, 3072, 12, 12, 12, patch=16, classes=1000),
    "resnet-18": ResNetConfig("basic", (2, 2, 2, 2)),
    "resnet-50": ResNetConfig("bottleneck", (3, 4, 6, 3)),
}


def model_names() -> tuple[str, ...]:
    return tuple(MODELS)


def is_decoder(cfg) -> bool:
    """Decoder LLMs have prefill and decode phases; the others prefill (alias infer)."""
    return isinstance(cfg, TransformerConfig) and cfg.family in DECODERS


def parse_card(text: str) -> tuple[str, str, int, int]:
    """`model:phase:length[:batch]` -> (model, phase, length, batch), validated."""
    parts = text.strip().split(":")
    if len(parts) not in (3, 4):
        raise HwsimError(f"card {text!r}: expected model:phase:length[:batch]")
    model, phase = parts[0].lower(), parts[1].lower()
    if model not in MODELS:
        raise HwsimError(
            f"card {text!r}: unknown model {model!r}; closest: {closest(model, MODELS)}"
        )
    nums = []
    for label, raw in zip(("length", "batch"), parts[2:]):
        if not (raw.isascii() and raw.isdigit()) or int(raw) <= 0:  # "²".isdigit() too
            raise HwsimError(f"card {text!r}: {label} expected an integer > 0, got {raw!r}")
        nums.append(int(raw))
    return model, phase, nums[0], nums[1] if len(nums) > 1 else 1


def load_card(text: str) -> Workload:
    """Build the Workload a card string names."""
    model, phase, length, batch = parse_card(text)
    return build_card(model, phase, length, batch)


def build_card(model, phase: str, length: int, batch: int = 1) -> Workload:
    """A card by model name (or a TransformerConfig / ResNetConfig) and phase."""
    name = model if isinstance(model, str) else "custom"
    cfg = MODELS[model] if isinstance(model, str) else model
    decoder = is_decoder(cfg)
    phase = "prefill" if phase == "infer" and not decoder else phase
    allowed = ("prefill", "decode") if decoder else ("prefill", "infer")
    if phase not in allowed:
        kind = "a decoder" if decoder else "not a decoder"
        raise HwsimError(
            f"card {name}: phase expected one of {', '.join(allowed)} ({kind}), got {phase!r}"
        )
    if isinstance(cfg, ResNetConfig):
        ops = _resnet(cfg, length, batch)
    elif cfg.family == "vit":
        ops = _vit(cfg, length, batch)
    elif cfg.family == "bert":
        ops = _bert(cfg, length, batch)
    else:
        ops = _decoder(cfg, phase, length, batch)
    card = f"{name}:{phase}:{length}:{batch}"
    for op in ops:  # cycle and byte counts are int64 downstream (as for workload files)
        work = max(op.total_macs, op.elements * op.repeat)
        if work > 2**53:
            raise HwsimError(
                f"card {card}: op {op.name} needs {work:.3g} MACs/elements; expected at most 2**53 "
                "per op (a smaller length or batch)"
            )
    meta = {
        "source": "card",
        "model": name,
        "length": length,
        "batch": batch,
        "config": asdict(cfg),
    }
    return Workload(card, tuple(ops), phase, meta)


# --- builders ----------------------------------------------------------------------------


def _gemm(name: str, M: int, N: int, K: int, repeat: int = 1) -> Op:
    return Op(name, "gemm", M=M, N=N, K=K, repeat=repeat, module=name)


def _vec(name: str, vkind: str, elements: int, repeat: int = 1, module: str = "") -> Op:
    return Op(
        name, "vector", elements=elements, vector_kind=vkind, repeat=repeat, module=module or name
    )


def _attention(prefix: str, cfg: TransformerConfig, seqs: int, q: int, ctx: int, rep: int):
    """QK^T, softmax, AV of one layer: batch = sequences x query heads."""
    b, hd = seqs * cfg.heads, cfg.hd
    return [
        Op(
            f"{prefix}.attn_qk",
            "attn_qk",
            M=q,
            N=ctx,
            K=hd,
            batch=b,
            repeat=rep,
            module=prefix,
            weight_is_activation=True,
            kv_group=cfg.heads // cfg.kv_heads,
        ),
        _vec(f"{prefix}.softmax", "softmax", b * q * ctx, rep, prefix),
        Op(
            f"{prefix}.attn_av",
            "attn_av",
            M=q,
            N=hd,
            K=ctx,
            batch=b,
            repeat=rep,
            module=prefix,
            weight_is_activation=True,
            kv_group=cfg.heads // cfg.kv_heads,
        ),
    ]


def _qkv(prefix: str, M: int, qn: int, kvn: int, d: int, L: int) -> list[Op]:
    """The q/k/v projections of a decoder layer (k and v at kv_heads * head_dim for GQA)."""
    return [
        _gemm(f"{prefix}.q_proj", M, qn, d, L),
        _gemm(f"{prefix}.k_proj", M, kvn, d, L),
        _gemm(f"{prefix}.v_proj", M, kvn, d, L),
    ]


def _decoder(cfg: TransformerConfig, phase: str, length: int, batch: int) -> list[Op]:
    q = length if phase == "prefill" else 1
    M, d, f, L = batch * q, cfg.d_model, cfg.ffn, cfg.layers
    qn, kvn = cfg.heads * cfg.hd, cfg.kv_heads * cfg.hd
    if cfg.family == "opt":
        p = "model.decoder.layers.*"
        body = [
            _vec(f"{p}.self_attn_layer_norm", "norm", M * d, L),
            *_qkv(f"{p}.self_attn", M, qn, kvn, d, L),
            *_attention(f"{p}.self_attn", cfg, batch, q, length, L),
            _gemm(f"{p}.self_attn.out_proj", M, d, qn, L),
            _vec(f"{p}.residual_add", "elementwise", 2 * M * d, L, p),
            _vec(f"{p}.final_layer_norm", "norm", M * d, L),
            _gemm(f"{p}.fc1", M, f, d, L),
            _vec(f"{p}.activation_fn", "act", M * f, L),
            _gemm(f"{p}.fc2", M, d, f, L),
        ]
        tail = [_vec("model.decoder.final_layer_norm", "norm", M * d)]
    elif cfg.family == "phi":  # parallel attention + MLP off one layernorm
        p = "model.layers.*"
        body = [
            _vec(f"{p}.input_layernorm", "norm", M * d, L),
            *_qkv(f"{p}.self_attn", M, qn, kvn, d, L),
            *_attention(f"{p}.self_attn", cfg, batch, q, length, L),
            _gemm(f"{p}.self_attn.dense", M, d, qn, L),
            _gemm(f"{p}.mlp.fc1", M, f, d, L),
            _vec(f"{p}.mlp.activation_fn", "act", M * f, L),
            _gemm(f"{p}.mlp.fc2", M, d, f, L),
            _vec(f"{p}.residual_add", "elementwise", 2 * M * d, L, p),
        ]
        tail = [_vec("model.final_layernorm", "norm", M * d)]
    else:  # llama: RMSNorm, RoPE, SwiGLU
        p = "model.layers.*"
        body = [
            _vec(f"{p}.input_layernorm", "norm", M * d, L),
            *_qkv(f"{p}.self_attn", M, qn, kvn, d, L),
            _vec(f"{p}.self_attn.rotary_emb", "elementwise", M * (qn + kvn), L),
            *_attention(f"{p}.self_attn", cfg, batch, q, length, L),
            _gemm(f"{p}.self_attn.o_proj", M, d, qn, L),
            _vec(f"{p}.residual_add", "elementwise", 2 * M * d, L, p),
            _vec(f"{p}.post_attention_layernorm", "norm", M * d, L),
            _gemm(f"{p}.mlp.gate_proj", M, f, d, L),
            _gemm(f"{p}.mlp.up_proj", M, f, d, L),
            _vec(f"{p}.mlp.act_fn", "act", M * f, L),
            _vec(f"{p}.mlp.gate_mul", "elementwise", M * f, L, f"{p}.mlp"),
            _gemm(f"{p}.mlp.down_proj", M, d, f, L),
        ]
        tail = [_vec("model.norm", "norm", M * d)]
    return [*body, *tail, _gemm("lm_head", M, cfg.vocab, d)]


def _encoder_layers(p: str, cfg: TransformerConfig, M: int, seqs: int, tokens: int, vit: bool):
    d, f, L = cfg.d_model, cfg.ffn, cfg.layers
    names = (
        ("attention.attention", "layernorm_before", "layernorm_after")
        if vit
        else ("attention.self", "", "attention.output.LayerNorm")
    )
    attn, pre, mid = names
    ops = [_vec(f"{p}.{pre}", "norm", M * d, L)] if pre else []
    ops += [
        _gemm(f"{p}.{attn}.query", M, d, d, L),
        _gemm(f"{p}.{attn}.key", M, d, d, L),
        _gemm(f"{p}.{attn}.value", M, d, d, L),
        *_attention(f"{p}.{attn}", cfg, seqs, tokens, tokens, L),
        _gemm(f"{p}.attention.output.dense", M, d, d, L),
        _vec(f"{p}.{mid}", "norm", M * d, L),
        _gemm(f"{p}.intermediate.dense", M, f, d, L),
        _vec(f"{p}.intermediate.intermediate_act_fn", "act", M * f, L),
        _gemm(f"{p}.output.dense", M, d, f, L),
    ]
    if not vit:
        ops.append(_vec(f"{p}.output.LayerNorm", "norm", M * d, L))
    return ops


def _bert(cfg: TransformerConfig, length: int, batch: int) -> list[Op]:
    M, d = batch * length, cfg.d_model
    return [
        _vec("embeddings.LayerNorm", "norm", M * d),
        *_encoder_layers("encoder.layer.*", cfg, M, batch, length, vit=False),
        _gemm("pooler.dense", batch, d, d),  # on the [CLS] token only
        _vec("pooler.activation", "act", batch * d),
    ]


def _vit(cfg: TransformerConfig, image: int, batch: int) -> list[Op]:
    if image % cfg.patch:
        raise HwsimError(
            f"card vit: length (image size) expected a multiple of {cfg.patch}, got {image}"
        )
    grid = image // cfg.patch
    tokens, d = grid * grid + 1, cfg.d_model
    M = batch * tokens
    embed = _conv(
        "vit.embeddings.patch_embeddings.projection", 3, d, cfg.patch, cfg.patch, 0, image, batch
    )
    return [
        embed,
        *_encoder_layers("vit.encoder.layer.*", cfg, M, batch, tokens, vit=True),
        _vec("vit.layernorm", "norm", M * d),
        _gemm("classifier", batch, cfg.classes, d),  # on the [CLS] token only
    ]


def _conv(name, cin, cout, k, stride, pad, in_hw, images, groups=1, repeat=1) -> Op:
    out = (in_hw + 2 * pad - k) // stride + 1
    shape = ConvShape(
        cin, cout, (k, k), (stride, stride), (pad, pad), (in_hw, in_hw), (out, out), groups
    )
    return Op(
        name,
        "conv",
        M=images * out * out,
        N=cout // groups,
        K=cin // groups * k * k,
        batch=groups,
        repeat=repeat,
        module=name,
        conv=shape,
    )


def _resnet(cfg: ResNetConfig, image: int, batch: int) -> list[Op]:
    if image < 32 or image % 32:
        raise HwsimError(f"card resnet: length (image size) expected a multiple of 32, got {image}")
    ops = [_conv("conv1", 3, 64, 7, 2, 3, image, batch)]
    hw = ops[0].conv.out_hw[0]
    ops += [_vec("bn1", "norm", batch * 64 * hw * hw), _vec("relu", "act", batch * 64 * hw * hw)]
    hw = (hw + 2 - 3) // 2 + 1
    ops.append(_vec("maxpool", "pool", batch * 64 * hw * hw))
    cin, expansion = 64, 4 if cfg.block == "bottleneck" else 1
    for s, blocks in enumerate(cfg.stages):
        width, stride = 64 * 2**s, 1 if s == 0 else 2
        for label, rep in ((f"layer{s + 1}.0", 1), (_fold(s + 1, blocks), blocks - 1)):
            if rep == 0:
                continue
            block_ops, hw_out = _block(label, cfg.block, cin, width, stride, hw, batch, rep)
            ops += block_ops
            cin, hw, stride = width * expansion, hw_out, 1
    ops += [
        _vec("avgpool", "pool", batch * cin * hw * hw),
        _gemm("fc", batch, cfg.classes, cin),
    ]
    return ops


def _fold(stage: int, blocks: int) -> str:
    """Name of blocks 1..n-1 folded: `layer3.[1-5]` (an fnmatch pattern), or `layer3.1`."""
    return f"layer{stage}.1" if blocks == 2 else f"layer{stage}.[1-{blocks - 1}]"


def _block(p, kind, cin, width, stride, hw, images, rep):
    out_c = width * (4 if kind == "bottleneck" else 1)
    if kind == "basic":
        convs = [(cin, width, 3, stride, 1), (width, width, 3, 1, 1)]
    else:
        convs = [(cin, width, 1, 1, 0), (width, width, 3, stride, 1), (width, out_c, 1, 1, 0)]
    ops, cur = [], hw
    for i, (ci, co, k, s, pad) in enumerate(convs, 1):
        op = _conv(f"{p}.conv{i}", ci, co, k, s, pad, cur, images, repeat=rep)
        cur = op.conv.out_hw[0]
        n = images * co * cur * cur
        ops += [op, _vec(f"{p}.bn{i}", "norm", n, rep)]
        if i < len(convs):
            ops.append(_vec(f"{p}.relu@{i}", "act", n, rep, f"{p}.relu"))
    if stride != 1 or cin != out_c:
        ops.append(_conv(f"{p}.downsample.0", cin, out_c, 1, stride, 0, hw, images, repeat=rep))
        ops.append(_vec(f"{p}.downsample.1", "norm", images * out_c * cur * cur, rep))
    n = images * out_c * cur * cur
    ops += [
        _vec(f"{p}.residual_add", "elementwise", 2 * n, rep, p),
        _vec(f"{p}.relu@{len(convs)}", "act", n, rep, f"{p}.relu"),
    ]
    return ops, cur
