"""The minifloat-vs-integer FPGA study's hardware column (reports/paper/minifloat_fpga.py).

On its FPGA arch with an INT MAC whose int32 accumulator cannot overflow (K = 16 products of
int4 x int8 need 4 + 8 + 4 = 16 bits), every op the PE computes is exact and equals the
fake-quant product, so hwsim.evaluate's hardware accuracy must equal its fake-quant accuracy
bit for bit. A 9-bit accumulator wraps, and then the two must differ.
"""

from __future__ import annotations

import numpy as np
import pytest
from scripts import load_script

torch = pytest.importorskip("torch")

from hwsim.eval.tasks import Task  # noqa: E402


@pytest.fixture(scope="module")
def study():
    return load_script("reports/paper/minifloat_fpga.py")


def cosine(ref, got) -> dict:
    return {"accuracy": torch.nn.functional.cosine_similarity(ref, got, dim=-1).mean().item()}


@pytest.fixture(scope="module")
def task():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(16, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4))
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(3, 16)).astype(np.float32))
    return Task("tiny", model.eval(), (x,), lambda m, *a: m(*a), cosine, {})


def test_exact_int_accumulator_hardware_equals_fake(study, task):
    r = study.hardware_accuracy(task, "int4", "int8", 16, cosine, {"gemm"}, acc_bits=32)
    assert r["arch"] == "fpga_zcu104+int_mac(acc_bits=32)"
    assert r["ops_equal"] == r["ops_total"] == 2
    assert r["hardware"] == r["fake_eval"]
    assert r["fake_eval"] < 1.0  # int4 weights do lose something


def test_narrow_accumulator_breaks_the_relation(study, task):
    r = study.hardware_accuracy(task, "int4", "int8", 16, cosine, {"gemm"}, acc_bits=9)
    assert r["ops_equal"] < r["ops_total"]
    assert r["hardware"] != r["fake_eval"]


def test_study_pe_widths_follow_the_formats(study):
    doc = study.hw_arch_doc("int4", "int8", 1536)
    assert doc["pe_array"]["pe"] == {"kind": "int_mac", "params": {"acc_bits": 4 + 8 + 11}}
    doc = study.hw_arch_doc("fp_e2m5", "fp_e3m4", 1536)
    assert doc["pe_array"]["pe"] == {"kind": "float_mac", "params": {"acc": "kulisch"}}
    assert doc["fpga"]["multipliers_on"] == "lut"
