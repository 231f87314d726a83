"""Torch paths (CPU and CUDA) whose numerics hwsim is checked against.

torch is optional for hwsim: `require_torch()` imports it on first use and otherwise raises
a one-line HwsimError saying how to install it. Every function takes and returns numpy
arrays; `device` is "cpu", "cuda" or "auto" (CUDA when present).

- `cast_fp8(x, fmt, mode)`: float32 -> float8 codes. mode "native" is torch's own `.to()`
  (torch >= 2.12: e4m3fn saturates, inf included, measured on torch 2.13; e5m2 overflows to
  inf); mode "clamp" clamps to +-max first (the usual saturating recipe, NaN kept).
- `int_mm(a, w)`: `torch._int_mm`, int8 x int8 -> int32 (wraps); returns a @ w.T. CUDA
  needs M > 16 and K, N multiples of 8.
- `scaled_mm(a_codes, w_codes, ...)`: `torch._scaled_mm` on fp8 codes with per-tensor or
  per-row fp32 scales passed to the kernel, fp32 output; `scale_result` is never used (it
  divides on CPU and multiplies on CUDA), an output scale is applied here afterwards with one
  fp32 multiply. On CPU the kernel is an fp32 matmul (use_fast_accum ignored). CUDA needs
  K, N multiples of 16; A is passed row-major and B column-major (w [N, K] transposed).
- `gemm16(a, w, dtype)`: BF16 / FP16 matmul a @ w.T, output in that type.
"""

from __future__ import annotations

import numpy as np

from hwsim.errors import HwsimError

FP8 = {"float8_e4m3fn": 448.0, "float8_e5m2": 57344.0}
CAST_MODES = ("native", "clamp")
GEMM16 = ("bfloat16", "float16")


def require_torch():
    """The torch module, or a one-line HwsimError saying how to get it."""
    try:
        import torch
    except ImportError:
        raise HwsimError(
            "hwsim.reference needs torch: pip install 'hwsim[torch]' (torch==2.13.0)"
        ) from None
    return torch


def native_e4m3fn_saturates() -> bool:
    """Whether torch's own float32 -> float8_e4m3fn cast saturates (torch >= 2.12, inf
    included); older torch sends |x| >= 480 and inf to NaN, which is hwsim saturate=False."""
    major, minor = (int(p) for p in require_torch().__version__.split(".")[:2])
    return (major, minor) >= (2, 12)


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def cuda_available() -> bool:
    return torch_available() and bool(require_torch().cuda.is_available())


def resolve_device(device: str = "auto") -> str:
    """'auto' -> 'cuda' when a GPU is present, else 'cpu'; an absent 'cuda' is an error."""
    if device not in ("auto", "cpu", "cuda"):
        raise HwsimError(f"device: expected auto, cpu or cuda, got {device!r}")
    torch = require_torch()
    has_cuda = bool(torch.cuda.is_available())
    if device == "auto":
        return "cuda" if has_cuda else "cpu"
    if device == "cuda" and not has_cuda:
        raise HwsimError("device: 'cuda' requested but torch sees no CUDA GPU")
    return device


def _dtype(name: str):
    torch = require_torch()
    if name not in FP8:
        raise HwsimError(f"fp8 format: expected one of {', '.join(FP8)}, got {name!r}")
    return getattr(torch, name)


def cast_fp8(x, fmt: str, mode: str = "native", device: str = "auto") -> np.ndarray:
    """float32 values -> uint8 codes of `fmt` through torch (see module doc for `mode`)."""
    torch = require_torch()
    if mode not in CAST_MODES:
        raise HwsimError(f"cast mode: expected native or clamp, got {mode!r}")
    dt = _dtype(fmt)
    x = np.ascontiguousarray(x, dtype=np.float32)
    t = torch.from_numpy(x).to(resolve_device(device))
    if mode == "clamp":
        t = torch.clamp(t, -FP8[fmt], FP8[fmt])
    return t.to(dt).view(torch.uint8).cpu().numpy()


def decode_fp8(codes, fmt: str, device: str = "auto") -> np.ndarray:
    """uint8 codes of `fmt` -> float64 values, as torch reads them."""
    torch = require_torch()
    c = torch.from_numpy(np.ascontiguousarray(codes, dtype=np.uint8)).to(resolve_device(device))
    return c.view(_dtype(fmt)).to(torch.float32).cpu().numpy().astype(np.float64)


def _int8(x, who: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2 or x.dtype.kind not in "iu":
        raise HwsimError(f"{who}: expected a 2-D integer array, got {x.dtype} {x.shape}")
    if x.size and (x.min() < -128 or x.max() > 127):
        raise HwsimError(f"{who}: values must lie in [-128, 127] (int8)")
    return np.ascontiguousarray(x, dtype=np.int8)


def int_mm(a, w, device: str = "auto") -> np.ndarray:
    """a [M, K] @ w[N, K].T through torch._int_mm: int32 results (wrapped) as int64."""
    torch = require_torch()
    dev = resolve_device(device)
    a8, w8 = _int8(a, "int_mm: a"), _int8(w, "int_mm: w")
    (M, K), (N, K2) = a8.shape, w8.shape
    if K != K2:
        raise HwsimError(f"int_mm: K mismatch, a is {a8.shape} and w is {w8.shape}")
    if dev == "cuda" and not (M > 16 and K % 8 == 0 and N % 8 == 0):
        raise HwsimError(f"int_mm: CUDA needs M > 16 and K, N multiples of 8, got {M, N, K}")
    ta = torch.from_numpy(a8).to(dev)
    tw = torch.from_numpy(w8).to(dev)
    return torch._int_mm(ta, tw.t()).cpu().numpy().astype(np.int64)


def _scale_tensor(s, shape_ok: tuple[int, ...], who: str, dev: str):
    torch = require_torch()
    s = np.asarray(1.0 if s is None else s, dtype=np.float32)
    if s.size == 1:
        return torch.tensor(float(s.reshape(-1)[0]), dtype=torch.float32, device=dev)
    if s.shape != shape_ok:
        raise HwsimError(f"scaled_mm: {who} must be a scalar or of shape {shape_ok}, got {s.shape}")
    return torch.from_numpy(np.ascontiguousarray(s)).to(dev)


def scaled_mm(
    a_codes,
    w_codes,
    a_format: str = "float8_e4m3fn",
    w_format: str = "float8_e4m3fn",
    scale_a=None,
    scale_w=None,
    output_scale=None,
    use_fast_accum: bool = False,
    device: str = "auto",
    out_dtype: str = "float32",
) -> np.ndarray:
    """fp8 a [M, K] @ w[N, K].T via torch._scaled_mm; results (fp32 or bf16) as float64.

    scale_a: scalar or [M, 1]; scale_w: scalar or [1, N] (fp32, passed to the kernel).
    output_scale (scalar, optional) is applied here after the kernel: RN32(out * s).
    out_dtype: float32, or bfloat16 (some CUDA row-wise kernels only write bf16).
    """
    torch = require_torch()
    dev = resolve_device(device)
    a = np.ascontiguousarray(a_codes, dtype=np.uint8)
    w = np.ascontiguousarray(w_codes, dtype=np.uint8)
    if a.ndim != 2 or w.ndim != 2 or a.shape[1] != w.shape[1]:
        raise HwsimError(f"scaled_mm: expected a [M, K] and w [N, K], got {a.shape}, {w.shape}")
    M, K = a.shape
    N = w.shape[0]
    if dev == "cuda" and (K % 16 or N % 16):
        raise HwsimError(f"scaled_mm: CUDA needs K and N multiples of 16, got K={K}, N={N}")
    if out_dtype not in ("float32", "bfloat16"):
        raise HwsimError(f"scaled_mm: out_dtype must be float32 or bfloat16, got {out_dtype!r}")
    ta = torch.from_numpy(a).to(dev).view(_dtype(a_format))
    tw = torch.from_numpy(w).to(dev).view(_dtype(w_format))
    sa = _scale_tensor(scale_a, (M, 1), "scale_a", dev)
    sw = _scale_tensor(scale_w, (1, N), "scale_w", dev)
    out = torch._scaled_mm(
        ta,
        tw.t(),
        scale_a=sa,
        scale_b=sw,
        out_dtype=getattr(torch, out_dtype),
        use_fast_accum=use_fast_accum,
    )
    res = out.to(torch.float32).cpu().numpy()
    if output_scale is not None:
        res = (res * np.float32(output_scale)).astype(np.float32)
    return res.astype(np.float64)


def gemm16(a, w, dtype: str = "bfloat16", device: str = "auto") -> np.ndarray:
    """a [M, K] @ w[N, K].T in BF16 or FP16 (inputs rounded to it by torch); float64 out."""
    torch = require_torch()
    if dtype not in GEMM16:
        raise HwsimError(f"gemm16: dtype must be bfloat16 or float16, got {dtype!r}")
    dev = resolve_device(device)
    dt = getattr(torch, dtype)
    ta = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(dev).to(dt)
    tw = torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32)).to(dev).to(dt)
    return (ta @ tw.t()).to(torch.float32).cpu().numpy().astype(np.float64)
