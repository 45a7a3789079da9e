"""rank_desc: COINr rank_df semantics (1 = best, ties min, NaN kept), vectorised over leading axes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import rankdata

from index.methods.rank import rank_desc


def test_ties_take_the_lowest_rank_and_nan_stays_nan():
    scores = np.array([3.0, 1.0, 3.0, np.nan, 5.0, 1.0])
    np.testing.assert_array_equal(rank_desc(scores), [2, 4, 2, np.nan, 1, 4])


def test_infinities_rank_at_the_ends():
    np.testing.assert_array_equal(rank_desc([-np.inf, 0.0, np.inf, np.nan]), [3, 2, 1, np.nan])


def test_axis_argument_ranks_along_that_axis():
    x = np.array([[1.0, 9.0], [2.0, 8.0], [3.0, 7.0]])
    np.testing.assert_array_equal(rank_desc(x, axis=0), [[3, 1], [2, 2], [1, 3]])
    np.testing.assert_array_equal(rank_desc(x, axis=-1), [[2, 1], [2, 1], [2, 1]])


# values drawn from a small set so ties are frequent
cells = st.one_of(st.sampled_from([0.0, 1.0, 2.5, -3.0, 1e9]), st.just(np.nan))


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 12)), elements=cells))
def test_batch_equals_scipy_rankdata_row_by_row(x):
    """Independent reference: scipy's rankdata(-x, 'min') with NaN kept, one replicate at a time."""
    batch = rank_desc(x)
    for b in range(x.shape[0]):
        ref = rankdata(-x[b], method="min", nan_policy="omit")
        np.testing.assert_array_equal(batch[b], ref)


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(2, 10)), elements=cells),
    st.randoms(use_true_random=False),
)
def test_permuting_units_permutes_ranks(x, rnd):
    perm = np.array(rnd.sample(range(x.shape[-1]), x.shape[-1]))
    np.testing.assert_array_equal(rank_desc(x[:, perm]), rank_desc(x)[:, perm])


@settings(max_examples=40, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 5), st.integers(0, 12)),
        elements=st.floats(-1e6, 1e6) | st.just(np.nan),
        unique=True,  # distinct values (NaN at most once): the batch has no ties
    )
)
def test_tie_free_batches_equal_scipy_rankdata(x):
    """The tie-free shortcut (rank = 1 + sorted position) against scipy, row by row."""
    batch = rank_desc(x)
    for b in range(x.shape[0]):
        ref = rankdata(-x[b], method="min", nan_policy="omit")
        np.testing.assert_array_equal(batch[b], ref)
