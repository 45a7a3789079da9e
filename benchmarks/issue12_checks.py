"""Issue 12: the largest difference of each method against its independent result.

Run ``python benchmarks/issue12_checks.py`` (needs ../shared/oracle/coinr, or
$COMPUTE_INDEX_SHARED). One line per item: what it is checked against and the largest
difference (relative where the values are scores, absolute for weights, counts and p-values).
The tests assert the same comparisons; this script only prints the figures for the closing note.
"""

from __future__ import annotations

import itertools
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import linprog

ROOT = Path(__file__).resolve().parents[1]
ORACLE = Path(os.environ.get("COMPUTE_INDEX_SHARED", ROOT.parent / "shared")) / "oracle" / "coinr"


def read(name: str) -> pd.DataFrame:
    return pd.read_csv(ORACLE / name, keep_default_na=False, na_values=[""])


def rel(a, b) -> float:
    """Largest relative difference (absolute where the reference is 0); NaN patterns must agree."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert np.array_equal(np.isnan(a), np.isnan(b)), "missing-value patterns differ"
    ok = ~np.isnan(b)
    scale = np.where(b[ok] != 0, np.abs(b[ok]), 1.0)
    return float(np.max(np.abs(a[ok] - b[ok]) / scale, initial=0.0))


def absdiff(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.nanmax(np.abs(a - b), initial=0.0))


ROWS: list[tuple[str, str, str]] = []


def row(item: str, reference: str, diff: str) -> None:
    ROWS.append((item, reference, diff))
    print(f"{item:<34} | {reference:<70} | {diff}")


def coinr_config(**steps):
    from index.config import Config

    base = {"denominate": False, "impute": {"method": "none"}, "treat": {"method": "none"}}
    return Config.model_validate({**base, **steps})


def asem(raw: bool = True):
    from index.coinr import dataset_from_idata, framework_from_imeta

    imeta = read("input_iMeta.csv")
    data = read("input_raw_dset_sorted.csv" if raw else "input_iData.csv")
    return framework_from_imeta(imeta), dataset_from_idata(data, imeta)


EXAMPLE = {  # the data of COINr's norm_*.csv: Denominate, i_mean_grp by EurAsia, Treat()
    "denominate": True,
    "impute": {"method": "mean_grp", "group": "EurAsia_group"},
    "treat": {"method": "winsorise", "winmax": 5},
}


def screening() -> None:
    from index.analysis.audit import indicator_stats
    from index.methods.screen import data_availability, screen

    raw = read("input_raw_dset_sorted.csv").drop(columns="uCode")
    missing, zero, _, _ = data_availability(raw.to_numpy(float))
    d = max(absdiff(missing, raw.isna().sum(axis=1)), absdiff(zero, (raw == 0).sum(axis=1)))
    imputed = read("impute_i_mean_grp_EurAsia.csv").select_dtypes("number").to_numpy(float)
    removed = int((~screen(imputed, unit_screen="byNA", dat_thresh=0.9).keep).sum())
    x = np.array(
        [[1, 2, 3, 4], [1, np.nan, 3, 4], [np.nan, 0, np.nan, 5], [0, 0, 0, 0], [np.nan] * 4],
        float,
    )
    hand = {
        "byNA": [1, 1, 0, 1, 0],
        "byzeros": [1, 1, 1, 0, 0],
        "byNAandzeros": [1, 1, 0, 0, 0],
    }
    wrong = sum(
        int((screen(x, unit_screen=r).keep != np.array(k, bool)).sum()) for r, k in hand.items()
    )
    row(
        "unit screening (Screen)",
        "COINr raw ASEM counts (pandas); example Screen(byNA, 0.9) removes 0; hand 5×4",
        f"counts {d:g}; removed {removed} (COINr 0); hand mismatches {wrong}",
    )
    st = read("stats_raw.csv").set_index("iCode")
    ours = indicator_stats(raw)["n_zero"]
    row(
        "zero counts in the data summary",
        "COINr get_stats N.Avail − N.NonZero (stats_raw.csv)",
        f"{absdiff(ours[st.index], st['N.Avail'] - st['N.NonZero']):g} (counts)",
    )


def infomax_weights() -> None:
    from index.methods.aggregate import amean
    from index.methods.weights import _corr_with, infomax

    rng = np.random.default_rng(11)
    base = rng.normal(size=(40, 1))
    x = np.hstack([base + rng.normal(scale=s, size=(40, 1)) for s in (0.3, 1.0, 2.0)])
    w = infomax(x)

    def total(v):
        return _corr_with(x, amean(x, np.asarray(v))).sum()

    grid = [(a / 200, b / 200, 1 - (a + b) / 200) for a in range(201) for b in range(201 - a)]
    values = np.array([total(g) for g in grid])
    best = np.array(grid[int(np.argmax(values))])
    row(
        "infomax weights",
        "brute-force grid over the simplex (step 0.005), 40 × 3",
        f"objective ours − grid max = {total(w) - values.max():+.2e}; |w − w_grid| ≤ "
        f"{absdiff(w, best):.4f} (grid step 0.005)",
    )


def negative_weights() -> None:
    from index import framework as fwmod
    from index.pipeline import build

    fw0, ds = asem(raw=False)
    data = fw0.to_dict()
    pca = read("pca_L1_bygroups_Normalised_weights.csv").set_index("iCode")["Weight"]
    data["index"]["allow_negative_weights"] = True
    groups = ("Environ", "Physical", "SusEcFin")
    for ind in data["indicator"]:
        if ind["parent"] in groups:
            ind["weight"] = float(pca[ind["code"]])
    fw = fwmod.from_dict(data)
    scores = build(coinr_config(**EXAMPLE, normalise={"method": "minmax"}), ds, fw).stage("scores")
    x = read("norm_n_minmax_0_100.csv").set_index("uCode").loc[scores.index]
    d = 0.0
    for g in groups:
        kids = fw.children[g]
        wk = pca[kids].to_numpy()
        d = max(d, rel(scores[g], x[kids].to_numpy() @ wk / wk.sum()))
    row(
        "negative weights in a framework",
        "COINr PCA loadings (Forest < 0) → Σwx/Σw of COINr's normalised data",
        f"{d:.1e} relative",
    )


def per_level_dat_thresh() -> None:
    from index.pipeline import build

    fw, ds = asem()
    ref = read("datthresh_0.8_A1_scores.csv").set_index("uCode")
    agg = {"method": "amean", "dat_thresh": {"2": 0.8, "3": 0.8, "4": 0.8}}
    got = build(coinr_config(normalise={"method": "minmax"}, aggregation=agg), ds, fw)
    d = rel(got.stage("scores").loc[ref.index, ref.columns], ref)
    mixed = {"method": "amean", "dat_thresh": {"2": 0.8, "3": 1.0}}
    m = build(coinr_config(normalise={"method": "minmax"}, aggregation=mixed), ds, fw)
    sc = m.stage("scores")
    d2 = 0.0
    for sub in ("Conn", "Sust"):
        kids = ref[fw.children[sub]]
        d2 = max(d2, rel(sc[sub], kids.mean(axis=1).where(kids.notna().all(axis=1))))
    row(
        "per-level dat_thresh",
        "datthresh_0.8_A1 (0.8 at every level); {2: 0.8, 3: 1.0} by hand",
        f"{d:.1e} / {d2:.1e} relative",
    )


def latest_max_gap() -> None:
    from index.methods import impute as im

    sys_path_tests()
    from _prep_oracle import panel_cube

    df = read("panel_impute_input_maskA.csv")
    codes = list(read("input_iMeta.csv").query("Type == 'Indicator'")["iCode"])
    x, years, _ = panel_cube(df, codes)
    full = panel_cube(read("panel_impute_A_latest.csv"), codes)[0]
    src = panel_cube(read("panel_impute_A_latest_DataT.csv"), codes)[0]
    t = np.asarray(years, float).reshape(-1, 1, 1)
    d = max(
        rel(im.latest(x, backfill=False, max_gap=g), np.where(t - src <= g, full, np.nan))
        for g in (1, 2, 4)
    )
    s = np.array([5.0, np.nan, np.nan, np.nan, 9.0]).reshape(5, 1, 1)
    hand = absdiff(im.latest(s, max_gap=1)[:, 0, 0], [5, 5, np.nan, np.nan, 9])
    row(
        "latest max_time (max_gap)",
        "COINr latest + DataT (keep iff Time − DataT ≤ gap); hand 5-year series",
        f"{d:.1e} relative; hand {hand:g}",
    )


def coinr_skew(v: np.ndarray) -> float:
    """COINr ``skew`` (e1071 type 2), transcribed."""
    v = v[~np.isnan(v)]
    n = v.size
    dv = v - v.mean()
    y = np.sqrt(n) * np.sum(dv**3) / np.sum(dv**2) ** 1.5
    return float(y * np.sqrt(n * (n - 1)) / (n - 2))


def logs() -> None:
    from index.methods import treat as tr

    raw = read("input_raw_dset_sorted.csv").drop(columns="uCode").to_numpy(float)
    plus, gii = [], []
    for col in raw.T:
        lo, hi = np.nanmin(col), np.nanmax(col)
        a = 0.01 * (hi - lo)
        plus.append(np.log(col - lo + a) if coinr_skew(col) > 0 else -np.log(hi + a - col))
        if hi > 0 and hi > lo:
            gii.append(np.log((hi - 1) * (col - lo) / (hi - lo) + 1))
    ok = [j for j, c in enumerate(raw.T) if np.nanmax(c) > 0 and np.nanmax(c) > np.nanmin(c)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        d1 = rel(tr.log_CT_plus(raw), np.column_stack(plus))
        d2 = rel(tr.log_GII(raw[:, ok]), np.column_stack(gii))
    neg = sum(coinr_skew(c) <= 0 for c in raw.T)
    row(
        "log_CT_plus / log_GII",
        f"COINr's R source transcribed, on the 49 raw ASEM columns ({neg} left-skewed)",
        f"{d1:.1e} / {d2:.1e} relative",
    )


def indiv_specs() -> None:
    from index.coinr import dataset_from_idata, framework_from_imeta
    from index.pipeline import build

    imeta = read("input_iMeta.csv")
    fw, ds = framework_from_imeta(imeta), dataset_from_idata(read("input_iData.csv"), imeta)
    own = {
        "LPI": ({"method": "zscore", "m": 0, "s": 1}, "norm_n_zscore_0_1.csv"),
        "Flights": ({"method": "rank"}, "norm_n_rank.csv"),
        "Ship": ({"method": "dist2targ"}, "norm_n_dist2targ_iMetaTarget.csv"),
        "Goods": ({"method": "zscore", "m": 10, "s": 2}, "norm_n_zscore_10_2.csv"),
    }
    norm = {"method": "minmax", "per_indicator": {c: s for c, (s, _) in own.items()}}
    got = build(coinr_config(**EXAMPLE, normalise=norm), ds, fw).stage("normalised")
    d = max(rel(got[c], read(f).set_index("uCode").loc[got.index, c]) for c, (_, f) in own.items())
    rest = [c for c in fw.indicator_codes if c not in own]
    base = read("norm_n_minmax_0_100.csv").set_index("uCode").loc[got.index]
    d = max(d, rel(got[rest], base[rest]))
    row(
        "per-indicator normalisation",
        "COINr norm_n_{zscore,rank,dist2targ,minmax}.csv column by column",
        f"{d:.1e} relative",
    )


def goalposts() -> None:
    import tempfile

    from index.coinr import load_coinr
    from index.pipeline import build

    meta = read("input_iMeta.csv")
    posts = read("goalposts_used.csv")[["iCode", "goalpost_lower", "goalpost_upper"]]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "iMeta.csv"
        meta.merge(posts, on="iCode", how="left").to_csv(path, index=False)
        fw, ds = load_coinr(ORACLE / "input_iData.csv", path)
    b = build(coinr_config(normalise={"method": "goalposts", "scale": 100.0}), ds, fw)
    ref = read("goalposts_trunc_amean_scores.csv").set_index("uCode")
    ranks = read("goalposts_trunc_amean_ranks.csv").set_index("uCode")
    d = rel(b.stage("scores").loc[ref.index, ref.columns], ref)
    wrong = int((b.stage("ranks").loc[ranks.index, ranks.columns] != ranks).to_numpy().sum())
    row(
        "load_coinr goalposts",
        "goalposts_trunc_amean_{scores,ranks}.csv via iMeta goalpost_lower/upper",
        f"{d:.1e} relative; ranks differing {wrong}",
    )


def compind() -> None:
    from index.methods.compind import bod, bod_weights, mean_min, owa, rbod

    rng = np.random.default_rng(5)
    y = rng.uniform(0, 100, (12, 4))
    dual = []
    for c in range(len(y)):
        res = linprog(np.ones(len(y)), A_ub=-y.T, b_ub=-y[c], bounds=(0, None), method="highs")
        dual.append(res.fun)
    scores, _ = bod_weights(y)
    margin = np.inf
    for _ in range(2000):
        common = y @ rng.dirichlet(np.ones(4))
        margin = min(margin, float((scores - common / common.max()).min()))
    hand = np.array([[4.0, 1.0], [1.0, 4.0], [2.0, 2.0], [1.0, 1.0]])
    dh = absdiff(bod(hand, np.ones(2)), [1, 1, 0.8, 0.4])
    row(
        "Compind bod",
        "envelopment dual by scipy linprog (12 × 4); 2,000 common weights; hand LP",
        f"{rel(scores, dual):.1e} relative; min(BoD − common) = {margin:+.1e} (≥ 0 up to rounding); "
        f"hand {dh:.1e}",
    )
    ym = rng.uniform(1, 100, (15, 3))
    mc = np.empty(15)
    draw = np.random.default_rng(9)
    for c in range(15):
        peers = draw.integers(0, 15, size=(20_000, 5))
        mc[c] = 1 / (ym[peers] / ym[c]).min(axis=-1).max(axis=-1).mean()
    dr = absdiff(rbod(hand, np.ones(2), m=2)[3], 16 / 23)
    row(
        "Compind rbod",
        "nonparaeff::orderm Monte Carlo transcribed (B = 20,000, m = 5); hand m = 2",
        f"{rel(rbod(ym, np.ones(3), m=5), mc):.1e} relative (MC error); hand {dr:.1e}",
    )
    x = rng.uniform(0, 10, (20, 4))
    z = (x - x.mean(0)) / x.std(0, ddof=1) * 10 + 100  # Compind ci_mean_min, per own column
    part = np.sqrt((z.mean(1) - z.min(1)) ** 2 + 1.0)
    ref = z.mean(1) - 0.5 * (part - 1.0)
    row(
        "Compind mean_min",
        "Compind ci_mean_min transcribed (alpha 0.5, beta 1), 20 × 4",
        f"{rel(mean_min(x, np.ones(4), alpha=0.5, beta=1.0), ref):.1e} relative",
    )
    srt = -np.sort(-x, axis=1)
    d = max(
        rel(owa(x, np.ones(4), atleast=j, side="worst"), srt[:, 4 - j :].mean(1))
        + rel(owa(x, np.ones(4), atleast=j, side="best"), srt[:, :j].mean(1))
        for j in range(1, 5)
    )
    row("Compind owa", "Compind ci_owa transcribed (CI_OWA_n / CI_OWA_p, j = 1..4)", f"{d:.1e}")


def group_ahp() -> None:
    from index.methods.weights import SAATY_RI, ahp

    rng = np.random.default_rng(3)
    ws = rng.dirichlet(np.ones(5), size=4)
    mats = np.stack([np.outer(w, 1 / w) for w in ws])
    geo = np.prod(ws, axis=0) ** 0.25
    d = absdiff(ahp(mats).weights, geo / geo.sum())
    cyc = [[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]]
    lam = 1 + 9 + 1 / 9  # the circulant's Perron root: row sums are equal
    cr = ((lam - 3) / 2) / SAATY_RI[2]
    row(
        "group AHP (geometric mean)",
        "consistent experts: weights ∝ Π w^(1/m) (4 experts × 5); circulant CR by hand",
        f"{d:.1e} (weights); CR {abs(ahp(cyc).cr - cr):.1e}",
    )


def analysis_helpers() -> None:
    from index.analysis.profiles import strengths_weaknesses
    from index.analysis.significance import correlation_pvalues, denominator_correlations
    from index.analysis.trends import cagr, prc_change

    v = pd.DataFrame(
        {
            "a": [10.0, 20.0, 30.0, 40.0],
            "b": [4.0, 3.0, 2.0, 1.0],
            "c": [1.0, 5.0, 9.0, 5.0],
            "d": [0.0, 1.0, 0.0, 1.0],
            "e": [7.0, np.nan, 6.0, 8.0],
            "f": [1.0, 2.0, 3.0, 0.5],
        },
        index=["u0", "u1", "u2", "u3"],
    )
    sw = strengths_weaknesses(v, "u2", top=2, bottom=2)
    ok = sw.strengths["code"].tolist() == ["c", "f"] and sw.weaknesses["code"].tolist() == [
        "a",
        "b",
    ]
    row("get_str_weak", "hand-ranked 4 × 6 table (ties, NaN, worst-rank discard)",
        "0 (same codes, ranks, order)" if ok else "MISMATCH")  # fmt: skip
    t = np.arange(2018.0, 2023.0)
    y = np.array([3.0, 5.0, 4.0, 8.0, 9.0])
    fit = stats.linregress(t, y)
    d1 = abs(prc_change(y, t) - fit.slope / (fit.intercept + fit.slope * t[0]) * 100)
    d2 = abs(cagr([100.0, np.nan, 121.0], [2020, 2021, 2022]) - 0.1)
    row("trends / CAGR / prc_change", "hand (10 % growth); scipy linregress",
        f"CAGR {d2:.1e}; prc_change {d1:.1e} (abs, %)")  # fmt: skip
    data = read("input_iData.csv")
    meta = read("input_iMeta.csv")
    inds = data[meta.loc[meta["Type"] == "Indicator", "iCode"]]
    dens = data[["Area", "Energy", "GDP", "Population"]]
    out = denominator_correlations(inds, dens, threshold=0.6)
    d = max(abs(r.r - inds[r.indicator].corr(dens[r.denominator])) for r in out.itertuples())
    full = inds.apply(lambda s: dens.corrwith(s)).T.stack()
    count = abs(len(out) - int((full.abs() > 0.6).sum()))
    row("get_denom_corr", "pandas pairwise corr on COINr's ASEM iData (4 denominators)",
        f"{d:.1e} (r); pairs missing/extra {count}")  # fmt: skip
    rng = np.random.default_rng(4)
    df = pd.DataFrame(rng.normal(size=(20, 3)), columns=list("abc"))
    df["c"] += df["a"]
    df.loc[3, "b"] = np.nan
    worst = 0.0
    for method, fn in (("pearson", stats.pearsonr), ("spearman", stats.spearmanr),
                       ("kendall", stats.kendalltau)):  # fmt: skip
        p = correlation_pvalues(df, method)
        for u, w in itertools.combinations("abc", 2):
            pair = df[[u, w]].dropna()
            worst = max(worst, rel(p.loc[u, w], fn(pair[u], pair[w]).pvalue))
    row("correlation p-values", "scipy pearsonr / spearmanr / kendalltau", f"{worst:.1e} relative")


def iterative() -> None:
    import index
    from index.methods.impute import ImputationClipWarning
    from index.pipeline import CLIPPED

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImputationClipWarning)
        b = index.build(overrides=['impute={"method": "iterative"}'])
    clipped = b.flags == CLIPPED
    x = b.stages["denominated"]
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer

    raw = np.stack(
        [IterativeImputer(random_state=0, keep_empty_features=True).fit_transform(y) for y in x]
    )
    kept = np.isnan(x) & ~clipped
    row(
        "iterative imputation sign",
        "scikit-learn IterativeImputer on the bundled panel (raw output)",
        f"{int(clipped.sum())} cells raw min {raw[clipped].min():.3g} → 0; other imputed cells "
        f"{absdiff(b.stages['imputed'][kept], raw[kept]):g}; imputed min over non-negative "
        f"indicators {np.nanmin(b.stages['imputed']):g}",
    )


def sys_path_tests() -> None:
    import sys

    if str(ROOT / "tests") not in sys.path:
        sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    if not ORACLE.is_dir():
        raise SystemExit(f"COINr oracle not found at {ORACLE} (set COMPUTE_INDEX_SHARED)")
    for check in (
        screening,
        infomax_weights,
        negative_weights,
        per_level_dat_thresh,
        latest_max_gap,
        logs,
        indiv_specs,
        goalposts,
        compind,
        group_ahp,
        analysis_helpers,
        iterative,
    ):
        check()


if __name__ == "__main__":
    main()
