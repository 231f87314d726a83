"""Radix-4 Booth multipliers: the PE's `multiplier` parameter, priced on ASICs, refused on FPGAs."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hwsim.cost import load_profile
from hwsim.cost.asic import booth_bits2, datapath_pj, datapath_um2
from hwsim.cost.datapath import Operand, int_operand, mac_datapath
from hwsim.cost.fpga import fpga_resources
from hwsim.errors import HwsimError
from hwsim.pe.registry import get_pe
from hwsim.sim import simulate
from hwsim.spec import load_arch
from hwsim.workload.op import Op, Workload

ARCH = Path(__file__).resolve().parents[2] / "hwsim" / "data" / "arch"
H45 = load_profile("horowitz45")
BOOTH = {"multiplier": "booth"}


def mult_pj(kind, params, a, w):
    return datapath_pj(mac_datapath(kind, params, a, w), H45)["multiplier"]


def test_booth_8x8_by_hand():
    # recoded 8-bit operand: ceil(9 / 2) = 5 partial products of 8 + 1 bits, each bit a
    # selector (mux2 + xor2, 12/28 + 12/28 of a full adder), one encoder per row (two XORs and
    # an AND, 6/28), then 4 rows of 10 full adders; over the 1 + 6/28 adder bits of an array cell
    sel, enc = 0.4286 + 0.4286, 2 * 0.4286 + 0.2143
    bits2 = (5 * (9 * sel + enc) + 4 * 10) / (1 + 0.2143)
    assert booth_bits2(8, 8) == pytest.approx(bits2, rel=1e-12)
    a = w = int_operand(8)
    assert mult_pj("int_mac", BOOTH, a, w) == pytest.approx(0.00305 * bits2, rel=1e-12)
    assert mult_pj("int_mac", {}, a, w) == pytest.approx(0.00305 * 64, rel=1e-12)
    um2 = datapath_um2(mac_datapath("int_mac", BOOTH, a, w), H45)["multiplier"]
    assert um2 == pytest.approx(4.4 * bits2, rel=1e-12)


@pytest.mark.parametrize("bits", [3, 5, 8, 9, 16, 32])
def test_partial_products_are_ceil_of_half_the_recoded_width_plus_one(bits):
    # one more recoded bit costs a row exactly when ceil((B + 1) / 2) steps, else nothing
    more_rows = math.ceil((bits + 2) / 2) > math.ceil((bits + 1) / 2)
    step = booth_bits2(40, bits + 1) - booth_bits2(40, bits)
    assert (step > 0) == more_rows and step >= 0


def test_booth_pays_off_only_for_wide_multipliers():
    for bits in (4, 8):
        assert booth_bits2(bits, bits) > bits * bits
    for bits in (16, 24, 32):
        assert booth_bits2(bits, bits) < bits * bits
    # the recoded operand is the one that gives the smaller multiplier
    assert booth_bits2(4, 16) == booth_bits2(16, 4)


@pytest.mark.parametrize("which", ["a", "w"])
def test_booth_mac_cost_is_monotone_in_each_operand_width(which):
    costs = []
    for bits in range(2, 33):
        a = int_operand(bits if which == "a" else 8)
        w = int_operand(bits if which == "w" else 8)
        parts = mac_datapath("int_mac", BOOTH, a, w)
        costs.append(
            (sum(datapath_pj(parts, H45).values()), sum(datapath_um2(parts, H45).values()))
        )
    # never cheaper with a wider operand; a recoded operand adds a partial product every
    # second bit, so the cost may stay flat for one bit but grows over every two
    for lo, hi in zip(costs, costs[1:]):
        assert hi[0] >= lo[0] and hi[1] >= lo[1]
    for lo, hi in zip(costs, costs[2:]):
        assert hi[0] > lo[0] and hi[1] > lo[1]


def test_booth_significand_multiplier_in_a_minifloat_mac_is_monotone():
    prev = 0.0
    for m in range(0, 11):
        f = Operand("float", 1 + 4 + m, m + 1, 4)
        pj = mult_pj("float_mac", {"acc": "kulisch", **BOOTH}, f, f)
        assert pj > prev
        prev = pj


def test_default_is_the_array_multiplier():
    a = w = int_operand(8)
    assert mac_datapath("int_mac", {}, a, w) == mac_datapath(
        "int_mac", {"multiplier": "array"}, a, w
    )
    assert {c.part for c in mac_datapath("int_mac", {}, a, w)} >= {"int_mult"}
    assert {c.part for c in mac_datapath("int_mac", BOOTH, a, w)} >= {"booth_mult"}


def test_booth_changes_neither_results_counts_nor_cycles():
    rng = np.random.default_rng(0)
    a = rng.integers(-128, 128, (4, 32))
    w = rng.integers(-128, 128, (8, 32))
    array = get_pe("int_mac").run(a, w)
    booth = get_pe("int_mac", multiplier="booth").run(a, w)
    assert np.array_equal(array.out, booth.out)
    assert array.counts == booth.counts and array.cycles == booth.cycles


def test_a_booth_unit_is_priced_per_mac_end_to_end():
    base = load_arch(ARCH / "tpu_int8.yaml")
    arr = base.pe_array
    params = tuple(sorted({**arr.params, "multiplier": "booth"}.items()))
    booth = replace(base, pe_array=replace(arr, pe_params=params))
    wl = Workload("w", (Op("g", "gemm", M=16, N=64, K=64),))
    st_a = simulate(base, wl, mode="analytic")
    st_b = simulate(booth, wl, mode="analytic")
    assert st_b.cycles == st_a.cycles
    from hwsim.cost.scaling import energy_scale

    macs = 16 * 64 * 64
    want = macs * 0.00305 * booth_bits2(8, 8) * energy_scale(45, base.technology.node_nm)
    assert st_b.energy_breakdown_pj["pe:multiplier"] == pytest.approx(want, rel=1e-12)
    assert st_b.energy_breakdown_pj["pe:multiplier"] > st_a.energy_breakdown_pj["pe:multiplier"]


def test_bad_multiplier_choices_are_one_line():
    with pytest.raises(
        HwsimError, match=r"int_mac\.multiplier: expected array or booth, got 'wallace'"
    ):
        get_pe("int_mac", multiplier="wallace")
    with pytest.raises(HwsimError, match=r"float_mac\.multiplier: expected array or booth, got 4"):
        get_pe("float_mac", multiplier=4)
    with pytest.raises(HwsimError, match=r"fixed_point\.multiplier: booth needs weights='fixed'"):
        get_pe("fixed_point", weights="pow2", multiplier="booth")
    with pytest.raises(HwsimError, match=r"mixed_dtype\.multiplier: expected array or booth"):
        get_pe("mixed_dtype", multiplier=["booth"])


def test_fpga_refuses_booth_in_one_line():
    arch = load_arch(ARCH / "fpga_zcu104.yaml")
    x = int_operand(8)
    parts = mac_datapath("fixed_point", BOOTH, x, x, arch.pe_array.dot_product_width)
    with pytest.raises(
        HwsimError, match=r"multiplier: booth is an ASIC multiplier; .*expected array"
    ):
        fpga_resources(arch, parts)


def test_booth_energy_roll_up_by_hand_with_leakage(tmp_path):
    # the tiny int_mac arch of test_cost.test_energy_roll_up_by_hand, with a Booth multiplier
    # from its YAML: only the multiplier's energy and area move, and leakage with the area
    from test_spec import TINY  # tests/unit is on sys.path (pytest's prepend import mode)

    from hwsim.cost.scaling import area_scale, energy_scale

    p = tmp_path / "tiny_booth.yaml"
    p.write_text(TINY.replace("    params: {}", "    params: {multiplier: booth}"))
    wl = Workload("w", (Op("g", "gemm", M=4, N=4, K=8),))
    st = simulate(load_arch(p), wl, mode="analytic")
    bits2 = booth_bits2(8, 8)
    pe_mult, pe_acc, pe_reg = 128 * 0.00305 * bits2, 128 * 0.0035 * 32, 128 * 0.0110 * 40
    dram = (32 + 32 + 16) * 8 * 8.0
    e64_w, e64_i = 10.0 * (4096 / 8192) ** 0.47, 10.0 * (2048 / 8192) ** 0.47
    wbuf, ibuf = (256 + 256) * e64_w / 64, (256 + 256 + 128 + 128) * e64_i / 64
    node = energy_scale(40, 45) / area_scale(40, 45)
    reg_um2 = 4.3092 * area_scale(40, 45)
    pe_um2 = 16 * (4.4 * bits2 + 4.3 * 32 + reg_um2 * 40)
    vector_um2 = 4 * (4.4 * 256 + 4.3 * 16)
    sram_um2 = 2 * 4096 * 8 * 0.494
    leak_w = ((pe_um2 + vector_um2) * 11.06 + sram_um2 * 1.236) * node * 1e-9
    leak = leak_w * st.cycles / 1e9 * 1e12  # 1 GHz clock
    e = st.energy_breakdown_pj
    assert e["pe:multiplier"] == pytest.approx(pe_mult, rel=1e-12)
    assert e["leakage"] == pytest.approx(leak, rel=1e-9)
    total = pe_mult + pe_acc + pe_reg + dram + wbuf + ibuf + leak
    assert st.energy_pj == pytest.approx(total, rel=1e-12)
    assert st.area_mm2 == pytest.approx((pe_um2 + vector_um2 + sram_um2) / 1e6, rel=1e-12)
