"""Optimised weights: infomax per group against a brute-force grid over the simplex and a
symmetric case solved by hand; joint optimisation of a level against the index (COINr
get_opt_weights) against the per-group form at the top level and a brute-force grid below it."""

from __future__ import annotations

import itertools
import re

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


# ---- the joint optimisation from a run configuration (weighting=optimise) ----------------------
# test_pipeline's framework (p2 weighs 3, b runs against its pillar) on its synthetic panel
from test_pipeline import FW as PFW  # noqa: E402
from test_pipeline import PLAIN, dataset  # noqa: E402

from index import config as cfgmod  # noqa: E402
from index.pipeline import build, normalise_within_groups  # noqa: E402


@pytest.mark.parametrize(
    ("overrides", "level", "optype"),
    [
        (["weighting=optimise", "weighting.level=2"], 2, "infomax"),
        (["weighting=optimise", "weighting.level=1", "weighting.optype=balance"], 1, "balance"),
    ],
)
def test_optimise_from_the_config_equals_the_api(overrides, level, optype):
    """A build with weighting=optimise has, each year, the weights optimise_level_weights gives
    on that year's normalised data, and the scores of aggregate_tree with them; at the level
    below the index, the per-group optimum of the pillar scores (the independent form)."""
    b = build(PLAIN.with_overrides(overrides), dataset(), PFW)
    for yi in range(len(b.years)):
        xn = b.stages["normalised"][yi]
        w, _ = optimise_level_weights(xn, PFW, PFW.nominal_weights(), level, optype=optype)
        np.testing.assert_array_equal(b.weights[yi], normalise_within_groups(PFW, w))
        scores, _ = aggregate_tree(xn, PFW, w)
        np.testing.assert_allclose(b.scores[yi], scores, rtol=1e-13, atol=1e-12)
        if level == 2:
            np.testing.assert_allclose(w[[4, 5]], infomax(scores[:, [4, 5]]), atol=1e-6)
            np.testing.assert_array_equal(w[:4], 1.0)  # the level below keeps its weights
        else:
            np.testing.assert_array_equal(w[[4, 5]], [1.0, 3.0])  # p2 = 3 in the framework


def test_optimise_from_the_framework_file_and_the_effective_config():
    fw = fwmod.from_dict(
        {**PFW.to_dict(), "config": {"weighting": {"method": "optimise", "level": 2}}}
    )
    b = build(PLAIN, dataset(), fw)
    assert b.config.weighting.method == "optimise" and b.config.weighting.params["level"] == 2
    again = cfgmod.validate(cfgmod.parse_toml(cfgmod.to_toml(b.config), "x"), "x")
    assert again.weighting == b.config.weighting  # the effective config replays the method
    w, _ = optimise_level_weights(b.stages["normalised"][-1], fw, fw.nominal_weights(), 2)
    np.testing.assert_array_equal(b.weights[-1], normalise_within_groups(fw, w))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["weighting=optimise"], "weighting 'optimise' needs level (it has no default)"),
        (["weighting=optimise", "weighting.levle=2"], "did you mean 'level'"),
        (["weighting=optimise", "weighting.level=2", "weighting.levels=[2]"], "no effect"),
        (["weighting=optimise", "weighting.level=2", "weighting.targets=[1, 2]"], "balance"),
        (["weighting=optimise", "weighting.level=2", "weighting.optype=maxinfo"], "'infomax'"),
        (["weighting=optimise", "weighting.level=3"], "weighting.level: 'optimise' weighs no group"),
        (["weighting=optimise", "weighting.level=2", "weighting.optype=balance",
          "weighting.targets=[1, 2, 3]"], "weighting.targets: balance targets need 2"),
        (["weighting=optimise", "weighting.level=2", "weights.p1=2"], "has no effect"),
    ],
)  # fmt: skip
def test_optimise_settings_that_would_mislead_are_errors(overrides, message):
    with pytest.raises(InputError, match=re.escape(message)):
        build(PLAIN.with_overrides(overrides), dataset(), PFW)


def test_optimise_registry_entry_refuses_one_group():
    with pytest.raises(InputError, match="whole level"):
        compute_weights(np.ones((3, 2)), "optimise", level=1)


def test_cli_run_with_optimise_records_it_and_refuses_a_misspelling(bundled_inputs, tmp_path):
    import json as jsonlib

    import pyarrow.parquet as pq
    from typer.testing import CliRunner

    from index.cli import app

    out = tmp_path / "results.parquet"
    base = ["run", "--data", str(bundled_inputs), "--out", str(out), "--top", "1"]
    res = CliRunner().invoke(
        app, [*base, "--set", "weighting=optimise", "--set", "weighting.level=2"]
    )
    assert res.exit_code == 0, res.output
    meta = pq.read_schema(out).metadata[b"config"].decode()
    assert jsonlib.loads(meta)["weighting"] == {"method": "optimise", "level": 2, "levels": None}
    out.unlink()
    res = CliRunner().invoke(
        app, [*base, "--set", "weighting=optimise", "--set", "weighting.levl=2"]
    )
    assert res.exit_code == 2 and "did you mean 'level'" in res.output
    assert "Traceback" not in res.output and not out.exists()
