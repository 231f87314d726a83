"""Arch specs: shipped files load, overrides apply, every bad input is a one-line error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import hwsim
from hwsim.errors import HwsimError
from hwsim.spec import load_arch

ROOT = Path(__file__).resolve().parents[2]
ARCH = ROOT / "hwsim" / "data" / "arch"

TINY = """\
version: 1
name: tiny
clock_mhz: 1000
pe_array:
  rows: 4
  cols: 4
  dot_product_width: 1
  systolic: false
  pe:
    kind: int_mac
    params: {}
dataflow: os
memory:
  - name: wbuf
    size_bytes: 4096
    banks: 1
    word_bits: 32
    read_bytes_per_cycle: 4
    write_bytes_per_cycle: 4
    operands: [weights]
  - name: ibuf
    size_bytes: 4096
    banks: 2
    word_bits: 32
    read_bytes_per_cycle: 4
    write_bytes_per_cycle: 4
    operands: [inputs, outputs]
dram:
  type: lpddr4
  bytes_per_cycle: 8
  latency_cycles: 0
vector_unit:
  lanes: 4
technology:
  node_nm: 45
  profile: horowitz45
precision:
  weight_format: int8
  activation_format: int8
  weight_bits: 8
  activation_bits: 8
"""


def write(tmp_path, text: str, name: str = "x.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_tiny_arch_loads_frozen(tmp_path):
    arch = load_arch(write(tmp_path, TINY))
    assert arch.pe_array.pes == 16
    assert arch.level_for("outputs").name == "ibuf"
    with pytest.raises(AttributeError):
        arch.clock_mhz = 5  # frozen


@pytest.mark.parametrize(
    "name",
    [
        "tpu_int8",
        "bitmod",
        "ant",
        "olive",
        "fp16",
        "fpga_zcu104",
        "scalesim",
        "mixpe_w4a8",
        "mixpe_w4a16",
        "bitfusion",
        "stripes",
    ],
)
def test_shipped_arch_loads_and_cites_sources(name):
    path = ARCH / f"{name}.yaml"
    arch = load_arch(path)
    assert arch.version == 1 and arch.name == name
    assert path.read_text().lstrip().startswith("#")  # a comment block citing sources


def test_public_api_exports_load_arch():
    assert hwsim.load_arch is load_arch


def test_bitmod_weight_storage_and_decode_override():
    arch = load_arch(ARCH / "bitmod.yaml")
    assert arch.precision.weight_storage_bits == 4.0625
    dec = arch.for_workload("llama-2-7b:decode:256:1")
    assert (dec.pe_array.rows, dec.pe_array.cols) == (64, 16)
    assert dec.precision.weight_storage_bits == 3.0625
    assert dec.precision.weight_format == "bitmod_fp3"
    assert arch.for_workload("llama-2-7b:prefill:256:1") == arch


def test_per_model_overrides_apply_in_order():
    ant = load_arch(ARCH / "ant.yaml")
    assert ant.for_workload("llama-3-8b:decode:256:1").precision.weight_bits == 4.5
    assert ant.for_workload("llama-2-7b:decode:256:1").precision.weight_bits == 5
    assert ant.for_workload("llama-2-7b:prefill:256:1").precision.weight_bits == 5.5
    olive = load_arch(ARCH / "olive.yaml")
    assert olive.for_workload("opt-1.3b:decode:256:1").precision.weight_bits == 3.875
    assert olive.for_workload("opt-1.3b:decode:256:1").pe_array.rows == 72


def test_scalesim_cfg_matches_yaml_twin():
    cfg = load_arch(ARCH / "scalesim.cfg")
    yml = load_arch(ARCH / "scalesim.yaml")
    assert (cfg.pe_array.rows, cfg.pe_array.cols, cfg.dataflow) == (32, 32, "os")
    assert [lv.size_bytes for lv in cfg.memory] == [lv.size_bytes for lv in yml.memory]
    assert cfg.dram.bytes_per_cycle == yml.dram.bytes_per_cycle


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_negative_size_names_path_file_and_line(tmp_path):
    text = TINY.replace("size_bytes: 4096\n    banks: 2", "size_bytes: -4\n    banks: 2")
    p = write(tmp_path, text)
    line = _line_of(text, "size_bytes: -4")
    msg = re.escape(
        f"{p}: arch.memory[1].size_bytes: expected an integer > 0, got -4 (line {line})"
    )
    with pytest.raises(HwsimError, match=msg):
        load_arch(p)


def test_all_errors_reported_in_one_pass_on_one_line(tmp_path):
    text = TINY.replace("rows: 4", "rows: 0").replace("clock_mhz: 1000", "clock_mhz: fast")
    with pytest.raises(HwsimError) as e:
        load_arch(write(tmp_path, text))
    msg = str(e.value)
    assert "\n" not in msg
    assert "arch.clock_mhz: expected a number >= 0.001, got 'fast'" in msg
    assert "arch.pe_array.rows: expected an integer > 0, got 0" in msg


@pytest.mark.parametrize(
    "old, new, pattern",
    [
        ("version: 1\n", "", r"arch\.version: missing required field"),
        ("version: 1", "version: 7", r"arch\.version: expected 1, got 7"),
        ("kind: int_mac", "kind: int_mak", r"arch\.pe_array\.pe\.kind: unknown PE kind 'int_mak'"),
        ("params: {}", "params: {bogus: 1}", r"arch\.pe_array\.pe\.kind: PE 'int_mac': unknown"),
        ("dataflow: os", "dataflow: rs", r"arch\.dataflow: unknown dataflow 'rs'"),
        ("lanes: 4", "lanes: 4\n  colour: red", r"arch\.vector_unit\.colour: unknown field"),
        ("operands: [weights]", "operands: [filters]", r"expected operands from weights"),
        (
            "operands: [weights]",
            "operands: [inputs]",
            r"arch\.memory: no buffer level holds 'weights'",
        ),
        (
            "profile: horowitz45",
            "profile: horowitz",
            r"arch\.technology\.profile: unknown cost profile",
        ),
        (
            "weight_format: int8",
            "weight_format: int99x",
            r"arch\.precision\.weight_format: unknown",
        ),
        ("weight_format: int8", "weight_format: float8_e4m3fn", r"arch\.precision: PE 'int_mac'"),
        (
            "bytes_per_cycle: 8",
            "bytes_per_cycle: -1",
            r"arch\.dram\.bytes_per_cycle: expected a number >= 0\.001, got -1",
        ),
        (
            "systolic: false",
            "systolic: 3",
            r"arch\.pe_array\.systolic: expected true or false, got 3",
        ),
    ],
)
def test_bad_fields_are_one_line_errors(tmp_path, old, new, pattern):
    assert old in TINY
    with pytest.raises(HwsimError, match=pattern) as e:
        load_arch(write(tmp_path, TINY.replace(old, new, 1)))
    assert "\n" not in str(e.value) and "line " in str(e.value)


def test_missing_section_and_non_mapping(tmp_path):
    start = TINY.index("dram:")
    end = TINY.index("vector_unit:")
    with pytest.raises(HwsimError, match=r"arch\.dram: missing required section"):
        load_arch(write(tmp_path, TINY[:start] + TINY[end:]))
    with pytest.raises(HwsimError, match=r"x\.yaml: arch: expected a mapping at the top"):
        load_arch(write(tmp_path, "- 1\n- 2\n"))


def test_invalid_yaml_and_missing_file(tmp_path):
    with pytest.raises(HwsimError, match=r"x\.yaml: not valid YAML: .* \(line \d+\)"):
        load_arch(write(tmp_path, "version: 1\nname: [unclosed\n"))
    with pytest.raises(
        HwsimError, match=r"arch: no file or shipped arch named '.*nope\.yaml'; shipped: .*bitmod"
    ):
        load_arch(tmp_path / "nope.yaml")
