"""COINr's analysis helpers: get_str_weak, CAGR / prc_change / get_trends, get_pvals and
get_denom_corr, checked against hand-worked cases, scipy's tests and the COINr example data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from index.analysis.profiles import strengths_weaknesses
from index.analysis.significance import (
    correlation_pvalues,
    denominator_correlations,
    significant_correlations,
)
from index.analysis.trends import cagr, prc_change, trends
from index.errors import InputError

# ---------------------------------------------------------------- strengths and weaknesses

VALUES = pd.DataFrame(
    {
        "a": [10.0, 20.0, 30.0, 40.0],  # unit u2: rank 2
        "b": [4.0, 3.0, 2.0, 1.0],  # u2: rank 3 (direction -1: rank 2)
        "c": [1.0, 5.0, 9.0, 5.0],  # u2: rank 1
        "d": [0.0, 1.0, 0.0, 1.0],  # u2: rank 3 = the worst rank of d (ties share rank 3)
        "e": [7.0, np.nan, 6.0, 8.0],  # u2: rank 3, the worst (u1 missing)
        "f": [1.0, 2.0, 3.0, 0.5],  # u2: rank 1
    },
    index=["u0", "u1", "u2", "u3"],
)


def test_strengths_weaknesses_by_hand():
    sw = strengths_weaknesses(VALUES, "u2", top=2, bottom=2)
    # ranks of u2: a 2, b 3, c 1, d 3 and e 3 (worst: discarded), f 1; stable sort:
    # c(1), f(1), a(2), b(3)
    assert sw.strengths["code"].tolist() == ["c", "f"]
    assert sw.weaknesses["code"].tolist() == ["a", "b"]
    assert sw.weaknesses["rank"].tolist() == [2, 3]
    assert sw.strengths["value"].tolist() == [9.0, 3.0]
    # b is a "lower is better" indicator: with its direction, u2 (value 2) ranks 2nd
    d = dict.fromkeys(VALUES.columns, 1.0) | {"b": -1.0}
    sw = strengths_weaknesses(VALUES, "u2", top=1, bottom=3, directions=d, min_discard=False)
    # ranks: c 1, f 1, a 2, b 2, d 3, e 3 (stable order among ties)
    assert sw.weaknesses["code"].tolist() == ["b", "d", "e"]
    assert sw.weaknesses["rank"].tolist() == [2.0, 3.0, 3.0]
    # u1: d 1, b 2, c 2 (tie with u3), f 2, a 3; e missing
    u1 = strengths_weaknesses(VALUES, "u1", top=1, bottom=1)
    assert u1.strengths["code"].tolist() == ["d"] and u1.weaknesses["code"].tolist() == ["a"]
    # binary d dropped by unq_discard (2 distinct values of 4 = 0.5 <= 0.5)
    sw = strengths_weaknesses(VALUES, "u1", top=6 - 2, bottom=1, unq_discard=0.5, min_discard=False)
    assert "d" not in sw.strengths["code"].tolist()
    grouped = strengths_weaknesses(VALUES, "u2", top=1, bottom=1, groups={"c": "P1"})
    assert grouped.strengths["group"].tolist() == ["P1"]
    with pytest.raises(InputError, match="unknown unit"):
        strengths_weaknesses(VALUES, "zz")
    # within its group {u2, u3}: u2 ranks a 2, b 1, c 1, d 2, e 2, f 1; min_discard drops rank 2
    grp = pd.Series({"u0": "G1", "u1": "G1", "u2": "G2", "u3": "G2"})
    within = strengths_weaknesses(VALUES, "u2", top=3, bottom=1, unit_groups=grp)
    assert within.strengths["code"].tolist() == ["b", "c", "f"]
    assert within.strengths["rank"].tolist() == [1.0, 1.0, 1.0]


# ---------------------------------------------------------------- trends


def test_cagr_by_hand():
    assert cagr([100.0, np.nan, 121.0], [2020, 2021, 2022]) == pytest.approx(0.1, rel=1e-14)
    assert cagr([121.0, 100.0], [2022, 2020]) == pytest.approx(0.1, rel=1e-14)  # sorted by time
    assert cagr([0.0, 0.0], [1, 2]) == 0.0
    assert np.isnan(cagr([1.0, np.nan], [1, 2]))


def test_prc_change_two_points_and_regression():
    assert prc_change([50.0, 60.0], [2018, 2020]) == pytest.approx(10.0)  # 20 % over 2 years
    assert prc_change([50.0, 60.0], [2018, 2020], per=10) == pytest.approx(100.0)
    t = np.array([2018, 2019, 2020, 2021, 2022], float)
    y = np.array([3.0, 5.0, 4.0, 8.0, 9.0])
    fit = stats.linregress(t, y)
    expected = fit.slope / (fit.intercept + fit.slope * 2018) * 100
    assert prc_change(y, t) == pytest.approx(expected, rel=1e-9)
    assert prc_change([2.0, 2.0, 2.0], [1, 2, 3]) == 0.0


def test_trends_table_directions_and_use_latest():
    years = [2020, 2021, 2022, 2023]
    panel = np.full((4, 2, 2), np.nan)
    panel[:, 0, 0] = [100, 110, 121, 133.1]
    panel[:, 0, 1] = [10, 20, np.nan, np.nan]
    panel[:, 1, 0] = [np.nan, np.nan, np.nan, 5]
    panel[:, 1, 1] = [8, 4, 2, 1]
    out = trends(panel, years, ["u", "v"], ["x", "y"], directions=[1, -1]).set_index(
        ["unit", "code"]
    )
    assert out.loc[("u", "x"), "CAGR"] == pytest.approx(0.1)
    assert out.loc[("u", "y"), "CAGR"] == pytest.approx(-1.0)  # doubled, direction -1
    assert out.loc[("u", "y"), "t_latest"] == 2021 and out.loc[("u", "y"), "avail"] == 0.5
    assert np.isnan(out.loc[("v", "x"), "CAGR"])
    assert out.loc[("v", "y"), "CAGR"] == pytest.approx(-((1 / 8) ** (1 / 3) - 1))  # halving: +0.5
    latest = trends(panel, years, ["u", "v"], ["x", "y"], use_latest=2).set_index(["unit", "code"])
    assert latest.loc[("u", "x"), "CAGR"] == pytest.approx(133.1 / 121 - 1)
    assert latest.loc[("u", "y"), "CAGR"] == pytest.approx(1.0)
    assert np.isnan(trends(panel, years, ["u", "v"], ["x", "y"], use_latest=5)["CAGR"]).all()
    with pytest.raises(InputError, match="metric"):
        trends(panel, years, ["u", "v"], ["x", "y"], metric="slope")


# ---------------------------------------------------------------- p-values


def test_pvalues_against_scipy():
    rng = np.random.default_rng(4)
    df = pd.DataFrame(rng.normal(size=(20, 3)), columns=list("abc"))
    df["c"] += df["a"]
    df.loc[3, "b"] = np.nan
    p = correlation_pvalues(df)
    ok = df[["a", "b"]].dropna()
    assert p.loc["a", "b"] == pytest.approx(stats.pearsonr(ok["a"], ok["b"]).pvalue, rel=1e-10)
    assert p.loc["a", "c"] == pytest.approx(stats.pearsonr(df["a"], df["c"]).pvalue, rel=1e-10)
    assert p.loc["c", "a"] == p.loc["a", "c"] and p.loc["a", "a"] == 0
    ps = correlation_pvalues(df, "spearman")
    assert ps.loc["a", "c"] == pytest.approx(stats.spearmanr(df["a"], df["c"]).pvalue, rel=1e-10)
    pk = correlation_pvalues(df, "kendall")
    assert pk.loc["a", "c"] == pytest.approx(stats.kendalltau(df["a"], df["c"]).pvalue, rel=1e-12)


def test_pvalue_by_hand():
    """n = 5, r = 0.9: t = 0.9 sqrt(3 / 0.19) = 3.5762, two-sided on 3 df: p = 0.0374."""
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    r = 0.9
    e = (x - x.mean()) / x.std()
    z = np.array([1.0, -1.0, 0.5, -0.5, 0.0])
    z = z - z.mean() - (z @ e) / (e @ e) * e
    z = z / z.std()
    y = r * e + np.sqrt(1 - r * r) * z
    assert np.corrcoef(x, y)[0, 1] == pytest.approx(0.9)
    p = correlation_pvalues(pd.DataFrame({"x": x, "y": y}))
    assert p.loc["x", "y"] == pytest.approx(0.0374, abs=5e-5)


def test_denominator_correlations_coinr_example(oracle_dir):
    """COINr's example: indicators vs the four denominators of ASEM_iData; |r| > 0.7."""
    data = pd.read_csv(oracle_dir / "input_iData.csv", keep_default_na=False, na_values=[""])
    meta = pd.read_csv(oracle_dir / "input_iMeta.csv", keep_default_na=False, na_values=[""])
    inds = data[meta.loc[meta["Type"] == "Indicator", "iCode"]]
    dens = data[["Area", "Energy", "GDP", "Population"]]
    out = denominator_correlations(inds, dens, threshold=0.7)
    assert len(out) > 0 and (out["r"].abs() > 0.7).all()
    for _, row in out.iterrows():
        assert row["r"] == pytest.approx(inds[row["indicator"]].corr(dens[row["denominator"]]))
    full = inds.apply(lambda s: dens.corrwith(s)).T.stack()
    assert len(out) == int((full.abs() > 0.7).sum())
    assert out["indicator"].is_monotonic_increasing


def test_insignificant_correlations_are_blanked_as_in_coinr_get_corr():
    rng = np.random.default_rng(12)
    df = pd.DataFrame(rng.normal(size=(15, 3)), columns=list("abc"))
    df["b"] = df["a"] + 0.3 * df["b"]  # strongly related to a; c independent
    out = significant_correlations(df)
    p = {k: stats.pearsonr(df[k[0]], df[k[1]]).pvalue for k in [("a", "b"), ("a", "c"), ("b", "c")]}
    for (u, v), pv in p.items():
        if pv > 0.05:
            assert np.isnan(out.loc[u, v]) and np.isnan(out.loc[v, u])
        else:
            assert out.loc[u, v] == pytest.approx(df[u].corr(df[v]))
    assert p[("a", "b")] < 0.05 and np.isnan(out.values).any()
    np.testing.assert_allclose(significant_correlations(df, pval=0), df.corr())


def test_cagr_from_zero_is_infinite_without_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cagr([0.0, 5.0], [2020, 2022]) == np.inf


# ---------------------------------------------------------------- reached from a build


def test_build_trends_and_audit_sheets(bundled_inputs):
    """Build.trends and the audit's p-value, denominator and trend sheets, each against its
    definition recomputed here from the build's own stages (scipy, pandas, the CAGR formula)."""
    import index

    b = index.build(data=bundled_inputs)
    fw, raw = b.framework, b.stages["raw"]
    t = b.trends().set_index(["region_code", "code"])
    j = fw.indicator_codes.index("web_pages")
    u = b.dataset.unit_codes.index("44")
    y = raw[:, u, j]
    ok = ~np.isnan(y)
    years = np.array(b.years)[ok]
    expected = (y[ok][-1] / y[ok][0]) ** (1 / (years[-1] - years[0])) - 1
    assert t.loc[("44", "web_pages"), "CAGR"] == pytest.approx(expected, rel=1e-12)
    pc = b.trends("prc_change", stage="scores").set_index(["region_code", "code"])
    root = fw.root.code
    s = b.scores[:, u, fw.codes.index(root)]
    fit = stats.linregress(np.array(b.years, float), s)
    assert pc.loc[("44", root), "prc_change"] == pytest.approx(
        fit.slope / (fit.intercept + fit.slope * b.years[0]) * 100, rel=1e-9
    )
    a = b.audit()
    scores = b.stage("scores")
    c1, c2 = fw.indicator_codes[:2]
    pair = scores[[c1, c2]].dropna()
    assert a.pvalues["pearson"].loc[c1, c2] == pytest.approx(
        stats.pearsonr(pair[c1], pair[c2]).pvalue, rel=1e-9
    )
    den = a.denominator_corr
    assert {"gdp", "population_year_end"} <= set(den["denominator"])
    row = den.iloc[0]
    gdp = b.dataset.select([row["denominator"]])[b.dataset.years.index(b.years[-1]), :, 0]
    r = pd.Series(b.stage("raw")[row["indicator"]].to_numpy()).corr(pd.Series(gdp))
    assert row["r"] == pytest.approx(r, rel=1e-12) and abs(r) > 0.6
    sheets = a.sheets()
    assert {"pvalue_pearson", "denominator_corr", "trends"} <= set(sheets)


def test_denominator_correlations_keep_strong_negative_ones():
    """|r| > threshold, either sign: area against a density (r = -1) is a pair, noise is not."""
    area = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0])
    inds = pd.DataFrame({"density": 10 - 2 * area, "noise": [1.0, -1.0, 0.0, 1.0, -1.0]})
    out = denominator_correlations(inds, pd.DataFrame({"area": area}), threshold=0.6)
    assert out[["indicator", "denominator"]].values.tolist() == [["density", "area"]]
    assert out["r"].iloc[0] == pytest.approx(-1.0)


def test_build_trends_adjust_directions_as_coinr(oracle_dir):
    """COINr get_trends(adjust_directions = FALSE) by default; TRUE multiplies by the direction
    (the ASEM panel: 14 indicators have direction -1)."""
    from index.coinr import load_coinr
    from index.config import Config
    from index.pipeline import build

    fw, ds = load_coinr(oracle_dir / "input_iData_panel.csv", oracle_dir / "input_iMeta.csv")
    b = build(Config(denominate=False, treat={"method": "none"}), ds, fw)
    plain = b.trends().set_index(["region_code", "code"])["CAGR"]
    adj = b.trends(adjust_directions=True).set_index(["region_code", "code"])["CAGR"]
    d = {i.code: i.direction for i in fw.indicators}
    sign = np.array([d[c] for c in plain.index.get_level_values("code")], float)
    np.testing.assert_array_equal(adj.to_numpy(), plain.to_numpy() * sign)
    assert (sign < 0).any() and np.isfinite(plain).sum() > 1000
    raw = b.stage("raw", b.years[-1])["LPI"] / b.stage("raw", b.years[0])["LPI"]
    span = b.years[-1] - b.years[0]
    expected = raw ** (1 / span) - 1  # every unit has LPI in the first and last year
    got = plain.xs("LPI", level="code").loc[expected.index]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
