"""Rank statistics: COINr's UA rank summary reproduced exactly, the streaming rank-count accumulator
equal to NumPy on the full array (property test with ties and NaN), summaries, leave-one-out."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import rankdata

from index.analysis import loo
from index.analysis import rankstats as rs


@pytest.fixture(scope="module")
def ua(oracle_dir):
    read = lambda f: pd.read_csv(oracle_dir / f, keep_default_na=False, na_values=[""])  # noqa: E731
    runs = read("ua_N1000_ranks_per_run.csv").set_index("uCode")
    ref = read("ua_N1000_rankstats.csv").set_index("uCode")
    ranks = runs.filter(like="r_").to_numpy(float).T  # (runs, units)
    return ranks, runs["Nominal"].to_numpy(float), ref


def _assert_matches_coinr(stats: rs.RankStats, ref: pd.DataFrame) -> None:
    got = stats.to_frame(ref.index)
    for mine, theirs in [("nominal", "Nominal"), ("mean", "Mean"), ("median", "Median"),
                         ("q05", "Q5"), ("q95", "Q95")]:  # fmt: skip
        np.testing.assert_array_equal(got[mine].to_numpy(), ref[theirs].to_numpy(float), mine)


def test_rank_stats_reproduce_coinr_exactly(ua):
    ranks, nominal, ref = ua
    assert ranks.shape == (1000, 51)
    _assert_matches_coinr(rs.rank_stats(ranks, nominal), ref)


def test_streamed_counts_reproduce_coinr_exactly(ua):
    ranks, nominal, ref = ua
    chunks = (ranks[i : i + 137] for i in range(0, len(ranks), 137))
    acc = rs.accumulate_ranks(chunks, 51, total=8)
    assert acc.counts.shape == (51, 51) and (acc.n == 1000).all()
    _assert_matches_coinr(acc.stats(nominal), ref)
    # the counts are the whole distribution: e.g. CHE is first in every run
    assert acc.counts[ref.index.get_loc("CHE"), 0] == 1000


@st.composite
def rank_arrays(draw):
    units = draw(st.integers(1, 6))
    runs = draw(st.integers(1, 80))
    n_ranks = draw(st.integers(1, 8))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    r = rng.integers(1, n_ranks + 1, size=(runs, units)).astype(float)  # many ties
    r[rng.random(r.shape) < draw(st.sampled_from([0.0, 0.1, 0.5]))] = np.nan
    if draw(st.booleans()):
        r[:, 0] = np.nan  # a unit never ranked
    return r, n_ranks


class SparseCounts(rs.RankCounts):
    """The key/count form that large panels use, forced for small ones."""

    DENSE = 0


@settings(max_examples=150, deadline=None)
@given(rank_arrays(), st.lists(st.floats(0, 1), min_size=1, max_size=4), st.booleans())
def test_counts_equal_numpy_on_full_array(data, probs, sparse):
    r, n_ranks = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy: all-NaN slice
        want = rs.rank_stats(r, probs=probs)
    acc = (SparseCounts if sparse else rs.RankCounts)(r.shape[1], n_ranks)
    third = r.shape[0] // 3
    acc.update(r[:third]).update(r[third : 2 * third]).update(r[2 * third :])
    got = acc.stats(probs=probs)
    np.testing.assert_array_equal(acc.counts, rs.RankCounts(r.shape[1], n_ranks).update(r).counts)
    np.testing.assert_array_equal(got.mean, want.mean)
    np.testing.assert_array_equal(got.median, want.median)
    np.testing.assert_array_equal(got.quantiles, want.quantiles)
    np.testing.assert_array_equal(acc.n_missing, np.isnan(r).sum(axis=0))


def test_quantiles_interpolate_between_ranks():
    r = np.array([[1.0], [2.0], [2.0], [7.0]])
    acc = rs.RankCounts(1, 7).update(r)
    for p in (0.05, 0.3, 0.5, 0.95, 1.0):
        assert acc.quantile(p)[0] == np.quantile(r[:, 0], p)
    assert acc.quantile(0.95)[0] == pytest.approx(6.25)


def test_merge_and_validation():
    rng = np.random.default_rng(0)
    r = rng.integers(1, 6, size=(40, 5)).astype(float)
    a = rs.RankCounts(5).update(r[:10])
    b = rs.RankCounts(5).update(r[10:])
    np.testing.assert_array_equal(a.merge(b).counts, rs.RankCounts(5).update(r).counts)
    sparse = SparseCounts(5).update(r[:10]).merge(SparseCounts(5).update(r[10:25]))
    sparse.merge(rs.RankCounts(5).update(r[25:]))  # the two forms merge either way
    np.testing.assert_array_equal(sparse.counts, a.counts)
    assert sparse._dense is None and len(sparse._keys) == (a.counts > 0).sum()
    with pytest.raises(ValueError, match="integers"):
        rs.RankCounts(5).update(np.array([[1.5, 1, 1, 1, 1]]))
    for bad in (6.0, 0.0, -1.0):
        with pytest.raises(ValueError, match="integers"):
            rs.RankCounts(5).update(np.array([[bad, 1, 1, 1, np.nan]]))
    with pytest.raises(ValueError, match="merge"):
        a.merge(rs.RankCounts(4))


def test_mean_abs_rank_change_and_share_within():
    nominal = np.array([1.0, 2.0, 3.0])
    ranks = np.array([[1.0, 2.0, 3.0], [2.0, 1.0, 3.0], [3.0, np.nan, 1.0]])
    np.testing.assert_allclose(rs.mean_abs_rank_change(ranks, nominal), [0.0, 2 / 3, 2.0])
    q_lo, q_hi = np.array([1.0, 1.0, 2.0]), np.array([1.0, 4.0, 5.0])
    assert rs.share_within(q_lo, q_hi, nominal, 0) == pytest.approx(1 / 3)
    np.testing.assert_allclose(rs.share_within(q_lo, q_hi, nominal, [0, 1, 2]), [1 / 3, 1 / 3, 1])


def _rank_desc(scores: np.ndarray) -> np.ndarray:
    return rankdata(-scores, method="min", axis=-1, nan_policy="omit")


def test_leave_one_out_matches_explicit_loop():
    rng = np.random.default_rng(5)
    x = rng.random((12, 4))  # units × indicators
    w = np.array([1.0, 2.0, 1.0, 0.5])

    def rank_fn(
        mask: np.ndarray,
    ) -> np.ndarray:  # batched: (variants, n_items) -> (variants, units)
        ww = mask * w
        return _rank_desc((ww @ x.T) / ww.sum(axis=1, keepdims=True))

    res = loo.leave_one_out(rank_fn, 4)
    nominal = _rank_desc(x @ w / w.sum())
    np.testing.assert_array_equal(res.nominal, nominal)
    for j in range(4):
        keep = np.arange(4) != j
        rj = _rank_desc(x[:, keep] @ w[keep] / w[keep].sum())
        np.testing.assert_array_equal(res.shift[j], nominal - rj)
        assert res.mean_abs[j] == pytest.approx(np.abs(nominal - rj).mean())
    summary = res.summary(list("abcd"))
    assert list(summary.columns) == ["removed", "mean_abs_shift", "max_abs_shift"]
    table = res.table(list("abcd"), [f"u{i}" for i in range(12)])
    assert len(table) == 48 and (table["shift"] == table["nominal"] - table["rank"]).all()
    with pytest.raises(ValueError, match="match"):
        loo.rank_shifts(np.ones((2, 3)), np.ones(4))
