"""hwsim.workload: what a model asks the hardware to do.

`load_workload(source)` takes a workload YAML file, a SCALE-Sim topology CSV, a shipped
workload's name (hwsim.shipped.resolve), or a model card string `model:phase:length[:batch]`
(see hwsim.workload.cards). The other names resolve on first use (hwsim.lazy): the command
line loads `commands` without numpy.
"""

from __future__ import annotations

import os
from pathlib import Path

from hwsim.errors import HwsimError
from hwsim.lazy import lazy_names
from hwsim.shipped import resolve

__all__ = ["HwsimError", "is_card", "load_workload"]


def is_card(text: str) -> bool:
    """Whether a workload reference is a model card `model:phase:length[:batch]` (an existing
    file of that name is a file)."""
    return text.count(":") in (2, 3) and not Path(text).exists()


def load_workload(source):
    """A Workload from a .yaml/.yml file, a SCALE-Sim .csv, a shipped workload's name, or a
    card string."""
    from hwsim.workload.op import Workload

    if isinstance(source, Workload):
        return source
    if not isinstance(source, str | os.PathLike):
        raise HwsimError(
            "workload: expected a Workload, a path, a shipped workload's name or a card, "
            f"got {type(source).__name__}"
        )
    text = str(source)
    if is_card(text):
        from hwsim.workload.cards import load_card

        return load_card(text)
    path = resolve("workload", text)
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        from hwsim.workload.io import load_yaml

        return load_yaml(path)
    if suffix == ".csv":
        from hwsim.workload.scalesim_topology import load_scalesim_csv

        return load_scalesim_csv(path)
    raise HwsimError(
        f"workload {text!r}: expected a .yaml file, a SCALE-Sim .csv, a shipped workload's "
        "name, or a card model:phase:length[:batch]"
    )


lazy_names(
    __name__,
    {
        "OP_KINDS": "hwsim.workload.op",
        "AttentionConfig": "hwsim.workload.tracer",
        "ConvShape": "hwsim.workload.op",
        "Op": "hwsim.workload.op",
        "Recipe": "hwsim.workload.recipe",
        "Workload": "hwsim.workload.op",
        "apply_recipe": "hwsim.workload.recipe",
        "build_card": "hwsim.workload.cards",
        "fold_layers": "hwsim.workload.tracer",
        "load_card": "hwsim.workload.cards",
        "load_recipe": "hwsim.workload.recipe",
        "load_scalesim_csv": "hwsim.workload.scalesim_topology",
        "load_yaml": "hwsim.workload.io",
        "materialize": "hwsim.workload.synthetic",
        "model_names": "hwsim.workload.cards",
        "save_scalesim_csv": "hwsim.workload.scalesim_topology",
        "save_yaml": "hwsim.workload.io",
        "trace": "hwsim.workload.tracer",
    },
)
