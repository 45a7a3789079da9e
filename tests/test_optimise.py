"""Optimised weights: infomax per group against a brute-force grid over the simplex and a
symmetric case solved by hand; joint optimisation of a level against the index (COINr
get_opt_weights) against the per-group form at the top level and a brute-force grid below it."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from index import framework as fwmod
from index.errors import InputError
from index.methods.aggregate import amean
from index.methods.optimise import optimise_level
from index.methods.weights import _corr_with, balance, compute_weights, infomax
from index.pipeline import aggregate_tree, optimise_level_weights

RNG = np.random.default_rng(11)


def total_corr(x, w):
    return _corr_with(x, amean(x, w)).sum()


def test_infomax_beats_a_grid_over_the_simplex():
    base = RNG.normal(size=(40, 1))
    x = np.hstack([base + RNG.normal(scale=s, size=(40, 1)) for s in (0.3, 1.0, 2.0)])
    w = infomax(x)
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all()
    grid = [(a / 100, b / 100, 1 - (a + b) / 100) for a in range(101) for b in range(101 - a)]
    values = [total_corr(x, np.array(g)) for g in grid]
    best = np.array(grid[int(np.argmax(values))])
    assert total_corr(x, w) >= max(values) - 1e-12
    np.testing.assert_allclose(w, best, atol=0.011)


def test_infomax_symmetric_pair_by_hand():
    """Two standardised children: swapping them leaves the objective unchanged, so the optimum of
    the (concave) total correlation is w = (1/2, 1/2)."""
    z = RNG.normal(size=(30, 2))
    z[:, 1] += 0.5 * z[:, 0]
    z = (z - z.mean(0)) / z.std(0, ddof=1)
    np.testing.assert_allclose(compute_weights(z, "infomax"), [0.5, 0.5], atol=1e-6)


FW = fwmod.from_dict(
    {
        "index": {"code": "idx"},
        "aggregate": [{"code": "p1", "parent": "idx"}, {"code": "p2", "parent": "idx"}],
        "indicator": [
            {"code": "a", "parent": "p1"},
            {"code": "b", "parent": "p1"},
            {"code": "c", "parent": "p2"},
            {"code": "d", "parent": "p2"},
        ],
    }
)


def data():
    f = RNG.normal(size=(25, 1))
    return 50 + 10 * np.hstack([f + RNG.normal(scale=s, size=(25, 1)) for s in (0.2, 1.5, 0.5, 3)])


@pytest.mark.parametrize("optype", ["infomax", "balance"])
def test_joint_at_the_top_level_equals_the_per_group_form(optype):
    xn = data()
    w0 = FW.nominal_weights()
    w, table = optimise_level_weights(xn, FW, w0, 2, optype=optype)
    pillars, _ = aggregate_tree(xn, FW, w0)
    per_group = (infomax if optype == "infomax" else balance)(pillars[:, [4, 5]])
    np.testing.assert_allclose(w[[4, 5]], per_group, atol=1e-6)
    np.testing.assert_array_equal(w[:4], w0[:4])
    assert list(table["code"]) == ["p1", "p2"]


def test_joint_level_one_beats_a_grid():
    xn = data()
    w0 = FW.nominal_weights()
    w, table = optimise_level_weights(xn, FW, w0, 1, optype="infomax")

    def objective(u, v):
        trial = w0.copy()
        trial[:4] = [u, 1 - u, v, 1 - v]
        s, _ = aggregate_tree(xn, FW, trial)
        return _corr_with(s[:, :4], s[:, -1]).sum()

    grid = np.linspace(0, 1, 51)
    best = max(objective(u, v) for u, v in itertools.product(grid, grid))
    assert table["corr_with_index"].sum() >= best - 1e-12
    np.testing.assert_allclose(w[[0, 1]].sum(), 1.0)
    np.testing.assert_allclose(w[[2, 3]].sum(), 1.0)


def test_optimise_level_errors():
    with pytest.raises(InputError, match="optype"):
        optimise_level(lambda w: (None, None), [np.arange(2)], optype="maxinfo")
    with pytest.raises(InputError, match="balance. only"):
        optimise_level(lambda w: (None, None), [np.arange(2)], targets=[1, 2])
    with pytest.raises(InputError, match="level"):
        optimise_level_weights(data(), FW, FW.nominal_weights(), 3)
