"""Full results table (COINr get_results(tab_type = "Full")) on COINr's pipeline A1 outputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

from index import framework as fwmod
from index.analysis.results_table import results_table
from index.errors import InputError

KW = dict(keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def a1(oracle_dir):
    scores = pd.read_csv(oracle_dir / "pipe_A1_minmax_amean_scores.csv", **KW).set_index("uCode")
    ranks = pd.read_csv(oracle_dir / "pipe_A1_minmax_amean_ranks.csv", **KW).set_index("uCode")
    lin = pd.read_csv(oracle_dir / "input_lineage.csv", **KW)
    parent = {}
    for _, row in lin.iterrows():
        parent[row["Indicator"]] = row["Pillar"]
        parent[row["Pillar"]] = row["Sub-index"]
        parent[row["Sub-index"]] = row["Index"]
    parent["Index"] = None
    fw = fwmod.from_table({"code": c, "parent": p} for c, p in parent.items())
    groups = pd.read_csv(oracle_dir / "input_iData.csv", **KW).set_index("uCode")["EurAsia_group"]
    return scores, ranks, fw, groups


def test_full_table_scores_and_ranks_match_coinr(a1):
    scores, ranks, fw, groups = a1
    t = results_table(scores, fw)
    assert list(t.columns[:4]) == ["Rank", "Index", "Conn", "Sust"]
    assert set(t.columns[4:12]) == {
        "Physical",
        "ConEcFin",
        "Political",
        "Instit",
        "P2P",
        "Environ",
        "Social",
        "SusEcFin",
    }
    assert list(t.columns[12:]) == [c for c in scores.columns if c not in ranks.columns]
    assert t["Index"].is_monotonic_decreasing
    np.testing.assert_array_equal(t["Rank"], ranks.loc[t.index, "Index"])
    r = results_table(scores, fw, use="ranks")
    np.testing.assert_array_equal(r[ranks.columns].to_numpy(), ranks.loc[r.index].to_numpy())
    assert r.index[0] == ranks["Index"].idxmin()


def test_group_ranks(a1):
    scores, _, fw, groups = a1
    g = results_table(scores, fw, use="groupranks", groups=groups)
    assert g.columns[0] == "EurAsia_group" and g["EurAsia_group"].is_monotonic_increasing
    for _, part in scores.groupby(groups):
        expected = rankdata(-part["Index"], method="min")
        np.testing.assert_array_equal(g.loc[part.index, "Index"], expected)
    assert (g.groupby("EurAsia_group")["Index"].min() == 1).all()
    with pytest.raises(InputError, match="groupranks"):
        results_table(scores, fw, use="groupranks")
    with pytest.raises(InputError, match="order_by"):
        results_table(scores, fw, order_by="Nope")
