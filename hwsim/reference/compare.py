"""Comparison harness: bit-exact equality, ULP distance, relative error, environment banner.

`compare(observed, expected, dtype)` reads both arrays as values of one IEEE type (float64,
float32, float16 or bfloat16; integer dtypes compare as integers) and reports

- bit_exact:   every element has the same bit pattern (any NaN equals any NaN, so a NaN
               payload difference is not a mismatch; +0 and -0 differ)
- max_ulp:     largest distance in units in the last place, counted as the number of
               representable values between the two (+0 and -0 are 0 apart; NaN against a
               number is infinitely far); integers: largest absolute difference
- max_rel_err: largest |obs - exp| / |exp| over finite elements with exp != 0
- mismatches:  elements whose bit patterns differ

`environment()` collects what a GPU result depends on (GPU name, driver, CUDA, torch,
triton, numpy versions, CPU model); `banner(env)` prints it as one block of text.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
from dataclasses import asdict, dataclass

import numpy as np

from hwsim.errors import HwsimError

FLOAT_TYPES = ("float64", "float32", "float16", "bfloat16")


@dataclass(frozen=True)
class Comparison:
    """How far `observed` is from `expected` (see module doc)."""

    n: int
    mismatches: int
    bit_exact: bool
    max_ulp: float
    max_rel_err: float

    def as_dict(self) -> dict:
        return asdict(self)


def _bits_of(x: np.ndarray, dtype: str) -> np.ndarray:
    """int64 bit patterns of float64 values that are exactly values of `dtype`."""
    x = np.asarray(x)
    if dtype == "float64":
        return x.astype(np.float64).view(np.int64).astype(np.int64)
    if dtype == "float32":
        y = x.astype(np.float32)
        return y.view(np.uint32).astype(np.int64)
    if dtype == "float16":
        y = x.astype(np.float16)
        return y.view(np.uint16).astype(np.int64)
    # bfloat16: the top half of the float32 pattern (values must be exact bf16 values)
    y = x.astype(np.float32).view(np.uint32).astype(np.int64)
    if np.any((y & 0xFFFF) != 0):
        raise HwsimError("compare: values are not exact bfloat16 values")
    return y >> 16


def _width(dtype: str) -> int:
    return {"float64": 64, "float32": 32, "float16": 16, "bfloat16": 16}[dtype]


def _is_exact(x: np.ndarray, dtype: str) -> bool:
    x = np.asarray(x, dtype=np.float64)
    if dtype == "float64":
        return True
    np_type = {"float32": np.float32, "float16": np.float16}.get(dtype)
    if np_type is None:
        y = x.astype(np.float32)
        ok = (y.view(np.uint32) & 0xFFFF) == 0
        return bool(np.all((y.astype(np.float64) == x) | np.isnan(x)) and np.all(ok))
    with np.errstate(over="ignore"):
        back = x.astype(np_type).astype(np.float64)
    return bool(np.all((back == x) | (np.isnan(x) & np.isnan(back))))


def ordered(bits: np.ndarray, width: int) -> np.ndarray:
    """Sign-magnitude bit patterns to integers ordered like the values (+0 and -0 -> 0)."""
    sign = np.int64(1) << np.int64(width - 1)
    bits = bits.astype(np.int64) if width < 64 else bits.view(np.uint64)
    if width == 64:
        mag = (bits & np.uint64(0x7FFFFFFFFFFFFFFF)).astype(np.int64)
        neg = (bits >> np.uint64(63)).astype(bool)
    else:
        mag = bits & (sign - 1)
        neg = (bits & sign) != 0
    return np.where(neg, -mag, mag)


def ulp_distance(observed, expected, dtype: str = "float32") -> np.ndarray:
    """Per-element ULP distance as float64 (inf where exactly one side is NaN)."""
    if dtype not in FLOAT_TYPES:
        raise HwsimError(f"compare: dtype must be one of {', '.join(FLOAT_TYPES)}, got {dtype!r}")
    o, e = np.asarray(observed, np.float64), np.asarray(expected, np.float64)
    if o.shape != e.shape:
        raise HwsimError(f"compare: shapes differ, observed {o.shape} vs expected {e.shape}")
    width = _width(dtype)
    oo = ordered(_bits_of(o, dtype), width)
    ee = ordered(_bits_of(e, dtype), width)
    if width < 64:
        diff = np.abs(oo - ee).astype(np.float64)
    else:  # Python ints: float64 distances across the whole range overflow int64
        diff = np.abs(oo.astype(object) - ee.astype(object)).astype(np.float64)
    on, en = np.isnan(o), np.isnan(e)
    diff = np.where(on & en, 0.0, diff)
    return np.where(on ^ en, np.inf, diff)


def compare(observed, expected, dtype: str | None = None) -> Comparison:
    """Compare two arrays element by element (see module doc); dtype None: from `expected`."""
    o, e = np.asarray(observed), np.asarray(expected)
    if o.shape != e.shape:
        raise HwsimError(f"compare: shapes differ, observed {o.shape} vs expected {e.shape}")
    if dtype is None:
        dtype = str(e.dtype) if e.dtype.kind != "f" or str(e.dtype) in FLOAT_TYPES else "float64"
    if o.dtype.kind in "iu" and e.dtype.kind in "iu":
        diff = np.abs(o.astype(object) - e.astype(object))
        mism = int(np.count_nonzero(diff))
        nz = e != 0
        rel = np.abs(diff[nz] / e[nz].astype(object)).astype(np.float64) if nz.any() else [0.0]
        mu = float(max(diff.ravel(), default=0))
        return Comparison(int(e.size), mism, mism == 0, mu, float(np.max(rel, initial=0.0)))
    if dtype not in FLOAT_TYPES:
        raise HwsimError(f"compare: dtype must be one of {', '.join(FLOAT_TYPES)}, got {dtype!r}")
    for side, arr in (("observed", o), ("expected", e)):
        if not _is_exact(arr, dtype):
            raise HwsimError(f"compare: {side} values are not all exact {dtype} values")
    o64, e64 = o.astype(np.float64), e.astype(np.float64)
    ob, eb = _bits_of(o64, dtype), _bits_of(e64, dtype)
    both_nan = np.isnan(o64) & np.isnan(e64)
    same = (ob == eb) | both_nan
    ulp = ulp_distance(o64, e64, dtype)
    fin = np.isfinite(o64) & np.isfinite(e64) & (e64 != 0)
    with np.errstate(over="ignore"):
        rel = np.abs(o64[fin] - e64[fin]) / np.abs(e64[fin])
    mism = int(np.count_nonzero(~same))
    return Comparison(
        n=int(e64.size),
        mismatches=mism,
        bit_exact=mism == 0,
        max_ulp=float(ulp.max(initial=0.0)),
        max_rel_err=float(rel.max(initial=0.0)),
    )


# --- environment ---------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _nvidia_driver() -> str | None:
    exe = shutil.which("nvidia-smi")
    if not exe:
        return None
    try:
        out = subprocess.run(
            [exe, "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout else None


def environment() -> dict:
    """What a reference result depends on: versions and devices (None where absent)."""
    import hwsim

    env = {
        "hwsim": hwsim.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpu": _cpu_model(),
        "torch": None,
        "cuda": None,
        "gpu": None,
        "gpu_capability": None,
        "driver": None,
        "triton": None,
    }
    try:
        import torch
    except ImportError:
        return env
    env["torch"] = torch.__version__
    if torch.cuda.is_available():
        env["cuda"] = torch.version.cuda
        env["gpu"] = torch.cuda.get_device_name(0)
        env["gpu_capability"] = ".".join(map(str, torch.cuda.get_device_capability(0)))
        env["driver"] = _nvidia_driver()
    try:
        import triton

        env["triton"] = triton.__version__
    except ImportError:
        pass
    return env


def device_name(env: dict) -> str:
    """One phrase naming where the checks ran."""
    if env.get("gpu"):
        return f"cuda:0 ({env['gpu']})"
    if env.get("torch"):
        return f"cpu ({env['cpu']}, torch {env['torch']})"
    return f"cpu ({env['cpu']}, no torch)"


def banner(env: dict) -> str:
    """The environment as aligned `key: value` lines (absent items say so)."""
    keys = ("gpu", "gpu_capability", "driver", "cuda", "torch", "triton", "numpy", "python")
    lines = [f"hwsim {env['hwsim']} reference checks on {device_name(env)}"]
    for k in keys:
        v = env.get(k)
        lines.append(f"  {k:<15}{v if v is not None else '(none)'}")
    lines.append(f"  {'cpu':<15}{env['cpu']}")
    return "\n".join(lines)
