"""Compind's aggregators: benefit of the doubt against a hand-solved LP and its dual solved
independently by scipy's linprog, the BoD dominance property (hypothesis), mean-min and OWA by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import linprog

from index.errors import InputError
from index.methods import IndicatorError
from index.methods.aggregate import AGGREGATORS, aggregate, amean
from index.methods.compind import bod, bod_weights, mean_min, owa, rbod

# Four units, two indicators. Unit (2, 2): maximise 2w1 + 2w2 under 4w1 + w2 <= 1, w1 + 4w2 <= 1
# (the binding constraints): the vertex w = (0.2, 0.2) gives 0.8; unit (1, 1) gets half of it.
Y = np.array([[4.0, 1.0], [1.0, 4.0], [2.0, 2.0], [1.0, 1.0]])


def test_bod_hand_solved_lp():
    scores, w = bod_weights(Y)
    np.testing.assert_allclose(scores, [1.0, 1.0, 0.8, 0.4], rtol=1e-12)
    np.testing.assert_allclose(w[2], [0.2, 0.2], rtol=1e-9)
    assert (Y @ w.T <= 1 + 1e-12).all()  # every unit's weights are admissible for all units
    np.testing.assert_allclose(np.einsum("ij,ij->i", Y, w), scores, rtol=1e-12)


def _dual_score(y: np.ndarray, c: int) -> float:
    """LP duality: min sum(lambda) s.t. sum_i lambda_i y_ij >= y_cj, lambda >= 0."""
    res = linprog(np.ones(len(y)), A_ub=-y.T, b_ub=-y[c], bounds=(0, None), method="highs")
    assert res.status == 0
    return float(res.fun)


def test_bod_equals_dual_envelopment_lp():
    y = np.random.default_rng(5).uniform(0, 100, (12, 4))
    scores = bod(y, np.ones(4))
    dual = [_dual_score(y, c) for c in range(len(y))]
    np.testing.assert_allclose(scores, dual, rtol=1e-9)
    assert scores.max() == pytest.approx(1.0)


@settings(max_examples=40, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(3, 7), st.integers(2, 4)),
        elements=st.one_of(st.just(0.0), st.floats(0.01, 100)),  # normalised data, no subnormals
    ),
    st.data(),
)
def test_bod_score_dominates_any_common_admissible_weights(y, draw):
    """Cherchye et al. (2007): the BoD score of a unit is >= its score under any common weights
    w >= 0 scaled so that no unit exceeds 1."""
    if not (y.sum(axis=1) > 0).any():
        y[0, 0] = 1.0
    weights = st.one_of(st.just(0.0), st.floats(1e-6, 1.0))  # subnormal weights round y @ w
    w = draw.draw(arrays(np.float64, y.shape[1], elements=weights))
    if w.sum() == 0:
        w[0] = 1.0
    common = y @ w
    if common.max() == 0:
        return
    common = common / common.max()
    scores = bod(y, np.ones(y.shape[1]))
    assert (scores >= common - 1e-9).all()
    assert (scores <= 1 + 1e-9).all()


def test_bod_min_share_restriction():
    # with a 40 % minimum share per indicator, unit (4, 1) can no longer put all weight on x1
    scores, w = bod_weights(Y, min_share=0.4)
    shares = Y * w / scores[:, None]
    assert (shares >= 0.4 - 1e-9).all()
    assert scores[0] < 1.0
    # hand: unit (4,1), share w2*1 >= 0.4*(4w1 + w2) -> w2 >= 8/3 w1; max 4w1 + w2 under w1 + 4w2 <= 1
    # and 4w1 + w2 <= 1: the vertex w2 = 8/3 w1 on w1 + 4w2 = 1 gives w1 = 3/35, w2 = 8/35: 20/35
    assert scores[0] == pytest.approx(20 / 35, rel=1e-9)
    with pytest.raises(InputError, match="min_share"):
        bod_weights(Y, min_share=0.6)


def test_bod_batch_of_weights_and_errors():
    out = aggregate(Y, np.ones((3, 2)), "bod")
    assert out.shape == (3, 4)
    np.testing.assert_allclose(out[1], [1.0, 1.0, 0.8, 0.4], rtol=1e-12)
    with pytest.raises(InputError, match="equal weights"):
        bod(Y, [1.0, 2.0])
    with pytest.raises(IndicatorError, match="complete"):
        bod(np.where(Y == 4.0, np.nan, Y), np.ones(2))
    with pytest.raises(IndicatorError, match="non-negative"):
        bod(-Y, np.ones(2))


def test_mean_min_by_hand_and_limits():
    x = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]])
    # no standardisation: M = 2 for every unit, m = 1, 2, 1; alpha = 1, beta = 0 -> the minimum
    np.testing.assert_allclose(
        mean_min(x, np.ones(2), alpha=1, beta=0, standardise=False), [1, 2, 1]
    )
    np.testing.assert_allclose(mean_min(x, np.ones(2), alpha=0, standardise=False), [2, 2, 2])
    # alpha = 0.5, beta = 1: 2 - 0.5 (sqrt(1 + 1) - 1)
    np.testing.assert_allclose(
        mean_min(x, np.ones(2), alpha=0.5, beta=1, standardise=False),
        [2 - 0.5 * (np.sqrt(2) - 1), 2, 2 - 0.5 * (np.sqrt(2) - 1)],
        rtol=1e-14,
    )
    # standardised (sd ddof 1 = 1 for both columns): z = 100 + 10 (x - 2)
    z = 100 + 10 * (x - 2)
    np.testing.assert_allclose(
        mean_min(x, np.ones(2), alpha=0.3, beta=2),
        z.mean(1) - 0.3 * (np.sqrt((z.mean(1) - z.min(1)) ** 2 + 4) - 2),
        rtol=1e-14,
    )
    w = np.array([1.0, 3.0])
    np.testing.assert_allclose(mean_min(x, w, alpha=0, standardise=False), amean(x, w), rtol=1e-14)


def test_owa_by_hand():
    x = np.array([[1.0, 5.0, 3.0], [4.0, 4.0, 1.0]])
    np.testing.assert_allclose(owa(x, np.ones(3), atleast=2, side="worst"), [2.0, 2.5])
    np.testing.assert_allclose(owa(x, np.ones(3), atleast=2, side="best"), [4.0, 4.0])
    np.testing.assert_allclose(owa(x, np.ones(3), order_weights=[0, 0, 1]), [1.0, 1.0])
    np.testing.assert_allclose(
        owa(x, np.ones(3), order_weights=[1, 1, 1]), x.mean(axis=1), rtol=1e-15
    )
    with pytest.raises(InputError, match="exactly one"):
        owa(x, np.ones(3))
    with pytest.raises(InputError, match="equal weights"):
        owa(x, [1, 2, 3], atleast=1)


def test_rbod_by_hand():
    """Order-m efficiencies of Y. Unit (1, 1): ratios r = (1, 1, 2, 1); m = 1: E = 5/4, score 0.8;
    m = 2: P(max = 1) = (3/4)^2, so E = 9/16 + 2 * 7/16 = 23/16. Unit (4, 1), m = 1: r = (1, 1/4,
    1/2, 1/4), E = 1/2, score 2 (it beats a random peer). Large m: the FDH score (max r)."""
    np.testing.assert_allclose(rbod(Y, np.ones(2), m=1), [2.0, 2.0, 1.6, 0.8], rtol=1e-14)
    assert rbod(Y, np.ones(2), m=2)[3] == pytest.approx(16 / 23, rel=1e-14)
    np.testing.assert_allclose(rbod(Y, np.ones(2), m=2000), [1.0, 1.0, 1.0, 0.5], rtol=1e-12)
    # a zero output puts no constraint on that ratio; an all-zero unit scores 0
    z = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
    np.testing.assert_allclose(rbod(z, np.ones(2), m=2), [0.0, 1 / (5 / 9), 9 / 6.5], rtol=1e-14)


def test_rbod_equals_the_monte_carlo_of_nonparaeff_orderm():
    """A transcription of nonparaeff::orderm(orientation = 2) with one unit input, as Compind's
    ci_rbod calls it: B draws of M peers, max over peers of min_j y_kj / y_cj, mean over draws,
    then 1 / mean. Our exact expectation must agree within the Monte-Carlo error."""
    y = np.random.default_rng(8).uniform(1, 100, (15, 3))
    rng = np.random.default_rng(9)
    big_b, m = 20_000, 5
    mc = np.empty(len(y))
    for c in range(len(y)):
        peers = rng.integers(0, len(y), size=(big_b, m))
        eff = (y[peers] / y[c]).min(axis=-1).max(axis=-1)
        mc[c] = 1 / eff.mean()
    np.testing.assert_allclose(rbod(y, np.ones(3), m=m), mc, rtol=0.01)


def test_registered():
    assert {"bod", "rbod", "mean_min", "owa"} <= set(AGGREGATORS)
