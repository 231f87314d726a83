"""An arch's name is a label: a renamed copy of every shipped arch costs exactly the same."""

from __future__ import annotations

import re

import pytest

import hwsim
from hwsim.shipped import files, names

CARD = "llama-2-7b:decode:128"  # decode: the ANT, OliVe and BitMoD overrides apply


def renamed_copy(src, tmp_path):
    text = src.read_text()
    if src.suffix == ".cfg":  # SCALE-Sim names its run in [general] run_name
        copy = re.sub(r"^run_name\s*=.*$", "run_name = renamed-copy", text, flags=re.M)
    else:
        copy = re.sub(r"^name:.*$", "name: renamed-copy", text, flags=re.M)
    assert copy != text
    path = tmp_path / f"renamed{src.suffix}"
    path.write_text(copy)
    return path


@pytest.mark.parametrize("mode", ["analytic", "event"])
@pytest.mark.parametrize("name", names("arch"))
def test_a_renamed_copy_simulates_like_the_original(tmp_path, name, mode):
    src = files("arch")[name]
    copy = hwsim.simulate(renamed_copy(src, tmp_path), CARD, mode=mode)
    original = hwsim.simulate(src, CARD, mode=mode)
    assert copy.arch.name == "renamed-copy" != original.arch.name
    assert copy.cycles == original.cycles
    assert copy.energy_pj == original.energy_pj
    assert copy.energy_breakdown_pj == original.energy_breakdown_pj
    assert copy.area_mm2 == original.area_mm2
