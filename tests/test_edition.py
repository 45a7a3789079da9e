"""The default edition: missing-data policy, target normalisation, derived values, its audit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index import framework as fwmod
from index.analysis import audit as au
from index.config import Config
from index.dataset import Dataset, load_inputs
from index.errors import InputError
from index.methods.normalize import normalise
from index.pipeline import build

ROOT = Path(__file__).resolve().parents[1]
POLICY = {
    "impute": {"method": "latest", "max_gap": 2, "fallback": "worst_grp", "group": "region"},
    "aggregation": {"method": "amean", "dat_thresh": 1.0},
    "treat": {"method": "none"},
}


def framework(config: dict | None = None) -> fwmod.Framework:
    return fwmod.from_dict(
        {
            "index": {"code": "idx"},
            "aggregate": [{"code": "p1", "parent": "idx"}, {"code": "p2", "parent": "idx"}],
            "indicator": [
                {"code": "a", "parent": "p1"},
                {"code": "b", "parent": "p1"},
                {"code": "c", "parent": "p2"},
                {"code": "d", "parent": "p2", "direction": -1},
            ],
            "config": POLICY if config is None else config,
        }
    )


def panel(values: dict[tuple[int, str, str], float], groups: dict[str, str]) -> Dataset:
    rows = [
        {"year": y, "region_code": u, "indicator": s, "value": v} for (y, u, s), v in values.items()
    ]
    ds = Dataset.from_long(pd.DataFrame(rows))
    units = ds.units.assign(region=[groups.get(c) for c in ds.unit_codes])
    return Dataset(ds.values, ds.years, ds.unit_codes, ds.series, units)


def full(years=(2023, 2024), units="uvwxyz", seed=0) -> dict:
    rng = np.random.default_rng(seed)
    return {(y, u, s): float(rng.uniform(10, 100)) for y in years for u in units for s in "abcd"}


GROUPS = dict(zip("uvwxyz", ["E", "E", "E", "W", "W", "W"], strict=True))


def test_a_series_missing_in_every_year_gets_the_weakest_group_value_flagged():
    vals = full()
    for y in (2023, 2024):
        del vals[(y, "x", "a")]  # never published for x (a western unit), like Tibet's IT revenue
    b = build(Config(), panel(vals, GROUPS), framework())
    a24 = b.stage("imputed", 2024)["a"]
    west = [vals[(2024, u, "a")] for u in "yz"]
    assert a24["x"] == min(west)  # the weakest reporting peer of its group, not a mean
    assert b.stage("flags", 2024).loc["x", "a"] == "worst_grp"
    assert (b.stage("flags", 2024).drop(index="x") == "").all().all()
    # the pillar is the mean of BOTH indicators (dat_thresh = 1), never of the one it has
    s = b.stage("scores", 2024)
    assert s.loc["x", "p1"] == pytest.approx((s.loc["x", "a"] + s.loc["x", "b"]) / 2)


def test_direction_minus_one_fills_the_group_maximum():
    vals = full()
    del vals[(2024, "v", "d")]
    del vals[(2023, "v", "d")]
    b = build(Config(), panel(vals, GROUPS), framework())
    assert b.stage("imputed", 2024).loc["v", "d"] == max(vals[(2024, u, "d")] for u in "uw")


def test_own_series_first_within_the_gap():
    vals = full(years=(2021, 2022, 2023, 2024))
    del vals[(2024, "u", "c")]
    del vals[(2023, "u", "c")]
    b = build(Config(), panel(vals, GROUPS), framework())
    assert b.stage("imputed", 2024).loc["u", "c"] == vals[(2022, "u", "c")]
    assert b.stage("flags", 2024).loc["u", "c"] == "latest"
    # three years away is beyond max_gap = 2: the group rule takes over
    del vals[(2022, "u", "c")]
    b = build(Config(), panel(vals, GROUPS), framework())
    assert b.stage("flags", 2024).loc["u", "c"] == "worst_grp"


def test_a_gap_nobody_in_the_group_can_fill_leaves_the_pillar_missing_and_flagged():
    vals = full()
    for y in (2023, 2024):
        for u in "xyz":
            del vals[(y, u, "b")]
    b = build(Config(), panel(vals, GROUPS), framework())
    s = b.stage("scores", 2024)
    assert s.loc[list("xyz"), "p1"].isna().all() and s.loc[list("xyz"), "idx"].isna().all()
    assert (b.stage("flags", 2024).loc[list("xyz"), "b"] == "missing").all()
    assert b.ranking(2024).loc[list("xyz"), "rank"].isna().all()  # unranked, not ranked high
    counts = b.scores_long.query("year == 2024 and code == 'idx'").set_index("region_code")
    assert counts.loc["x", "n_imputed"] == 1 and counts.loc["u", "n_imputed"] == 0


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(list("uvwxyz")), st.sampled_from(list("abc")))
def test_a_gap_never_ranks_a_unit_above_its_reported_value(seed, unit, code):
    """Property: wherever the true value is at least the weakest reported value of the unit's
    group, hiding it (a gap filled by the policy) never improves the unit's rank."""
    vals = full(seed=seed)
    peers = [u for u, g in GROUPS.items() if g == GROUPS[unit] and u != unit]
    if vals[(2024, unit, code)] < min(vals[(2024, u, code)] for u in peers):
        return
    truth = build(Config(), panel(vals, GROUPS), framework()).ranking(2024)
    gap = dict(vals)
    del gap[(2024, unit, code)], gap[(2023, unit, code)]
    hidden = build(Config(), panel(gap, GROUPS), framework()).ranking(2024)
    assert hidden.loc[unit, "rank"] >= truth.loc[unit, "rank"]


def test_target_ratio_hand_worked():
    x = np.array([[10.0, 2.0], [5.0, 4.0], [0.0, 8.0]])
    np.testing.assert_array_equal(
        normalise(x, "target", targets=[20, 4], directions=[1, 1]),
        [[50, 50], [25, 100], [0, 200]],
    )
    np.testing.assert_array_equal(
        normalise(x, "target", targets=[20, 4], directions=[1, 1], cap=True)[:, 1], [50, 100, 100]
    )
    np.testing.assert_array_equal(
        normalise(x, "target", directions=[1, 1], basis="leader", growth=1.25),
        [[80, 20], [40, 40], [0, 80]],
    )
    with pytest.raises(InputError, match="direction −1"):
        normalise(x, "target", targets=[20, 4], directions=[1, -1])
    with pytest.raises(InputError, match="no target in the framework"):
        normalise(x, "target", targets=[20, np.nan], directions=[1, 1])


def test_target_in_the_pipeline_uses_the_framework_targets_and_the_reference_year():
    fw = fwmod.from_dict(
        {
            "index": {"code": "idx"},
            "indicator": [
                {"code": "a", "parent": "idx", "target": 200.0},
                {"code": "b", "parent": "idx", "target": 50.0},
            ],
        }
    )
    vals = {(y, u, s): v for (y, u, s), v in full(units="uvw").items() if s in "ab"}
    ds = panel(vals, {})
    cfg = Config(treat={"method": "none"}, normalise={"method": "target"})
    b = build(cfg, ds, fw)
    np.testing.assert_allclose(
        b.stage("normalised", 2024)["a"], b.stage("raw", 2024)["a"] / 200 * 100, rtol=1e-15
    )
    ref = build(
        Config(
            treat={"method": "none"},
            normalise={"method": "target", "basis": "leader", "growth": 2, "panel": 2023},
        ),
        ds,
        fw,
    )
    lead = b.stage("raw", 2023)["b"].max() * 2
    np.testing.assert_allclose(
        ref.stage("normalised", 2024)["b"], b.stage("raw", 2024)["b"] / lead * 100, rtol=1e-15
    )


def test_fill_from_and_complement_are_flagged_derivations():
    fw = fwmod.from_dict(
        {
            "index": {"code": "idx"},
            "indicator": [
                {
                    "code": "rd",
                    "parent": "idx",
                    "fill_from": {"series": "intensity", "times": "gdp", "scale": 0.01},
                },
                {
                    "code": "green",
                    "parent": "idx",
                    "series": "thermal",
                    "denominator": "total",
                    "complement": True,
                    "scale": 100,
                },
            ],
        }
    )
    vals = {}
    for y in (2023, 2024):
        for k, u in enumerate("uvw"):
            vals |= {(y, u, "intensity"): 2.0 + k, (y, u, "gdp"): 100.0 * (k + 1)}
            vals |= {(y, u, "thermal"): 30.0 + k, (y, u, "total"): 60.0}
            if u != "v":
                vals[(y, u, "rd")] = 1.5 + k
    b = build(Config(treat={"method": "none"}), panel(vals, {}), fw)
    d = b.stage("denominated", 2024)
    assert d.loc["v", "rd"] == pytest.approx(3.0 * 200 * 0.01)  # intensity × GDP × 0.01
    assert d.loc["u", "rd"] == 1.5  # published values are kept
    assert d.loc["w", "green"] == pytest.approx(100 * (1 - 32 / 60))
    assert b.stage("flags", 2024).loc["v", "rd"] == "derived"


# ---- the bundled default edition ------------------------------------------------------------
@pytest.fixture(scope="module")
def edition(bundled_inputs):
    return build(Config(), load_inputs(bundled_inputs))


def test_default_edition_is_scale_first_and_sees_the_hubs(edition):
    fw = edition.framework
    assert not any(i.denominator for i in fw.indicators if i.code != "nonthermal_share")
    assert {"dc_clusters", "hub_node"} <= set(fw.indicator_codes)
    assert edition.config.impute.fallback == "worst_grp"  # the framework's policy is in force
    assert edition.years[-1] == 2024


def test_tibet_gap_is_filled_with_the_weakest_western_value_and_flagged(edition):
    flags = edition.stage("flags", 2024)
    assert flags.loc["54", "it_service_revenue"] == "worst_grp"
    west = [c for c, g in edition.dataset.units["nbs_region"].items() if g.startswith("西部")]
    raw = edition.stage("raw", 2024)["it_service_revenue"]
    assert edition.stage("imputed", 2024).loc["54", "it_service_revenue"] == raw[west].min()
    assert (flags.drop(index="54") == "").all().all()  # nothing else is filled in 2024
    assert (edition.stage("flags", 2023)["rd_expenditure"] == "derived").sum() == 19


def test_default_edition_audit(edition):
    """α ≥ 0.6 in every pillar but 环境 (documented exception) and no indicator negatively
    correlated with its own pillar (methodology.md § "The audit of the default edition")."""
    s = edition.stage("scores", 2024)
    fw = edition.framework
    for pillar in fw.children[fw.root.code]:
        kids = fw.children[pillar]
        for k in kids:
            assert np.corrcoef(s[k], s[pillar])[0, 1] > 0, (pillar, k)
        alpha = au.cronbach_alpha(s[kids])
        if pillar == "environment":
            assert alpha < 0.6 and au.cronbach_alpha(s[kids].drop(columns="nonthermal_share")) > 0.6
        else:
            assert alpha >= 0.6, pillar
    text = (ROOT / "methodology.md").read_text(encoding="utf-8")
    assert "The one exception to α ≥ 0.6 is 环境" in text
