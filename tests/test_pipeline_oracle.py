"""The whole pipeline against COINr's reference outputs on its ASEM example (../shared/oracle/coinr)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from index.coinr import dataset_from_idata, framework_from_imeta
from index.config import Config
from index.pipeline import build


def read(path):
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def asem(oracle_dir):
    imeta = read(oracle_dir / "input_iMeta.csv")
    raw = read(oracle_dir / "input_raw_dset_sorted.csv")
    return framework_from_imeta(imeta), dataset_from_idata(raw, imeta)


def config(**steps) -> Config:
    base = {"denominate": False, "impute": {"method": "none"}, "treat": {"method": "none"}}
    return Config.model_validate({**base, **steps})


PIPES = {
    "pipe_A1_minmax_amean": {"normalise": {"method": "minmax", "l": 0, "u": 100}},
    "pipe_A2_zscore_amean": {"normalise": {"method": "zscore", "m": 0, "s": 1}},
    "pipe_A3_minmax1_gmean": {
        "normalise": {"method": "minmax", "l": 1, "u": 100},
        "aggregation": {"method": "gmean"},
    },
    "pipe_A4_minmax1_hmean": {
        "normalise": {"method": "minmax", "l": 1, "u": 100},
        "aggregation": {"method": "hmean"},
    },
    "pipe_A1T_treat_minmax_amean": {
        "treat": {"method": "winsorise", "winmax": 5},
        "normalise": {"method": "minmax", "l": 0, "u": 100},
    },
    "datthresh_0.8_A1": {
        "normalise": {"method": "minmax", "l": 0, "u": 100},
        "aggregation": {"method": "amean", "dat_thresh": 0.8},
    },
}


def assert_frame_close(ours: pd.DataFrame, ref: pd.DataFrame, rtol=1e-9, atol=1e-9):
    ours = ours.loc[ref.index, ref.columns]
    a, b = ours.to_numpy(float), ref.to_numpy(float)
    assert np.array_equal(np.isnan(a), np.isnan(b)), "missing-value pattern differs"
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", sorted(PIPES))
def test_pipeline_reproduces_coinr(asem, oracle_dir, name):
    fw, ds = asem
    b = build(config(**PIPES[name]), ds, fw)
    scores = read(oracle_dir / f"{name}_scores.csv").set_index("uCode")
    ranks = read(oracle_dir / f"{name}_ranks.csv").set_index("uCode")
    assert_frame_close(b.stage("scores"), scores)
    ours = b.stage("ranks").loc[ranks.index, ranks.columns]
    np.testing.assert_array_equal(ours.to_numpy(float), ranks.to_numpy(float))


def test_treated_dataset(asem, oracle_dir):
    fw, ds = asem
    b = build(config(**PIPES["pipe_A1T_treat_minmax_amean"]), ds, fw)
    ref = read(oracle_dir / "pipe_A1T_treat_minmax_amean_treated.csv").set_index("uCode")
    assert_frame_close(b.stage("treated"), ref)


def test_goalposts_pipeline(asem, oracle_dir):
    fw, ds = asem
    posts = read(oracle_dir / "goalposts_used.csv").set_index("iCode").loc[fw.indicator_codes]
    cfg = config(
        normalise={
            "method": "goalposts",
            "lower": posts["goalpost_lower"].tolist(),
            "upper": posts["goalpost_upper"].tolist(),
            "scale": 100,
        }
    )
    b = build(cfg, ds, fw)
    scores = read(oracle_dir / "goalposts_trunc_amean_scores.csv").set_index("uCode")
    ranks = read(oracle_dir / "goalposts_trunc_amean_ranks.csv").set_index("uCode")
    assert_frame_close(b.stage("scores"), scores)
    ours = b.stage("ranks").loc[ranks.index, ranks.columns]
    np.testing.assert_array_equal(ours.to_numpy(float), ranks.to_numpy(float))


@pytest.mark.parametrize("panel,name", [("global", "global"), ("per_year", "peryear")])
def test_panel_normalisation(oracle_dir, panel, name):
    imeta = read(oracle_dir / "input_iMeta.csv")
    fw = framework_from_imeta(imeta)
    ds = dataset_from_idata(read(oracle_dir / "panel_raw_dset.csv"), imeta)
    b = build(config(normalise={"method": "minmax", "l": 0, "u": 100, "panel": panel}), ds, fw)
    ref = read(oracle_dir / f"panel_minmax_{name}_amean_scores_long.csv")
    ours = b.scores_long.rename(columns={"year": "Time", "region_code": "uCode", "code": "iCode"})
    ours = ours[["Time", "uCode", "iCode", "score", "rank"]]
    merged = ref.merge(ours, on=["Time", "uCode", "iCode"], how="left", validate="1:1")
    np.testing.assert_allclose(merged["score"], merged["value"], rtol=1e-9, atol=1e-9)
    rref = read(oracle_dir / f"panel_minmax_{name}_amean_ranks_long.csv")
    rmerged = rref.merge(ours, on=["Time", "uCode", "iCode"], how="left", validate="1:1")
    np.testing.assert_array_equal(rmerged["rank"].to_numpy(float), rmerged["value"].to_numpy(float))


def test_effective_weights(asem, oracle_dir):
    fw, ds = asem
    b = build(config(), ds, fw)
    ref = read(oracle_dir / "weights_effective_original.csv").set_index("iCode")
    ours = b.nodes.set_index("code").loc[ref.index, "eff_weight"]
    np.testing.assert_allclose(ours.to_numpy(), ref["EffWeight"].to_numpy(), rtol=1e-12)


def test_per_level_dat_thresh(asem, oracle_dir):
    """``dat_thresh`` per level: 0.8 at every level is COINr's ``dat_thresh = 0.8``; 0.8 at the
    pillars only leaves the levels above to COINr's plain mean over the pillars present."""
    fw, ds = asem
    ref = read(oracle_dir / "datthresh_0.8_A1_scores.csv").set_index("uCode")
    every = {"method": "amean", "dat_thresh": {"2": 0.8, "3": 0.8, "4": 0.8}}
    norm = {"method": "minmax", "l": 0, "u": 100}
    b = build(config(normalise=norm, aggregation=every), ds, fw)
    assert_frame_close(b.stage("scores"), ref)
    mixed = {"method": "amean", "dat_thresh": {"2": 0.8, "3": 1.0}}
    got = build(config(normalise=norm, aggregation=mixed), ds, fw).stage("scores")
    pillars = [c for c in ref.columns if fw.level.get(c) == 2]
    assert_frame_close(got[pillars], ref[pillars])
    for sub in ("Conn", "Sust"):  # level 3 at 1.0: NaN unless every pillar is present
        kids = ref[fw.children[sub]]
        expected = kids.mean(axis=1).where(kids.notna().all(axis=1))
        assert_frame_close(got[[sub]], expected.to_frame(sub))
    assert got["Conn"].isna().any() and ref["Conn"].notna().all()  # so the two levels differ


def test_per_indicator_normalisation_is_coinr_indiv_specs(asem, oracle_dir):
    """COINr ``Normalise(indiv_specs = ...)``: each indicator named gets its own method; every
    column equals COINr's normalisation of the treated data with that method."""
    imeta = read(oracle_dir / "input_iMeta.csv")
    fw, ds = (
        framework_from_imeta(imeta),
        dataset_from_idata(read(oracle_dir / "input_iData.csv"), imeta),
    )
    own = {
        "LPI": ({"method": "zscore", "m": 0, "s": 1}, "norm_n_zscore_0_1.csv"),
        "Flights": ({"method": "rank"}, "norm_n_rank.csv"),
        "Ship": ({"method": "dist2targ"}, "norm_n_dist2targ_iMetaTarget.csv"),
        "Goods": ({"method": "zscore", "m": 10, "s": 2}, "norm_n_zscore_10_2.csv"),
    }
    cfg = config(  # the data of COINr's norm_*.csv: Denominate, i_mean_grp by EurAsia, Treat()
        denominate=True,
        impute={"method": "mean_grp", "group": "EurAsia_group"},
        treat={"method": "winsorise", "winmax": 5},
        normalise={
            "method": "minmax",
            "l": 0,
            "u": 100,
            "per_indicator": {c: spec for c, (spec, _) in own.items()},
        },
    )
    b = build(cfg, ds, fw)
    got = b.stage("normalised")
    for code, (_, name) in own.items():
        ref = read(oracle_dir / name).set_index("uCode")
        assert_frame_close(got[[code]], ref[[code]])
    rest = [c for c in fw.indicator_codes if c not in own]
    base = read(oracle_dir / "norm_n_minmax_0_100.csv").set_index("uCode")
    assert_frame_close(got[rest], base[rest])
    kids = fw.children["Physical"]
    np.testing.assert_allclose(b.stage("scores")["Physical"], got[kids].mean(axis=1), rtol=1e-12)


def test_negative_pca_weights_in_a_framework(oracle_dir):
    """COINr's PCA weights (raw PC1 loadings; Forest's is negative) written into a framework with
    ``allow_negative_weights``: each pillar is $\\sum_j w_j x_j / \\sum_j w_j$ of COINr's normalised
    data with the weights as they are (COINr ``a_amean``, oracle README semantics 7)."""
    from index import framework as fwmod

    imeta = read(oracle_dir / "input_iMeta.csv")
    data = fwmod.from_dict(framework_from_imeta(imeta).to_dict()).to_dict()
    pca = read(oracle_dir / "pca_L1_bygroups_Normalised_weights.csv").set_index("iCode")["Weight"]
    assert pca["Forest"] < 0  # in Environ
    data["index"]["allow_negative_weights"] = True
    groups = ("Environ", "Physical", "SusEcFin")  # their loadings sum to > 0 (others are refused)
    for ind in data["indicator"]:
        if ind["parent"] in groups:
            ind["weight"] = float(pca[ind["code"]])
    fw = fwmod.from_dict(data)
    ds = dataset_from_idata(read(oracle_dir / "input_iData.csv"), imeta)
    cfg = config(
        denominate=True,
        impute={"method": "mean_grp", "group": "EurAsia_group"},
        treat={"method": "winsorise", "winmax": 5},
        normalise={"method": "minmax", "l": 0, "u": 100},
    )
    scores = build(cfg, ds, fw).stage("scores")
    x = read(oracle_dir / "norm_n_minmax_0_100.csv").set_index("uCode").loc[scores.index]
    for pillar in groups:
        kids = fw.children[pillar]
        w = pca[kids].to_numpy()
        np.testing.assert_allclose(scores[pillar], x[kids].to_numpy() @ w / w.sum(), rtol=1e-12)
