"""hwsim.workload: what a model asks the hardware to do.

`load_workload(source)` takes a workload YAML file, a SCALE-Sim topology CSV, or a model
card string `model:phase:length[:batch]` (see hwsim.workload.cards). The other names resolve
on first use (hwsim.lazy): the command line loads `commands` without numpy.
"""

from __future__ import annotations

from pathlib import Path

from hwsim.errors import HwsimError
from hwsim.lazy import lazy_names

__all__ = ["HwsimError", "load_workload"]


def load_workload(source):
    """A Workload from a .yaml/.yml file, a SCALE-Sim .csv, or a card string."""
    from hwsim.workload.op import Workload

    if isinstance(source, Workload):
        return source
    text = str(source)
    suffix = Path(text).suffix.lower()
    if suffix in (".yaml", ".yml"):
        from hwsim.workload.io import load_yaml

        return load_yaml(text)
    if suffix == ".csv":
        from hwsim.workload.io import load_scalesim_csv

        return load_scalesim_csv(text)
    if text.count(":") in (2, 3) and not Path(text).exists():
        from hwsim.workload.cards import load_card

        return load_card(text)
    raise HwsimError(
        f"workload {text!r}: expected a .yaml file, a SCALE-Sim .csv, or a card "
        "model:phase:length[:batch]"
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
        "load_scalesim_csv": "hwsim.workload.io",
        "load_yaml": "hwsim.workload.io",
        "materialize": "hwsim.workload.synthetic",
        "model_names": "hwsim.workload.cards",
        "save_scalesim_csv": "hwsim.workload.io",
        "save_yaml": "hwsim.workload.io",
        "trace": "hwsim.workload.tracer",
    },
)
