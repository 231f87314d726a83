"""Ops with real tensors are timed from the data through the arch's PE."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import hwsim
from hwsim.errors import HwsimError
from hwsim.sim import simulate
from hwsim.sim.plan import plan
from hwsim.sim.tensors import fold_block_max, operands
from hwsim.spec import load_arch
from hwsim.workload.op import Op, Workload

ARCH = Path(__file__).resolve().parents[2] / "hwsim" / "data" / "arch"


def bitmod(skip: bool):
    arch = load_arch(ARCH / "bitmod.yaml")
    params = (("dp", 4), ("skip_zero_terms", skip))
    arr = replace(arch.pe_array, rows=4, cols=4, pe_params=params)
    dram = replace(arch.dram, bytes_per_cycle=float("inf"), latency_cycles=0)
    return replace(arch, pe_array=arr, dram=dram)


def traced(rng, M=8, N=12, K=256, zero_rows=()):
    w = rng.standard_normal((N, K))
    w[list(zero_rows)] = 0.0
    a = rng.standard_normal((M, K))
    return Op("fc", "gemm", M=M, N=N, K=K, inputs=a, weights=w)


def test_static_pe_on_tensors_equals_shapes_only(rng):
    op = traced(rng)
    shapes = Op("fc", "gemm", M=op.M, N=op.N, K=op.K)
    arch = bitmod(skip=False)
    data = simulate(arch, Workload("t", (op,)), mode="analytic")
    shape = simulate(arch, Workload("s", (shapes,)), mode="analytic")
    # every weight takes its 2 terms either way; pe.run also times the bit-serial dequant
    # unit, whose last group (8-bit scale: 8 cycles) drains after the terms in every fold
    folds = -(-op.N // 4) * -(-op.M // 4)
    assert data.cycles == shape.cycles + folds * 8
    # measured counts: only the non-zero terms of the actual weights, at most 2 per MAC
    assert 0 < data.counts["pe:term"] < op.M * op.N * op.K * 2


def test_zero_term_skipping_follows_the_data(rng):
    arch = bitmod(skip=True)
    dense = simulate(arch, Workload("d", (traced(rng),)), mode="event")
    # zero the weights of outputs 0..3 (the first row block of the 4x4 array)
    sparse = simulate(arch, Workload("z", (traced(rng, zero_rows=range(4)),)), mode="event")
    static = simulate(bitmod(skip=False), Workload("d", (traced(rng),)), mode="event")
    assert sparse.cycles < dense.cycles <= static.cycles


def test_fold_time_is_block_max_of_tile_cycles(rng):
    arch = bitmod(skip=True)
    op = traced(rng, M=6, N=5)
    st = simulate(arch, Workload("t", (op,)), mode="analytic")
    res = hwsim.pe.run(
        "bitmod",
        *operands(plan(arch, Workload("t", (op,))).ops[0], op.inputs, op.weights),
        skip_zero_terms=True,
    )
    tc = np.asarray(res.tile_cycles)
    blocks = [tc[m0 : m0 + 4, n0 : n0 + 4].max() for n0 in (0, 4) for m0 in (0, 4)]
    assert st.ops["compute_cycles"].iloc[0] == sum(blocks)
    assert st.counts["pe:term"] == res.counts["term"]


def test_fold_block_max_layout():
    tc = np.arange(6 * 5).reshape(6, 5)  # [M, N]
    got = fold_block_max(tc, rows=4, cols=4)  # n-blocks outer, m-blocks inner
    assert list(got) == [tc[:4, :4].max(), tc[4:, :4].max(), tc[:4, 4:].max(), tc[4:, 4:].max()]


def test_tensor_shape_mismatch_is_an_error(rng):
    op = traced(rng)
    bad = Op("fc", "gemm", M=op.M, N=op.N, K=op.K + 4, inputs=op.inputs, weights=op.weights)
    with pytest.raises(HwsimError, match=r"op 'fc': tensors .* do not match its shape"):
        simulate(bitmod(False), Workload("t", (bad,)), mode="analytic")


def test_attention_tensors_use_the_activation_format(rng):
    q, k = rng.standard_normal((2, 8, 32)), rng.standard_normal((2, 16, 32))
    op = Op(
        "qk", "attn_qk", M=8, N=16, K=32, batch=2, weight_is_activation=True, inputs=q, weights=k
    )
    shapes = Op("qk", "attn_qk", M=8, N=16, K=32, batch=2, weight_is_activation=True)
    # BitMoD's term-serial weight path cannot take FP16 K: timed shapes-only
    arch = bitmod(skip=True)
    assert (
        simulate(arch, Workload("t", (op,)), mode="analytic").cycles
        == simulate(arch, Workload("s", (shapes,)), mode="analytic").cycles
    )
    # an INT8 MAC takes K quantized as an int8 activation: measured counts
    tpu = load_arch(ARCH / "tpu_int8.yaml")
    st = simulate(tpu, Workload("t", (op,)), mode="analytic")
    assert st.counts["pe:mul.8x8"] == op.macs


def test_traced_weights_without_groups_get_one_scale_per_output_row(rng):
    w = rng.standard_normal((6, 40)) * np.arange(1, 7)[:, None]  # rows of different ranges
    arch = load_arch(ARCH / "tpu_int8.yaml")
    op = Op("fc", "gemm", M=2, N=6, K=40, inputs=rng.standard_normal((2, 40)), weights=w)
    _, qt = operands(plan(arch, Workload("t", (op,))).ops[0], op.inputs, w)
    assert qt.scales.shape == (6, 1)
    assert np.allclose(qt.scales[:, 0], np.abs(w).max(axis=1) / 127, rtol=1e-6)
