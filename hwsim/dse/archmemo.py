"""A sweep point's arch without re-validating the whole document for every point.

`hwsim.spec.loader.arch_from_mapping` checks each top-level section of an arch document on
its own (pe_array, memory, dram, ...; the PE/format cross-check reads pe_array and precision
together) and every `Arch` field is named after the section it comes from. So a point whose
parameters touch sections S1..Sn is the base arch with the fields of each Si taken from the
base document with only Si's parameters applied, and each of those partial archs is validated
once per distinct value of its parameters, however many points share it.

`point_arch` answers that composition, with `source` = the base arch path (so the simulator's
per-arch caches are shared by every point), or None when the exact path must decide: a
section is invalid (the point's reason then comes from `arch_from_mapping` on the point's own
document, worded exactly as before), a value is not a plain scalar, or the base arch has no
`name:` (the name would then come from the point's label). The first composition of each set
of sections is checked equal to `arch_from_mapping` on the full document; a mismatch turns
the fast path off for that set.
"""

from __future__ import annotations

from dataclasses import fields, replace
from functools import lru_cache

from hwsim.errors import HwsimError

# sections validated together (hwsim.spec.sections.check_pe_formats reads both)
_COUPLED = {"precision": "pe_array"}
_SCALARS = (bool, int, float, str, type(None))


def section_of(path: str) -> str:
    """The top-level section a dotted parameter path starts in."""
    return path.split(".", 1)[0].split("[", 1)[0]


def point_arch(arch_path: str, params: dict):
    """The validated Arch of the base arch with `params` applied (source = `arch_path`), or
    None when the point must take the exact path."""
    from hwsim.dse.evaluate import base_doc

    doc = base_doc(arch_path)
    if doc is None or "name" not in doc:
        return None
    groups: dict[str, list] = {}
    for path, value in params.items():
        if type(value) not in _SCALARS:
            return None
        top = section_of(path)
        if top not in _arch_fields():
            return None  # not a section the loader knows: it reports the unknown key
        groups.setdefault(_COUPLED.get(top, top), []).append((path, type(value).__name__, value))
    arch = _partial(arch_path, ())
    if arch is None:
        return None
    for group, items in sorted(groups.items()):
        part = _partial(arch_path, tuple(items))
        if part is None:
            return None
        names = [group, *(k for k, v in _COUPLED.items() if v == group)]
        arch = replace(arch, **{n: getattr(part, n) for n in names})
    shape = (arch_path, tuple(groups))
    if shape not in _TRUSTED:  # a per-process memo, like the lru caches
        try:
            _TRUSTED[shape] = arch == _exact(arch_path, params)
        except HwsimError:  # valid section by section, invalid as a whole: a cross-check
            _TRUSTED[shape] = False
    return arch if _TRUSTED[shape] else None


# (base arch, sections) -> whether the composition matched arch_from_mapping when first used
_TRUSTED: dict = {}


@lru_cache(maxsize=1)
def _arch_fields() -> frozenset:
    from hwsim.spec.schema import Arch

    return frozenset(f.name for f in fields(Arch)) - {"source"}


@lru_cache(maxsize=4096)
def _partial(arch_path: str, items: tuple):
    """The base arch with these (path, type name, value) parameters applied, or None if that
    document is invalid."""
    try:
        return _exact(arch_path, {path: value for path, _, value in items})
    except HwsimError:
        return None


def _exact(arch_path: str, params: dict):
    from hwsim.dse.evaluate import apply_params, base_doc
    from hwsim.spec.loader import arch_from_mapping

    return arch_from_mapping(apply_params(base_doc(arch_path), params, arch_path), arch_path)
