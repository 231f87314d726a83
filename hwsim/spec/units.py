"""The compute_units: and routes: sections of an arch (hwsim.spec.schema: several compute
arrays and which ops each runs), validated like the other sections (hwsim.spec.sections).
"""

from __future__ import annotations

from hwsim.spec.schema import ComputeUnit, Route
from hwsim.spec.sections import array_fields, dataflow_choice, mapping, precision
from hwsim.spec.yamlcheck import Checker, Map, Seq


def compute_units(c: Checker, doc: Map) -> tuple[ComputeUnit, ...]:
    """`compute_units:` (a list of named arrays), or () for a one-array arch."""
    if "compute_units" not in doc:
        return ()
    if "pe_array" in doc:
        c.fail(
            "arch.compute_units",
            c.line_of(doc, "compute_units"),
            "expected pe_array or compute_units, got both",
        )
        return ()
    items = doc["compute_units"]
    if not isinstance(items, Seq) or not items:
        c.fail(
            "arch.compute_units",
            c.line_of(doc, "compute_units"),
            "expected a non-empty list of compute units",
        )
        return ()
    default_flow = doc.get("dataflow")
    out, seen = [], set()
    for i, m in enumerate(items):
        path = f"arch.compute_units[{i}]"
        if not isinstance(m, Map):
            c.fail(path, items.lines[i], f"expected a mapping, got {m!r}")
            continue
        c.known(
            m,
            path,
            [
                "name",
                "rows",
                "cols",
                "dot_product_width",
                "systolic",
                "pe",
                "dataflow",
                "precision",
                "mapping",
            ],
        )
        name = c.get(m, "name", path, "str")
        if name in seen:
            c.fail(f"{path}.name", c.line_of(m, "name"), f"expected a unique name, got {name!r}")
        seen.add(name)
        array = array_fields(c, m, path)
        flow = m.get("dataflow", default_flow)
        choice = None
        if flow is None:
            c.fail(f"{path}.dataflow", c.line_of(m, "name"), "missing; expected os, ws or is")
        else:
            choice = dataflow_choice(c, m if "dataflow" in m else doc, f"{path}.dataflow", flow)
        prec = precision(c, m, path=f"{path}.precision", required=False)
        how = mapping(c, m, path)
        if None not in (name, array, choice):
            out.append(ComputeUnit(name, array, choice[0], prec, choice[1], how))
    return tuple(out) if len(out) == len(items) else ()


def routes(c: Checker, doc: Map, units: tuple[ComputeUnit, ...]) -> tuple[Route, ...]:
    """`routes:` checked against the units: every route names a unit, every unit is routed to."""
    items = doc.get("routes", [])
    if items and not units:
        c.fail("arch.routes", c.line_of(doc, "routes"), "expected compute_units to route to")
        return ()
    if not isinstance(items, list):
        c.fail("arch.routes", c.line_of(doc, "routes"), "expected a list of routes")
        return ()
    names = [u.name for u in units]
    out = []
    for i, m in enumerate(items):
        path = f"arch.routes[{i}]"
        if not isinstance(m, Map):
            c.fail(path, items.lines[i], f"expected a mapping, got {m!r}")
            continue
        c.known(m, path, ["unit", "kind", "match"])
        unit = c.get(m, "unit", path, "str")
        kind = c.get(m, "kind", path, "str", default=None)
        match = c.get(m, "match", path, "str", default=None)
        if unit is not None and unit not in names:
            c.fail(
                f"{path}.unit",
                c.line_of(m, "unit"),
                f"unknown compute unit {unit!r}; expected one of {', '.join(names)}",
            )
            continue
        from hwsim.workload.op import OP_KINDS

        if kind is not None and (kind not in OP_KINDS or kind == "vector"):
            matrix = [k for k in OP_KINDS if k != "vector"]
            c.fail(
                f"{path}.kind",
                c.line_of(m, "kind"),
                f"expected one of {', '.join(matrix)} (vector ops run on the vector unit), "
                f"got {kind!r}",
            )
            continue
        if unit is not None:
            out.append(Route(unit, kind, match))
    if len(units) > 1:
        routed = {r.unit for r in out}
        for i, u in enumerate(units):
            if u.name not in routed:
                c.fail(
                    f"arch.compute_units[{i}]",
                    doc["compute_units"].lines[i],
                    f"unit {u.name!r} is named by no route; expected a route to it "
                    "(an unused unit would still be priced in area)",
                )
    return tuple(out)
