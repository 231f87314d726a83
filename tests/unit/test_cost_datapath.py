"""Format-aware datapath cost: components per MAC, ASIC pJ/um^2, FPGA LUT/FF/DSP, bad input."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hwsim.cost import arch_datapath, load_profile
from hwsim.cost.asic import datapath_pj, datapath_um2, float_factors
from hwsim.cost.datapath import Operand, int_operand, mac_datapath, operand, pe_operands
from hwsim.cost.fpga import bram36_of_level, fpga_resources, mult_luts
from hwsim.cost.tables import _entry
from hwsim.errors import HwsimError
from hwsim.sim import simulate
from hwsim.spec import load_arch
from hwsim.workload.op import Op, Workload

ARCH = Path(__file__).resolve().parents[2] / "hwsim" / "data" / "arch"
H45 = load_profile("horowitz45")
FIXED = {"acc_format": "ap_fixed<32,10>"}


def asic(kind, params, a, w):
    parts = mac_datapath(kind, params, a, w)
    return sum(datapath_pj(parts, H45).values()), sum(datapath_um2(parts, H45).values())


def fpga_luts(arch, a: Operand, w: Operand):
    arr = arch.pe_array
    parts = mac_datapath(arr.pe_kind, arr.params, a, w, arr.dot_product_width)
    return fpga_resources(arch, parts)


def minifloat(e: int, m: int) -> Operand:
    return Operand("float", 1 + e + m, m + 1, e)


@pytest.fixture
def lut_fpga():
    arch = load_arch(ARCH / "fpga_zcu104.yaml")
    params = dict(arch.pe_array.params, dsp_packing=False)
    arr = replace(arch.pe_array, pe_params=tuple(sorted(params.items())))
    return replace(arch, pe_array=arr, fpga=replace(arch.fpga, multipliers_on="lut"))


@pytest.mark.parametrize("which", ["a", "w"])
def test_integer_mac_cost_grows_with_each_operand_width(which, lut_fpga):
    costs = []
    for bits in range(2, 17):
        a = int_operand(bits if which == "a" else 8)
        w = int_operand(bits if which == "w" else 8)
        pj, um2 = asic("int_mac", {}, a, w)
        costs.append((pj, um2, fpga_luts(lut_fpga, a, w).luts))
    for lo, hi in zip(costs, costs[1:]):
        assert all(h > lo_ for lo_, h in zip(lo, hi))


@pytest.mark.parametrize("acc", ["kulisch", "float"])
def test_minifloat_mac_cost_grows_with_exponent_and_mantissa(acc):
    params = {"acc": acc}
    for e, m in ((2, 1), (3, 2), (4, 3)):
        base = asic("float_mac", params, minifloat(e, m), minifloat(e, m))
        wider_e = asic("float_mac", params, minifloat(e + 1, m), minifloat(e, m))
        wider_m = asic("float_mac", params, minifloat(e, m), minifloat(e, m + 1))
        assert wider_e[0] > base[0] and wider_e[1] > base[1]
        assert wider_m[0] > base[0] and wider_m[1] > base[1]


def test_int8_and_e4m3_macs_differ_on_asic_and_fpga(lut_fpga):
    i8, e4m3 = operand("int8"), operand("float8_e4m3fn")
    assert e4m3 == Operand("float", 8, 4, 4, name="float8_e4m3fn")
    assert asic("int_mac", {}, i8, i8) != asic("float_mac", {"acc": "kulisch"}, e4m3, e4m3)
    fp_arch = replace(
        lut_fpga, pe_array=replace(lut_fpga.pe_array, pe_kind="float_mac", pe_params=())
    )
    kulisch = replace(fp_arch, pe_array=replace(fp_arch.pe_array, pe_params=(("acc", "kulisch"),)))
    int8 = fpga_luts(lut_fpga, i8, i8)
    fp8 = fpga_luts(kulisch, e4m3, e4m3)
    assert int8.luts != fp8.luts and int8.ffs != fp8.ffs
    # the exact accumulator of E4M3 products is 2 * (2^4 + 3) = 38 bits wide, an int8 MAC's 32
    acc = [
        c for c in mac_datapath("float_mac", {"acc": "kulisch"}, e4m3, e4m3) if c.part == "adder"
    ]
    assert acc[-1].widths == (38,)


@pytest.mark.parametrize("weights", ["pow2", "khot"])
def test_multiplier_free_weights_use_no_dsp(weights):
    arch = load_arch(ARCH / "fpga_zcu104.yaml")
    params = {**FIXED, "weights": weights, "k_hot": 2}
    arr = replace(arch.pe_array, pe_params=tuple(sorted(params.items())))
    arch = replace(arch, pe_array=arr)
    rep = fpga_resources(arch, arch_datapath(arch))
    assert rep.dsps == 0 and rep.luts > 0
    fixed = replace(arch, pe_array=replace(arr, pe_params=tuple(sorted(FIXED.items()))))
    assert fpga_resources(fixed, arch_datapath(fixed)).dsps == arr.pes * arr.dot_product_width


def test_denseshift_prices_an_exponent_add_not_a_multiplier():
    fp16 = operand("float16")
    shift = mac_datapath("denseshift", {}, fp16, operand("denseshift3"))
    mac = mac_datapath("float_mac", {}, fp16, fp16)
    assert not any(c.part == "int_mult" for c in shift)
    e_shift, e_mac = datapath_pj(shift, H45), datapath_pj(mac, H45)
    assert e_shift["multiplier"] < e_mac["multiplier"] / 10
    assert e_shift["accumulator"] == e_mac["accumulator"]  # both fp32 registers


def test_float_units_are_calibrated_on_the_published_ieee_figures():
    fp16, fp32 = minifloat(5, 10), minifloat(8, 23)
    k = float_factors(H45)["pj"]
    assert 1.0 < k < 3.0
    # fp16 MAC into fp32: Horowitz fp16 mult 1.1 + fp32 add 0.9 pJ, within the fit's spread
    parts = mac_datapath("float_mac", {}, fp16, fp16)
    e = datapath_pj(parts, H45)
    assert e["multiplier"] + e["accumulator"] == pytest.approx(1.1 + 0.9, rel=0.3)
    parts32 = mac_datapath("float_mac", {}, fp32, fp32)
    assert datapath_pj(parts32, H45)["multiplier"] == pytest.approx(3.7, rel=0.3)


def test_codebook_weights_pay_a_decode_and_groups_a_dequant():
    parts = mac_datapath("mixed_dtype", {}, int_operand(8), operand("nf4"), 1, 128, 16)
    cats = {c.category for c in parts}
    assert {"decode", "dequant", "multiplier"} <= cats
    lut = next(c for c in parts if c.category == "decode")
    assert lut.widths == (4, 6) and lut.per_mac == 1
    assert next(c for c in parts if c.category == "dequant").per_mac == 1 / 128


def test_pe_defaults_follow_the_pe_kind():
    a, w = pe_operands("float_mac", {}, None, None, 16, 16)
    assert a.kind == w.kind == "float" and a.bits == 16
    a, w = pe_operands("float_mac", {"weight_decoder": "ant"}, "float16", None, 16, 5.5)
    assert w == int_operand(5)
    a, w = pe_operands("int_mac", {}, None, None, 8, 4.0625)
    assert (a.bits, w.bits) == (8, 4)


def test_bram_follows_buffer_shapes():
    arch = load_arch(ARCH / "fpga_zcu104.yaml")
    wbuf = arch.memory[0]  # 128 KiB in 8 banks of 64 x 2048: four 512 x 72 blocks each
    assert bram36_of_level(wbuf) == 32
    deep = replace(wbuf, size_bytes=1 << 20, banks=1, word_bits=8)  # 8 bits x 1M words
    assert bram36_of_level(deep) == 256  # 8 Mb / 32 Kb, whichever aspect ratio


def test_report_of_a_design_that_does_not_fit_names_the_resource():
    arch = load_arch(ARCH / "fpga_zcu104.yaml")
    big = replace(arch, pe_array=replace(arch.pe_array, rows=48, cols=48))
    st = simulate(big, Workload("w", (Op("g", "gemm", M=8, N=8, K=8),)), mode="analytic")
    assert not st.fpga.fits and st.fpga.over == ("dsps",)
    assert st.fpga.dsps == 48 * 48 and st.fpga.share()["dsps"] > 1


def test_bad_input_is_one_line():
    with pytest.raises(HwsimError, match=r"format 'mxfp4': no datapath model covers BlockFormat"):
        operand("mxfp4")
    with pytest.raises(HwsimError, match=r"PE kind 'stripes': no datapath model"):
        mac_datapath("stripes", {}, int_operand(8), int_operand(8))
    arch = load_arch(ARCH / "fpga_zcu104.yaml")
    bad = replace(arch, fpga=replace(arch.fpga, part="xczu99zz-ffvc1156-2-e"))
    with pytest.raises(HwsimError, match=r"arch\.fpga\.part: unknown device 'xczu99zz"):
        fpga_resources(bad, arch_datapath(bad))
    with pytest.raises(HwsimError, match=r"\.source: every entry needs a source"):
        _entry("t.yaml: cells.x", {"value": 1.0})


def test_per_cycle_profiles_keep_their_published_pe_figures():
    st = simulate(ARCH / "bitmod.yaml", Workload("w", (Op("g", "gemm", M=4, N=64, K=64),)))
    assert "pe" in st.energy_breakdown_pj and "leakage" in st.energy_breakdown_pj
    assert not any(k.startswith("pe:") for k in st.energy_breakdown_pj)


def test_dsp_packing_by_operand_width():
    from hwsim.cost.datapath import Component
    from hwsim.cost.fpga import part_resources

    def mult(a, w):
        return Component("multiplier", "int_mult", (a, w), 1)

    assert part_resources(mult(8, 8), True, True) == ((8 + 8) / 2, 0.0, 1 / 2)  # WP486
    assert part_resources(mult(4, 4), True, True) == (3 / 4 * (4 + 4), 0.0, 1 / 4)  # WP521
    assert part_resources(mult(16, 16), True, False) == (0.0, 0.0, 1.0)
    assert part_resources(mult(27, 18), True, False)[2] == 1.0
    assert part_resources(mult(27, 19), True, False) == (float(mult_luts(27, 19)), 0.0, 0.0)
    fp = Component("multiplier", "int_mult", (4, 4), 1, True)  # a minifloat significand
    assert part_resources(fp, True, False) == (float(mult_luts(4, 4)), 0.0, 0.0)


def test_fp16_mac_model_lands_near_bitmods_synthesised_fp16_mac():
    # the Horowitz-anchored component model at 28 nm against an independent published PE:
    # BitMoD's FP16 MAC, 0.77 mW x 1.5 P&R at 1 GHz and 1968.7 um^2 (bitmod28 profile)
    from hwsim.cost.scaling import area_scale, energy_scale

    fp16 = operand("float16")
    parts = mac_datapath("float_mac", {}, fp16, fp16)
    pj = sum(datapath_pj(parts, H45, energy_scale(45, 28)).values())
    um2 = sum(datapath_um2(parts, H45, 1, area_scale(45, 28)).values())
    bitmod = load_profile("bitmod28")
    assert pj == pytest.approx(bitmod.pe_pj_per_cycle["float_mac"], rel=0.25)
    assert um2 == pytest.approx(bitmod.pe_um2["float_mac"], rel=0.25)


def test_each_op_is_priced_at_its_own_formats():
    # a recipe's rule puts lm_head at INT8 while the rest runs INT4: the multiplier energy is
    # the sum over ops of MACs x their own product's price (tpu_int8: 28 nm, horowitz45)
    from hwsim.cost.scaling import energy_scale
    from hwsim.workload import load_recipe

    recipe = load_recipe(
        {
            "version": 1,
            "name": "mixed",
            "default": {
                "weights": {"format": "int4", "granularity": "channel"},
                "activations": {"format": "int4"},
            },
            "rules": [
                {
                    "match": "lm_head",
                    "weights": {"format": "int8", "granularity": "channel"},
                    "activations": {"format": "int8"},
                }
            ],
        }
    )
    wl = Workload(
        "w", (Op("body", "gemm", M=16, N=64, K=64), Op("lm_head", "gemm", M=16, N=32, K=64))
    )
    st = simulate(ARCH / "tpu_int8.yaml", wl, quant=recipe, mode="analytic")
    per_bit2 = 0.00305 * energy_scale(45, 28)
    want = (16 * 64 * 64 * 16 + 16 * 32 * 64 * 64) * per_bit2
    assert st.energy_breakdown_pj["pe:multiplier"] == pytest.approx(want, rel=1e-12)


def test_compute_units_get_their_own_datapath_area():
    st = simulate("sageattn2", Workload("w", (Op("g", "gemm", M=4, N=64, K=64),)), mode="analytic")
    area = st.area_breakdown_mm2
    per_pe = {u.name: area[f"pe:{u.name}:multiplier"] / u.array.pes for u in st.arch.compute_units}
    assert per_pe["int4_qk"] < per_pe["fp8_pv"] < per_pe["fp16_gemm"]
