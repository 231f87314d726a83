"""Error metrics: MSE, SQNR (dB), max abs error, and their NaN/inf conventions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hwsim.dtypes.metrics import max_abs_error, mse, sqnr_db
from hwsim.errors import HwsimError


def test_hand_values():
    x = np.array([1.0, -2.0, 3.0, 0.0])
    y = np.array([1.5, -2.0, 2.0, 0.0])
    assert mse(x, y) == (0.25 + 1.0) / 4
    assert max_abs_error(x, y) == 1.0
    assert sqnr_db(x, y) == pytest.approx(10 * math.log10(14.0 / 1.25))


def test_exact_and_zero_cases():
    x = np.array([1.0, 2.0])
    assert mse(x, x) == 0.0
    assert sqnr_db(x, x) == float("inf")
    assert math.isnan(sqnr_db(np.zeros(3), np.zeros(3)))
    assert sqnr_db(np.zeros(2), np.ones(2)) == float("-inf")
    assert mse(np.array([]), np.array([])) == 0.0


def test_nan_and_inf_conventions():
    x = np.array([np.nan, np.inf, -np.inf, 1.0])
    same = np.array([np.nan, np.inf, -np.inf, 1.0])
    assert mse(x, same) == 0.0 and max_abs_error(x, same) == 0.0
    off = np.array([0.0, np.inf, -np.inf, 1.0])  # NaN lost on one side
    assert math.isnan(mse(x, off))
    assert mse(x, off, ignore_nonfinite=True) == 0.0
    wrong_inf = np.array([np.nan, -np.inf, -np.inf, 2.0])
    assert max_abs_error(x, wrong_inf) == float("inf")  # -inf where inf was expected
    assert mse(x, wrong_inf, ignore_nonfinite=True) == pytest.approx(1 / 3)
    assert sqnr_db(np.array([1.0]), np.array([np.inf])) == float("-inf")


def test_float32_inputs_and_shapes():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    y = x + np.float32(0.5)
    assert mse(x, y) == 0.25
    with pytest.raises(HwsimError, match="metrics: shapes differ"):
        mse(x, y.ravel())
