"""The pipeline: stage views, replay with overrides, batch = single run, readable errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from index import framework as fwmod
from index.config import Config
from index.dataset import Dataset
from index.errors import InputError
from index.pipeline import (
    NegativeWeightWarning,
    _unit_position,
    aggregate_tree,
    build,
)

FW = fwmod.from_dict(
    {
        "index": {"code": "idx", "name_zh": "指数", "name_en": "Index"},
        "aggregate": [
            {"code": "p1", "parent": "idx"},
            {"code": "p2", "parent": "idx", "weight": 3},
        ],
        "indicator": [
            {"code": "a", "parent": "p1"},
            {"code": "b", "parent": "p1", "direction": -1},
            {"code": "c", "parent": "p2", "series": "cc", "denominator": "pop", "scale": 10},
            {"code": "d", "parent": "p2"},
        ],
    }
)


def dataset(seed: int = 0, years=(2022, 2023), n_units: int = 7) -> Dataset:
    rng = np.random.default_rng(seed)
    rows = [
        {"year": y, "region_code": f"u{k}", "indicator": s, "value": float(rng.uniform(1, 100))}
        for y in years
        for k in range(n_units)
        for s in ("a", "b", "cc", "d", "pop")
    ]
    return Dataset.from_long(pd.DataFrame(rows))


PLAIN = Config.model_validate({"treat": {"method": "none"}})


def test_hand_computed_scores():
    ds = dataset()
    b = build(PLAIN, ds, FW)
    raw = b.stage("raw", 2023)
    c = ds.select(["cc"])[1, :, 0] / ds.select(["pop"])[1, :, 0] * 10
    np.testing.assert_allclose(b.stage("denominated", 2023)["c"], c)

    def mm(v):
        return (v - v.min()) / (v.max() - v.min()) * 100

    n = pd.DataFrame({"a": mm(raw["a"]), "b": mm(-raw["b"]), "c": mm(c), "d": mm(raw["d"])})
    p1, p2 = (n["a"] + n["b"]) / 2, (n["c"] + n["d"]) / 2
    np.testing.assert_allclose(b.stage("scores", 2023)["idx"], (p1 + 3 * p2) / 4)
    ranking = b.ranking(2023)
    assert list(ranking["rank"]) == sorted(ranking["rank"])
    assert ranking.columns[:4].tolist() == ["name_zh", "name_en", "score", "rank"]


def test_rebuild_regenerates_downstream():
    b = build(PLAIN, dataset(), FW)
    b2 = b.rebuild("weighting=equal")
    assert b2.config.overrides == ["weighting=equal"]
    np.testing.assert_array_equal(b2.stages["normalised"], b.stages["normalised"])
    s = b2.stage("scores")
    np.testing.assert_allclose(s["idx"], (s["p1"] + s["p2"]) / 2)
    nodes = b2.nodes.set_index("code")
    assert nodes.loc["a", "eff_weight"] == pytest.approx(0.25)


def test_entropy_and_ahp_weights_per_group():
    ds = dataset()
    b = build(PLAIN.with_overrides(["weighting=entropy", "weighting.levels=[1]"]), ds, FW)
    nodes = b.nodes.set_index("code")
    assert nodes.loc[["a", "b"], "weight"].sum() == pytest.approx(1)
    assert nodes.loc["p2", "weight"] == pytest.approx(0.75)  # level 2 keeps the framework weights
    ahp = PLAIN.with_overrides(
        ['weighting={"method": "ahp", "pairwise": {"idx": [[1, 3], [0.3333333333333333, 1]]}}']
    )
    w = build(ahp, ds, FW).nodes.set_index("code")["weight"]
    assert w["p1"] == pytest.approx(0.75) and w["a"] == pytest.approx(0.5)


def test_batch_equals_single_runs():
    b = build(PLAIN, dataset(), FW)
    xn = b.stages["normalised"][-1]
    rng = np.random.default_rng(3)
    weights = rng.uniform(0.5, 1.5, size=(5, len(FW.codes)))
    batch, _ = aggregate_tree(xn, FW, weights)
    for k in range(5):
        single, _ = aggregate_tree(xn[None], FW, weights[k][None])
        np.testing.assert_allclose(batch[k], single[0], rtol=1e-14)


def test_permuting_units_permutes_results():
    ds = dataset()
    perm = np.random.default_rng(1).permutation(len(ds.unit_codes))
    long = ds.long.copy()
    mapping = dict(zip(ds.unit_codes, np.array(ds.unit_codes)[perm], strict=True))
    long["region_code"] = long["region_code"].map(mapping)
    a = build(PLAIN, ds, FW).stage("scores").rename(index=mapping).sort_index()
    b = build(PLAIN, Dataset.from_long(long), FW).stage("scores").sort_index()
    pd.testing.assert_frame_equal(a, b)


def test_effective_weights_multiply_down_the_tree():
    eff = FW.effective_weights()
    assert dict(zip(FW.codes, eff, strict=True)) == pytest.approx(
        {"a": 0.125, "b": 0.125, "c": 0.375, "d": 0.375, "p1": 0.25, "p2": 0.75, "idx": 1}
    )


def test_constant_indicator_is_named():
    ds = dataset()
    long = ds.long.copy()
    long.loc[long["indicator"] == "d", "value"] = 5.0
    with pytest.raises(
        InputError, match=r"<data>:d:year: .* one value for every unit in 2022, 2023"
    ):
        build(PLAIN, Dataset.from_long(long), FW)


def test_years_default_to_covered_and_unknown_year_is_clear():
    ds = dataset(years=(2021, 2022, 2023))
    long = ds.long[~((ds.long["year"] == 2021) & (ds.long["indicator"] == "d"))]
    b = build(PLAIN, Dataset.from_long(long), FW)
    assert b.years == (2022, 2023)
    with pytest.raises(InputError, match="2021 not in data years"):
        b.ranking(2021)
    with pytest.raises(InputError, match="unknown stage"):
        b.stage("nope")


def test_unknown_methods_are_input_errors():
    ds = dataset()
    for item in ("weighting=magic", "normalise=magic", "aggregation=magic", "impute=magic"):
        with pytest.raises(InputError, match="magic"):
            build(PLAIN.with_overrides([item]), ds, FW)


def test_per_indicator_treatment_overrides_by_code():
    ds = dataset()
    long = ds.long.copy()
    outlier = (long["indicator"] == "a") & (long["region_code"] == "u0")
    long.loc[outlier, "value"] = 1e6  # one huge value: fails the skew/kurtosis test
    data = Dataset.from_long(long)
    treated = Config().with_overrides(["treat.winmax=1"])
    b = build(treated, data, FW)
    assert b.stage("treated").loc["u0", "a"] < 1e6
    off = treated.with_overrides(['treat.per_indicator={"a": {"method": "none"}}'])
    assert build(off, data, FW).stage("treated").loc["u0", "a"] == 1e6
    with pytest.raises(InputError, match="unknown indicator"):
        build(treated.with_overrides(['treat.per_indicator={"zz": {}}']), data, FW)


def test_pca_weights_warn_when_negative_and_stop_when_they_cancel():
    fw4 = fwmod.from_dict(
        {
            "index": {"code": "idx"},
            "aggregate": [{"code": "p", "parent": "idx"}],
            "indicator": [{"code": c, "parent": "p"} for c in "abcd"],
        }
    )
    rng = np.random.default_rng(5)
    base = rng.uniform(1, 100, 9)
    cols = {
        "a": base,
        "b": base + rng.normal(0, 5, 9),
        "c": base + rng.normal(0, 5, 9),
        "d": 200 - base,
    }
    long = pd.DataFrame(
        [
            {"year": 2023, "region_code": f"u{k}", "indicator": c, "value": float(v[k])}
            for c, v in cols.items()
            for k in range(9)
        ]
    )
    cfg = PLAIN.with_overrides(["weighting=pca", "weighting.levels=[1]"])
    with pytest.warns(NegativeWeightWarning, match="children of 'p'"):
        build(cfg, Dataset.from_long(long), fw4)
    falls = long["indicator"] == "c"
    long.loc[falls, "value"] = 200 - long.loc[falls, "value"]  # a, b rise; c, d fall: they cancel
    with pytest.raises(InputError, match="nearly cancel out"):
        build(cfg, Dataset.from_long(long), fw4)


def test_group_imputation_leaves_units_without_a_group_missing():
    ds = dataset(n_units=6)
    long = ds.long[~((ds.long["region_code"].isin(["u0", "u3"])) & (ds.long["indicator"] == "a"))]
    units = pd.DataFrame(
        {
            "name_zh": ds.unit_codes,
            "name_en": ds.unit_codes,
            "grp": ["x", "x", "y", None, "y", "x"],
        },
        index=pd.Index(ds.unit_codes, name="unit"),
    )
    data = Dataset.from_long(long, units)
    cfg = PLAIN.with_overrides(["impute=mean_grp", "impute.group=grp"])
    imputed = build(cfg, data, FW).stage("imputed", 2023)
    raw = build(PLAIN, data, FW).stage("raw", 2023)
    assert imputed.loc["u0", "a"] == pytest.approx(raw.loc[["u1", "u5"], "a"].mean())
    assert np.isnan(imputed.loc["u3", "a"])  # no group: nothing to borrow from
    with pytest.raises(InputError, match="impute.group"):
        build(PLAIN.with_overrides(["impute=mean_grp"]), data, FW)


def test_reference_unit_by_code_and_reference_year_errors():
    ds = dataset()
    long = ds.long.copy()
    long["region_code"] = long["region_code"].str.replace("u", "1")  # numeric-looking codes
    data = Dataset.from_long(long)
    assert _unit_position(data, 13) == data.unit_codes.index("13") == 3  # a code, not row 13
    assert _unit_position(data, "15") == 5
    with pytest.raises(InputError, match="unknown unit 'ZZ'"):
        build(PLAIN.with_overrides(["normalise=dist2ref", "normalise.ref=ZZ"]), data, FW)
    with pytest.raises(InputError, match="reference year 2016 is not among"):
        build(PLAIN.with_overrides(["normalise.panel=2016"]), data, FW)


def test_aggregation_errors_name_the_children():
    ds = dataset()
    cfg = PLAIN.with_overrides(["aggregation=gmean"])  # min-max onto [0, 100] has zeros
    with pytest.raises(InputError, match=r"config:p1:aggregation: .*\(a, b\)"):
        build(cfg, ds, FW)


def test_load_inputs_finds_the_checkout_from_a_subfolder(bundled_inputs, tmp_path, monkeypatch):
    from index.dataset import load_inputs

    (tmp_path / "data" / "processed").mkdir(parents=True)
    (tmp_path / "data" / "processed" / "inputs.parquet").write_bytes(bundled_inputs.read_bytes())
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert len(load_inputs().unit_codes) == 31
    with pytest.raises(InputError, match="run `compute-index ingest` first"):
        load_inputs("absent.parquet")


def test_compare_correlations_and_shifts():
    from index.compare import compare

    ds = dataset(n_units=9)
    base = build(PLAIN, ds, FW)
    cmp = compare({"base": base, "same": base, "equal": base.rebuild("weighting=equal")})
    m = cmp.matrix("kendall")
    assert m.loc["base", "same"] == 1.0 and m.loc["equal", "base"] == m.loc["base", "equal"]
    assert (cmp.shifts["same"] == 0).all()
    expected = base.rebuild("weighting=equal").ranking()["rank"] - base.ranking()["rank"]
    pd.testing.assert_series_equal(  # integer ranks and shifts
        cmp.shifts["equal"], expected.loc[cmp.shifts.index].astype("Int64"), check_names=False
    )


def test_weight_table_per_year():
    b = build(PLAIN.with_overrides(["weighting=entropy", "weighting.levels=[1]"]), dataset(), FW)
    t = b.weight_table()
    assert list(t.index) == [2022, 2023] and list(t.columns) == FW.codes
    np.testing.assert_allclose(t[["a", "b"]].sum(axis=1), 1.0)
    assert t.loc[2022, "a"] != t.loc[2023, "a"]  # re-estimated each year
    assert t.loc[2023, "a"] == b.nodes.set_index("code").loc["a", "weight"]


def test_upstream_for_scoring_only_skips_the_labels():
    """``upstream(log=False)`` (the uncertainty evaluator's call) gives the same stages as a
    build, without the imputation flags and the treatment log; a shared cache gives the same
    arrays and the log, labelled, whenever asked for."""
    from index.pipeline import upstream

    ds, cfg = dataset(), Config.model_validate({"treat": {"method": "winsorise", "winmax": 2}})
    full, log = upstream(cfg, ds, FW)
    cache: dict = {}
    lean, none = upstream(cfg, ds, FW, cache, log=False)
    assert none is None and "flags" not in lean and "flags" in full
    for name, values in lean.items():
        np.testing.assert_array_equal(values, full[name])
    again, log2 = upstream(cfg, ds, FW, cache)
    pd.testing.assert_frame_equal(log2, log)
    assert list(log.columns[:4]) == ["year", "indicator", "column", "treatment"] and len(log) == 8
    np.testing.assert_array_equal(again["flags"], full["flags"])
