"""Imputation: COINr Impute()/impute_panel() oracle and behaviour of kNN, MICE and time methods."""

from __future__ import annotations

import random

import numpy as np
import pytest
from _prep_oracle import assert_close, denominated, indicators, panel_cube, read, units_matrix
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from index.errors import InputError
from index.methods import IndicatorError
from index.methods import impute as im


@pytest.fixture(scope="module")
def asem(oracle_dir):
    ind = indicators(oracle_dir)
    x, data = denominated(oracle_dir)
    return ind, x, data


@pytest.mark.parametrize(
    ("fname", "method", "grouped"),
    [
        ("impute_i_mean.csv", "mean", False),
        ("impute_i_median.csv", "median", False),
        ("impute_i_mean_grp_EurAsia.csv", "mean_grp", True),
        ("impute_i_median_grp_EurAsia.csv", "median_grp", True),
    ],
)
def test_coinr_column_imputation(asem, oracle_dir, fname, method, grouped):
    ind, x, data = asem
    params = {"groups": data.EurAsia_group.to_numpy()} if grouped else {}
    got = im.impute(x, method, **params)
    assert np.isnan(x).sum() == 65 and not np.isnan(got).any()  # 63 raw NA + 2 missing denominators
    assert_close(got, units_matrix(oracle_dir, fname, list(ind.iCode)))


def test_coinr_row_mean_within_pillar_normalise_first(asem, oracle_dir):
    """COINr impute_by="row", group_level=2, normalise_first=TRUE: output on the original scale."""
    ind, x, _ = asem
    expected = units_matrix(oracle_dir, "impute_rowmean_by_pillar_normfirst.csv", list(ind.iCode))
    pillars = ind.Parent.to_numpy()
    got = im.impute(x, "row_mean", ind_groups=pillars, directions=ind.Direction.to_numpy())
    assert_close(got, expected)
    undirected = im.row_mean(x, ind_groups=pillars)  # directions matter for the back-transform
    assert not np.allclose(undirected, expected)
    raw_scale = im.row_mean(x, ind_groups=pillars, normalise_first=False)
    unit, j = map(int, np.argwhere(np.isnan(x))[0])
    same = pillars == pillars[j]
    assert raw_scale[unit, j] == pytest.approx(np.nanmean(x[unit, same]))


@pytest.fixture(scope="module")
def panel(oracle_dir):
    codes = list(indicators(oracle_dir).iCode)
    x, years, units = panel_cube(read(oracle_dir, "panel_impute_input_maskA.csv"), codes)
    return codes, x, years


def test_coinr_panel_latest_and_source_year(panel, oracle_dir):
    """COINr's "latest" carries forward only; the earliest years stay NaN (backfill=False)."""
    codes, x, years = panel
    got = im.impute(x, "latest", backfill=False)
    assert_close(got, panel_cube(read(oracle_dir, "panel_impute_A_latest.csv"), codes)[0])
    src = im.latest_source(x, backfill=False)
    src_year = np.where(src >= 0, np.asarray(years, float)[np.maximum(src, 0)], np.nan)
    expected = panel_cube(read(oracle_dir, "panel_impute_A_latest_DataT.csv"), codes)[0]
    np.testing.assert_array_equal(src_year, expected)


def test_latest_backfill_fills_leading_years_from_first_observation(panel):
    _, x, _ = panel
    forward = im.latest(x, backfill=False)
    filled = im.latest(x)
    src = im.latest_source(x)
    observed_somewhere = ~np.isnan(x).all(axis=0, keepdims=True) & np.ones_like(x, bool)
    np.testing.assert_array_equal(np.isnan(filled), ~observed_somewhere)
    kept = ~np.isnan(forward)
    np.testing.assert_array_equal(filled[kept], forward[kept])
    lead = np.isnan(forward) & observed_somewhere
    assert lead.any()
    first = np.argmax(~np.isnan(x), axis=0)[None].repeat(x.shape[0], 0)
    np.testing.assert_array_equal(src[lead], first[lead])
    np.testing.assert_array_equal(filled[lead], np.take_along_axis(x, first, 0)[lead])


def test_coinr_panel_linear(panel, oracle_dir):
    codes, x, years = panel
    got = im.impute(x, "linear", times=years)
    assert_close(got, panel_cube(read(oracle_dir, "panel_impute_A_linear.csv"), codes)[0])


def test_linear_single_observation_uneven_times_and_batch():
    s = np.array([np.nan, 2.0, np.nan, np.nan, 8.0, np.nan])  # years 0, 1, 2, 4, 5, 6 below
    x = np.stack([s, [np.nan, np.nan, 5.0, np.nan, np.nan, np.nan], [np.nan] * 6], axis=1)[
        :, :, None
    ]
    got = im.linear(x, times=[0, 1, 2, 4, 5, 6])
    np.testing.assert_allclose(got[:, 0, 0], [2.0, 2.0, 3.5, 6.5, 8.0, 8.0])
    np.testing.assert_array_equal(got[:, 1, 0], 5.0)  # one observation: constant
    assert np.isnan(got[:, 2, 0]).all()
    batch = im.linear(np.stack([x, 2 * x]))
    np.testing.assert_array_equal(batch[1], im.linear(2 * x))
    with pytest.raises(InputError, match="increasing"):
        im.linear(x, times=[0, 1, 1, 2, 3, 4])
    with pytest.raises(InputError, match="n_years"):
        im.latest(np.ones((3, 2)))


def test_group_imputation_skips_units_without_group():
    x = np.array([[1.0], [np.nan], [3.0], [np.nan], [10.0], [np.nan]])
    got = im.mean_grp(x, groups=np.array(["a", "a", "a", "b", "b", None], dtype=object))
    np.testing.assert_array_equal(got[:, 0], [1, 2, 3, 10, 10, np.nan])
    np.testing.assert_array_equal(
        im.median_grp(np.stack([x, x]), groups=[0, 0, 0, 1, 1, 1])[1, :, 0], [1, 2, 3, 10, 10, 10]
    )
    with pytest.raises(InputError, match="one label per unit"):
        im.mean_grp(x, groups=[0, 1])


def _clustered() -> np.ndarray:
    rng = np.random.default_rng(7)
    centres = np.array([[0.0, 0.0, 0.0], [10.0, 1000.0, 50.0]])
    x = np.repeat(centres, 10, axis=0) + rng.normal(scale=[0.1, 10.0, 0.5], size=(20, 3))
    x[[2, 15], 1] = np.nan
    return x


def test_knn_uses_neighbours_on_standardised_scales():
    x = _clustered()
    got = im.impute(x, "knn", n_neighbors=3)
    assert not np.isnan(got).any()
    np.testing.assert_array_equal(got[~np.isnan(x)], x[~np.isnan(x)])
    assert abs(got[2, 1]) < 50 and abs(got[15, 1] - 1000) < 50
    batch = im.knn(np.stack([x, x[::-1]]), n_neighbors=3)
    np.testing.assert_array_equal(batch[0], got)
    np.testing.assert_allclose(batch[1], got[::-1])


def test_iterative_recovers_linear_relation_and_is_deterministic():
    rng = np.random.default_rng(0)
    a = rng.normal(size=30)
    x = np.column_stack([a, 3 * a + 1, rng.normal(size=30)])
    x[[4, 9], 1] = np.nan
    x[:, 2][0] = np.nan
    got = im.impute(x, "iterative", random_state=0)
    np.testing.assert_allclose(got[[4, 9], 1], 3 * a[[4, 9]] + 1, atol=0.05)
    np.testing.assert_array_equal(got, im.iterative(x, random_state=0))
    with_empty = np.column_stack([x, np.full(30, np.nan)])
    assert np.isnan(im.iterative(with_empty)[:, 3]).all()


def test_dispatcher_and_registry():
    x = np.array([[1.0, np.nan], [3.0, 4.0]])
    np.testing.assert_array_equal(im.impute(x, "none"), x)
    with pytest.raises(InputError, match="unknown imputation method 'hotdeck'"):
        im.impute(x, "hotdeck")
    with pytest.raises(InputError, match="knn"):
        im.impute(x, "knn", k=3)
    assert set(im.IMPUTERS) == {
        "none",
        "mean",
        "median",
        "mean_grp",
        "median_grp",
        "worst_grp",
        "row_mean",
        "knn",
        "iterative",
        "latest",
        "linear",
    }


cells = st.one_of(st.just(np.nan), st.floats(-1e3, 1e3, allow_nan=False))
CROSS_SECTIONAL = ("mean", "median", "mean_grp", "median_grp", "row_mean")


def _params(method: str, n_units: int, n_ind: int) -> dict:
    if method.endswith("_grp"):
        return {"groups": np.arange(n_units) % 2}
    if method == "row_mean":
        return {"ind_groups": np.arange(n_ind) % 2}
    return {}


@settings(max_examples=40, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 3), st.integers(2, 7), st.integers(1, 4)),
        elements=cells,
    ),
    st.randoms(use_true_random=False),
)
@example(  # found by Hypothesis: the mean depends on summation order below rounding
    np.array([[[0.99999], [3e-138], [-0.99999], [np.nan]]]), random.Random(0)
)
def test_permutation_and_batch_properties(x, rnd):
    n_units, n_ind = x.shape[1:]
    perm = list(range(n_units))
    rnd.shuffle(perm)
    for method in CROSS_SECTIONAL:
        params = _params(method, n_units, n_ind)
        batch = im.impute(x, method, **params)
        observed = ~np.isnan(x)
        np.testing.assert_array_equal(batch[observed], x[observed])
        for k, item in enumerate(x):
            np.testing.assert_array_equal(batch[k], im.impute(item, method, **params))
        if "groups" in params:
            params["groups"] = params["groups"][perm]
        # permuting units reorders sums: equal up to rounding of the largest magnitude (a mean
        # of [1 - 1e-5, 3e-138, -(1 - 1e-5)] is 1e-138 or 0 by summation order)
        scale = np.abs(x[observed]).max(initial=0.0)
        np.testing.assert_allclose(
            im.impute(x[:, perm], method, **params), batch[:, perm], rtol=1e-7, atol=1e-14 * scale
        )


def test_iterative_never_imputes_below_zero_in_a_nonnegative_column():
    """b = 2a - 5 is observed only where it is >= 3; the regression extrapolates b(a=1) = -3 and
    b(a=2) = -1 (scikit-learn's own output, below): clipped at 0 with a warning carrying the
    cells, or refused; a column with observed negatives (signed) is left as imputed."""
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer

    a = np.arange(1.0, 11.0)
    x = np.column_stack([a, 2 * a - 5])
    x[[0, 1], 1] = np.nan
    raw = IterativeImputer(random_state=0, keep_empty_features=True).fit_transform(x)
    np.testing.assert_allclose(raw[[0, 1], 1], [-3.0, -1.0], atol=0.01)
    with pytest.warns(
        im.ImputationClipWarning, match=r"2 negative value\(s\) in column\(s\) \[1\]"
    ) as rec:
        got = im.iterative(x)
    np.testing.assert_array_equal(got[[0, 1], 1], [0.0, 0.0])
    np.testing.assert_array_equal(got[2:], x[2:])
    cells = rec[0].message.cells
    assert cells.sum() == 2 and cells[0, 1] and cells[1, 1]
    with pytest.raises(IndicatorError, match="negative value") as err:
        im.iterative(x, negative="refuse")
    assert err.value.columns == (1,)
    signed = x.copy()
    signed[5, 1] = -0.5  # an observed negative: the column may be negative
    out = im.iterative(signed)
    assert (out[[0, 1], 1] < 0).all()


@pytest.mark.parametrize("gap", [1, 4])
def test_coinr_panel_latest_max_gap(panel, oracle_dir, gap):
    """COINr ``max_time``: a value is carried at most ``gap`` years. From COINr's own ``latest``
    output and its source years (DataT): keep a cell iff Time - DataT <= gap (the blanked panel
    has gaps of one year, so every gap here keeps all of COINr's cells)."""
    codes, x, years = panel
    full = panel_cube(read(oracle_dir, "panel_impute_A_latest.csv"), codes)[0]
    src = panel_cube(read(oracle_dir, "panel_impute_A_latest_DataT.csv"), codes)[0]
    t = np.asarray(years, float).reshape(-1, 1, 1)
    expected = np.where(t - src <= gap, full, np.nan)
    assert_close(im.impute(x, "latest", backfill=False, max_gap=gap), expected)


def test_latest_max_gap_by_hand():
    """Years 0..4, one series 5, ·, ·, ·, 9 and one ·, ·, 3, ·, · (· = missing). With
    ``backfill`` a cell farther than ``max_gap`` after the last observation takes the next one
    within ``max_gap`` (the edition's policy); without, it stays missing (COINr)."""
    x = np.array([[5.0, np.nan], [np.nan, np.nan], [np.nan, 3.0], [np.nan, np.nan], [9.0, np.nan]])
    x = x[:, None, :]  # (years, one unit, two indicators)
    nan = np.nan
    np.testing.assert_array_equal(im.latest(x, max_gap=1)[:, 0, 0], [5, 5, nan, 9, 9])
    np.testing.assert_array_equal(im.latest(x, max_gap=2)[:, 0, 0], [5, 5, 5, 9, 9])
    np.testing.assert_array_equal(
        im.latest(x, max_gap=1, backfill=False)[:, 0, 0], [5, 5, nan, nan, 9]
    )  # COINr looks back only
    np.testing.assert_array_equal(im.latest(x)[:, 0, 0], [5, 5, 5, 5, 9])
    np.testing.assert_array_equal(im.latest(x, max_gap=1)[:, 0, 1], [nan, 3, 3, 3, nan])
    np.testing.assert_array_equal(
        im.latest(x, max_gap=1, backfill=False)[:, 0, 1], [nan, nan, 3, 3, nan]
    )
    np.testing.assert_array_equal(im.latest_source(x, max_gap=2)[:, 0, 1], [2, 2, 2, 2, 2])
