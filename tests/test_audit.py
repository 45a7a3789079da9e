"""Statistical audit: COINr oracle (Cronbach's alpha, indicator–pillar correlations, PCA, get_stats)
and property checks of correlations, flags and availability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as ss

from index import framework as fwmod
from index.analysis import audit as au
from index.coinr import framework_from_imeta
from index.errors import InputError


def _read(path):
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def asem(oracle_dir):
    """COINr's example data set used by the audit oracle, and its hierarchy.

    The oracle's alpha and correlations are reproduced (to 1e-15) by the example pipeline's
    Normalised data set (denominate → impute i_mean_grp → treat → minmax 0–100 =
    norm_n_minmax_0_100.csv) with pillars = arithmetic mean of their indicators (the Aggregated
    data set); Raw, the treated data and the pipe_* score files do not.
    """
    fw = framework_from_imeta(_read(oracle_dir / "input_iMeta.csv"))
    vals = _read(oracle_dir / "norm_n_minmax_0_100.csv").set_index("uCode")
    for lev in (2, 3, 4):
        for g in fw.codes_at(lev):
            vals[g] = vals[fw.children[g]].mean(axis=1)
    return vals, fw


def test_cronbach_alpha_matches_coinr(asem, oracle_dir):
    vals, fw = asem
    ref = _read(oracle_dir / "audit_cronbach_alpha.csv").set_index("group")["alpha"]
    got = au.cronbach_by_group(vals, fw).set_index("group")["alpha"]
    got = got.rename({"ALL_L1": "ALL_INDICATORS_L1", "ALL_L2": "ALL_PILLARS_L2"})
    np.testing.assert_allclose(got.reindex(ref.index), ref, rtol=1e-12, atol=1e-14)
    # the Raw data set (no directions, no treatment) does not reproduce the oracle
    raw = _read(oracle_dir / "input_raw_dset_sorted.csv").set_index("uCode")
    assert abs(au.cronbach_alpha(raw[fw.children["Physical"]]) - ref["Physical"]) > 1e-3


def test_cronbach_pairwise_complete_and_formula():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 4)) + rng.normal(size=(40, 1))
    x[rng.random(x.shape) < 0.15] = np.nan
    cov = pd.DataFrame(x).cov().to_numpy()  # pairwise-complete, ddof 1
    k = 4
    off = cov[~np.eye(k, dtype=bool)].mean()
    assert au.cronbach_alpha(x) == pytest.approx(k * k * off / cov.sum(), rel=1e-13)
    # complete data: equals the textbook k/(k-1)·(1 − Σσ_i²/σ²_total)
    xc = rng.normal(size=(50, 3)) + rng.normal(size=(50, 1))
    tot = xc.sum(axis=1).var(ddof=1)
    textbook = 3 / 2 * (1 - xc.var(axis=0, ddof=1).sum() / tot)
    assert au.cronbach_alpha(xc) == pytest.approx(textbook, rel=1e-12)
    assert np.isnan(au.cronbach_alpha(xc[:, :1]))


def test_indicator_parent_correlation_matches_coinr(asem, oracle_dir):
    vals, fw = asem
    ref = _read(oracle_dir / "audit_corr_indicator_vs_parent_pillar.csv")
    got = au.parent_correlations(vals, fw, "pearson").set_index(["ancestor", "code"])["r"]
    keys = list(zip(ref["Var1"], ref["Var2"], strict=True))
    np.testing.assert_allclose(got.reindex(keys).to_numpy(), ref["Correlation"], rtol=0, atol=1e-14)


def test_pca_by_group_matches_coinr(asem, oracle_dir):
    vals, fw = asem
    ref = _read(oracle_dir / "pca_L1_bygroups_Normalised_details.csv")
    got = au.pca_by_group(vals, fw).set_index("group")
    first = ref.groupby("group", sort=False).first()
    np.testing.assert_allclose(
        got.loc[first.index, "pc1_var_explained"], first["PC1_var_explained"], rtol=1e-12
    )
    assert (got.loc[first.index, "n_rows"] == first["n_rows_used"]).all()
    # PC1 loadings equal COINr's up to LAPACK's arbitrary sign
    for g, sub in ref.groupby("group"):
        kids = fw.children[g]
        load = au.pca_summary(vals[kids]).loadings
        mine = pd.Series(load, index=kids).loc[sub["iCode"]].to_numpy()
        np.testing.assert_allclose(np.abs(mine), np.abs(sub["PC1_loading"]), rtol=1e-10)


def test_pca_summary_properties():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(200, 1))
    x = np.hstack(
        [z + 0.1 * rng.normal(size=(200, 1)) for _ in range(3)] + [rng.normal(size=(200, 1))]
    )
    x[5, 2] = np.nan
    s = au.pca_summary(x)
    assert s.n_rows == 199
    assert s.eigenvalues.sum() == pytest.approx(4.0)
    assert np.all(np.diff(s.eigenvalues) <= 0)
    assert s.n_eigen_gt1 == 1 and s.var_explained[0] > 0.7
    assert s.loadings.sum() > 0
    assert np.isnan(au.pca_summary(np.ones((5, 2))).eigenvalues).all()


def test_indicator_stats_match_coinr_get_stats(oracle_dir):
    raw = _read(oracle_dir / "input_raw_dset_sorted.csv").set_index("uCode")
    ref = _read(oracle_dir / "stats_raw.csv").set_index("iCode")
    got = au.indicator_stats(raw)
    ref.columns = [c.lower().replace(".", "_") for c in ref.columns]  # N.Avail -> n_avail
    num = [c for c in got.columns if not c.startswith("flag") and c != "n_zero"]
    counts = ["n_avail", "n_nonzero", "n_unique", "n_same"]
    assert (got[counts].to_numpy() == ref[counts].to_numpy()).all()
    # n_zero is not in get_stats; it is its N.Avail - N.NonZero (zeros among the values present)
    assert (got["n_zero"] == ref["n_avail"] - ref["n_nonzero"]).all() and got["n_zero"].sum() > 0
    # R's moment sums differ from pandas' in the last bits (skew/kurt ~1e-14 relative)
    np.testing.assert_allclose(
        got[num].to_numpy(float), ref[num].to_numpy(float), rtol=1e-12, atol=0
    )
    flags = [c for c in got.columns if c.startswith("flag")]
    assert (got[flags] == ref[flags]).all().all()
    assert (got["flag_skewkurt"] == "OUT").sum() > 0 and (got["flag_unique"] == "LOW").sum() > 0


@pytest.mark.parametrize("method", ["spearman", "kendall"])
def test_rank_correlations_are_pairwise_complete(method):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(30, 3))
    x[:, 1] += x[:, 0]
    x[rng.random(x.shape) < 0.2] = np.nan
    df = pd.DataFrame(x, columns=list("abc"))
    m = ~np.isnan(x[:, 0]) & ~np.isnan(x[:, 1])
    fn = ss.spearmanr if method == "spearman" else ss.kendalltau
    want = fn(x[m, 0], x[m, 1]).statistic
    assert au.correlation_matrix(df, method).at["a", "b"] == pytest.approx(want, rel=1e-12)
    with pytest.raises(InputError):
        au.correlation_matrix(df, "distance")


def test_level_correlations_shape(asem):
    vals, fw = asem
    m = au.level_correlations(vals, fw, 1, 2)
    assert m.shape == (49, 8)
    assert m.at["TBTs", "Instit"] == pytest.approx(vals["TBTs"].corr(vals["Instit"]))
    assert au.level_correlations(vals, fw, 2, 2).shape == (8, 8)


def test_flags_collinear_and_negative():
    rng = np.random.default_rng(0)
    base = rng.normal(size=100)
    vals = pd.DataFrame(
        {
            "a": base,
            "b": base + 0.01 * rng.normal(size=100),  # collinear with a
            "c": -base + 0.3 * rng.normal(size=100),  # negative with a, b
            "d": rng.normal(size=100),
        }
    )
    parent = {"a": "P", "b": "P", "c": "P", "d": "Q", "P": "I", "Q": "I", "I": None}
    fw = fwmod.from_table({"code": c, "parent": p} for c, p in parent.items())
    vals["P"] = vals[["a", "b"]].mean(axis=1)
    vals["Q"] = vals["d"]
    vals["I"] = vals[["P", "Q"]].mean(axis=1)
    a = au.audit(vals, fw, methods=["pearson"])
    f = a.flags
    assert set(map(tuple, f.loc[f.kind == "collinear", ["code_1", "code_2"]].to_numpy())) == {
        ("a", "b")
    }
    neg = set(map(tuple, f.loc[f.kind == "negative", ["code_1", "code_2"]].to_numpy()))
    assert neg == {("a", "c"), ("b", "c")}
    assert list(f.loc[f.kind == "negative_with_parent", "code_1"]) == ["c"]
    with pytest.raises(InputError, match="not in the framework"):
        au.audit(vals.assign(z=1.0), fw)


def test_audit_tables_and_availability(asem):
    vals, fw = asem
    v = vals.copy()
    v.iloc[0, :5] = np.nan  # AUS misses 5 of the 8 Physical indicators
    a = au.audit(v, fw, methods=["pearson", "spearman"])
    assert set(a.correlations) == {"pearson", "spearman"}
    assert a.availability.loc["AUS", "all"] == pytest.approx(44 / 49)
    assert a.availability.loc["AUS", "Physical"] == pytest.approx(3 / 8)
    assert a.stats.loc["LPI", "n_avail"] == 50 and a.stats.loc["Index", "level"] == 4
    fam = a.with_parent.query("method == 'pearson' and code == 'LPI'")
    assert list(fam["ancestor"]) == ["Physical", "Conn", "Index"]
    assert len(a.within_group.query("method == 'pearson' and group == 'Index'")) == 1
