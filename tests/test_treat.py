"""Outlier treatment: COINr Treat() oracle (values, log, per-point flags) and behaviour."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _prep_oracle import assert_close, indicators, read, units_matrix

from index.errors import InputError
from index.methods import IndicatorError
from index.methods import treat as tr


@pytest.fixture(scope="module")
def raw(oracle_dir):
    codes = list(indicators(oracle_dir).iCode)
    return codes, units_matrix(oracle_dir, "input_raw_dset_sorted.csv", codes)


def _compare_details(details: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert len(details) == len(expected)
    for col in expected.columns.drop("iCode"):
        got, exp = details[col], expected[col]
        if col.endswith(".Pass"):
            as_list = [None if pd.isna(v) else bool(v) for v in got]
            assert as_list == [None if pd.isna(v) else bool(v) for v in exp], col
        else:
            assert_close(got.to_numpy(float), exp.to_numpy(float))
    extra = [c for c in details.columns if c.startswith("check_SkewKurt") and c not in expected]
    assert details[extra].isna().all().all()  # stages COINr did not reach are empty here too


@pytest.mark.parametrize(
    ("stem", "params"),
    [
        ("treatcat_default_winmax5", {}),
        ("treatcat_winmax1", {"winmax": 1}),  # 9 indicators fall back to log_CT
        ("treat2_boxcox_f2", {"f2": "boxcox", "boxcox_lambda": 0.5}),
    ],
)
def test_coinr_treat_catalogue(raw, oracle_dir, stem, params):
    codes, x = raw
    res = tr.treat(x, **params)
    assert_close(res.x, units_matrix(oracle_dir, f"{stem}.csv", codes))
    _compare_details(res.details, read(oracle_dir, f"{stem}_details.csv"))


def test_coinr_default_log_points_and_pipeline_treated(raw, oracle_dir):
    codes, x = raw
    res = tr.treat(x)
    _compare_details(res.details, read(oracle_dir, "treat_raw_default_details.csv"))
    points = read(oracle_dir, "treat_raw_default_points.csv").set_index("uCode")[codes]
    np.testing.assert_array_equal(
        res.flags, points.astype(object).where(points.notna(), "").to_numpy(str)
    )
    assert_close(res.x, units_matrix(oracle_dir, "pipe_A1T_treat_minmax_amean_treated.csv", codes))
    assert set(res.details.treatment) == {"none", "winsorise"}


def test_log_fallback_is_on_original_values(raw):
    _, x = raw
    res = tr.treat(x, winmax=1)
    fell_back = np.nonzero((res.details.treatment == "log_CT").to_numpy())[0]
    assert len(fell_back) == 9
    for j in fell_back:
        v = x[:, j]
        lo, hi = np.nanmin(v), np.nanmax(v)
        np.testing.assert_array_equal(res.x[:, j], np.log(v - lo + 0.01 * (hi - lo)))
        assert (res.flags[:, j] == np.where(np.isnan(v), "", "log_CT")).all()


def test_boxcox_fallback_formula(raw):
    _, x = raw
    res = tr.treat(x, winmax=1, f2="boxcox", boxcox_lambda=0.5)
    j = int(np.nonzero((res.details.treatment == "boxcox").to_numpy())[0][0])
    y = x[:, j] - np.nanmin(x[:, j]) + 1.0
    np.testing.assert_allclose(res.x[:, j], (y**0.5 - 1) / 0.5, rtol=1e-14)
    np.testing.assert_allclose(tr.boxcox(x[:, [j]], lmbda=0.0)[:, 0], np.log(y), rtol=1e-14)


def _skewed() -> np.ndarray:
    """60 standard normal values and 7 outliers: needs 7 Winsorised points to pass."""
    return np.concatenate([np.random.default_rng(3).normal(size=60), np.linspace(20, 30, 7)])


def test_winmax_none_has_no_limit_and_nwin_counts_replaced_points():
    v = _skewed()
    limited = tr.winsorise(v, winmax=5)
    free = tr.winsorise(v, winmax=None)
    assert limited.nwin == 5 and free.nwin == 7
    assert tr.check_skew_kurt(free.x, 2.0, 3.5)["Pass"] is True
    assert free.high.sum() == free.nwin and (free.x[free.high] == free.x.max()).all()
    assert (free.x[~free.high] == v[~free.high]).all()


def test_force_win_and_per_indicator_overrides(raw):
    _, x = raw
    passing = 0  # LPI passes the test: force_win still Winsorises exactly winmax points
    res = tr.treat(
        x, per_indicator={passing: {"force_win": True, "winmax": 3}, 1: {"method": "none"}}
    )
    assert res.details.loc[passing, "winsorise.nwin"] == 3
    assert (res.flags[:, passing] != "").sum() == 3
    np.testing.assert_array_equal(res.x[:, 1], x[:, 1])  # Flights would be Winsorised by default
    assert tr.treat(x).details.loc[1, "treatment"] == "winsorise"
    one = tr.treat(x, per_indicator={4: {"winmax": 1}})
    np.testing.assert_array_equal(one.x[:, 4], tr.treat(x, winmax=1).x[:, 4])
    np.testing.assert_array_equal(np.delete(one.x, 4, 1), np.delete(tr.treat(x).x, 4, 1))


def test_direct_transforms_and_domain_errors():
    x = np.array([[1.0, 0.0], [np.e, 3.0], [np.nan, 1.0], [np.e**2, 7.0]])
    res = tr.treat(x[:, [0]], method="log")
    np.testing.assert_allclose(res.x[:, 0], [0.0, 1.0, np.nan, 2.0])
    assert list(res.flags[:, 0]) == ["log", "log", "", "log"]
    np.testing.assert_allclose(tr.log1p(x[:, [1]])[:, 0], np.log1p(x[:, 1]))
    np.testing.assert_allclose(tr.log_CT_orig(x)[:, 1], np.log(x[:, 1] + 1.0))
    with pytest.raises(IndicatorError) as err:
        tr.treat(x, method="log")
    assert err.value.columns == (1,)
    with pytest.raises(IndicatorError, match="log1p"):
        tr.treat(-x, method="log1p")


def test_nan_and_constant_columns_untouched():
    x = np.column_stack([_skewed(), np.full(67, 2.0)])
    x[[0, 5], 0] = np.nan
    res = tr.treat(x, winmax=None)
    assert np.isnan(res.x[[0, 5], 0]).all() and (res.flags[[0, 5], 0] == "").all()
    np.testing.assert_array_equal(res.x[:, 1], x[:, 1])
    assert pd.isna(res.details.loc[1, "check_SkewKurt0.Pass"])
    assert res.details.loc[0, "treatment"] == "winsorise"


def test_batch_equals_per_item(raw):
    _, x = raw
    stack = np.stack([x, x[::-1] * 2.0 + 1.0])
    batch = tr.treat(stack, winmax=2)
    assert list(batch.details.columns[:2]) == ["batch", "column"] and len(batch.details) == 98
    for k in range(2):
        single = tr.treat(stack[k], winmax=2)
        np.testing.assert_array_equal(batch.x[k], single.x)
        np.testing.assert_array_equal(batch.flags[k], single.flags)
        part = (
            batch.details[batch.details.batch == (k,)].drop(columns="batch").reset_index(drop=True)
        )
        pd.testing.assert_frame_equal(part, single.details)


def test_bad_options():
    x = np.ones((5, 2))
    for kwargs, msg in [
        ({"method": "trim"}, "unknown method 'trim'"),
        ({"f2": "sqrt"}, "unknown f2 'sqrt'"),
        ({"per_indicator": {5: {}}}, "column indices"),
        ({"per_indicator": {0: {"wnmax": 2}}}, "unknown option"),
        ({"winmax": None, "force_win": True}, "finite winmax"),
    ]:
        with pytest.raises(InputError, match=msg):
            tr.treat(x, **kwargs)
    assert {"winsorise", "none", "log_CT", "log", "boxcox"} <= set(tr.TREATMENTS)


def test_permuting_units_permutes_outputs(raw):
    _, x = raw
    perm = np.random.default_rng(5).permutation(x.shape[0])
    for params in ({}, {"winmax": 1}, {"method": "log_CT"}):
        res, shuffled = tr.treat(x, **params), tr.treat(x[perm], **params)
        np.testing.assert_array_equal(shuffled.x, res.x[perm])
        np.testing.assert_array_equal(shuffled.flags, res.flags[perm])
        pd.testing.assert_frame_equal(shuffled.details, res.details, rtol=1e-12)


def test_one_walk_serves_every_winmax(raw, oracle_dir):
    """Within ``shared_walks``, limits read from a walk made for a larger one (or extended from
    a smaller one) equal fresh walks, and COINr's winmax-1 result still holds after a winmax-5
    call; outside it nothing is kept."""
    codes, x = raw
    fresh = {wm: tr.treat(x, winmax=wm) for wm in (1, 3, 5, None)}
    with tr.shared_walks({}) as store:
        for wm in (3, 5, 1, None, 3):
            shared = tr.treat(x, winmax=wm)
            np.testing.assert_array_equal(shared.x, fresh[wm].x)
            np.testing.assert_array_equal(shared.flags, fresh[wm].flags)
            pd.testing.assert_frame_equal(shared.details, fresh[wm].details)
        assert len(store) == 1  # one walk for all of them
        one = tr.treat(x, winmax=1).x
    assert_close(one, units_matrix(oracle_dir, "treatcat_winmax1.csv", codes))
    assert len(store) == 1 and tr._WALKS.get() is None


def test_skew_kurt_of_huge_values_is_the_scale_free_statistic_without_overflow():
    """Values near the float limit (an iData cell of 1e308) overflowed the fourth powers: NaN
    statistics, skipped treatment and overflow warnings. Scaling by a power of two is exact, so
    the statistics equal those of the unscaled rows bit for bit."""
    rng = np.random.default_rng(7)
    x = rng.lognormal(size=(4, 30))
    x[1, 5] = np.nan
    huge = np.vstack([x[:2], x[2:] * 2.0**1000])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sk, kt = tr.skew_kurt_rows(huge)
    ref_sk, ref_kt = tr.skew_kurt_rows(x)
    assert np.array_equal(sk, ref_sk, equal_nan=True) and np.array_equal(kt, ref_kt, equal_nan=True)
    assert np.isfinite(sk).all()
