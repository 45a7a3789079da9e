"""COINr's direction-aware and GII logs (log_CT_plus, log_GII), hand-worked from COINr's formulas."""

from __future__ import annotations

import numpy as np
import pytest

from index.methods import IndicatorError
from index.methods import treat as tr


def test_log_ct_plus_positive_skew_is_log_ct():
    x = np.array([[1.0], [2.0], [3.0], [10.0]])  # right-skewed: a = 0.01 * 9 = 0.09
    np.testing.assert_allclose(
        tr.log_CT_plus(x)[:, 0], np.log([0.09, 1.09, 2.09, 9.09]), rtol=1e-15
    )
    np.testing.assert_array_equal(tr.log_CT_plus(x), tr.log_CT(x))


def test_log_ct_plus_negative_skew_mirrors_and_keeps_order():
    x = np.array([[-10.0], [-3.0], [-2.0], [-1.0]])  # left-skewed: -ln(max + a - x), a = 0.09
    expected = -np.log(-1.0 + 0.09 - x[:, 0])
    np.testing.assert_allclose(tr.log_CT_plus(x)[:, 0], expected, rtol=1e-15)
    assert np.all(np.diff(tr.log_CT_plus(x)[:, 0]) > 0)
    # mirror identity: for left-skewed x, log_CT_plus(x) = -log_CT(-x)
    np.testing.assert_allclose(tr.log_CT_plus(x), -tr.log_CT(-x), rtol=1e-13)


def test_log_ct_plus_per_column_with_nan():
    x = np.array([[1.0, -10.0], [2.0, np.nan], [3.0, -2.0], [10.0, -1.0]])
    out = tr.log_CT_plus(x)
    np.testing.assert_allclose(out[:, 0], tr.log_CT(x[:, [0]])[:, 0])
    assert np.isnan(out[1, 1])
    np.testing.assert_allclose(out[[0, 2, 3], 1], -np.log(-1 + 0.09 - x[[0, 2, 3], 1]))


def test_log_gii_by_hand():
    x = np.array([[0.0], [1.0], [4.0]])  # ln(3 (x - 0) / 4 + 1)
    np.testing.assert_allclose(tr.log_GII(x)[:, 0], [0.0, np.log(1.75), np.log(4.0)], rtol=1e-15)
    # max < 1 reverses the order (COINr's caveat)
    y = np.array([[0.1], [0.5]])
    out = tr.log_GII(y)[:, 0]
    assert out[0] == 0.0 and out[1] == pytest.approx(np.log(0.5))
    with pytest.raises(IndicatorError, match="max x > 0"):
        tr.log_GII(np.array([[-2.0], [-1.0]]))
    with pytest.raises(IndicatorError, match="constant"):
        tr.log_GII(np.array([[2.0], [2.0]]))


def test_registered_as_treatments():
    assert {"log_CT_plus", "log_GII"} <= set(tr.TRANSFORMS) <= set(tr.TREATMENTS)
    res = tr.treat(np.array([[1.0], [2.0], [3.0], [10.0]]), method="log_CT_plus")
    np.testing.assert_allclose(res.x, tr.log_CT(np.array([[1.0], [2.0], [3.0], [10.0]])))
