"""Quantization error metrics: MSE, SQNR (dB), max abs error.

NaN/inf handling: a position where the reference and the approximation are both NaN, or are
the same infinity, reproduced the value faithfully and counts as zero error. Any other
non-finite error (a NaN or inf on one side only) makes the metric NaN/inf, unless
`ignore_nonfinite=True`, which leaves those positions out. `x_hat` may be a QTensor (it is
dequantized first).
"""

from __future__ import annotations

import numpy as np

from hwsim.dtypes.base import real_values
from hwsim.errors import HwsimError


def _error(x, x_hat, ignore_nonfinite: bool) -> tuple[np.ndarray, np.ndarray]:
    """(reference values, errors) over the positions that count, both float64 and flat."""
    from hwsim.dtypes.qtensor import QTensor

    if isinstance(x_hat, QTensor):
        from hwsim.dtypes.quantize import dequantize

        x_hat = dequantize(x_hat)
    a = real_values(x, "metrics: reference")
    b = real_values(x_hat, "metrics: approximation")
    if a.shape != b.shape:
        raise HwsimError(f"metrics: shapes differ: reference {a.shape}, approximation {b.shape}")
    a, b = a.ravel(), b.ravel()
    same = (np.isnan(a) & np.isnan(b)) | (np.isinf(a) & (a == b))
    with np.errstate(invalid="ignore"):
        err = np.where(same, 0.0, b - a)
    ref = np.where(same, 0.0, a)
    if ignore_nonfinite:
        keep = np.isfinite(err) & np.isfinite(ref)
        err, ref = err[keep], ref[keep]
    return ref, err


def mse(x, x_hat, ignore_nonfinite: bool = False) -> float:
    """Mean squared error; 0.0 for empty input."""
    _, err = _error(x, x_hat, ignore_nonfinite)
    return float(np.mean(np.square(err))) if err.size else 0.0


def max_abs_error(x, x_hat, ignore_nonfinite: bool = False) -> float:
    """Largest |x_hat - x|; 0.0 for empty input."""
    _, err = _error(x, x_hat, ignore_nonfinite)
    return float(np.max(np.abs(err))) if err.size else 0.0


def sqnr_db(x, x_hat, ignore_nonfinite: bool = False) -> float:
    """Signal-to-quantization-noise ratio 10*log10(sum x^2 / sum err^2) in dB.

    inf when the error is zero (and the signal is not); NaN when both are zero.
    """
    ref, err = _error(x, x_hat, ignore_nonfinite)
    signal = float(np.sum(np.square(ref)))
    noise = float(np.sum(np.square(err)))
    if noise == 0.0:
        return float("nan") if signal == 0.0 else float("inf")
    if np.isnan(noise) or np.isnan(signal):
        return float("nan")
    if signal == 0.0 or np.isinf(noise):
        return float("-inf")
    return float(10.0 * np.log10(signal / noise))
