"""Replay of COINr's exported 1,000-run uncertainty analysis of its ASEM example (../shared/oracle/coinr).

The design file names, per run, the alternative of each input: Winmax 1..5, normalisation
(min-max onto [1, 100] or z-score with mean 10 and sd 2), one of 100 noisy weight sets and the
aggregation (arithmetic or geometric mean). The example pipeline is denominate → impute the group
mean by EurAsia_group → (Screen byNA at 0.9, which removes nobody) → Winsorise → normalise →
aggregate. The nominal run is Winmax 5, min-max onto [0, 100], arithmetic mean, original weights.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from index.analysis import spec as sp
from index.analysis.uncertainty import Evaluator
from index.coinr import load_coinr
from index.config import Config

BASE = Config.model_validate(
    {
        "impute": {"method": "mean_grp", "group": "EurAsia_group"},
        "treat": {"method": "winsorise", "winmax": 5},
        "normalise": {"method": "minmax", "l": 0, "u": 100},
        "aggregation": {"method": "amean"},
    }
)
RUNS = [f"r_{i}" for i in range(1, 1001)]


def read(path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def replay(oracle_dir):
    fw, ds = load_coinr(oracle_dir / "input_iData.csv", oracle_dir / "input_iMeta.csv")
    sets = read(oracle_dir / "ua_noisy_weights_100sets.csv")
    # one weight per node and set, every level (levels 1 and 4 stay 1; 2 and 3 are noisy)
    table = sets.pivot(index="set", columns="iCode", values="Weight").loc[:, fw.codes]
    design = sp.Design(
        (
            sp.config_factor("Winmax", "treat.winmax", [1, 2, 3, 4, 5], BASE),
            sp.config_factor(
                "Normalisation",
                "normalise",
                [{"method": "minmax", "l": 1, "u": 100}, {"method": "zscore", "m": 10, "s": 2}],
                BASE,
            ),
            sp.weight_sets("Weights", fw, table.to_numpy()),
            sp.config_factor("Aggregation", "aggregation.method", ["amean", "gmean"], BASE),
        )
    )
    plan = read(oracle_dir / "ua_N1000_design.csv")
    cols = ["Winmax_index", "Normalisation_index", "Weights_index", "Aggregation_index"]
    alts = plan[cols].to_numpy() - 1  # R's 1-based indices
    ev = Evaluator(BASE, ds, fw, design)
    out = ev.run(alts, keep_ranks=True, keep_scores=True, progress=False)
    return out, list(ds.unit_codes), plan, sets, table


def test_design_is_the_documented_one(replay):
    _, _, plan, sets, table = replay
    assert len(plan) == 1000 and sets["set"].nunique() == 100
    assert set(plan["Normalisation_f_n"]) == {"n_minmax", "n_zscore"}
    assert set(plan["Aggregation"]) == {"a_amean", "a_gmean"}
    noisy = sets.groupby("Level")["Weight"].agg(["min", "max"])
    assert (noisy.loc[[1, 4]] == 1.0).all().all()  # only levels 2 and 3 carry noise
    assert noisy.loc[2, "min"] >= 0.75 and noisy.loc[3, "max"] <= 1.25
    assert not table.isna().any().any()


def test_scores_per_run(replay, oracle_dir):
    out, units, _, _, _ = replay
    ref = read(oracle_dir / "ua_N1000_scores_per_run.csv").set_index("uCode").loc[units]
    expected = ref[RUNS].to_numpy().T
    assert np.isfinite(out.scores).all()
    rel = np.abs(out.scores - expected) / np.abs(expected)
    assert rel.max() < 1e-9, rel.max()
    np.testing.assert_allclose(out.nominal_scores, ref["Nominal"], rtol=1e-9)


def test_ranks_per_run_exact(replay, oracle_dir):
    out, units, _, _, _ = replay
    ref = read(oracle_dir / "ua_N1000_ranks_per_run.csv").set_index("uCode").loc[units]
    np.testing.assert_array_equal(out.ranks, ref[RUNS].to_numpy().T)
    np.testing.assert_array_equal(out.nominal_ranks, ref["Nominal"])


def test_rank_statistics_exact(replay, oracle_dir):
    out, units, _, _, _ = replay
    ref = read(oracle_dir / "ua_N1000_rankstats.csv").set_index("uCode").loc[units]
    ours = out.table().set_index("region_code")
    for col, theirs in [
        ("nominal", "Nominal"),
        ("mean", "Mean"),
        ("median", "Median"),
        ("q05", "Q5"),
        ("q95", "Q95"),
    ]:
        np.testing.assert_array_equal(ours[col].to_numpy(), ref[theirs].to_numpy(), err_msg=col)


def test_nominal_exact(replay, oracle_dir):
    out, units, _, _, _ = replay
    ref = read(oracle_dir / "ua_N1000_nominal.csv").set_index("uCode").loc[units]
    np.testing.assert_allclose(out.nominal_scores, ref["Score"], rtol=1e-9)
    np.testing.assert_array_equal(out.nominal_ranks, ref["Rank"])
