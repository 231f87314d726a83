"""reports/paper/zigzag_results.json (ZigZag's figures, committed) describes hwsim's ResNet-18:
the layers ZigZag evaluated are the array ops of `resnet-18:infer:224`, with their loop sizes
and MACs, and ZigZag was given the energies hwsim prices the tpu_int8 arch with."""

from __future__ import annotations

import copy

import pytest
from scripts import load_script

import hwsim


def _module(name: str):
    return load_script(f"reports/paper/{name}.py")


@pytest.fixture(scope="module")
def validation():
    return _module("zigzag_validation")


@pytest.fixture(scope="module")
def results(validation):
    return validation.load_results()


@pytest.fixture(scope="module")
def workload(validation):
    return hwsim.load_workload(validation.ZR.WORKLOAD)


def test_zigzag_layers_are_hwsims_array_ops(validation, results, workload):
    assert validation.shape_mismatches(results, workload) == []
    array_ops = [op for op in workload.ops if op.kind in ("conv", "gemm")]
    for run in results["runs"].values():
        assert len(run["layers"]) == len(array_ops) == 21
        assert sum(layer["macs"] for layer in run["layers"]) == sum(op.macs for op in array_ops)


@pytest.mark.parametrize(
    "change, expect",
    [
        (lambda r: r["runs"]["latency"]["layers"][5]["loop_sizes"].update(C=32), "layer2.0.conv1"),
        (lambda r: r["runs"]["energy"]["layers"].pop(), "layers"),
        (lambda r: r["runs"]["energy"]["layers"][0].update(macs=1), "MACs"),
        (
            lambda r: r["zigzag_inputs"]["workload.yaml"][7].update(padding=[[1, 1], [1, 1]]),
            "layer2.0.downsample.0: padding",
        ),
    ],
)
def test_a_changed_layer_is_reported(validation, results, workload, change, expect):
    bad = copy.deepcopy(results)
    change(bad)
    mismatches = validation.shape_mismatches(bad, workload)
    assert len(mismatches) == 1 and expect in mismatches[0]


def test_zigzag_was_given_hwsims_energies_and_array(validation, results):
    """The committed ZigZag inputs price as hwsim prices tpu_int8 today (a cost-profile change
    makes zigzag_run.py due for a rerun)."""
    from hwsim.cost import arch_datapath, energy_scale, load_profile
    from hwsim.cost.asic import datapath_pj
    from hwsim.cost.energy import dram_pj_per_bit, sram_pj_per_bit

    arch = hwsim.load_arch(validation.ZR.ARCH)
    prof = load_profile(arch.technology.profile)
    scale = energy_scale(prof.node_nm, arch.technology.node_nm)
    acc = results["zigzag_inputs"]["accelerator.yaml"]
    pe = sum(datapath_pj(arch_datapath(arch), prof, scale).values())
    assert acc["operational_array"]["unit_energy"] == pytest.approx(pe)
    assert acc["operational_array"]["sizes"] == [arch.pe_array.cols, arch.pe_array.rows]
    for level in arch.memory:
        mem = acc["memories"][level.name]
        width = max(p["bandwidth_max"] for p in mem["ports"])
        assert mem["size"] == level.size_bytes * 8
        assert mem["r_cost"] / width == pytest.approx(sram_pj_per_bit(level, prof, scale))
    dram = acc["memories"]["dram"]
    assert dram["r_cost"] / dram["ports"][0]["bandwidth_max"] == dram_pj_per_bit(arch, prof)
