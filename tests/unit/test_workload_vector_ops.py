"""Vector ops in traces: which modules count, their elements, names, merging and folding."""

from __future__ import annotations

import pytest

from hwsim.errors import HwsimError
from hwsim.workload.tracer import AttentionConfig, fold_layers, trace
from hwsim.workload.vector_ops import Elementwise, output_elements, vector_kind

torch = pytest.importorskip("torch")
nn = torch.nn


class LlamaRMSNorm(nn.Module):  # a third-party norm, known by its class name only
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.weight


class PreNorm(nn.Module):  # a wrapper named like a norm: not a leaf, so not a vector op
    def __init__(self, d, fn):
        super().__init__()
        self.norm, self.fn = nn.LayerNorm(d), fn

    def forward(self, x):
        return self.fn(self.norm(x))


class GELUActivation(nn.Module):  # HF's activation class naming
    def forward(self, x):
        return nn.functional.gelu(x)


class LinearActivation(nn.Module):  # HF's identity "activation": no work
    def forward(self, x):
        return x


class Layer(nn.Module):
    def __init__(self, d=8):
        super().__init__()
        self.norm = LlamaRMSNorm(d)
        self.up = nn.Linear(d, 2 * d)
        self.act = GELUActivation()
        self.ident = LinearActivation()
        self.down = nn.Linear(2 * d, d)
        self.residual_add = Elementwise(torch.add, merge_calls=True)
        self.scale = Elementwise(torch.mul)

    def forward(self, x):
        x = self.residual_add(x, self.down(self.ident(self.act(self.up(self.norm(x))))))
        x = self.residual_add(x, self.scale(x, x))
        return self.scale(x, x)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(Layer() for _ in range(3))
        self.final = PreNorm(8, nn.Linear(8, 5))
        self.softmax = nn.Softmax(-1)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.softmax(self.final(x))


def test_vector_ops_named_after_modules_in_call_order():
    wl = trace(Net(), torch.randn(2, 3, 8), keep_tensors=False)
    names = [(o.name, o.kind, o.vector_kind, o.elements) for o in wl.ops[:7]]
    assert names == [
        ("layers.0.norm", "vector", "norm", 48),
        ("layers.0.up", "gemm", "", 0),
        ("layers.0.act", "vector", "act", 96),
        ("layers.0.down", "gemm", "", 0),
        ("layers.0.residual_add", "vector", "elementwise", 96),  # two calls of 48, merged
        ("layers.0.scale", "vector", "elementwise", 48),
        ("layers.0.scale@2", "vector", "elementwise", 48),  # no merge_calls: one op per call
    ]
    assert [o.name for o in wl.ops[-3:]] == ["final.norm", "final.fn", "softmax"]
    assert wl.op("softmax").elements == 2 * 3 * 5 and wl.op("final.norm").vector_kind == "norm"
    assert not wl.select("*ident*") and not wl.select("final")
    assert all(o.inputs is None and o.macs == 0 for o in wl.select("vector"))
    assert wl.op("layers.2.residual_add").module == "layers.2.residual_add"


def test_vector_ops_fold_like_the_rest():
    wl = trace(Net(), torch.randn(2, 3, 8))
    folded = fold_layers(wl)
    assert len(folded.ops) == 7 + 3
    add = folded.op("layers.*.residual_add")
    assert (add.repeat, add.elements, add.module) == (3, 96, "layers.*.residual_add")
    assert folded.op("layers.*.scale@2").repeat == 3
    assert sum(o.elements * o.repeat for o in folded.ops) == sum(o.elements for o in wl.ops)
    assert folded.macs == wl.macs


def test_torch_module_classes_and_elements():
    cases = {
        "norm": [nn.LayerNorm(4), nn.BatchNorm2d(4), nn.GroupNorm(2, 4), nn.InstanceNorm1d(4)],
        "act": [nn.ReLU(), nn.ReLU6(), nn.SiLU(), nn.GELU(), nn.Tanh(), nn.Hardswish()],
        "softmax": [nn.Softmax(-1), nn.LogSoftmax(-1)],
        "": [nn.Linear(4, 4), nn.Dropout(), nn.Identity(), nn.Embedding(3, 4), nn.Sequential()],
    }
    for kind, mods in cases.items():
        assert [vector_kind(torch, m) for m in mods] == [kind] * len(mods)
    assert vector_kind(torch, nn.MultiheadAttention(4, 2)) == ""  # in torch's activation module
    assert output_elements((torch.zeros(2, 3), [torch.zeros(4)], None)) == 10


def test_attention_config_adds_its_softmax_between_the_matmuls():
    class Block(nn.Module):  # attention done functionally, as in HF models: shapes from config
        def __init__(self):
            super().__init__()
            self.v_proj, self.out = nn.Linear(8, 8), nn.Linear(8, 8)
            self.norm = nn.LayerNorm(8)

        def forward(self, x):
            return self.norm(self.out(self.v_proj(x).softmax(-1)))

    x = torch.randn(1, 5, 8)
    cfg = AttentionConfig(heads=2, head_dim=4, after="*v_proj")
    wl = trace(Block(), x, attention=cfg, keep_tensors=False)
    assert [o.name for o in wl.ops] == ["v_proj", "attn_qk", "softmax", "attn_av", "out", "norm"]
    assert wl.op("softmax").elements == 2 * 5 * 5 and wl.op("softmax").module == ""

    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.Sequential(Block(), Block())

        def forward(self, x):
            return self.layers(x)

    wl = trace(Stack(), x, attention=cfg, keep_tensors=False)
    assert [o.name for o in wl.ops[:4]] == [
        "layers.0.v_proj", "layers.0.attn_qk", "layers.0.softmax", "layers.0.attn_av"
    ]  # fmt: skip
    assert fold_layers(wl).op("layers.*.softmax").repeat == 2


def test_only_vector_modules_is_still_no_workload():
    with pytest.raises(HwsimError, match=r"trace norm: LayerNorm ran no nn\.Linear"):
        trace(nn.LayerNorm(4), torch.randn(2, 4), name="norm")
