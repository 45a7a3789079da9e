"""A year's result does not depend on which other years a build covers: the panel imputers
(``latest``, ``linear``) read the dataset's whole panel, then the build's years are cut."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _prep_oracle import assert_close, read
from hypothesis import given, settings
from hypothesis import strategies as st

from index import framework as fwmod
from index.analysis.claims import Rescorer
from index.analysis.uncertainty import build_evaluator
from index.coinr import dataset_from_idata
from index.config import Config
from index.dataset import Dataset, load_inputs
from index.errors import InputError
from index.methods import impute as im
from index.pipeline import build

UNITS = "uvwxyz"
GROUPS = dict(zip(UNITS, "EEEWWW", strict=True))


def framework(impute: dict) -> fwmod.Framework:
    return fwmod.from_dict(
        {
            "index": {"code": "idx"},
            "aggregate": [{"code": "p1", "parent": "idx"}, {"code": "p2", "parent": "idx"}],
            "indicator": [
                {"code": "a", "parent": "p1"},
                {"code": "b", "parent": "p1"},
                {"code": "c", "parent": "p2", "direction": -1},
            ],
            "config": {"impute": impute, "treat": {"method": "none"}},
        }
    )


def panel(values: dict[tuple[int, str, str], float]) -> Dataset:
    rows = [
        {"year": y, "region_code": u, "indicator": s, "value": v} for (y, u, s), v in values.items()
    ]
    ds = Dataset.from_long(pd.DataFrame(rows))
    units = ds.units.assign(region=[GROUPS[c] for c in ds.unit_codes])
    return Dataset(ds.values, ds.years, ds.unit_codes, ds.series, units)


def same_year(a, b, year: int) -> None:
    """Every per-year output of ``year`` is identical in the two builds."""
    for name in ("imputed", "flags", "scores", "ranks"):
        pd.testing.assert_frame_equal(a.stage(name, year), b.stage(name, year), obj=name)
    if a.config.impute.method != "linear":
        pd.testing.assert_frame_equal(a.imputed_from(year), b.imputed_from(year))
    pick = ["region_code", "code", "score", "rank", "value", "imputed", "n_imputed"]
    la = a.scores_long.query("year == @year")[pick].reset_index(drop=True)
    lb = b.scores_long.query("year == @year")[pick].reset_index(drop=True)
    pd.testing.assert_frame_equal(la, lb)


# ---- the bundled default edition ------------------------------------------------------------
@pytest.fixture(scope="module")
def edition(bundled_inputs):
    ds = load_inputs(bundled_inputs)
    return ds, build(Config(), ds)


def test_each_edition_year_alone_equals_the_edition(edition):
    ds, full = edition
    assert full.years == (2021, 2022, 2023, 2024)  # covered_years: unchanged by the panel
    assert ds.years[0] < full.years[0]  # the panel reaches before the edition
    for year in full.years:
        same_year(build(Config(years=[year]), ds), full, year)
    pair = build(Config(years=[2021, 2024]), ds)
    same_year(pair, full, 2021)
    same_year(pair, full, 2024)


def test_the_2021_designation_gap_carries_2020_forward(edition):
    """贵州 has no 2021 dc_clusters value (no stored source dates its cluster letter): the last
    observation before it (2020, one year, within max_gap = 2) is carried, not the 2022 one the
    2021–2024 cut used to back-fill. 甘肃's 2021 value is reported (S287) and used as such."""
    ds, full = edition
    raw = ds.values[ds.years.index(2020)][:, ds.series.index("dc_clusters")]
    assert np.isnan(full.stage("raw", 2021).loc["52", "dc_clusters"])
    assert full.stage("flags", 2021).loc["52", "dc_clusters"] == "latest"
    assert full.imputed_from(2021).loc["52", "dc_clusters"] == 2020
    before = raw[ds.unit_codes.index("52")]
    assert full.stage("imputed", 2021).loc["52", "dc_clusters"] == before == 0
    assert full.stage("raw", 2021).loc["62", "dc_clusters"] == 1
    assert full.stage("flags", 2021).loc["62", "dc_clusters"] != "latest"
    other = full.imputed_from(2021).drop(index=["52"])
    assert other.isna().all().all()  # 西藏's IT revenue is worst_grp: no source year
    assert full.stage("flags", 2021).loc["54", "it_service_revenue"] == "worst_grp"


def test_uncertainty_and_rescoring_of_a_year_subset_equal_the_build(edition):
    ds, full = edition
    one = build(Config(years=[2021]), ds)
    nominal = full.stage("scores", 2021)[full.framework.root.code].to_numpy()
    ranks = full.stage("ranks", 2021)[full.framework.root.code].to_numpy()
    for ev in (build_evaluator(one), build_evaluator(full, year=2021)):
        # the evaluator's one-product form of a linear tree: equal to rounding (as test_uncertainty)
        np.testing.assert_allclose(ev.nominal_scores, nominal, rtol=1e-13)
        np.testing.assert_array_equal(ev.nominal_ranks, ranks)
    r = Rescorer(one, 0)
    np.testing.assert_allclose(r.scores(r.base), nominal, rtol=1e-13)


# ---- synthetic panels: the panel imputers -----------------------------------------------------
YEARS = tuple(range(2016, 2023))
METHODS = [
    {"method": "latest"},
    {"method": "latest", "backfill": False, "fallback": "mean"},
    {"method": "latest", "max_gap": 1, "fallback": "worst_grp", "group": "region"},
    {"method": "linear", "fallback": "median"},
]


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 2**31),
    st.sampled_from(METHODS),
    st.sets(st.sampled_from(YEARS), min_size=1, max_size=len(YEARS)),
)
def test_a_year_alone_equals_the_year_in_a_longer_build(seed, impute, chosen):
    """Property: for any gaps in the two units u, v (the other four always report, so every year
    can be normalised), any panel imputer and any subset of years, each built year's imputed
    values, flags, source years, scores and ranks equal those of the build over every year."""
    rng = np.random.default_rng(seed)
    vals = {(y, u, s): float(rng.uniform(1, 100)) for y in YEARS for u in UNITS for s in "abc"}
    for key in [k for k in vals if k[1] in "uv" and rng.random() < 0.4]:
        del vals[key]
    ds, fw = panel(vals), framework(impute)
    full = build(Config(years=list(YEARS)), ds, fw)
    part = build(Config(years=sorted(chosen)), ds, fw)
    for year in chosen:
        same_year(part, full, year)


def hand_panel() -> dict:
    vals = {(y, u, s): 10.0 + k for y in (2019, 2020, 2021, 2022) for k, u in enumerate(UNITS)
            for s in "abc"}  # fmt: skip
    vals[(2020, "u", "c")] = 5.0
    vals[(2022, "u", "c")] = 9.0
    del vals[(2021, "u", "c")]
    return vals


def test_a_gap_in_the_first_build_year_is_filled_from_the_year_before():
    """Hand case: u has no 2021 value of c; the build covers 2021–2022 only. The policy carries
    2020's 5 (the last observation before 2021), not 2022's 9 back-filled, and says so."""
    fw = framework({"method": "latest", "max_gap": 2, "fallback": "worst_grp", "group": "region"})
    b = build(Config(years=[2021, 2022]), panel(hand_panel()), fw)
    assert b.stage("imputed", 2021).loc["u", "c"] == 5.0
    assert b.stage("flags", 2021).loc["u", "c"] == "latest"
    assert b.imputed_from(2021).loc["u", "c"] == 2020
    assert b.imputed_from(2021).drop(index="u").isna().all().all()
    assert b.imputed_from(2022).isna().all().all()  # nothing imputed in 2022
    counts = b.imputed_counts()[0, UNITS.index("u")]
    assert counts[fw.codes.index("c")] == 1 and counts[fw.codes.index("idx")] == 1
    row = b.scores_long.query("year == 2021 and region_code == 'u' and code == 'c'").iloc[0]
    assert (row["value"], row["imputed"], row["n_imputed"]) == (5.0, "latest", 1)
    # linear interpolates 2020 → 2022 across the cut: 7, and has no single source year
    lin = build(Config(years=[2021, 2022]), panel(hand_panel()), framework({"method": "linear"}))
    assert lin.stage("imputed", 2021).loc["u", "c"] == 7.0
    with pytest.raises(InputError, match="no single source year"):
        lin.imputed_from(2021)


def test_max_gap_counts_years_of_the_panel():
    """max_gap = 2 reaches 2019 from 2021 (two years before the build's only year), not 2018;
    and it counts calendar years, so a year absent from the data still counts."""
    fw = framework({"method": "latest", "max_gap": 2, "fallback": "worst_grp", "group": "region"})
    vals = hand_panel()
    del vals[(2020, "u", "c")], vals[(2022, "u", "c")]
    vals[(2019, "u", "c")] = 3.0
    b = build(Config(years=[2021]), panel(vals), fw)
    assert b.stage("imputed", 2021).loc["u", "c"] == 3.0
    assert b.imputed_from(2021).loc["u", "c"] == 2019
    gone = {k: v for k, v in vals.items() if k[0] != 2020}  # years 2019, 2021, 2022: 2020 absent
    del gone[(2019, "u", "c")]
    gone |= {(2018, u, s): 1.0 + k for k, u in enumerate(UNITS) for s in "abc"}
    b = build(Config(years=[2021]), panel(gone), fw)
    assert b.dataset.whole.years == (2018, 2019, 2021, 2022)
    assert b.stage("flags", 2021).loc["u", "c"] == "worst_grp"  # 2018 is 3 years back
    x = np.array([1.0, np.nan, np.nan])[:, None, None]
    assert np.isnan(im.latest(x, max_gap=2, backfill=False, times=[2018, 2019, 2021])[2, 0, 0])
    assert im.latest(x, max_gap=2, backfill=False)[2, 0, 0] == 1.0  # positions: COINr time points
    with pytest.raises(InputError, match="increasing"):
        im.latest_source(x, times=[2018, 2018, 2021])


def test_cross_sectional_imputation_stays_within_the_year():
    """mean, median, worst_grp, knn, … are per year: the whole panel does not enter them."""
    vals = hand_panel()
    ds = panel(vals)
    for impute in ({"method": "mean"}, {"method": "worst_grp", "group": "region"}):
        b = build(Config(years=[2021]), ds, framework(impute))
        x = ds.subset_years([2021]).select(["c"])[0, :, 0]
        got = b.stage("imputed", 2021).loc["u", "c"]
        expected = np.nanmean(x) if impute["method"] == "mean" else np.nanmax(x[:3])
        assert got == expected  # direction −1: the group's maximum is its worst
        assert b.imputed_from(2021).isna().all().all()


# ---- COINr DataT ------------------------------------------------------------------------------
@pytest.mark.parametrize("years", [[2018, 2019, 2020, 2021, 2022], [2020], [2019, 2022]])
def test_imputed_from_is_coinr_datat(oracle_dir, years):
    """COINr ``impute_panel(imp_type = "latest")`` on the ASEM panel with 358 cells blanked:
    values and ``DataT`` (the year each value came from). Whatever years are built, the source
    year of every ``latest`` cell is DataT, observed cells are their own year in DataT, and
    DataT is NaN exactly where the value is still missing."""
    imeta = read(oracle_dir, "input_iMeta.csv")
    fw = fwmod.from_dict(
        {
            "index": {"code": "idx"},
            "indicator": [
                {"code": c, "parent": "idx"} for c in imeta.loc[imeta.Level == 1, "iCode"]
            ],
        }
    )
    ds = dataset_from_idata(read(oracle_dir, "panel_impute_input_maskA.csv"), imeta)
    cfg = Config.model_validate(
        {
            "years": years,
            "denominate": False,
            "impute": {"method": "latest", "backfill": False},
            "treat": {"method": "none"},
        }
    )
    b = build(cfg, ds, fw)
    datat = read(oracle_dir, "panel_impute_A_latest_DataT.csv").set_index(["Time", "uCode"])
    values = read(oracle_dir, "panel_impute_A_latest.csv").set_index(["Time", "uCode"])
    codes = list(fw.indicator_codes)
    n_latest = 0
    for y in years:
        ref_t = datat.loc[y].loc[list(ds.unit_codes), codes]
        flags = b.stage("flags", y)
        got = b.imputed_from(y)
        filled = (flags == "latest").to_numpy()
        n_latest += filled.sum()
        np.testing.assert_array_equal(got.to_numpy()[filled], ref_t.to_numpy()[filled])
        assert np.isnan(got.to_numpy()[~filled]).all()
        observed = (flags == "").to_numpy()
        assert (ref_t.to_numpy()[observed] == y).all()
        np.testing.assert_array_equal(ref_t.isna().to_numpy(), (flags == "missing").to_numpy())
        ref_v = values.loc[y].loc[list(ds.unit_codes), codes].to_numpy(float)
        assert_close(b.stage("imputed", y).to_numpy(), ref_v)
    assert n_latest > 0
