"""One validator per Arch section: each reads its mapping through a Checker and returns the
section's dataclass, or None after recording its errors (so every error is found in one pass).
"""

from __future__ import annotations

from hwsim.errors import HwsimError, closest
from hwsim.spec.schema import (
    DRAM,
    ComputeUnit,
    FPGADevice,
    MemoryLevel,
    Override,
    PEArray,
    Precision,
    Technology,
    VectorUnit,
)
from hwsim.spec.yamlcheck import Checker, Map, Seq, kind_of, limits, problem, shown

OPERANDS = ("weights", "inputs", "outputs")


def pe_array(c: Checker, doc: Map) -> PEArray | None:
    if "compute_units" in doc and "pe_array" not in doc:
        return None  # the arch's units come from compute_units
    m = c.section(doc, "pe_array", "arch")
    if m is None:
        return None
    c.known(m, "arch.pe_array", ["rows", "cols", "dot_product_width", "systolic", "pe"])
    return array_fields(c, m, "arch.pe_array")


def array_fields(c: Checker, m: Map, path: str) -> PEArray | None:
    """The PE array fields of `m` (a pe_array section or a compute unit)."""
    rows = c.get(m, "rows", path, "int", gt=0)
    cols = c.get(m, "cols", path, "int", gt=0)
    dp = c.get(m, "dot_product_width", path, "int", default=None, gt=0)
    systolic = c.get(m, "systolic", path, "bool", default=False)
    pe = c.section(m, "pe", path)
    if pe is None:
        return None
    c.known(pe, f"{path}.pe", ["kind", "params"])
    kind = c.get(pe, "kind", f"{path}.pe", "str")
    params = c.get(pe, "params", f"{path}.pe", "map", default={})
    if kind is None or params is None:
        return None
    params = dict(params)
    from hwsim.pe.registry import get_pe, pe_parameters

    try:
        accepted = pe_parameters(kind)
    except HwsimError as e:
        c.fail(f"{path}.pe.kind", c.line_of(pe, "kind"), str(e))
        return None
    # a PE with a `dp` parameter is as wide as the array's dot product: one fact, stated once
    if "dp" in accepted and dp is not None:
        if "dp" in params and params["dp"] != dp:
            c.fail(
                f"{path}.pe.params.dp",
                c.line_of(pe, "params"),
                f"expected dot_product_width ({dp}) or no dp, got {params['dp']!r}",
            )
            return None
        params["dp"] = dp
    elif "dp" in accepted and "dp" in params:
        dp = params["dp"]
    dp = 1 if dp is None else dp
    try:
        get_pe(kind, **params)
    except HwsimError as e:
        c.fail(f"{path}.pe.kind", c.line_of(pe, "kind"), str(e))
        return None
    except TypeError as e:
        c.fail(f"{path}.pe.params", c.line_of(pe, "params"), f"rejected by PE {kind!r}: {e}")
        return None
    if None in (rows, cols, systolic) or not isinstance(dp, int):
        return None
    return PEArray(rows, cols, kind, tuple(sorted(params.items())), dp, systolic)


def known_dataflow(c: Checker, m: Map, path: str, name) -> bool:
    from hwsim.sim.dataflow import dataflow_names

    if isinstance(name, str) and name in dataflow_names():
        return True
    hint = closest(str(name), dataflow_names())
    c.fail(path, c.line_of(m, "dataflow"), f"unknown dataflow {name!r}; expected one of {hint}")
    return False


# dataflows the mapper may choose besides the registered os/ws/is (hwsim.sim.rowstationary)
MAPPER_ONLY_DATAFLOWS = ("rs",)


def dataflow_choice(c: Checker, m: Map, path: str, value) -> tuple[str, tuple[str, ...]] | None:
    """`dataflow:` one name (os, ws, is), or a list of the mapper's choices whose first entry
    is one of those (the fixed mapping's) and whose others may also be rs (row-stationary):
    (the declared dataflow, the choices; () for one name)."""
    from hwsim.sim.dataflow import dataflow_names

    names = dataflow_names()
    allowed = [*names, *MAPPER_ONLY_DATAFLOWS]
    line = c.line_of(m, "dataflow")
    if value in MAPPER_ONLY_DATAFLOWS:
        c.fail(path, line, f"unknown dataflow {value!r} for the fixed mapping; expected one of "
               f"{', '.join(names)} ({value} is a mapper choice: a list such as "
               f"[{names[0]}, {value}])")  # fmt: skip
        return None
    if not isinstance(value, list):
        return (value, ()) if known_dataflow(c, m, path, value) else None
    if not value or len(set(map(str, value))) != len(value):
        c.fail(path, line, f"expected a list of distinct dataflows of {', '.join(allowed)}, "
               f"got {shown(value)}")  # fmt: skip
        return None
    if value[0] not in names:
        c.fail(path, line, f"expected one of {', '.join(names)} first (the fixed mapping's "
               f"dataflow), got {shown(value[0])}")  # fmt: skip
        return None
    bad = [v for v in value if v not in allowed]
    if bad:
        hint = closest(str(bad[0]), allowed)
        c.fail(path, line, f"unknown dataflow {bad[0]!r}; expected one of {hint}")
        return None
    return value[0], (tuple(value) if len(value) > 1 else ())


def dataflow(c: Checker, doc: Map) -> tuple[str, tuple[str, ...]] | None:
    """The arch's `dataflow:` (hwsim.spec.schema: one name, or the mapper's choices)."""
    if "compute_units" in doc and "pe_array" not in doc and "dataflow" not in doc:
        return None  # each unit names its own
    if "dataflow" not in doc or doc["dataflow"] is None:
        c.get(doc, "dataflow", "arch", "str")  # the missing-field error
        return None
    return dataflow_choice(c, doc, "arch.dataflow", doc["dataflow"])


def mapping(c: Checker, m: Map, path: str) -> str | None:
    """`mapping:` fixed or {search: latency|energy|edp} -> fixed or the objective (None when
    absent or wrong)."""
    from hwsim.sim.mapper import OBJECTIVES

    if "mapping" not in m:
        return None
    v = m["mapping"]
    if v == "fixed":
        return "fixed"
    if isinstance(v, dict) and list(v) == ["search"] and v["search"] in OBJECTIVES:
        return v["search"]
    got = f"search: {shown(v['search'])}" if isinstance(v, dict) and list(v) == ["search"] else (
        shown(v) if isinstance(v, str) else kind_of(v))  # fmt: skip
    c.fail(f"{path}.mapping", c.line_of(m, "mapping"),
           f"expected fixed or {{search: {'|'.join(OBJECTIVES)}}}, got {got}")  # fmt: skip
    return None


def memory(c: Checker, doc: Map) -> tuple[MemoryLevel, ...] | None:
    levels = doc.get("memory")
    if not isinstance(levels, Seq) or not levels:
        got = kind_of(levels) if levels != [] else "an empty list"
        c.fail(
            "arch.memory",
            c.line_of(doc, "memory"),
            f"expected a non-empty list of buffer levels, got {got}",
        )
        return None
    out, held = [], set()
    fields = [
        "name",
        "size_bytes",
        "banks",
        "word_bits",
        "read_bytes_per_cycle",
        "write_bytes_per_cycle",
        "operands",
        "double_buffered",
    ]
    for i, m in enumerate(levels):
        path = f"arch.memory[{i}]"
        if not isinstance(m, Map):
            c.fail(path, levels.lines[i], f"expected a mapping, got {m!r}")
            continue
        c.known(m, path, fields)
        vals = dict(
            name=c.get(m, "name", path, "str"),
            size_bytes=c.get(m, "size_bytes", path, "int", gt=0),
            banks=c.get(m, "banks", path, "int", default=1, gt=0),
            word_bits=c.get(m, "word_bits", path, "int", gt=0),
            read_bytes_per_cycle=c.get(m, "read_bytes_per_cycle", path, "int", gt=0),
            write_bytes_per_cycle=c.get(m, "write_bytes_per_cycle", path, "int", gt=0),
            operands=c.get(m, "operands", path, "strs"),
            double_buffered=c.get(m, "double_buffered", path, "bool", default=False),
        )
        for op in vals["operands"] or ():
            if op not in OPERANDS:
                c.fail(
                    f"{path}.operands",
                    c.line_of(m, "operands"),
                    f"expected operands from {', '.join(OPERANDS)}, got {op!r}",
                )
            held.add(op)
        if None not in vals.values():
            out.append(MemoryLevel(**vals))
    for op in OPERANDS:
        if out and op not in held:
            c.fail("arch.memory", levels.line, f"no buffer level holds {op!r}")
    return tuple(out) if len(out) == len(levels) else None


def dram(c: Checker, doc: Map) -> DRAM | None:
    m = c.section(doc, "dram", "arch")
    if m is None:
        return None
    path = "arch.dram"
    c.known(m, path, ["type", "bytes_per_cycle", "latency_cycles", "energy_pj_per_bit"])
    vals = dict(
        type=c.get(m, "type", path, "str"),
        bytes_per_cycle=c.get(m, "bytes_per_cycle", path, "num", gt=0),
        latency_cycles=c.get(m, "latency_cycles", path, "int", ge=0),
    )
    energy = c.get(m, "energy_pj_per_bit", path, "num", default=None, gt=0)
    return None if None in vals.values() else DRAM(**vals, energy_pj_per_bit=energy)


def vector(c: Checker, doc: Map) -> VectorUnit | None:
    m = c.section(doc, "vector_unit", "arch")
    if m is None:
        return None
    path = "arch.vector_unit"
    c.known(m, path, ["lanes", "cycles_per_element", "overlapped"])
    lanes = c.get(m, "lanes", path, "int", gt=0)
    overlapped = c.get(m, "overlapped", path, "bool", default=False)
    per = c.get(m, "cycles_per_element", path, "map", default={})
    from hwsim.workload.op import VECTOR_KINDS  # here: hwsim.workload imports hwsim.spec

    for k, v in (per or {}).items():
        what = problem(v, "int", limits("cycles_per_element", {"gt": 0}))
        if k not in VECTOR_KINDS:
            what = f"expected a vector kind ({', '.join(VECTOR_KINDS)}), got {k!r}"
        if what:
            c.fail(f"{path}.cycles_per_element.{k}", per.lines[k], what)
    return None if lanes is None else VectorUnit(lanes, dict(per or {}), bool(overlapped))


def technology(c: Checker, doc: Map) -> Technology | None:
    m = c.section(doc, "technology", "arch")
    if m is None:
        return None
    path = "arch.technology"
    c.known(m, path, ["node_nm", "profile"])
    node = c.get(m, "node_nm", path, "int", gt=0)
    profile = c.get(m, "profile", path, "str", default="horowitz45")
    if profile is not None:
        from hwsim.cost.profiles import profile_names

        if profile not in profile_names():
            hint = closest(profile, profile_names())
            c.fail(
                f"{path}.profile",
                c.line_of(m, "profile"),
                f"unknown cost profile {profile!r}; expected one of {hint}",
            )
            return None
    return None if None in (node, profile) else Technology(node, profile)


def precision(
    c: Checker, doc: Map, path: str = "arch.precision", required: bool = True
) -> Precision | None:
    parent, _, key = path.rpartition(".")
    if not required and key not in doc:
        return None
    m = c.section(doc, key, parent)
    if m is None:
        return None
    c.known(
        m,
        path,
        [
            "weight_format",
            "activation_format",
            "weight_bits",
            "activation_bits",
            "group_size",
            "scale_bits",
        ],
    )
    vals = dict(
        weight_format=c.get(m, "weight_format", path, "str", default=None),
        activation_format=c.get(m, "activation_format", path, "str", default=None),
        weight_bits=c.get(m, "weight_bits", path, "num", gt=0),
        activation_bits=c.get(m, "activation_bits", path, "int", gt=0),
        group_size=c.get(m, "group_size", path, "int", default=None, gt=0),
        scale_bits=c.get(m, "scale_bits", path, "int", default=0, ge=0),
    )
    for key in ("weight_format", "activation_format"):
        if vals[key] is not None:
            from hwsim.dtypes import format as get_format

            try:
                get_format(vals[key])
            except HwsimError as e:
                c.fail(f"{path}.{key}", c.line_of(m, key), str(e))
    required = ("weight_bits", "activation_bits", "scale_bits")
    return None if any(vals[k] is None for k in required) else Precision(**vals)


def check_pe_formats(c: Checker, doc: Map, units: tuple[ComputeUnit, ...], prec: Precision):
    """Each unit's PE takes its default precision's formats."""
    from hwsim.pe.registry import get_pe

    for i, unit in enumerate(units):
        p = unit.precision or prec
        try:
            get_pe(unit.array.pe_kind, **unit.array.params).check(
                p.activation_format, p.weight_format
            )
        except HwsimError as e:
            if unit.precision is None:
                where, line = "arch.precision", c.line_of(doc, "precision")
            else:
                where = f"arch.compute_units[{i}].precision"
                line = c.line_of(doc["compute_units"][i], "precision")
            c.fail(where, line, f"PE {unit.array.pe_kind!r} of unit {unit.name!r}: {e}")


def fpga(c: Checker, doc: Map) -> FPGADevice | None:
    m = c.section(doc, "fpga", "arch", required=False)
    if m is None:
        return None
    path = "arch.fpga"
    c.known(
        m, path, ["part", "luts", "dsps", "bram_36k", "uram", "max_clock_mhz", "multipliers_on"]
    )
    vals = dict(
        part=c.get(m, "part", path, "str"),
        luts=c.get(m, "luts", path, "int", gt=0),
        dsps=c.get(m, "dsps", path, "int", ge=0),
        bram_36k=c.get(m, "bram_36k", path, "int", ge=0),
        uram=c.get(m, "uram", path, "int", default=0, ge=0),
        max_clock_mhz=c.get(m, "max_clock_mhz", path, "num", default=0.0, ge=0),
        multipliers_on=c.get(m, "multipliers_on", path, "str", default="dsp"),
    )
    if vals["multipliers_on"] not in (None, "dsp", "lut"):
        where = c.line_of(m, "multipliers_on")
        c.fail(
            f"{path}.multipliers_on", where, f"expected dsp or lut, got {vals['multipliers_on']!r}"
        )
        return None
    return None if None in vals.values() else FPGADevice(**vals)


def overrides(c: Checker, doc: Map) -> tuple[Override, ...]:
    items = doc.get("overrides", [])
    if not isinstance(items, list):
        got = kind_of(items)
        c.fail("arch.overrides", c.line_of(doc, "overrides"), f"expected a list, got {got}")
        return ()
    out = []
    for i, m in enumerate(items):
        path = f"arch.overrides[{i}]"
        if not isinstance(m, Map):
            c.fail(path, items.lines[i], f"expected a mapping, got {m!r}")
            continue
        c.known(
            m,
            path,
            ["workload", "rows", "cols", "weight_bits", "group_size", "weight_format", "unit"],
        )
        vals = dict(
            workload=c.get(m, "workload", path, "str"),
            rows=c.get(m, "rows", path, "int", default=None, gt=0),
            cols=c.get(m, "cols", path, "int", default=None, gt=0),
            weight_bits=c.get(m, "weight_bits", path, "num", default=None, gt=0),
            group_size=c.get(m, "group_size", path, "int", default=None, gt=0),
            weight_format=c.get(m, "weight_format", path, "str", default=None),
            unit=c.get(m, "unit", path, "str", default=None),
        )
        units = doc.get("compute_units")
        names = [u.get("name") for u in units if isinstance(u, Map)] if units else []
        reshapes = vals["rows"] is not None or vals["cols"] is not None
        if names and reshapes and vals["unit"] not in names:
            c.fail(
                f"{path}.unit",
                c.line_of(m, "unit") if "unit" in m else m.line,
                f"expected the compute unit to reshape, one of {', '.join(map(str, names))}, "
                f"got {vals['unit']!r}",
            )
        elif vals["unit"] is not None and not names:
            c.fail(f"{path}.unit", c.line_of(m, "unit"), "expected no unit (one pe_array)")
        if vals["workload"] is not None:
            out.append(Override(**vals))
    return tuple(out)
