"""Normalisation: COINr oracle (ASEM example), panel fit_on, degenerate columns, properties."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _prep_oracle import assert_close, denominated, indicators, panel_cube, read, units_matrix
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from index.errors import InputError
from index.methods import ConstantIndicatorError
from index.methods import normalize as nz
from index.methods.impute import impute
from index.methods.treat import treat


@pytest.fixture(scope="module")
def asem(oracle_dir):
    """The data COINr's norm_*.csv were made from: denominate → i_mean_grp(EurAsia) → Treat()."""
    ind = indicators(oracle_dir)
    x, data = denominated(oracle_dir)
    treated = treat(impute(x, "mean_grp", groups=data.EurAsia_group.to_numpy())).x
    return {
        "codes": list(ind.iCode),
        "dirs": ind.Direction.to_numpy(float),
        "targets": ind.Target.to_numpy(float),
        "units": list(data.uCode),
        "treated": treated,
    }


DIRECTED = {
    "norm_n_minmax_0_100.csv": ("minmax", {}),
    "norm_n_minmax_1_100.csv": ("minmax", {"l": 1.0}),
    "norm_n_zscore_0_1.csv": ("zscore", {}),
    "norm_n_zscore_10_2.csv": ("zscore", {"m": 10.0, "s": 2.0}),
    "norm_n_dist2max.csv": ("dist2max", {}),
    "norm_n_rank.csv": ("rank", {}),
    "norm_n_prank.csv": ("prank", {}),
    "norm_n_borda.csv": ("borda", {}),
}


@pytest.mark.parametrize("fname", sorted(DIRECTED))
def test_coinr_norm_catalogue(asem, oracle_dir, fname):
    method, params = DIRECTED[fname]
    got = nz.normalise(asem["treated"] * asem["dirs"], method, **params)
    expected = units_matrix(oracle_dir, fname, asem["codes"])
    if method in ("rank", "prank", "borda"):
        np.testing.assert_array_equal(got, expected)  # ranks exactly
    else:
        assert_close(got, expected)


def test_coinr_dist2targ(asem, oracle_dir):
    got = nz.normalise(
        asem["treated"], "dist2targ", targets=asem["targets"], directions=asem["dirs"]
    )
    assert_close(got, units_matrix(oracle_dir, "norm_n_dist2targ_iMetaTarget.csv", asem["codes"]))
    capped = nz.dist2targ(
        asem["treated"], targets=asem["targets"], directions=asem["dirs"], cap=True
    )
    assert got.max() > 1 and capped.max() == 1.0
    np.testing.assert_array_equal(capped, np.minimum(got, 1.0))


@pytest.mark.parametrize(
    ("fname", "method", "bad"),
    [
        # COINr divides by zero here (x/max with max(-x) = 0; x_ref = min for AUT's Ship) and
        # writes Inf/NaN; we refuse and name the columns, and match every other column.
        ("norm_n_fracmax.csv", "fracmax", [16, 17, 35]),
        ("norm_n_dist2ref_AUT.csv", "dist2ref", [2]),
    ],
)
def test_coinr_degenerate_columns_named(asem, oracle_dir, fname, method, bad):
    x = asem["treated"] * asem["dirs"]
    params = {"ref": asem["units"].index("AUT")} if method == "dist2ref" else {}
    with pytest.raises(ConstantIndicatorError) as err:
        nz.normalise(x, method, **params)
    assert list(err.value.columns) == bad
    assert isinstance(err.value, InputError)
    keep = [j for j in range(x.shape[1]) if j not in bad]
    expected = units_matrix(oracle_dir, fname, asem["codes"])
    assert not np.isfinite(expected[:, bad]).all()
    assert_close(nz.normalise(x[:, keep], method, **params), expected[:, keep])


def test_coinr_goalposts(oracle_dir):
    codes = list(indicators(oracle_dir).iCode)
    posts = read(oracle_dir, "goalposts_used.csv").set_index("iCode").loc[codes]
    raw = units_matrix(oracle_dir, "input_raw_dset_sorted.csv", codes)
    got = nz.normalise(
        raw,
        "goalposts",
        lower=posts.goalpost_lower.to_numpy(),
        upper=posts.goalpost_upper.to_numpy(),
        directions=posts.Direction.to_numpy(),
        scale=100.0,
    )
    assert_close(got, units_matrix(oracle_dir, "goalposts_trunc_normalised.csv", codes))
    assert np.nanmin(got) == 0.0 and np.nanmax(got) == 100.0


def test_goalposts_untruncated_formula():
    x = np.array([[0.0, 0.0], [5.0, 5.0], [20.0, 20.0]])
    got = nz.goalposts(x, lower=[0, 0], upper=[10, 10], directions=[1, -1], scale=1, trunc=False)
    np.testing.assert_allclose(got, [[0.0, 1.0], [0.5, 0.5], [2.0, -1.0]])


def test_coinr_genmean_input_minmax_1_100(asem, oracle_dir):
    got = nz.minmax(asem["treated"] * asem["dirs"], l=1.0, u=100.0)
    assert_close(
        got, units_matrix(oracle_dir, "genmean_input_normalised_minmax1.csv", asem["codes"])
    )


@pytest.mark.parametrize("kind", ["global", "peryear"])
def test_coinr_panel_minmax(oracle_dir, kind):
    """Level-1 rows of COINr's purse scores are the normalised indicators."""
    ind = indicators(oracle_dir)
    codes, dirs = list(ind.iCode), ind.Direction.to_numpy(float)
    x, years, units = panel_cube(read(oracle_dir, "panel_raw_dset.csv"), codes)
    long = read(oracle_dir, f"panel_minmax_{kind}_amean_scores_long.csv")
    long = long[long.iCode.isin(codes)].pivot(index=["Time", "uCode"], columns="iCode")["value"]
    expected = np.stack([long.loc[y].reindex(index=units, columns=codes).to_numpy() for y in years])
    xd = x * dirs
    fit_on = xd.reshape(1, -1, xd.shape[-1]) if kind == "global" else None
    assert_close(nz.minmax(xd, fit_on=fit_on), expected)


def test_fit_on_reference_year_and_batch_broadcast():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 9, 3))
    for method in ("minmax", "zscore", "dist2max", "fracmax"):
        ref = nz.normalise(x, method, fit_on=x[[2]])
        np.testing.assert_allclose(ref[2], nz.normalise(x[2], method))
        assert not np.allclose(ref[0], nz.normalise(x[0], method))
    pooled = nz.minmax(x, fit_on=x.reshape(1, -1, 3))
    np.testing.assert_allclose(np.nanmin(pooled, axis=(0, 1)), 0.0)
    np.testing.assert_allclose(np.nanmax(pooled, axis=(0, 1)), 100.0)


def test_constant_column_raises_with_index_and_all_nan_column_stays_nan():
    x = np.array([[1.0, 5.0, np.nan, 2.0], [2.0, 5.0, np.nan, 2.0], [3.0, 5.0, np.nan, np.nan]])
    for method in ("minmax", "zscore", "dist2max"):
        with pytest.raises(ConstantIndicatorError) as err:
            nz.normalise(x, method)
        assert err.value.columns == (1, 3) and "column(s) 1, 3" in str(err.value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = nz.minmax(x[:, [0, 2]])
        ranks = nz.rank(x)
    np.testing.assert_array_equal(out, [[0, np.nan], [50, np.nan], [100, np.nan]])
    np.testing.assert_array_equal(ranks[:, 2], np.nan)
    with pytest.raises(ConstantIndicatorError):  # one observation: no percentile rank
        nz.prank(np.array([[1.0], [np.nan]]))


def test_ranks_ties_min_nan_kept():
    x = np.array([[3.0], [1.0], [np.nan], [3.0], [2.0]])
    np.testing.assert_array_equal(nz.rank(x)[:, 0], [3, 1, np.nan, 3, 2])
    np.testing.assert_array_equal(nz.borda(x)[:, 0], [2, 0, np.nan, 2, 1])
    np.testing.assert_array_equal(nz.prank(x)[:, 0], [2 / 3, 0, np.nan, 2 / 3, 1 / 3])


def test_dispatcher_errors():
    x = np.ones((3, 2))
    with pytest.raises(InputError, match="unknown normalisation method 'nope'"):
        nz.normalise(x, "nope")
    with pytest.raises(InputError, match="minmax"):
        nz.normalise(x, "minmax", lo=1)
    with pytest.raises(InputError, match="out of range"):
        nz.dist2ref(x, ref=7)
    with pytest.raises(InputError, match="fit_on"):
        nz.minmax(x, fit_on=np.ones((3, 5)))
    with pytest.raises(InputError, match="directions"):
        nz.goalposts(x, lower=[0, 0], upper=[1, 1], directions=[1, 0])
    with pytest.raises(InputError, match="equal posts"):
        nz.goalposts(x, lower=[0, 1], upper=[1, 1], directions=[1, 1])
    assert set(nz.NORMALISERS) >= {"minmax", "zscore", "goalposts", "dist2targ", "borda"}


# --- properties -------------------------------------------------------------------------------

finite = st.floats(-1e3, 1e3, allow_nan=False)
matrices = arrays(np.float64, st.tuples(st.integers(3, 8), st.integers(1, 4)), elements=finite)


def _spread_ok(x: np.ndarray) -> bool:
    span = np.ptp(x, axis=0)
    return bool(np.all(span > 1e-3 * (1 + np.abs(x).max(axis=0))))


@settings(max_examples=60, deadline=None)
@given(matrices, st.floats(0.01, 100), st.floats(-100, 100), st.data())
def test_minmax_zscore_invariant_to_positive_affine_rescaling(x, a, b, data):
    assume(_spread_ok(x))
    j = data.draw(st.integers(0, x.shape[1] - 1))
    y = x.copy()
    y[:, j] = a * y[:, j] + b
    for method in ("minmax", "zscore"):
        np.testing.assert_allclose(nz.normalise(y, method), nz.normalise(x, method), atol=1e-7)


@settings(max_examples=60, deadline=None)
@given(matrices, st.randoms(use_true_random=False))
def test_permuting_units_permutes_outputs(x, rnd):
    assume(_spread_ok(x) and np.all(np.abs(np.max(x, axis=0)) > 1e-6))
    perm = list(range(x.shape[0]))
    rnd.shuffle(perm)
    for method in ("minmax", "zscore", "rank", "prank", "borda", "dist2max", "fracmax"):
        np.testing.assert_allclose(nz.normalise(x[perm], method), nz.normalise(x, method)[perm])
    ref = perm.index(0)  # unit 0 sits at position ref after permuting
    if np.all(x[0] != np.min(x, axis=0)):
        np.testing.assert_allclose(nz.dist2ref(x[perm], ref=ref), nz.dist2ref(x, ref=0)[perm])


@settings(max_examples=40, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 3), st.integers(3, 7), st.integers(1, 3)),
        elements=finite,
    )
)
def test_batch_equals_per_item(x):
    assume(all(_spread_ok(item) for item in x) and np.all(np.abs(np.max(x, axis=1)) > 1e-6))
    for method in ("minmax", "zscore", "rank", "prank", "borda", "dist2max", "fracmax"):
        batch = nz.normalise(x, method)
        for k, item in enumerate(x):
            np.testing.assert_allclose(batch[k], nz.normalise(item, method))
