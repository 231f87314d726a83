"""The precision each op is timed and priced at: the arch's, one override, or a quant recipe.

`quant` of `simulate`:
  None               the arch's `Precision` for every op
  dict / Precision   one override for every op (dict keys are Precision field names)
  Recipe             its `default:` specs override the arch for every op, and the first rule
                     that matches an op overrides that op (lm_head at INT8, ...), so a mixed
                     recipe changes cycles, traffic and energy op by op, not only SQNR

A recipe's specs become Precision fields (`spec_overrides`): weight_bits / activation_bits
are the widest format of each menu; group_size and scale_bits come from a group or block
weight spec (scale bits plus, when asymmetric, a zero point of element width); a
single-format menu names the format, while a per-group menu keeps the arch's own weight
format (e.g. BitMoD's mixture, which the PE already models). A menu with a bit budget
(`bits_per_weight`) moves and stores its weights at the budget: a recipe is priced before any
tensor is quantized, and the realised mean element bits never exceed the budget (and, with
two formats where the wider errs less, as int4 against int2, come within one group's step of
it), so the budget is a tight upper bound; compute cycles stay the PE's own model of the menu
(memory time follows the traffic); a zero point (asymmetric groups) stays as wide as the
widest format, since the hardware reads one field width. An operand left in float
(`null`) keeps the arch's precision.

Attention ops (QK^T, AV) take only activation fields from their rule here; the rule's weight
slot is their K / V spec, which hwsim.sim.plan keeps as the op's `kv` (K / V move at its bits,
else at the activation width, and a PE that takes it multiplies in it; otherwise the PE times
them with the unit's weight path, as it does without a recipe).
"""

from __future__ import annotations

from dataclasses import fields, replace

from hwsim.errors import HwsimError
from hwsim.spec.schema import Precision
from hwsim.workload.op import Op
from hwsim.workload.recipe import Recipe

_SCALE_BITS = {"fp32": 32, "fp16": 16, "bf16": 16, "e8m0": 8, "pow2": 8}
_ACTIVATION_FIELDS = ("activation_bits", "activation_format")


def spec_overrides(w_spec, a_spec) -> dict:
    """Precision fields (a dict) of a weight spec and an activation spec (None: float)."""
    from hwsim.dtypes import format as get_format

    out: dict = {}
    if w_spec is not None:
        widest = max(_bits(get_format, n) for n in w_spec.menu)
        budget = w_spec.bits_per_weight
        out["weight_bits"] = float(widest if budget is None else min(budget, widest))
        if len(w_spec.menu) == 1 and not w_spec.menu[0].startswith("olive_"):
            out["weight_format"] = w_spec.menu[0]
        if w_spec.granularity in ("group", "block") and w_spec.group_size:
            out["group_size"] = int(w_spec.group_size)
            # an asymmetric group also stores a zero point as wide as its elements
            zero_bits = 0 if w_spec.symmetric else widest
            out["scale_bits"] = scale_bits(w_spec.scale_format) + zero_bits
        else:
            out["group_size"] = None
            out["scale_bits"] = 0
    if a_spec is not None:
        out["activation_bits"] = int(max(_bits(get_format, n) for n in a_spec.menu))
        if len(a_spec.menu) == 1:
            out["activation_format"] = a_spec.menu[0]
    return out


def scale_bits(scale_format: str) -> int:
    """Stored bits of one group scale of `scale_format`."""
    if scale_format in _SCALE_BITS:
        return _SCALE_BITS[scale_format]
    if scale_format.startswith("int") and scale_format[3:].isdigit():
        return int(scale_format[3:])
    raise HwsimError(
        f"scale_format: expected fp32, fp16, bf16, e8m0, pow2 or intN, got {scale_format!r}"
    )


def _bits(get_format, name: str) -> int:
    if name.startswith("olive_"):
        return int("".join(ch for ch in name if ch.isdigit()) or 4)
    return int(get_format(name).bits)


def apply_quant(prec: Precision, quant) -> Precision:
    """The run-wide precision: the arch's, overridden by `quant` (a recipe: its default)."""
    if quant is None:
        return prec
    if isinstance(quant, Precision):
        return quant
    if isinstance(quant, Recipe):
        default = quant.default
        return replace(prec, **spec_overrides(default.get("weights"), default.get("activations")))
    if isinstance(quant, dict):
        names = {f.name for f in fields(Precision)}
        unknown = sorted(set(quant) - names)
        if unknown:
            expected = ", ".join(sorted(names))
            raise HwsimError(f"quant: unknown field(s) {', '.join(unknown)}; expected {expected}")
        return replace(prec, **quant)
    raise HwsimError(
        "quant: expected None, a dict of precision fields, a Precision or a Recipe, "
        f"got {type(quant).__name__}"
    )


def op_precision(run_prec: Precision, quant, op: Op) -> Precision:
    """The precision `op` runs at: `run_prec` (apply_quant's), or its recipe rule's."""
    if not isinstance(quant, Recipe) or not quant.rules:
        return run_prec
    w_spec, a_spec = quant.specs_for(op)
    over = spec_overrides(w_spec, a_spec)
    if op.weight_is_activation:  # K / V are activations: the weight path stays the run's
        over = {k: v for k, v in over.items() if k in _ACTIVATION_FIELDS}
    return replace(run_prec, **over)
