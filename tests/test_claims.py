"""Rank bounds, what it takes and profiles on the bundled real data (default edition, whatever its
framework is today: nothing here pins a ranking), and the `bounds` / `profile` commands."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from index.analysis import bounds as bd
from index.analysis import claims as cl
from index.cli import app
from index.config import Config
from index.dataset import load_inputs
from index.pipeline import build

runner = CliRunner()


@pytest.fixture(scope="module")
def default_build(bundled_inputs):
    return build(Config(), load_inputs(bundled_inputs))


@pytest.fixture(scope="module")
def default_claims(default_build):
    return default_build.claims(0.5, year=None, mc=2000, seed=5)


def test_every_monte_carlo_rank_lies_within_the_bounds(default_claims):
    c = default_claims
    t = c.table().set_index("region_code").loc[list(c.b.dataset.unit_codes)]
    ranked = c.ranked
    mc = c.mc_ranks[:, ranked]
    lo, hi = t["best_outer"].to_numpy(float)[ranked], t["worst_outer"].to_numpy(float)[ranked]
    assert (mc >= lo).all() and (mc <= hi).all()
    best, worst = t["best"].to_numpy(float)[ranked], t["worst"].to_numpy(float)[ranked]
    assert (mc >= best).all() and (mc <= worst).all()
    assert (best <= t["rank"].to_numpy(float)[ranked]).all()
    assert (t["rank"].to_numpy(float)[ranked] <= worst).all()
    assert t["verified"][ranked].all()


def test_exact_path_on_complete_data(default_build):
    """Imputed data (no gaps): the MILP path, every bound exact and verified, MC inside."""
    b = default_build.rebuild("impute=mean")
    c = b.claims(0.3, mc=1000, seed=1)
    assert c.nonlinear == ""
    t = c.table()
    assert t["exact"].all() and t["verified"].all()
    t = t.set_index("region_code").loc[list(b.dataset.unit_codes)]
    assert (c.mc_ranks >= t["best"].to_numpy(float)).all()
    assert (c.mc_ranks <= t["worst"].to_numpy(float)).all()
    rev = c.reversals()
    finite = rev["distance"].notna()
    assert rev.loc[finite, "swapped"].all()
    dom = c.dominance()
    # a dominated pair never swaps in any Monte Carlo draw
    pos = {code: k for k, code in enumerate(b.dataset.unit_codes)}
    s = c.scorer(c.mc_weights)
    for row in dom.head(50).itertuples():
        assert (s[:, pos[row.above]] > s[:, pos[row.below]]).all()


def test_nonlinear_aggregation_is_flagged(default_build):
    b = default_build.rebuild("aggregation=gmean", "normalise.l=1")
    c = b.claims(0.3, mc=300, seed=1)
    assert "not linear" in c.nonlinear
    t = c.table()
    assert "certified outer bounds" in t.attrs["method"]
    assert (t["best_outer"] <= t["best"]).all() and (t["worst"] <= t["worst_outer"]).all()


def _plain_indicators(b):
    """Indicators read straight from one series that no other indicator reads (so a change to
    the raw series changes that indicator alone)."""
    fw = b.framework
    used = [s for i in fw.indicators for s in (i.data_series, i.denominator) if s]
    return [
        k
        for k, i in enumerate(fw.indicators)
        if not i.denominator and used.count(i.data_series) == 1
    ]


def test_what_it_takes_applied_to_the_raw_data_moves_the_unit_up(default_build):
    b = default_build
    yi = len(b.years) - 1
    ranks = b.ranks[yi, :, -1]
    plain = _plain_indicators(b)
    assert plain
    n_checked = 0
    for target in (3, len(ranks) // 2, len(ranks) - 2):
        u = int(np.nonzero(ranks == np.sort(ranks[~np.isnan(ranks)])[target - 1])[0][0])
        w = cl.what_it_takes(b, b.dataset.unit_codes[u])
        for k in plain:
            row = w.iloc[k]
            if row["method"] not in ("exact", "search"):
                continue
            series = b.dataset.series.index(b.framework.indicators[k].data_series)

            def rank_after(change: float, u=u, series=series) -> float:
                values = b.dataset.values.copy()
                values[yi, u, series] += change
                ds = dataclasses.replace(b.dataset, values=values)
                return build(b.config, ds, b.framework).ranks[yi, u, -1]

            assert rank_after(row["change"]) <= ranks[u] - 1, (u, row["code"])
            assert rank_after(0.98 * row["change"]) > ranks[u] - 1, (u, row["code"])
            n_checked += 1
    assert n_checked >= 3


@pytest.mark.parametrize("imputation", ["latest", "mean"])
def test_rescorer_on_the_year_alone_equals_the_whole_pipeline(default_build, imputation):
    """The re-runs of what it takes score the edition year on its own slice after imputing the
    panel: the scores of a full build with the same change. A value removed from the edition
    year makes ``latest`` read the year before (on the year alone, the fallback would fill it)."""
    b = default_build
    yi = len(b.years) - 1
    k, other = _plain_indicators(b)[:2]
    series = [b.dataset.series.index(b.framework.indicators[j].data_series) for j in (k, other)]
    observed = ~np.isnan(b.dataset.values[:, :, series[1]]).any(axis=0)
    gone, u = (int(j) for j in np.nonzero(observed)[0][:2])
    values = b.dataset.values.copy()
    values[yi, gone, series[1]] = np.nan
    b = build(
        b.config.with_overrides([f"impute={imputation}"]),
        dataclasses.replace(b.dataset, values=values),
        b.framework,
    )
    rs = cl.Rescorer(b, yi)
    assert rs.imputes_panel == (imputation == "latest") and not rs.panel
    np.testing.assert_array_equal(rs.scores(rs.base.copy()), b.scores[yi, :, -1])
    values[yi, u, series[0]] *= 1.5
    full = build(b.config, dataclasses.replace(b.dataset, values=values), b.framework)
    d = rs.base.copy()
    d[rs.row(), u, k] = full.stages["denominated"][yi, u, k]
    np.testing.assert_allclose(rs.scores(d), full.scores[yi, :, -1], rtol=0, atol=1e-12)


def test_what_it_takes_pillar_rows_and_rank_one(default_build):
    b = default_build
    yi = len(b.years) - 1
    first = b.dataset.unit_codes[int(np.nanargmin(b.ranks[yi, :, -1]))]
    assert cl.what_it_takes(b, first).empty
    u = int(np.nonzero(b.ranks[yi, :, -1] == 10)[0][0])
    w = cl.what_it_takes(b, b.dataset.unit_codes[u])
    pillars = w[w["kind"] == "pillar"]
    assert list(pillars["code"]) == b.framework.children[b.framework.root.code]
    assert pillars.loc[pillars["method"] == "search", "verified"].all()


def test_profile_accepts_zh_en_and_codes(default_build):
    b = default_build
    code = b.dataset.unit_codes[0]
    zh, en = b.dataset.units.at[code, "name_zh"], b.dataset.units.at[code, "name_en"]
    claims = b.claims(0.5, mc=200)
    assert cl.unit_position(b, code) == cl.unit_position(b, zh) == cl.unit_position(b, en) == 0
    p = cl.profile(b, en, claims=claims)
    assert p.code == code and len(p.history) == len(b.years)
    assert len(p.pillars) == len(b.framework.children[b.framework.root.code])
    assert p.strengths["rank"].is_monotonic_increasing
    assert p.weaknesses["rank"].is_monotonic_decreasing  # worst first


def test_bounds_command_writes_parquet(bundled_inputs, tmp_path):
    out = tmp_path / "bounds.parquet"
    args = ["bounds", "--data", str(bundled_inputs), "--out", str(out), "--mc", "200",
            "--set", "impute=mean", "--order", "compute>=storage"]  # fmt: skip
    fw_pillars = build(Config(), load_inputs(bundled_inputs)).framework
    if not {"compute", "storage"} <= set(fw_pillars.children[fw_pillars.root.code]):
        pytest.skip("the default framework has no compute and storage pillars")
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "Best" in res.output and "Reversal" in res.output
    t = pq.read_table(out).to_pandas()
    assert {"rank", "best", "worst", "mc_q05", "mc_q95", "exact"} <= set(t.columns)
    assert b"bounds" in pq.read_schema(out).metadata
    w = pd.read_parquet(out.with_name("bounds_weights.parquet"))
    assert set(w["bound"]) == {"best", "worst"}
    assert (out.with_name("bounds_reversals.parquet")).is_file()


def test_bounds_command_errors_write_nothing(bundled_inputs, tmp_path):
    out = tmp_path / "bounds.parquet"
    res = runner.invoke(
        app, ["bounds", "--data", str(bundled_inputs), "--out", str(out), "--order", "a>=zz"]
    )
    assert res.exit_code == 2
    assert "--order" in res.output and "Traceback" not in res.output
    assert not out.exists()


def test_profile_command(bundled_inputs):
    b = build(Config(), load_inputs(bundled_inputs))
    zh = b.dataset.units.iloc[5]["name_zh"]
    res = runner.invoke(app, ["profile", zh, "--data", str(bundled_inputs)])
    assert res.exit_code == 0, res.output
    assert "Pillars" in res.output and "Rank history" in res.output
    res = runner.invoke(app, ["profile", "Atlantis", "--data", str(bundled_inputs)])
    assert res.exit_code == 2 and "unknown region" in res.output


def test_ranks_tol_matches_rank_desc_without_ties():
    from index.methods.rank import rank_desc

    s = np.random.default_rng(0).normal(size=(5, 9))
    np.testing.assert_array_equal(bd.ranks_tol(s, 0.0), rank_desc(s, axis=-1))


def test_build_rank_bounds_api_and_order_constraints(default_build):
    b = default_build
    t = b.rank_bounds(box=0.5)
    assert {"region_code", "name_zh", "name_en", "rank", "best", "worst"} <= set(t.columns)
    assert str(t["best"].dtype) == "Int64" and str(t["worst"].dtype) == "Int64"
    fw = b.framework
    a, c = fw.children[fw.root.code][:2]
    narrow = b.rank_bounds(box=0.5, order=[f"{a}>={c}", f"{c}>={a}"])  # forces equal weights
    wide = t.set_index("region_code")
    narrow = narrow.set_index("region_code").loc[wide.index]
    # a smaller admissible set can only narrow every interval
    assert (narrow["best"] >= wide["best"]).all() and (narrow["worst"] <= wide["worst"]).all()
    w = b.claims(0.5, order=[f"{a}>={c}"]).bound_weights()
    pos = w.pivot_table(index=["region_code", "bound"], columns="code", values="weight")
    assert (pos[a] >= pos[c] - 1e-9).all()
