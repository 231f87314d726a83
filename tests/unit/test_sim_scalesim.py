"""scalesim mode == SCALE-Sim's 'Total Cycles' formula; the physical model differs as documented."""

from __future__ import annotations

import itertools
from dataclasses import replace
from functools import cache
from math import ceil
from pathlib import Path

import pytest

from hwsim.sim import simulate
from hwsim.sim.mapping import scalesim_cycles
from hwsim.spec import load_arch
from hwsim.workload.op import Op, Workload

ARCH = Path(__file__).resolve().parents[2] / "arch"


def scalesim_reference(M, N, K, R, C, dataflow):
    """SCALE-Sim v2/v3's cycle formula (its source; scale-sim-v3 issues #4, #125), written
    out: (Sr, Sc, T) per dataflow, rows per fold, folds, -1."""
    if dataflow == "os":
        sr, sc, rows = M, N, R + C + K - 2  # SCALE-Sim's os quirk (R, not 2R); T = K
    elif dataflow == "ws":
        sr, sc, rows = K, N, 2 * R + C + M - 2  # T = M
    else:
        sr, sc, rows = K, M, 2 * R + C + N - 2  # T = N
    folds = -(-sr // R) * -(-sc // C)
    return folds * rows - 1


@cache
def arch_with(R, C, dataflow):
    base = load_arch(ARCH / "scalesim.yaml")
    return replace(base, pe_array=replace(base.pe_array, rows=R, cols=C), dataflow=dataflow)


SIZES = (1, 7, 32, 33, 100)
ARRAYS = ((8, 8), (32, 32), (16, 4), (1, 9))


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_scalesim_mode_matches_formula_on_grid(dataflow):
    for (R, C), (M, N, K) in itertools.product(ARRAYS, itertools.product(SIZES, repeat=3)):
        arch = arch_with(R, C, dataflow)
        op = Op("g", "gemm", M=M, N=N, K=K)
        assert scalesim_cycles(arch, op) == scalesim_reference(M, N, K, R, C, dataflow), (
            M,
            N,
            K,
            R,
            C,
        )


def test_hand_computed_cases():
    # os, one full fold: R + C + K - 2 - 1 = 4 + 4 + 4 - 3
    assert scalesim_cycles(arch_with(4, 4, "os"), Op("a", "gemm", M=4, N=4, K=4)) == 9
    # ws GEMV (M = 1): folds ceil(100/8) * ceil(10/8) = 26, rows 2*8 + 8 + 1 - 2 = 23
    assert scalesim_cycles(arch_with(8, 8, "ws"), Op("b", "gemm", M=1, N=10, K=100)) == 597
    # ragged os: ceil(33/32) * ceil(40/32) = 4 folds of 32 + 32 + 5 - 2
    assert scalesim_cycles(arch_with(32, 32, "os"), Op("c", "gemm", M=33, N=40, K=5)) == 267


def test_simulate_scalesim_mode_sums_layers_and_batches():
    ops = (
        Op("l1", "gemm", M=33, N=40, K=5),
        Op("l2", "attn_qk", M=16, N=16, K=8, batch=3, weight_is_activation=True),
        Op("l3", "gemm", M=1, N=10, K=100, repeat=2),
    )
    st = simulate(ARCH / "scalesim.yaml", Workload("w", ops), mode="scalesim")
    expected = (
        scalesim_reference(33, 40, 5, 32, 32, "os")
        + 3 * scalesim_reference(16, 16, 8, 32, 32, "os")
        + 2 * scalesim_reference(1, 10, 100, 32, 32, "os")
    )
    assert st.cycles == expected
    assert list(st.ops["cycles"]) == [
        scalesim_reference(33, 40, 5, 32, 32, "os"),
        3 * scalesim_reference(16, 16, 8, 32, 32, "os"),
        scalesim_reference(1, 10, 100, 32, 32, "os"),
    ]


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_physical_model_differs_by_documented_quirks(dataflow):
    """Physical systolic fold = 2R + C + T - 2, no trailing -1 (infinite DRAM bandwidth)."""
    base = arch_with(8, 8, dataflow)
    arch = replace(base, dram=replace(base.dram, bytes_per_cycle=float("inf"), latency_cycles=0))
    M, N, K = 20, 12, 9
    op = Op("g", "gemm", M=M, N=N, K=K)
    st = simulate(arch, Workload("w", (op,)), mode="event")
    sr, sc, t = {"os": (N, M, K), "ws": (K, N, M), "is": (K, M, N)}[dataflow]
    folds = ceil(sr / 8) * ceil(sc / 8)
    assert st.cycles == folds * (2 * 8 + 8 + t - 2)
    quirk = folds * 8 if dataflow == "os" else 0  # os: SCALE-Sim omits the R-cycle drain
    if dataflow == "os":
        # SCALE-Sim puts M on the rows; hwsim's os puts N there (same fold count here)
        assert ceil(M / 8) * ceil(N / 8) == folds
    assert st.cycles == scalesim_reference(M, N, K, 8, 8, dataflow) + 1 + quirk


# 'Total Cycles' printed by SCALE-Sim 3.0.0 (pip scalesim==3.0.0, numpy 2.2, save_disk_space)
# on a 16x8 array, GEMM topology rows (M, N, K); measured 2026-11-23.
SCALESIM_3_0_0 = {
    "os": [404, 384, 8435, 2751, 223],
    "ws": [354, 413, 19265, 3263, 329],
    "is": [389, 1754, 4393, 3263, 701],
}
MEASURED_SHAPES = [(33, 40, 5), (100, 7, 33), (1, 300, 200), (64, 64, 64), (17, 1, 90)]


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_scalesim_mode_equals_real_scalesim_output(dataflow):
    arch = arch_with(16, 8, dataflow)
    got = [scalesim_cycles(arch, Op("g", "gemm", M=m, N=n, K=k)) for m, n, k in MEASURED_SHAPES]
    assert got == SCALESIM_3_0_0[dataflow]


def test_conv_topology_matches_real_scalesim():
    """SCALE-Sim 3.0.0, scale.cfg-like 32x32 os, conv topology rows (measured 2026-11-23):
    Conv1 224x224x3, 7x7, 64 filters, stride 2 -> 158421 (its ofmap is ceil: 110x110);
    Conv2 56x56x64, 3x3, 64 filters, stride 1 -> 117391."""
    from hwsim.workload.op import ConvShape

    conv1 = Op(
        "c1",
        "conv",
        M=109 * 109,
        N=64,
        K=3 * 49,
        conv=ConvShape(3, 64, (7, 7), (2, 2), (0, 0), (224, 224), (109, 109)),
    )
    conv2 = Op(
        "c2",
        "conv",
        M=54 * 54,
        N=64,
        K=64 * 9,
        conv=ConvShape(64, 64, (3, 3), (1, 1), (0, 0), (56, 56), (54, 54)),
    )
    arch = arch_with(32, 32, "os")
    assert scalesim_cycles(arch, conv1) == 158421
    assert scalesim_cycles(arch, conv2) == 117391
