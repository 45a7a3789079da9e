"""load_coinr reads iMeta goalposts: COINr's n_goalposts("use_iMeta") oracle through the pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _prep_oracle import assert_close

from index.coinr import load_coinr
from index.config import Config
from index.errors import InputError
from index.pipeline import build


def _imeta_with_posts(oracle_dir, tmp_path, **extra):
    meta = pd.read_csv(oracle_dir / "input_iMeta.csv", keep_default_na=False, na_values=[""])
    posts = pd.read_csv(oracle_dir / "goalposts_used.csv")[
        ["iCode", "goalpost_lower", "goalpost_upper"]
    ]
    meta = meta.merge(posts, on="iCode", how="left")
    for col, values in extra.items():
        meta[col] = values
    path = tmp_path / "iMeta.csv"
    meta.to_csv(path, index=False)
    return path


def test_goalposts_from_imeta_reproduce_coinr(oracle_dir, tmp_path):
    fw, ds = load_coinr(oracle_dir / "input_iData.csv", _imeta_with_posts(oracle_dir, tmp_path))
    posts = pd.read_csv(oracle_dir / "goalposts_used.csv").set_index("iCode")
    lpi = fw.node("LPI")
    assert lpi.goalposts == (posts.at["LPI", "goalpost_lower"], posts.at["LPI", "goalpost_upper"])
    cfg = Config.model_validate(
        {
            "denominate": False,
            "treat": {"method": "none"},
            "normalise": {"method": "goalposts", "scale": 100.0},
        }
    )
    b = build(cfg, ds, fw)
    got = b.stage("scores")
    ref = pd.read_csv(
        oracle_dir / "goalposts_trunc_amean_scores.csv", keep_default_na=False, na_values=[""]
    ).set_index("uCode")
    assert_close(got[ref.columns].to_numpy(), ref.to_numpy(float))
    assert np.isfinite(ref.to_numpy(float)).sum() > 1000


def test_inconsistent_goalpost_settings_are_errors(oracle_dir, tmp_path):
    meta = pd.read_csv(oracle_dir / "input_iMeta.csv", keep_default_na=False, na_values=[""])
    scale = np.where(meta["iCode"] == "LPI", 10.0, 100.0)
    with pytest.raises(InputError, match="goalpost_scale.*normalise.scale"):
        load_coinr(
            oracle_dir / "input_iData.csv",
            _imeta_with_posts(oracle_dir, tmp_path, goalpost_scale=scale),
        )
    half = meta.copy()
    half["goalpost_lower"] = np.where(half["iCode"] == "LPI", 1.0, np.nan)
    path = tmp_path / "half.csv"
    half.to_csv(path, index=False)
    lpi = int(np.nonzero(meta["iCode"] == "LPI")[0][0]) + 2  # its CSV line
    msg = f"half.csv:{lpi}:goalpost_upper: give both goalpost_lower and goalpost_upper or neither"
    with pytest.raises(InputError, match=msg):
        load_coinr(oracle_dir / "input_iData.csv", path)


def test_one_goalpost_scale_and_trunc_for_all_are_used(oracle_dir, tmp_path):
    """goalpost_scale = 1 and goalpost_trunc2posts = FALSE on every row: the goalposts build
    without scale/trunc in the config is the scale-1, untruncated one; the config's own win."""
    plain, ds = load_coinr(oracle_dir / "input_iData.csv", _imeta_with_posts(oracle_dir, tmp_path))
    fw, _ = load_coinr(
        oracle_dir / "input_iData.csv",
        _imeta_with_posts(oracle_dir, tmp_path, goalpost_scale=1.0, goalpost_trunc2posts="FALSE"),
    )
    assert fw.config == {
        "normalise": {"method_defaults": {"goalposts": {"scale": 1.0, "trunc": False}}}
    }

    def normalised(f, **params):
        cfg = Config.model_validate(
            {"denominate": False, "treat": {"method": "none"},
             "normalise": {"method": "goalposts", **params}}
        )  # fmt: skip
        return build(cfg, ds, f).stages["normalised"]

    untrunc = normalised(plain, scale=1.0, trunc=False)
    assert (untrunc > 1).any()  # truncation would change it
    np.testing.assert_array_equal(normalised(fw), untrunc)
    np.testing.assert_array_equal(normalised(fw, scale=100.0, trunc=True), normalised(plain))


def test_a_frameworks_method_defaults_never_block_another_method(oracle_dir, tmp_path):
    """A framework read from an iMeta with goalpost_scale/trunc2posts carries defaults for
    goalposts; a min-max build, its rebuilds and its overrides use and refuse nothing of them
    (the reviewer's case: they must not count as the user's settings)."""
    fw, ds = load_coinr(
        oracle_dir / "input_iData.csv",
        _imeta_with_posts(oracle_dir, tmp_path, goalpost_scale=1.0, goalpost_trunc2posts="FALSE"),
    )
    cfg = Config.model_validate({"denominate": False, "normalise": {"method": "minmax"}})
    b = build(cfg, ds, fw)
    assert b.rebuild().config.normalise.method_defaults == fw.config["normalise"]["method_defaults"]
    b.rebuild("weighting=equal")
    with pytest.raises(InputError, match=r"method_defaults.dist2targ.cap: changes nothing"):
        b.rebuild("normalise.method_defaults.dist2targ.cap=true")
