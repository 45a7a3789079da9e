"""Uncertainty designs: seeded base designs, COINr/SALib Saltelli layouts, discrete mappings
(floor and COINr's cut over the observed range), noisy and Dirichlet weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from SALib.sample import sobol as salib_sobol

from index.analysis import sampling as sp


def _coinr_sa_sample(base: np.ndarray) -> np.ndarray:
    """Literal transcription of COINr's SA_sample (R, 1-based) for a given runif matrix."""
    n, d2 = base.shape
    d = d2 // 2
    xa, xb = base[:, :d], base[:, d:]
    xx = np.tile(xa, (d, 1))
    for ii in range(1, d + 1):
        xx[(ii - 1) * n : ii * n, ii - 1] = xb[:, ii - 1]
    return np.vstack([xa, xb, xx])


def test_base_designs_are_seeded():
    a = sp.monte_carlo(50, 3, seed=1)
    assert a.shape == (50, 3) and a.min() >= 0 and a.max() < 1
    np.testing.assert_array_equal(a, sp.base_design(50, 3, "mc", seed=1))
    assert not np.array_equal(a, sp.monte_carlo(50, 3, seed=2))
    s = sp.sobol_qmc(64, 4, seed=3)
    np.testing.assert_array_equal(s, sp.base_design(64, 4, "sobol", seed=3))
    # a scrambled Sobol' net of 2^m points has exactly one point in each of the 2^m strata per axis
    assert all(np.unique(np.floor(s[:, j] * 64)).size == 64 for j in range(4))
    with pytest.raises(ValueError):
        sp.base_design(4, 2, "lhs")


def test_blocks_layout_equals_coinr_sa_sample():
    base = sp.monte_carlo(7, 8, seed=0)
    x = sp.saltelli_blocks(base)
    assert x.shape == (7 * 6, 4)
    np.testing.assert_array_equal(x, _coinr_sa_sample(base))


@pytest.mark.parametrize("second_order", [False, True])
def test_interleaved_layout_equals_salib_sample(second_order):
    d, n = 3, 16
    problem = {"num_vars": d, "names": ["a", "b", "c"], "bounds": [[0.0, 1.0]] * d}
    want = salib_sobol.sample(
        problem, n, calc_second_order=second_order, seed=np.random.default_rng(11)
    )
    got = sp.saltelli_interleaved(sp.sobol_qmc(n, 2 * d, seed=11), second_order=second_order)
    np.testing.assert_array_equal(got, want)


def test_layout_permutation():
    base = sp.monte_carlo(5, 6, seed=4)
    p = sp.blocks_to_interleaved(5, 3)
    np.testing.assert_array_equal(sp.saltelli_blocks(base)[p], sp.saltelli_interleaved(base))
    assert np.array_equal(np.sort(p), np.arange(25))
    np.testing.assert_array_equal(
        sp.sa_design(8, 3, layout="salib", seed=2),
        sp.sa_design(8, 3, layout="coinr", seed=2)[sp.blocks_to_interleaved(8, 3)],
    )


def test_discrete_floor():
    u = np.array([0.0, 0.2499, 0.25, 0.5, 0.99999, 1.0])
    np.testing.assert_array_equal(sp.discrete_floor(u, 4), [0, 0, 1, 2, 3, 3])
    cols = sp.discrete_floor(sp.monte_carlo(40_000, 2, seed=0), np.array([5, 2]))
    assert cols[:, 0].max() == 4 and cols[:, 1].max() == 1
    np.testing.assert_allclose(np.bincount(cols[:, 0]) / 40_000, 0.2, atol=0.01)


def test_discrete_cut_is_r_cut():
    # R: cut(c(0.1, 0.5, 0.9), 2, 1:2) -> 1 1 2 (right-closed bins over the observed range)
    np.testing.assert_array_equal(sp.discrete_cut(np.array([0.1, 0.5, 0.9]), 2), [0, 0, 1])
    # R: cut(c(0.2, 0.3, 0.41, 0.6), 2) splits at 0.4 (mid-range), not at 0.5
    u = np.array([0.2, 0.3, 0.41, 0.6])
    np.testing.assert_array_equal(sp.discrete_cut(u, 2), [0, 0, 1, 1])
    np.testing.assert_array_equal(sp.discrete_floor(u, 2), [0, 0, 0, 1])
    # a constant column lands in the middle bin (R pads the range by |x|/1000)
    np.testing.assert_array_equal(sp.discrete_cut(np.full(3, 0.5), 3), [1, 1, 1])
    # the extremes always map to the first and last alternative, column-wise n
    u = sp.monte_carlo(200, 2, seed=5)
    idx = sp.to_alternatives(u, np.array([5, 3]), mapping="cut")
    assert idx[u[:, 0].argmin(), 0] == 0 and idx[u[:, 0].argmax(), 0] == 4
    assert idx[u[:, 1].argmax(), 1] == 2
    np.testing.assert_array_equal(sp.discrete_cut(u, 1), np.zeros((200, 2)))
    with pytest.raises(ValueError):
        sp.to_alternatives(u, 2, mapping="round")


def test_to_continuous():
    np.testing.assert_allclose(sp.to_continuous(np.array([0.0, 0.5, 1.0]), 1.0, 5.0), [1, 3, 5])


def test_noisy_weights_bounds_and_oracle_support(oracle_dir):
    w = np.array([1.0, 2.0, 0.5, 1.0])
    f = sp.noise_by_level(np.array([1, 2, 2, 3]), {2: 0.25})
    np.testing.assert_array_equal(f, [0, 0.25, 0.25, 0])
    s = sp.noisy_weights(w, f, 5000, seed=9)
    assert s.shape == (5000, 4)
    np.testing.assert_array_equal(s[:, [0, 3]], np.broadcast_to(w[[0, 3]], (5000, 2)))
    rel = s[:, 1:3] / w[1:3] - 1
    assert rel.min() >= -0.25 and rel.max() <= 0.25 and rel.max() > 0.24
    np.testing.assert_allclose(rel.mean(axis=0), 0, atol=0.01)
    np.testing.assert_array_equal(s, sp.noisy_weights(w, f, 5000, seed=9))
    # COINr's exported sets: noise 0.25 at levels 2 and 3 around nominal 1, levels 1 and 4 fixed
    ref = pd.read_csv(oracle_dir / "ua_noisy_weights_100sets.csv")
    f_ref = sp.noise_by_level(ref["Level"].to_numpy(), {2: 0.25, 3: 0.25})
    dev = (ref["Weight"] - 1.0).abs().to_numpy()
    assert np.all(dev <= f_ref + 1e-15) and np.all(dev[f_ref == 0] == 0)


def test_dirichlet_weights():
    w = np.array([1.0, 1.0, 2.0, 3.0, 1.0])
    groups = np.array([0, 0, 0, 1, 1])
    s = sp.dirichlet_weights(w, 50.0, 20_000, seed=1, groups=groups)
    np.testing.assert_allclose(s[:, :3].sum(axis=1), 4.0)
    np.testing.assert_allclose(s[:, 3:].sum(axis=1), 4.0)
    np.testing.assert_allclose(s.mean(axis=0), w, rtol=0.01)
    p = w[:3] / 4.0
    np.testing.assert_allclose(s[:, :3].var(axis=0), 16 * p * (1 - p) / 51, rtol=0.05)
    fixed = sp.dirichlet_weights(
        w, 50.0, 10, seed=1, groups=groups, perturb=np.array([0, 0, 0, 1, 0])
    )
    np.testing.assert_array_equal(fixed[:, :3], np.broadcast_to(w[:3], (10, 3)))
    assert fixed[:, 3].std() > 0
    with pytest.raises(ValueError):
        sp.dirichlet_weights(w, 0.0, 3)
