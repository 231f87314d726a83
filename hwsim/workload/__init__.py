"""hwsim.workload: what a model asks the hardware to do.

`load_workload(source)` takes a workload YAML file, a SCALE-Sim topology CSV, or a model
card string `model:phase:length[:batch]` (see hwsim.workload.cards).
"""

from __future__ import annotations

from pathlib import Path

from hwsim.errors import HwsimError
from hwsim.shipped import resolve
from hwsim.workload.cards import build_card, load_card, model_names
from hwsim.workload.io import load_yaml, save_yaml
from hwsim.workload.op import OP_KINDS, ConvShape, Op, Workload
from hwsim.workload.recipe import Recipe, apply_recipe, load_recipe
from hwsim.workload.scalesim_topology import load_scalesim_csv, save_scalesim_csv
from hwsim.workload.synthetic import materialize
from hwsim.workload.tracer import AttentionConfig, fold_layers, trace


def is_card(text: str) -> bool:
    """Whether a workload reference is a model card `model:phase:length[:batch]` (an existing
    file of that name is a file)."""
    return text.count(":") in (2, 3) and not Path(text).exists()


def load_workload(source) -> Workload:
    """A Workload from a .yaml/.yml file, a SCALE-Sim .csv, a shipped workload's name
    (hwsim.shipped.resolve), or a card string."""
    if isinstance(source, Workload):
        return source
    text = str(source)
    if is_card(text):
        return load_card(text)
    path = resolve("workload", text)
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return load_yaml(path)
    if suffix == ".csv":
        return load_scalesim_csv(path)
    raise HwsimError(
        f"workload {text!r}: expected a .yaml file, a SCALE-Sim .csv, a shipped workload's "
        "name, or a card model:phase:length[:batch]"
    )


__all__ = [
    "OP_KINDS",
    "AttentionConfig",
    "ConvShape",
    "HwsimError",
    "Op",
    "Recipe",
    "Workload",
    "apply_recipe",
    "build_card",
    "fold_layers",
    "is_card",
    "load_card",
    "load_recipe",
    "load_scalesim_csv",
    "load_workload",
    "load_yaml",
    "materialize",
    "model_names",
    "save_scalesim_csv",
    "save_yaml",
    "trace",
]
