"""Analytic mode follows the BitMoD paper simulator's per-layer model exactly
(abdelfattah-lab/BitMoD-HPCA-25 commit a902a09)."""

from __future__ import annotations

from math import ceil, floor
from pathlib import Path

import pytest

import hwsim
from hwsim.workload import load_workload

ARCH = Path(__file__).resolve().parents[2] / "hwsim" / "data" / "arch"
MODELS = ("opt-1.3b", "phi-2", "yi-6b", "llama-2-7b", "llama-2-13b", "llama-3-8b")
BUF = 512 * 1024


def paper_layer(op, rows, cols, dp, w_bits, bit_serial):
    """(compute, dram) cycles of one op instance, that simulator's model written out anew."""
    pe_latency = ceil(floor(w_bits) / 2) if bit_serial else 1
    tiles = ceil(op.K / dp) * ceil(op.N / rows) * ceil(op.M / cols) * op.batch
    wb = 16 if op.weight_is_activation else w_bits  # KV at FP16
    g = op.kv_group  # GQA: the query heads of one KV head read its K / V once
    W = ceil(op.K * wb / 8) * op.N
    I = ceil(op.K * 16 / 8) * op.M * g
    O = ceil(op.N * 16 / 8) * op.M * g
    fw = fi = 1
    if W > BUF and I > BUF:
        refetch_w, refetch_i = ceil(I / BUF), ceil(W / BUF)
        if refetch_w * W + I < refetch_i * I + W:
            fw = refetch_w
        else:
            fi = refetch_i
    dram = int((W * fw + I * fi + O) * (op.batch // g) * 8 / 256)
    return tiles * pe_latency, dram


CONFIGS = {  # arch: (prefill rows, cols, decode rows, cols, dp, bit-serial)
    "bitmod": (32, 32, 64, 16, 4, True),
    "ant": (32, 32, 64, 16, 1, False),
    "olive": (36, 32, 72, 16, 1, False),
    "fp16": (32, 24, 64, 12, 1, False),
}
DECODE_BITS = {
    "ant": {
        "opt-1.3b": 5,
        "phi-2": 5,
        "yi-6b": 5.25,
        "llama-2-7b": 5,
        "llama-2-13b": 5,
        "llama-3-8b": 4.5,
    },
    "olive": {
        "opt-1.3b": 3.875,
        "phi-2": 4,
        "yi-6b": 4.25,
        "llama-2-7b": 3.75,
        "llama-2-13b": 3.75,
        "llama-3-8b": 3.5,
    },
}
PREFILL_BITS = {"bitmod": 4.0625, "ant": 5.5, "olive": 4.5, "fp16": 16}


def weight_bits(arch, model, phase):
    if phase == "prefill":
        return PREFILL_BITS[arch]
    if arch == "bitmod":
        return 3.0625
    return DECODE_BITS.get(arch, {}).get(model, 16)


@pytest.mark.parametrize("phase", ["prefill", "decode"])
@pytest.mark.parametrize("model", MODELS)
def test_per_layer_compute_and_dram_follow_reference(model, phase):
    wl = load_workload(f"{model}:{phase}:256")
    gemms = [op for op in wl.ops if op.kind != "vector"]
    for name, (pr, pc, dr, dc, dp, serial) in CONFIGS.items():
        st = hwsim.simulate(ARCH / f"{name}.yaml", wl, mode="analytic")
        rows, cols = (pr, pc) if phase == "prefill" else (dr, dc)
        bits = weight_bits(name, model, phase)
        table = st.ops[st.ops["kind"] != "vector"]
        total = 0
        for op, row in zip(gemms, table.itertuples(), strict=True):
            compute, dram = paper_layer(op, rows, cols, dp, bits, serial)
            assert (row.compute_cycles, row.dram_cycles) == (compute, dram), (name, op.name)
            assert row.cycles == max(compute, dram)
            total += max(compute, dram) * op.repeat
        assert st.cycles == total  # vector ops overlap behind the array on these archs


def test_bitmod_beats_ant_and_olive_on_llama2_7b():
    for phase in ("prefill", "decode"):
        cycles = {
            a: hwsim.simulate(ARCH / f"{a}.yaml", f"llama-2-7b:{phase}:256", mode="analytic").cycles
            for a in ("bitmod", "ant", "olive", "fp16")
        }
        assert cycles["bitmod"] < cycles["olive"] < cycles["ant"] < cycles["fp16"], phase


def test_compute_energy_is_pe_power_times_pes_times_cycles():
    st = hwsim.simulate(ARCH / "bitmod.yaml", "llama-2-7b:decode:256", mode="analytic")
    compute = int((st.ops["compute_cycles"] * st.ops["repeat"]).sum())
    # BitMoD sim: pe_energy (0.56 mW at 1 GHz) x 1.5 P&R x #PE x compute cycles
    assert st.energy_breakdown_pj["pe"] == pytest.approx(0.56 * 1.5 * 1024 * compute, rel=1e-12)
    c = st.counts
    dram_bits = c["dram:weights:read_bits"] + c["dram:inputs:read_bits"]
    dram_bits += c["dram:outputs:write_bits"]
    assert dram_bits == 8 * st.dram_bytes
    assert st.energy_breakdown_pj["dram"] == pytest.approx(18.75 * dram_bits, rel=1e-12)
