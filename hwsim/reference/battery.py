"""The verification battery behind `hwsim verify`: every check that can run here, runs.

A check is a function `(ctx) -> list[Check]`, registered with `@check(*families)` (the
name prefixes of the checks it produces, for `--only`). Each Check says
passed / failed / skipped (with the reason) and carries error figures (elements, mismatches,
max ULP distance, max relative error, check-specific numbers). `run_battery(...)` runs them
all on the device present (CUDA when torch sees one, else CPU) and returns a BatteryResult
whose `as_json()` is the `hwsim verify --json` document:
    {"device": ..., "environment": {...}, "checks": [{"name", "passed", "skipped", ...}]}

Numeric checks without torch (kernel fallbacks, accumulator fit) still run; torch checks
skip saying "torch is not installed"; Triton checks skip without triton or a CUDA GPU.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from hwsim.errors import HwsimError
from hwsim.reference.compare import Comparison, device_name, environment

SIZES = ("quick", "full")
_CHECKS: list[tuple[tuple[str, ...], Callable]] = []


@dataclass
class Check:
    """One line of the verify table."""

    name: str
    passed: bool | None  # None when skipped
    skipped: bool = False
    reason: str = ""  # why skipped, or what failed
    figures: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "passed": self.passed,
            "skipped": self.skipped,
            "reason": self.reason,
            **self.figures,
        }


@dataclass
class Context:
    """What a check may use: the device, a seed, the problem size, what is installed."""

    device: str  # "cpu" or "cuda"
    seed: int
    size: str  # quick | full
    has_torch: bool
    has_triton: bool  # triton + CUDA

    def rng(self, salt: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, salt])

    def pick(self, quick, full):
        return quick if self.size == "quick" else full


@dataclass
class BatteryResult:
    device: str
    environment: dict
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.passed for c in self.checks if not c.skipped)

    def as_json(self) -> dict:
        return {
            "device": self.device,
            "environment": self.environment,
            "checks": [c.as_dict() for c in self.checks],
        }


def check(*families: str):
    """Register a battery check (run in registration order); `families` are the name
    prefixes of the checks it produces, so that `--only` runs just the functions it needs."""

    def wrap(fn: Callable) -> Callable:
        _CHECKS.append((families, fn))
        return fn

    return wrap


def _wanted(families: tuple[str, ...], only: str | None) -> bool:
    return only is None or any(only in f or f in only for f in families)


def skipped(name: str, reason: str) -> Check:
    return Check(name, None, True, reason)


def from_comparison(name: str, c: Comparison, passed: bool | None = None, **extra) -> Check:
    ok = c.bit_exact if passed is None else bool(passed)
    reason = "" if ok else f"{c.mismatches} of {c.n} differ (max {c.max_ulp:g} ulp)"
    return Check(name, ok, False, reason, {**c.as_dict(), **extra})


def run_battery(
    device: str = "auto", seed: int = 20261123, size: str = "full", only: str | None = None
) -> BatteryResult:
    """Run every registered check whose name contains `only` (all when None)."""
    from hwsim.reference import checks_kernels, checks_torch  # noqa: F401 (register)
    from hwsim.reference.torch_ops import resolve_device, torch_available
    from hwsim.reference.triton_kernels import triton_available

    if size not in SIZES:
        raise HwsimError(f"verify size: expected quick or full, got {size!r}")
    has_torch = torch_available()
    if has_torch:
        dev = resolve_device(device)
    elif device == "cuda":
        raise HwsimError("device: 'cuda' requested but torch is not installed")
    else:
        dev = "cpu"
    ctx = Context(dev, int(seed), size, has_torch, has_triton=triton_available() and dev == "cuda")
    results: list[Check] = []
    chosen = [(f, fn) for f, fn in _CHECKS if _wanted(f, only)] or _CHECKS  # none: filter names
    from tqdm import tqdm

    # a progress bar on a terminal only (disable=None): the GPU battery's fits take a while
    for families, fn in tqdm(chosen, desc="hwsim verify", unit="group", disable=None, leave=False):
        try:
            out = fn(ctx)
        except Exception as e:  # a crashing check is a failed check, reported, not fatal
            tb = traceback.format_exception_only(type(e), e)[-1].strip()
            out = [Check(families[0], False, False, f"raised {tb}")]
        results.extend(c for c in out if only is None or only in c.name)
    env = environment()
    where = device_name(env if dev == "cuda" else {**env, "gpu": None})
    return BatteryResult(where, env, results)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def _note(f: dict) -> str:
    """Check-specific figures for the table's last column."""
    parts = []
    if "mantissa_bits" in f:
        parts.append(f"fit p={f['mantissa_bits']} chunk={f['chunk']} promote={f['promote_every']}")
    if "ulp_vs_exact" in f:
        parts.append(f"ulp vs exact {_fmt(f['ulp_vs_exact'])}")
    if "error_over_bound" in f:
        parts.append(f"error/bound {_fmt(f['error_over_bound'])}")
    if "wrapped_outputs" in f:
        parts.append(f"{f['wrapped_outputs']} outputs wrapped")
    return ", ".join(parts)


def table(result: BatteryResult) -> str:
    """The checks as a plain-text table: status, name, elements, max ulp, max rel err, note."""
    head = ("status", "check", "n", "max_ulp", "max_rel_err", "note")
    rows = []
    for c in result.checks:
        status = "skip" if c.skipped else ("PASS" if c.passed else "FAIL")
        f = c.figures
        note = c.reason or _note(f)
        rows.append(
            (
                status,
                c.name,
                _fmt(f.get("n", "")),
                _fmt(f.get("max_ulp", "")),
                _fmt(f.get("max_rel_err", "")),
                note,
            )
        )
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head) - 1)]
    lines = []
    for r in [head, *rows]:
        cells = [str(x).ljust(w) for x, w in zip(r[:-1], widths)]
        lines.append("  ".join([*cells, str(r[-1])]).rstrip())
    n_pass = sum(1 for c in result.checks if c.passed)
    n_fail = sum(1 for c in result.checks if not c.skipped and not c.passed)
    n_skip = sum(1 for c in result.checks if c.skipped)
    lines.append(f"{n_pass} passed, {n_fail} failed, {n_skip} skipped on {result.device}")
    return "\n".join(lines)


def fp8_table(result: BatteryResult) -> str:
    """Markdown table of the FP8 `_scaled_mm` accumulation checks (the published GPU table)."""
    head = "| check | passed | ulp vs exact | fitted p | chunk | promote | fit max ulp | mism. |"
    lines = [f"FP8 GEMM accumulation on {result.device}", "", head, "|" + "---|" * 8]
    for c in result.checks:
        if not c.name.startswith("scaled_mm accumulation") or c.skipped:
            continue
        f = c.figures
        cells = [
            c.name,
            str(c.passed),
            _fmt(f.get("ulp_vs_exact", "")),
            str(f.get("mantissa_bits", "-")),
            str(f.get("chunk", "-")),
            str(f.get("promote_every", "-")),
            _fmt(f.get("max_ulp", "")) if "mantissa_bits" in f else "-",
            str(f.get("mismatches", "")),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def compare_codes(observed: np.ndarray, expected: np.ndarray, fmt) -> Comparison:
    """Codes compared as codes; two NaN codes count as equal (NaN payloads are not numerics)."""
    o, e = np.asarray(observed, np.int64), np.asarray(expected, np.int64)
    both_nan = np.isnan(fmt.decode(o.astype(fmt.code_dtype))) & np.isnan(
        fmt.decode(e.astype(fmt.code_dtype))
    )
    same = (o == e) | both_nan
    ov = np.where(both_nan, 0.0, fmt.decode(o.astype(fmt.code_dtype)))
    ev = np.where(both_nan, 0.0, fmt.decode(e.astype(fmt.code_dtype)))
    fin = np.isfinite(ov) & np.isfinite(ev) & (ev != 0)
    rel = np.abs(ov[fin] - ev[fin]) / np.abs(ev[fin])
    mism = int(np.count_nonzero(~same))
    # ULP distance in code steps: the format's own ordering of sign-magnitude codes
    from hwsim.reference.compare import ordered

    dist = np.abs(ordered(o, fmt.bits) - ordered(e, fmt.bits)).astype(np.float64)
    dist = np.where(same, 0.0, dist)
    return Comparison(
        int(o.size), mism, mism == 0, float(dist.max(initial=0)), float(rel.max(initial=0))
    )
