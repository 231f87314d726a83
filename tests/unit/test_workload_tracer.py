"""Tracer: hooks record exact shapes and tensors; im2col reproduces every conv exactly."""

from __future__ import annotations

import numpy as np
import pytest

from hwsim.errors import HwsimError
from hwsim.workload.tracer import AttentionConfig, MatMul, export_linears, fold_layers, trace

torch = pytest.importorskip("torch")
nn = torch.nn


class Tiny(nn.Module):
    """Convs of every lowering case (plain, strided+padded, grouped, depthwise), then linears."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.grouped = nn.Conv2d(8, 12, 3, padding=1, groups=4, bias=False)
        self.dw = nn.Conv2d(12, 12, (3, 5), padding=(1, 2), groups=12)
        self.head = nn.Linear(12, 6)
        self.out = nn.Linear(6, 4)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        x = self.dw(self.grouped(x))
        x = x.mean((2, 3))
        return self.out(self.out.weight.new_zeros(()) + self.head(x)) + self.out(
            torch.zeros(x.shape[0], 6)
        )


def _tiny(seed=0):
    torch.manual_seed(seed)
    return Tiny().eval(), torch.randn(2, 3, 11, 9)


def _outputs(model, x):
    got = {}
    hooks = [
        m.register_forward_hook(lambda m, a, o, n=n: got.setdefault(n, o))
        for n, m in model.named_modules()
        if isinstance(m, nn.Conv2d)
    ]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return got


def test_conv_im2col_reproduces_the_module_output():
    model, x = _tiny()
    wl = trace(model, x, name="tiny")
    outs = _outputs(model, x)
    for name in ("stem", "grouped", "dw"):
        op, conv = wl.op(name), getattr(model, name)
        a = op.inputs.reshape(op.batch, op.M, op.K).astype(np.float64)
        w = op.weights.reshape(op.batch, op.N, op.K).astype(np.float64)
        y = np.einsum("gmk,gnk->gmn", a, w)  # [groups, images*pixels, N]
        oh, ow = op.conv.out_hw
        y = y.reshape(op.batch, 2, oh * ow, op.N).transpose(1, 0, 3, 2).reshape(2, -1, oh, ow)
        if conv.bias is not None:
            y = y + conv.bias.detach().numpy()[None, :, None, None]
        np.testing.assert_allclose(y, outs[name].numpy(), rtol=1e-5, atol=1e-5)
        assert op.macs * 1 == op.M * op.N * op.K * op.batch
    stem = wl.op("stem")
    assert (stem.M, stem.N, stem.K, stem.batch) == (2 * 6 * 5, 8, 27, 1)
    dw = wl.op("dw")
    assert (dw.N, dw.K, dw.batch) == (1, 15, 12) and dw.conv.groups == 12


def test_linear_shapes_tensors_and_repeated_calls():
    model, x = _tiny()
    wl = trace(model, x)
    assert [o.name for o in wl.ops] == ["stem", "grouped", "dw", "head", "out", "out@2"]
    head = wl.op("head")
    assert (head.M, head.N, head.K) == (2, 6, 12)
    assert np.array_equal(head.weights, model.head.weight.detach().numpy())
    assert wl.op("out@2").module == "out" and not wl.op("out@2").inputs.any()
    assert trace(model, x, keep_tensors=False).op("head").inputs is None


def test_static_same_padding_conv_subclass():
    class SamePad(nn.Conv2d):  # pads inside forward, as EfficientNet's convs do
        def forward(self, x):
            return nn.functional.conv2d(
                nn.functional.pad(x, (0, 1, 0, 1)), self.weight, self.bias, self.stride
            )

    torch.manual_seed(1)
    conv = SamePad(4, 6, 3, stride=2, bias=False)
    x = torch.randn(1, 4, 8, 8)
    op = trace(conv, x).ops[0]
    with torch.no_grad():
        ref = conv(x).numpy().reshape(6, -1).T
    np.testing.assert_allclose(op.inputs @ op.weights.T, ref, rtol=1e-5, atol=1e-5)


def test_matmul_modules_record_attention_operands():
    class Attn(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn_qk, self.attn_av = MatMul("attn_qk"), MatMul("attn_av")

        def forward(self, q, k, v):
            p = self.attn_qk(q, k).softmax(-1)
            return self.attn_av(p, v.transpose(-1, -2))

    q, k, v = (torch.randn(2, 3, 5, 4) for _ in range(3))
    wl = trace(Attn(), q, k, v)
    qk, av = wl.ops
    assert (qk.kind, qk.batch, qk.M, qk.N, qk.K) == ("attn_qk", 6, 5, 5, 4)
    assert (av.kind, av.batch, av.M, av.N, av.K) == ("attn_av", 6, 5, 4, 5)
    assert qk.weight_is_activation and np.array_equal(qk.weights, k.reshape(6, 5, 4).numpy())
    with pytest.raises(HwsimError, match="MatMul kind: expected attn_qk or attn_av"):
        MatMul("qk")


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.q_proj, self.k_proj, self.v_proj = nn.Linear(8, 8), nn.Linear(8, 4), nn.Linear(8, 4)

    def forward(self, x):
        return x + self.q_proj(x) + self.k_proj(x).repeat(1, 1, 2) + self.v_proj(x).repeat(1, 1, 2)


class Stack(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(Block() for _ in range(3))
        self.lm_head = nn.Linear(8, 11)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.lm_head(x)


def test_attention_from_config_and_layer_folding():
    x = torch.randn(2, 5, 8)
    cfg = AttentionConfig(heads=2, head_dim=4, after="layers.*.v_proj", past=3)
    wl = trace(Stack(), x, attention=cfg)
    qk = wl.op("layers.1.attn_qk")
    assert (qk.batch, qk.M, qk.N, qk.K) == (4, 5, 8, 4)
    assert wl.op("layers.1.softmax").elements == 4 * 5 * 8
    folded = fold_layers(wl)
    assert [o.name for o in folded.ops][:4] == [
        "layers.*.q_proj", "layers.*.k_proj", "layers.*.v_proj", "layers.*.attn_qk"
    ]  # fmt: skip
    assert folded.op("layers.*.k_proj").repeat == 3 and folded.op("lm_head").repeat == 1
    assert folded.op("layers.*.q_proj").weights is None
    assert folded.op("lm_head").weights is not None
    assert folded.macs == wl.macs


def test_export_cross_check_agrees_with_hooks():
    x = torch.randn(2, 5, 8)
    model = Stack().eval()
    hooked = [(o.module, o.M, o.N, o.K) for o in trace(model, x).ops]
    assert export_linears(model, x) == hooked


def test_model_without_supported_layers():
    with pytest.raises(HwsimError, match=r"trace relu: ReLU ran no nn\.Linear, nn\.Conv2d"):
        trace(nn.ReLU(), torch.randn(3), name="relu")
    with pytest.raises(HwsimError, match="trace: expected a torch.nn.Module, got int"):
        trace(3)
