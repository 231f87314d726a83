"""The bind stage: plan(arch, workload, quant) -> Plan, one frozen OpPlan per op.

Every name the user wrote is resolved here, once: the PE kind (an instance), the dataflow (the
registered object), the route or recipe rule that picks each op's compute unit, the recipe
rule that picks its QuantSpecs, and the formats the unit's PE must take. The engine
(hwsim.sim.api), the action counts, the cost model and the reports consume OpPlans only.

Units run one after another in program order (hwsim.spec.schema: a layer-sequential schedule,
as the kernels of COMET, SageAttention2 and LLM.int8() run on one device); vector ops run on
the vector unit (OpPlan.unit None).

Which unit an op runs on: the `unit:` of the first recipe rule selecting it, else the first
arch route selecting it, else the only unit. Bad input, one line naming the file, op or unit:
  - an op routed to a unit whose PE cannot take the op's formats
  - an op no route selects, on an arch with several units (add a last `- unit: NAME` route)
  - a route whose `match:` pattern selects no op of the workload (a typo, most likely; a
    kind-only route selecting nothing is fine: a CNN has no attention)
  - a recipe rule naming a unit the arch does not have
A unit that runs no op of this workload is not an error (its routes may serve other
workloads); the report lists each unit's op count. A unit named by no route is refused when
the arch loads.

Precision of an op: its unit's default precision (the unit's `precision:`, else the arch's),
overridden by `quant` (hwsim.sim.precision). The recipe's QuantSpecs are kept exactly as
written (`weights`, `activations`, and `kv` for attention ops, whose second operand is the K
or V cache: the weight slot of the recipe rule selecting that op, else the op's activation
spec; the recipe's default weights are weights only, hwsim.workload.recipe.Recipe.specs_for);
None where the operand stays float or no recipe is given.
Storage bits are derived from `precision` (and `kv`: K / V move at the KV spec's bits, else
at the activation width). An attention op with a KV spec multiplies in that format when its
PE takes it; a PE that cannot (BitMoD's term-serial weight side) is timed on its unit's own
default weight path, as the BitMoD simulator times it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from functools import cached_property

from hwsim.errors import HwsimError
from hwsim.sim.dataflow import get_dataflow
from hwsim.sim.mapper import check_objective, choose_mapping
from hwsim.sim.mapping import OpMapping, map_op
from hwsim.sim.pe_model import PEModel, pe_model
from hwsim.sim.precision import apply_quant, op_precision
from hwsim.spec.schema import Arch, ComputeUnit, PEArray, Precision
from hwsim.workload.op import Op, Workload
from hwsim.workload.recipe import Recipe


@dataclass(frozen=True, eq=False)
class Unit:
    """A compute unit with its names resolved: PE instance, dataflow object, clock."""

    name: str
    array: PEArray  # kind, parameters, rows, cols, dot_product_width, systolic
    pe: object  # the PE instance (hwsim.pe registry contract: run, check, expected)
    dataflow: object  # the dataflow object (an op's plan: the one its mapping runs on)
    dataflow_name: str
    precision: Precision  # default precision of its ops, before `quant`
    clock_mhz: float
    dataflows: tuple[str, ...] = ()  # further dataflows the mapper may choose (hwsim.spec)
    mapping: str = "fixed"  # fixed | latency | energy | edp: the arch's or the unit's choice

    @property
    def rows(self) -> int:
        return self.array.rows

    @property
    def cols(self) -> int:
        return self.array.cols

    @property
    def pes(self) -> int:
        return self.array.pes


@dataclass(frozen=True, eq=False)
class OpPlan:
    """What one op runs on and at which precision, and how it maps."""

    op: Op
    unit: Unit | None  # None: a vector op, on the vector unit
    precision: Precision  # formats and bits its timing and traffic use
    weights: object = None  # the recipe's weight QuantSpec (None: float or no recipe)
    activations: object = None  # the recipe's activation QuantSpec
    kv: object = None  # attention ops: the recipe's QuantSpec of the K / V operand
    pe: PEModel | None = None  # the unit's PE at this precision (None for vector ops)
    mapping: OpMapping | None = None  # tiling and fold timing (None for vector ops)
    key: tuple = ()  # ops with equal keys time identically (the engine's cache)

    @property
    def weight_storage_bits(self) -> float:
        """Bits per stored weight, amortised group scales included."""
        return self.precision.weight_storage_bits

    @property
    def second_operand_bits(self) -> float:
        """Bits per element of the weight-side operand in memory: a weight's storage bits, or
        for attention a K / V element's (the KV spec's, else the activation width)."""
        return _second_bits(self.op, self.precision, self.kv)

    @property
    def activation_bits(self) -> int:
        return self.precision.activation_bits

    @property
    def weight_format(self) -> str:
        """The weight-side format as the PE sees it ('a|b' for a menu; K/V for attention)."""
        spec = self.kv if self.op.weight_is_activation else self.weights
        if spec is not None:
            return "|".join(spec.menu)
        if self.op.weight_is_activation:
            return self.precision.activation_format or ""
        return self.precision.weight_format or ""

    @property
    def activation_format(self) -> str:
        if self.activations is not None:
            return "|".join(self.activations.menu)
        return self.precision.activation_format or ""

    @property
    def group_size(self) -> int:
        """Elements per scale of the weight-side operand (K / V for attention; 0: per channel,
        per tensor, or no scales)."""
        if self.op.weight_is_activation:
            kv = self.kv
            return kv.group_size or 0 if kv is not None and kv.granularity == "group" else 0
        return self.precision.group_size or 0

    @property
    def scale_format(self) -> str:
        """Format of the weight-side operand's scales: the recipe's, else the arch's
        scale_bits-bit integer group scales ("" without scales)."""
        spec = self.kv if self.op.weight_is_activation else self.weights
        if spec is not None:
            return spec.scale_format
        prec = self.precision
        if self.op.weight_is_activation or not (prec.group_size and prec.scale_bits):
            return ""
        return f"int{prec.scale_bits}"


@dataclass(frozen=True, eq=False)
class Plan:
    """The bound workload: the arch after per-workload overrides, its units, one OpPlan per op."""

    arch: Arch
    workload: Workload
    units: dict  # name -> Unit, in declaration order
    ops: tuple  # OpPlan per op, in program order
    run_pe: dict  # unit name -> PEModel at the unit's run-wide precision
    run_precision: dict  # unit name -> Precision after `quant` (a recipe: its default)

    @cached_property
    def ops_per_unit(self) -> dict:
        """unit name -> ops planned on it (0 for a unit this workload leaves idle)."""
        out = dict.fromkeys(self.units, 0)
        for p in self.ops:
            if p.unit is not None:
                out[p.unit.name] += 1
        return out


def resolve_unit(arch: Arch, unit: ComputeUnit) -> Unit:
    """A ComputeUnit with its PE kind and dataflow resolved."""
    return Unit(
        name=unit.name,
        array=unit.array,
        pe=_pe_instance(unit.array.pe_kind, unit.array.pe_params),
        dataflow=get_dataflow(unit.dataflow),
        dataflow_name=unit.dataflow,
        precision=unit.precision or arch.precision,
        clock_mhz=arch.clock_mhz,
        dataflows=unit.dataflows,
        mapping=unit.mapping or arch.mapping,
    )


# (PE kind, parameters) -> its instance: PEs are configured, stateless objects, and a sweep
# builds its points' units from a few arrays
_PES: dict = {}


def _pe_instance(kind: str, params: tuple):
    from hwsim.pe.registry import get_pe

    try:
        return _PES[(kind, params)]
    except KeyError:
        if len(_PES) > 1024:
            _PES.clear()
        pe = _PES[(kind, params)] = get_pe(kind, **dict(params))
        return pe
    except TypeError:  # list-valued parameters
        return get_pe(kind, **dict(params))


def plan(arch: Arch, workload: Workload, quant=None, objective: str | None = None) -> Plan:
    """Bind every op of `workload` to a unit of `arch`, its precision and its mapping: the
    fixed mapping, or with `objective` (latency | energy | edp) the mapper's (hwsim.sim.mapper;
    traced ops keep the fixed one, their measured folds follow its nest). `objective` None
    takes each unit's `mapping:` (the arch's by default, `fixed` unless it says); "fixed"
    forces the fixed mapping."""
    check_objective(objective)
    arch = arch.for_workload(workload.name)
    units = {u.name: resolve_unit(arch, u) for u in arch.units}
    recipe = quant if isinstance(quant, Recipe) else None
    if recipe is not None:
        _check_recipe_units(recipe, units, arch)
    run_prec = {name: apply_quant(u.precision, quant) for name, u in units.items()}
    _check_routes_used(arch, workload)
    cache: dict = {}
    ops = []
    for op in workload.ops:
        rule = recipe.rule_for(op) if recipe is not None and recipe.rules else None
        if rule is not None and rule.outliers is not None and op.kind == "gemm":
            ops += _plan_split(arch, units, run_prec, recipe, quant, op, rule, cache, objective)
        else:
            ops.append(_plan_op(arch, units, run_prec, recipe, quant, op, cache, rule, objective))
    ops = tuple(ops)
    run_pe = {name: _run_pe(arch, u, run_prec[name], ops) for name, u in units.items()}
    return Plan(arch, workload, units, ops, run_pe, run_prec)


def _plan_op(arch, units, run_prec, recipe, quant, op: Op, cache, rule, objective) -> OpPlan:
    if op.kind == "vector":
        return OpPlan(op, None, arch.precision, key=("vector", op.elements, op.vector_kind))
    if len(units) == 1 and not arch.routes and (rule is None or rule.unit is None):
        unit = next(iter(units.values()))  # one array: every op runs on it
    else:
        unit = _unit_for(arch, units, rule, op)
    # an op's precision and specs follow from its unit and its rule: the key says both
    key = (
        unit.name,
        id(rule),
        op.kind,
        op.M,
        op.N,
        op.K,
        op.batch,
        op.weight_is_activation,
        op.kv_group,
        op.conv,
        id(op) if op.inputs is not None else None,  # traced tensors: time each op's own
    )
    if key not in cache:
        cache[key] = _bind(arch, unit, run_prec[unit.name], recipe, quant, op, key, objective)
    p = cache[key]
    return p if p.op is op else _for_op(p, op)


def _plan_split(arch, units, run_prec, recipe, quant, op: Op, rule, cache, objective) -> list:
    """The OpPlans of a GEMM split by its rule's `outliers:` (hwsim.workload.outliers): the
    dense part at the rule's specs (mapped for `objective`), the sparse part at the outliers'
    specs on their unit, reading its column indices with its inputs (the fixed mapping: the
    mapper does not model the index stream)."""
    from hwsim.sim.precision import spec_overrides
    from hwsim.workload.outliers import index_bytes, split

    dense, sparse = split(op, rule.outliers)
    out = []
    if dense is not None:
        out.append(_plan_op(arch, units, run_prec, recipe, quant, dense, cache, rule, objective))
    if sparse is None:
        return out
    spec = rule.outliers
    unit = units[spec.unit] if spec.unit is not None else _unit_for(arch, units, None, sparse)
    w_spec, a_spec = recipe.specs_for(op)
    w_spec = spec.specs.get("weights", w_spec)
    a_spec = spec.specs.get("activations", a_spec)
    prec = replace(run_prec[unit.name], **spec_overrides(w_spec, a_spec))
    try:
        pe = _op_pe(unit, prec, None)
    except HwsimError as e:
        raise HwsimError(
            f"op {sparse.name!r}: {unit_path(arch, unit.name)}.pe: {e} "
            f"(unit {unit.name!r}, {arch.source})"
        ) from None
    extra = index_bytes(sparse.K, op.K)
    m = map_op(arch, unit, sparse, pe, prec.weight_storage_bits, prec.activation_bits, extra)
    key = ("outliers", id(sparse))  # its own columns: time it on its own
    out.append(OpPlan(sparse, unit, prec, w_spec, a_spec, None, pe, m, key))
    return out


def _for_op(p: OpPlan, op: Op) -> OpPlan:
    """`p` bound to another op of its key (a copy without the frozen __init__'s per-field
    setattr: a sweep plans every op of every point)."""
    values = p.__dict__.copy()
    values["op"] = op
    twin = object.__new__(OpPlan)
    object.__setattr__(twin, "__dict__", values)
    return twin


def _bind(arch, unit, run_prec, recipe, quant, op: Op, key, objective) -> OpPlan:
    """The OpPlan of the first op of its key: precision, specs, PE model and mapping."""
    prec = op_precision(run_prec, quant, op)
    weights, a_spec = recipe.specs_for(op) if recipe is not None else (None, None)
    kv = None
    if op.weight_is_activation:  # K / V: the rule's spec for them, else the activations'
        weights, kv = None, weights
    kv_prec = _kv_precision(prec, kv) if op.weight_is_activation else None
    try:
        pe = _op_pe(unit, prec, kv_prec)
    except HwsimError as e:
        raise HwsimError(
            f"op {op.name!r}: {unit_path(arch, unit.name)}.pe: {e} "
            f"(unit {unit.name!r}, {arch.source})"
        ) from None
    w_bits = _second_bits(op, prec, kv)
    m = map_op(arch, unit, op, pe, w_bits, prec.activation_bits)
    objective = unit.mapping if objective is None else objective
    if objective != "fixed" and op.inputs is None:
        m, df = choose_mapping(arch, unit, op, pe, w_bits, prec.activation_bits, m, objective)
        if df is not unit.dataflow:  # the mapper chose another of the unit's dataflows
            unit = replace(unit, dataflow=df, dataflow_name=df.name)
    return OpPlan(op, unit, prec, weights, a_spec, kv, pe, m, key)


def _second_bits(op: Op, prec: Precision, kv) -> float:
    if not op.weight_is_activation:
        return padded_storage_bits(prec, op.K)
    if kv is None:
        return prec.activation_bits
    return _kv_precision(prec, kv).weight_storage_bits


def padded_storage_bits(prec: Precision, K: int):
    """Stored bits per weight of a row of K: a group size that does not divide K zero-pads the
    row's last group (stored whole, with its scale, as hardware stores it; hwsim.sim.tensors
    pads the operands alike), so a row holds ceil(K / g) full groups. Exact (a Fraction)."""
    g = prec.group_size
    if not g or K % g == 0:
        return prec.weight_storage_bits
    groups = -(-K // g)
    return Fraction(groups * g * Fraction(prec.weight_bits) + groups * prec.scale_bits, K)


def _kv_precision(prec: Precision, kv) -> Precision | None:
    """The K / V operand's format and bits as Precision weight fields (None: no KV spec)."""
    if kv is None:
        return None
    from hwsim.sim.precision import spec_overrides

    over = spec_overrides(kv, None)
    over.setdefault("weight_format", prec.activation_format)  # a menu: its own path decides
    return replace(prec, **over)


def _op_pe(unit: Unit, prec: Precision, kv_prec: Precision | None) -> PEModel:
    """The op's PE model. An attention op with a KV spec multiplies activations by K / V in
    that format when the PE takes it; a PE that cannot (BitMoD's term-serial weight side takes
    no FP16; an FP16 unit takes no INT4 K / V, which it dequantizes first, as COMET's FP16
    attention does) is timed on its own default weight path."""
    if kv_prec is None:
        return pe_model(unit, prec, prec.activation_format, prec.weight_format)
    try:
        return pe_model(unit, kv_prec, prec.activation_format, kv_prec.weight_format)
    except HwsimError:
        own = unit.precision
        return pe_model(unit, own, prec.activation_format, own.weight_format)


def _run_pe(arch: Arch, unit: Unit, prec: Precision, ops) -> PEModel:
    """The unit's PE at its run-wide precision (what Stats.cycles_per_mac and the area
    describe). A recipe whose default the unit cannot take, but whose rules give every op on
    it formats it can, describes the unit by its first op; an error only when nothing does."""
    try:
        return pe_model(unit, prec, prec.activation_format, prec.weight_format)
    except HwsimError as e:
        first = next((p for p in ops if p.unit is not None and p.unit.name == unit.name), None)
        if first is not None:
            return first.pe
        if prec is not unit.precision:  # idle here: the unit's own precision (checked at load)
            return _run_pe(arch, unit, unit.precision, ops)
        raise HwsimError(
            f"{unit_path(arch, unit.name)}.pe: {e} (unit {unit.name!r}, {arch.source})"
        ) from None


def unit_path(arch: Arch, name: str) -> str:
    """Where unit `name` is declared: arch.pe_array, or arch.compute_units[i]."""
    if not arch.compute_units:
        return "arch.pe_array"
    index = [u.name for u in arch.compute_units].index(name)
    return f"arch.compute_units[{index}]"


def _unit_for(arch: Arch, units: dict, rule, op: Op) -> Unit:
    if rule is not None and rule.unit is not None:
        return units[rule.unit]
    for route in arch.routes:
        if route.selects(op):
            return units[route.unit]
    if len(units) == 1:
        return next(iter(units.values()))
    raise HwsimError(
        f"{arch.source}: op {op.name!r} (kind {op.kind}): no route selects it; expected a "
        f"route for it or a last catch-all route (`- unit: NAME`) to one of {', '.join(units)}"
    )


def _check_recipe_units(recipe: Recipe, units: dict, arch: Arch) -> None:
    for i, rule in enumerate(recipe.rules):
        named = [("unit", rule.unit)]
        if rule.outliers is not None:
            named.append(("outliers.unit", rule.outliers.unit))
        for where, unit in named:
            if unit is not None and unit not in units:
                raise HwsimError(
                    f"{recipe.source or recipe.name}: rules[{i}].{where}: unknown compute unit "
                    f"{unit!r} of {arch.source or arch.name}; expected one of {', '.join(units)}"
                )


def _check_routes_used(arch: Arch, workload: Workload) -> None:
    for i, route in enumerate(arch.routes):
        if route.match is None:
            continue
        if not any(route.selects(op) for op in workload.ops if op.kind != "vector"):
            raise HwsimError(
                f"{arch.source}: routes[{i}].match: pattern {route.match!r} selects no op of "
                f"workload {workload.name!r}; expected an op-name pattern (fnmatch) of its ops"
            )
