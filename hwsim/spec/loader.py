"""load_arch: YAML (or a SCALE-Sim .cfg) -> a validated, frozen `Arch`.

Every field is checked in one pass; all problems are reported together on one line, as
`arch/x.yaml: arch.memory[1].size_bytes: expected an integer > 0, got -4 (line 12)`. Line
numbers come from yaml's node marks (1-based).
"""

from __future__ import annotations

from pathlib import Path

from hwsim.errors import HwsimError
from hwsim.shipped import resolve
from hwsim.spec import sections as S
from hwsim.spec.schema import Arch, ComputeUnit
from hwsim.spec.units import compute_units
from hwsim.spec.units import routes as route_section
from hwsim.spec.yamlcheck import Checker, LineLoader, Map, kind_of
from hwsim.yamlsafe import load_file

SCHEMA_VERSION = 1


def load_arch(path) -> Arch:
    """Load and validate an accelerator description (YAML, or a SCALE-Sim .cfg file): a path
    or a shipped arch's name (hwsim.shipped.resolve)."""
    p = resolve("arch", path)
    if p.suffix.lower() == ".cfg":
        from hwsim.spec.scalesim_cfg import load_scalesim_cfg

        return load_scalesim_cfg(p)
    doc = load_file(p, "arch file", LineLoader)
    if not isinstance(doc, Map):
        got = kind_of(doc)
        raise HwsimError(f"{p}: arch: expected a mapping at the top of the file, got {got}")
    return arch_from_mapping(doc, str(p))


def arch_from_mapping(doc: Map, file: str) -> Arch:
    """Validate a parsed document (with line info) and build the Arch."""
    c = Checker(file)
    top = [
        "version",
        "name",
        "clock_mhz",
        "pe_array",
        "dataflow",
        "memory",
        "dram",
        "vector_unit",
        "technology",
        "precision",
        "fpga",
        "overrides",
        "compute_units",
        "routes",
        "mapping",
    ]
    c.known(doc, "arch", top)
    version = c.get(doc, "version", "arch", "int")
    if version is not None and version != SCHEMA_VERSION:
        c.fail(
            "arch.version", c.line_of(doc, "version"), f"expected {SCHEMA_VERSION}, got {version}"
        )
    name = c.get(doc, "name", "arch", "str", default=Path(file).stem)
    clock = c.get(doc, "clock_mhz", "arch", "num", gt=0)
    pe_array = S.pe_array(c, doc)
    dataflow, dataflows = S.dataflow(c, doc) or (None, ())
    mapping = S.mapping(c, doc, "arch") or "fixed"
    memory = S.memory(c, doc)
    dram = S.dram(c, doc)
    vector = S.vector(c, doc)
    tech = S.technology(c, doc)
    precision = S.precision(c, doc)
    fpga = S.fpga(c, doc)
    overrides = S.overrides(c, doc)
    units = compute_units(c, doc)
    routes = route_section(c, doc, units)
    if fpga is not None and units:
        c.fail(
            "arch.fpga",
            c.line_of(doc, "fpga"),
            "expected one pe_array (FPGA resources are estimated for one array), "
            f"got {len(units)} compute_units",
        )
    if precision is not None and (units or pe_array is not None):
        S.check_pe_formats(
            c, doc, units or (ComputeUnit("pe_array", pe_array, dataflow),), precision
        )
    c.raise_errors()
    return Arch(
        version=version,
        name=name,
        clock_mhz=float(clock),
        pe_array=pe_array,
        dataflow=dataflow,
        memory=memory,
        dram=dram,
        vector_unit=vector,
        technology=tech,
        precision=precision,
        fpga=fpga,
        overrides=overrides,
        compute_units=units,
        routes=routes,
        mapping=mapping,
        dataflows=dataflows,
        source=file,
    )
