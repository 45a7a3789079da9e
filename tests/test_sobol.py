"""Sobol' indices: equality with SALib on the Ishigami function (same sample → same estimates and
intervals), analytic values at large N, COINr's SA_estimate formulas (literal transcription), and
the exact relation between the COINr and SALib conventions."""

from __future__ import annotations

import numpy as np
import pytest
from SALib.analyze import sobol as salib_analyze
from SALib.sample import sobol as salib_sample
from SALib.test_functions import Ishigami

from index.analysis import sampling as sp
from index.analysis import sobol as so

PROBLEM = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}


def _ishigami_analytic(a: float = 7.0, b: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form S1 and ST of Ishigami (Sobol' & Levitan 1999)."""
    v1 = 0.5 * (1 + b * np.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = 8 * b**2 * np.pi**8 / 225
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


def _ishigami(u: np.ndarray) -> np.ndarray:
    return Ishigami.evaluate(u * 2 * np.pi - np.pi)


def _coinr_sa_estimate(yy, n, d, idx=None):
    """Literal transcription of COINr's SA_estimate (R) with given bootstrap index draws."""
    yab = yy[2 * n :].reshape(d, n).T  # matrix(yy[(2N+1):], nrow = N)
    ya, yb = yy[:n], yy[n : 2 * n]
    var_y = np.var(np.concatenate([ya, yb]), ddof=1)
    si = np.array([np.mean(yb * (yab[:, i] - ya)) / var_y for i in range(d)])
    sti = np.array([np.sum((ya - yab[:, i]) ** 2) / (2 * n * var_y) for i in range(d)])
    if idx is None:
        return si, sti
    st_diffs = ya[:, None] - yab
    si_diffs = yb[:, None] * (yab - ya[:, None])
    si_b = np.empty((d, idx.shape[1]))
    sti_b = np.empty_like(si_b)
    for b in range(idx.shape[1]):
        for i in range(d):
            si_b[i, b] = np.mean(si_diffs[idx[:, b], i]) / var_y
            sti_b[i, b] = np.sum(st_diffs[idx[:, b], i] ** 2) / (2 * n * var_y)
    q = [0.05, 0.95]
    return si, sti, np.quantile(si_b, q, axis=1), np.quantile(sti_b, q, axis=1)


@pytest.mark.parametrize("second_order", [False, True])
def test_equals_salib_on_ishigami(second_order):
    n = 512
    x = salib_sample.sample(
        PROBLEM, n, calc_second_order=second_order, seed=np.random.default_rng(5)
    )
    y = Ishigami.evaluate(x)
    ref = salib_analyze.analyze(
        PROBLEM, y, calc_second_order=second_order, num_resamples=150, seed=7
    )
    got = so.sobol_indices(
        y, n, 3, layout="salib", convention="salib", n_boot=150, seed=7, second_order=second_order
    )
    np.testing.assert_allclose(got.S1, ref["S1"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.ST, ref["ST"], rtol=0, atol=1e-12)
    np.testing.assert_allclose((got.S1_ci[1] - got.S1_ci[0]) / 2, ref["S1_conf"], atol=1e-12)
    np.testing.assert_allclose((got.ST_ci[1] - got.ST_ci[0]) / 2, ref["ST_conf"], atol=1e-12)


def test_many_outputs_at_once_equal_salib_per_output():
    n = 256
    x = salib_sample.sample(PROBLEM, n, calc_second_order=False, seed=np.random.default_rng(1))
    f = Ishigami.evaluate(x)
    y = np.stack([f, f**2, np.sin(f), x[:, 2]], axis=1)  # (runs, 4 outputs), e.g. regions
    got = so.sobol_indices(y, n, 3, layout="salib", convention="salib", n_boot=50, seed=3)
    assert got.S1.shape == (3, 4) and got.S1_ci.shape == (2, 3, 4)
    for j in range(4):
        ref = salib_analyze.analyze(
            PROBLEM, y[:, j].copy(), calc_second_order=False, num_resamples=50, seed=3
        )
        np.testing.assert_allclose(got.S1[:, j], ref["S1"], atol=1e-12)
        np.testing.assert_allclose(got.ST[:, j], ref["ST"], atol=1e-12)
        np.testing.assert_allclose(got.S1_ci[1, :, j] - got.S1[:, j], ref["S1_conf"], atol=1e-12)


@pytest.mark.parametrize(
    ("method", "layout", "convention"),
    [
        ("sobol", "salib", "salib"),
        ("sobol", "coinr", "coinr"),
        ("mc", "coinr", "coinr"),
    ],
)
def test_ishigami_analytic_values(method, layout, convention):
    n = 1 << 14
    u = sp.sa_design(n, 3, method=method, layout=layout, seed=2024)
    got = so.sobol_indices(_ishigami(u), n, 3, layout=layout, convention=convention)
    s1, st = _ishigami_analytic()
    tol = 0.015 if method == "sobol" else 0.04
    np.testing.assert_allclose(got.S1, s1, atol=tol)
    np.testing.assert_allclose(got.ST, st, atol=tol)


def test_coinr_formulas_literal_transcription():
    n, d = 300, 4
    u = sp.sa_design(n, d, method="mc", layout="coinr", seed=8)
    y = u[:, 0] + 2 * u[:, 1] + 3 * u[:, 2] ** 2 + u[:, 0] * u[:, 3] + 5.0  # not centred
    n_boot = 40
    idx = np.random.default_rng(12).integers(n, size=(n, n_boot))
    si, sti, si_q, sti_q = _coinr_sa_estimate(y, n, d, idx)
    got = so.sobol_indices(y, n, d, n_boot=n_boot, seed=12)
    np.testing.assert_allclose(got.S1, si, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got.ST, sti, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got.S1_ci, si_q, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got.ST_ci, sti_q, rtol=1e-12, atol=1e-14)
    assert got.variance == pytest.approx(np.var(y[: 2 * n], ddof=1))


def test_coinr_vs_salib_conventions_relation():
    """Same runs, COINr layout vs SALib layout: only centring and ddof differ.

    ST_coinr = ST_salib·(2N−1)/(2N);  S1_coinr·V₁ = S1_salib·V₀ + mean(y)·mean(y_AB − y_A).
    """
    n, d = 200, 3
    u = sp.sa_design(n, d, method="mc", layout="coinr", seed=4)
    y = _ishigami(u) + 10.0
    coinr = so.sobol_indices(y, n, d)
    y_salib = y[sp.blocks_to_interleaved(n, d)]
    ref = salib_analyze.analyze(PROBLEM, y_salib, calc_second_order=False, num_resamples=10, seed=1)
    mine = so.sobol_indices(y, n, d, layout="coinr", convention="salib")
    np.testing.assert_allclose(mine.S1, ref["S1"], atol=1e-12)
    np.testing.assert_allclose(mine.ST, ref["ST"], atol=1e-12)
    np.testing.assert_allclose(coinr.ST, ref["ST"] * (2 * n - 1) / (2 * n), rtol=1e-12)
    ya, yb, yab = so.split_runs(y, n, d)
    v0, v1 = np.var(np.r_[ya, yb]), np.var(np.r_[ya, yb], ddof=1)
    shift = y.mean() * (yab - ya).mean(axis=1)
    np.testing.assert_allclose(coinr.S1 * v1, ref["S1"] * v0 + shift, rtol=1e-10)
    assert np.abs(coinr.S1 - ref["S1"]).max() > 1e-3  # the uncentred estimator is not SALib's


def test_per_region_outputs_and_constant_output():
    n, d = 64, 2
    u = sp.sa_design(n, d, seed=0)
    y = np.stack([u[:, 0], u[:, 1] * 3, np.full(len(u), 7.0)], axis=1)
    got = so.sobol_indices(y, n, d, n_boot=20, seed=1)
    assert got.S1.shape == (2, 3)
    assert got.S1[0, 0] > 0.8 and got.ST[1, 0] == 0 and got.ST[1, 1] > 0.8
    assert np.isnan(got.S1[:, 2]).all() and np.isnan(got.ST_ci[:, :, 2]).all()
    y[:, 2] = 0.1  # constant but with a rounding-level variance
    salib = so.sobol_indices(y, n, d, convention="salib", n_boot=20, seed=1)
    assert np.isnan(salib.ST[:, 2]).all() and np.isnan(salib.S1_ci[:, :, 2]).all()
    df = got.to_frame(["a", "b"], ["r1", "r2", "r3"])
    assert list(df.columns) == [
        "output",
        "variable",
        "S1",
        "ST",
        "S1_lo",
        "S1_hi",
        "ST_lo",
        "ST_hi",
    ]
    assert len(df) == 6 and df.loc[(df.output == "r2") & (df.variable == "b"), "ST"].item() > 0.8
    assert "output" not in so.sobol_indices(y[:, 0], n, d).to_frame(["a", "b"]).columns


def test_bad_arguments():
    with pytest.raises(ValueError, match="N\\(d\\+2\\)"):
        so.sobol_indices(np.zeros(10), 3, 2)
    with pytest.raises(ValueError, match="convention"):
        so.sobol_indices(np.zeros(12), 3, 2, convention="jansen")
    with pytest.raises(ValueError, match="layout"):
        so.split_runs(np.zeros(12), 3, 2, "blocks")


def test_resample_counts():
    c = so.resample_counts(10, 7, seed=3)
    r = np.random.default_rng(3).integers(10, size=(10, 7))
    assert c.shape == (7, 10) and (c.sum(axis=1) == 10).all()
    np.testing.assert_array_equal(c[2], np.bincount(r[:, 2], minlength=10))
