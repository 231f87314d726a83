"""Per-cycle PE figures are selected by what the PE is: kind, parameters, widths."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hwsim.cost.energy import pe_cycle_key
from hwsim.cost.profiles import load_profile, pe_selector
from hwsim.errors import HwsimError
from hwsim.shipped import files
from hwsim.spec import load_arch


def with_entries(profile, *keys):
    table = dict.fromkeys(keys, 1.0)
    selectors = {k: pe_selector("test", k) for k in keys}
    return replace(profile, pe_pj_per_cycle=table, pe_selectors=selectors)


def test_shipped_archs_select_their_pe_entries():
    bitmod28 = load_profile("bitmod28")
    expected = {
        "bitmod": "bitmod:dp=4",
        "ant": "float_mac:weight_decoder=ant",
        "olive": "float_mac:weight_decoder=olive",
        "fp16": "float_mac",
    }
    for name, key in expected.items():
        assert pe_cycle_key(load_arch(files("arch")[name]), bitmod28) == key
    bitfusion = load_arch(files("arch")["bitfusion"])
    assert pe_cycle_key(bitfusion, load_profile("bitfusion")) == "*:a=4:w=4"


def test_the_most_specific_matching_entry_wins():
    arch = load_arch(files("arch")["tpu_int8"])  # int_mac, dp 1, 8x8 bits
    prof = with_entries(load_profile("bitfusion"), "*:a=8:w=8", "int_mac:a=8:w=8", "int_mac:a=4")
    assert pe_cycle_key(arch, prof) == "int_mac:a=8:w=8"
    prof = with_entries(prof, "*:a=8:w=8", "int_mac")
    assert pe_cycle_key(arch, prof) == "*:a=8:w=8"  # two qualifiers beat a kind alone


def test_equally_specific_matches_and_no_match_are_errors():
    arch = load_arch(files("arch")["tpu_int8"])
    prof = with_entries(load_profile("bitfusion"), "int_mac:a=8", "*:a=8:w=8")
    with pytest.raises(HwsimError, match=r"equally specific .* 'int_mac:a=8' and '\*:a=8:w=8'"):
        pe_cycle_key(arch, prof)
    five_bit = replace(arch, precision=replace(arch.precision, weight_bits=5.5))
    with pytest.raises(HwsimError, match=r"no entry for int_mac:dp=1:a=8:w=5; expected one of"):
        pe_cycle_key(five_bit, load_profile("bitfusion"))


def test_fixed_hardware_is_priced_alike_at_any_precision():
    bitmod28 = load_profile("bitmod28")
    ant = load_arch(files("arch")["ant"])
    plain = replace(ant, pe_array=replace(ant.pe_array, pe_params=()))
    assert pe_cycle_key(plain, bitmod28) == "float_mac"  # the FP16 MAC, not ANT's
    fp16 = load_arch(files("arch")["fp16"])
    fp8 = replace(fp16, precision=replace(fp16.precision, weight_bits=8, activation_bits=8))
    assert pe_cycle_key(fp8, bitmod28) == pe_cycle_key(fp16, bitmod28) == "float_mac"


@pytest.mark.parametrize("key", ["", "int_mac:a", "int_mac:=8", "int_mac:a=8:a=4", ":a=8"])
def test_malformed_entry_keys(key):
    with pytest.raises(HwsimError, match=r"test: expected KIND\[:NAME=VALUE\.\.\.\]"):
        pe_selector("test", key)


def test_float_mac_weight_decoder_is_a_name():
    from hwsim.pe.registry import get_pe

    assert get_pe("float_mac", weight_decoder="olive").weight_decoder == "olive"
    with pytest.raises(HwsimError, match=r"float_mac\.weight_decoder: expected a name, got 3"):
        get_pe("float_mac", weight_decoder=3)
