"""The methods of issue 12 are reachable from a run config (and fail readably when misused)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_pipeline import FW, PLAIN, dataset
from typer.testing import CliRunner

from index import framework as fwmod
from index.cli import app
from index.errors import InputError
from index.methods import treat as tr
from index.methods.compind import bod
from index.methods.weights import ahp
from index.pipeline import bod_unit_weights, build

CYCLIC = [[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]]


def test_new_transforms_as_treatment():
    ds = dataset()
    for method in ("log_CT_plus", "log_GII"):
        b = build(PLAIN.with_overrides([f"treat.method={method}"]), ds, FW)
        x = b.stages["denominated"][-1]
        np.testing.assert_allclose(b.stages["treated"][-1], getattr(tr, method)(x), rtol=1e-13)


def test_compind_aggregators_by_level_and_bod_weights_per_unit():
    ds = dataset()
    b = build(PLAIN.with_overrides(['aggregation.by_level={"2": "bod"}']), ds, FW)
    pillars = b.stage("scores")[["p1", "p2"]]
    n = b.stage("normalised")
    np.testing.assert_allclose(pillars["p1"], bod(n[["a", "b"]].to_numpy(), [1, 1]), rtol=1e-12)
    w = bod_unit_weights(b, "p1")
    assert list(w.columns) == ["a", "b", "bod_score", "share_a", "share_b"]
    np.testing.assert_allclose(w[["share_a", "share_b"]].sum(axis=1)[w["bod_score"] > 0], 1.0)
    np.testing.assert_allclose(w["bod_score"], pillars["p1"], rtol=1e-12)
    np.testing.assert_allclose(
        (n[["a", "b"]].to_numpy() * w[["a", "b"]].to_numpy()).sum(1), w["bod_score"], rtol=1e-9
    )
    mm = build(PLAIN.with_overrides(['aggregation.by_level={"2": "mean_min"}']), ds, FW)
    assert np.isfinite(mm.stage("scores")["p1"]).all()
    # OWA at every level: the index level has unequal weights (p2 = 3), which OWA cannot honour
    with pytest.raises(InputError, match="equal weights"):
        build(PLAIN.with_overrides(['aggregation={"method": "owa", "atleast": 1}']), ds, FW)


def test_infomax_and_ahp_from_config():
    ds = dataset()
    b = build(PLAIN.with_overrides(["weighting=infomax", "weighting.levels=[1]"]), ds, FW)
    nodes = b.nodes.set_index("code")
    assert nodes.loc[["a", "b"], "weight"].sum() == pytest.approx(1)
    bad = '{"method": "ahp", "pairwise": {"idx": [[1, 9], [0.1111111111111111, 1]]}}'
    assert build(PLAIN.with_overrides([f"weighting={bad}"]), ds, FW) is not None  # n = 2: CR = 0
    experts = [[[1, 3], [1 / 3, 1]], [[1, 1 / 3], [3, 1]]]
    cfg = PLAIN.with_overrides(
        ["weighting=" + json.dumps({"method": "ahp", "pairwise": {"idx": experts}})]
    )
    w = build(cfg, ds, FW).nodes.set_index("code")["weight"]
    assert w["p1"] == pytest.approx(0.5)  # the experts' geometric mean is 1: equal weights
    assert ahp(CYCLIC).cr > 0.1


def test_inconsistent_ahp_is_an_input_error():
    fw3 = fwmod.from_dict(
        {
            "index": {"code": "idx"},
            "aggregate": [{"code": "p1", "parent": "idx"}],
            "indicator": [
                {"code": "a", "parent": "p1"},
                {"code": "b", "parent": "p1"},
                {"code": "d", "parent": "p1"},
            ],
        }
    )
    ds = dataset()
    step = json.dumps({"method": "ahp", "pairwise": {"p1": CYCLIC}})
    with pytest.raises(InputError, match=r"CR = 6\.130"):
        build(PLAIN.with_overrides([f"weighting={step}", "denominate=false"]), ds, fw3)
    ok = PLAIN.with_overrides(
        [f"weighting={step}", "weighting.allow_inconsistent=true", "denominate=false"]
    )
    w = build(ok, ds, fw3).nodes.set_index("code")["weight"]
    assert w[["a", "b", "d"]].tolist() == pytest.approx([1 / 3] * 3)


def test_cli_run_with_inconsistent_ahp_exits_2(bundled_inputs, tmp_path):
    """The default index's first three pillars judged in a cycle (1 > 2 > 3 > 1): CR far above 0.1."""
    fw = fwmod.load(fwmod.DEFAULT_FRAMEWORK)
    root, n = fw.root.code, len(fw.children[fw.root.code])
    a = np.ones((n, n))
    for i, j in ((0, 1), (1, 2), (2, 0)):
        a[i, j], a[j, i] = 9.0, 1 / 9
    step = json.dumps({"method": "ahp", "pairwise": {root: a.tolist()}})
    out = tmp_path / "results.parquet"
    res = CliRunner().invoke(
        app, ["run", "--data", str(bundled_inputs), "--out", str(out), "--set", f"weighting={step}"]
    )
    assert res.exit_code == 2, res.output
    assert "consistency ratio" in res.output and "allow_inconsistent" in res.output
    assert "Traceback" not in res.output and not out.exists()
    ok = json.dumps({"method": "ahp", "pairwise": {root: a.tolist()}, "allow_inconsistent": True})
    res = CliRunner().invoke(
        app, ["run", "--data", str(bundled_inputs), "--out", str(out), "--set", f"weighting={ok}"]
    )
    assert res.exit_code == 0, res.output


# ---- AHP consistency in the outputs: run, Method sheet, report ------------------------------------
NEAR = [[1, 1.25, 0.8], [0.8, 1, 1.25], [1.25, 0.8, 1]]
"""Circulant with first row (1, a, 1/a), a = 5/4: lambda_max = 1 + a + 1/a = 3.05 (its Perron
vector is (1, 1, 1)), CI = (3.05 - 3)/2 = 0.025, CR = 0.025 / RI_3 = 0.025 / 0.58 = 0.0431."""


def test_build_reports_the_consistency_of_each_ahp_group_by_hand():
    ds = dataset()
    step = json.dumps({"method": "ahp", "pairwise": {"idx": [[1, 3], [1 / 3, 1]]}})
    b = build(PLAIN.with_overrides([f"weighting={step}"]), ds, FW)
    t = b.ahp_consistency()
    assert t["group"].tolist() == ["idx"] and t["CR"].tolist() == [0.0]  # n = 2: always consistent
    fw3 = fwmod.from_dict(
        {
            "index": {"code": "idx"},
            "aggregate": [{"code": "p1", "parent": "idx"}],
            "indicator": [{"code": c, "parent": "p1"} for c in ("a", "b", "d")],
        }
    )
    for matrix, cr, ok in ((NEAR, 0.025 / 0.58, True), (CYCLIC, 32 / 9 / 0.58, False)):
        step = json.dumps({"method": "ahp", "pairwise": matrix, "allow_inconsistent": not ok})
        b = build(PLAIN.with_overrides([f"weighting={step}", "denominate=false"]), ds, fw3)
        t = b.ahp_consistency()
        assert t["group"].tolist() == ["p1"]  # one matrix for every group at level 1
        assert t["CR"].iloc[0] == pytest.approx(cr, rel=1e-12)
        assert t["lambda_max"].iloc[0] == pytest.approx(3.05 if ok else 91 / 9, rel=1e-12)
        assert t["RI"].iloc[0] == 0.58 and bool(t["consistent"].iloc[0]) is ok
    assert build(PLAIN, ds, FW).ahp_consistency().empty


def test_cli_run_prints_the_consistency_ratio(bundled_inputs, tmp_path):
    fw = fwmod.load(fwmod.DEFAULT_FRAMEWORK)
    pillar = next(p for p in fw.children[fw.root.code] if len(fw.children[p]) == 3)
    out = tmp_path / "results.parquet"
    step = json.dumps({"method": "ahp", "pairwise": {pillar: NEAR}})
    args = ["run", "--data", str(bundled_inputs), "--out", str(out), "--top", "1"]
    res = CliRunner().invoke(app, [*args, "--set", f"weighting={step}"])
    assert res.exit_code == 0, res.output
    assert f"AHP {pillar}: CR = 0.0431 ≤ 0.1 一致 consistent" in res.output
    assert "λmax = 3.0500, CI = 0.0250, RI = 0.58" in res.output
    bad = json.dumps({"method": "ahp", "pairwise": {pillar: CYCLIC}, "allow_inconsistent": True})
    res = CliRunner().invoke(app, [*args, "-q", "--set", f"weighting={bad}"])
    assert res.exit_code == 0 and "CR = 6.1303 > 0.1 不一致 INCONSISTENT" in res.output


def test_method_sheet_and_report_carry_the_consistency_ratio():
    from publish_synthetic import make_result

    from index.methods.weights import ahp_consistency
    from index.publish import build as pbuild
    from index.publish import report, tables

    result = make_result()
    result.ahp = ahp_consistency({"compute": NEAR, "network": CYCLIC})
    sheets = pbuild._sheets(result, result.config, "t", 2024, None, None, None)
    method = sheets[3].frame.set_index("项目 Item")["值 Value"]
    assert method[f"{tables.AHP_FACT} (compute)"].startswith("CR = 0.0431 ≤ 0.1: 一致 consistent")
    assert "RI = 0.58 (Saaty 1980)" in method[f"{tables.AHP_FACT} (compute)"]
    assert method[f"{tables.AHP_FACT} (network)"].startswith("CR = 6.1303 > 0.1: 不一致")
    note = report.ahp_note(sheets[3])
    assert "CR ≤ 0.1" in note and "1 matrix(es) are inconsistent" in note
    del result.ahp
    plain = pbuild._sheets(result, result.config, "t", 2024, None, None, None)[3]
    assert report.ahp_note(plain) == "" and not plain.frame["项目 Item"].str.startswith("AHP").any()


# ---- benefit of the doubt: every unit's own weights in the outputs --------------------------------
BOD_PILLARS = 'aggregation.by_level={"2": "bod"}'


def _exact_bod_two_children(y: np.ndarray) -> np.ndarray:
    """BoD of every unit with two children, without an LP: BoD_c = max over common weights
    v = (t, 1 - t) of the scaled score v·y_c / max_k v·y_k. On each piece of t where one unit k
    has the largest v·y_k the ratio is linear-fractional, hence monotone, so the maximum lies at
    t = 0, 1 or where two units' v·y cross (t = (y_l2 - y_k2) / ((y_k1 - y_k2) - (y_l1 - y_l2)))."""
    d = y[:, 0] - y[:, 1]
    ts = {0.0, 1.0}
    for k in range(len(y)):
        for m in range(k + 1, len(y)):
            if d[k] != d[m]:
                t = (y[m, 1] - y[k, 1]) / (d[k] - d[m])
                if 0.0 < t < 1.0:
                    ts.add(float(t))
    t = np.array(sorted(ts))
    v = np.stack([t, 1 - t], axis=1)  # (candidates, 2)
    s = y @ v.T  # (units, candidates)
    return (s / s.max(axis=0)).max(axis=1)


def test_unit_weights_reproduce_each_bod_score_and_beat_common_weights():
    ds = dataset()
    b = build(PLAIN.with_overrides([BOD_PILLARS]), ds, FW)
    u = b.unit_weights()
    assert set(u["parent"]) == {"p1", "p2"} and set(u["year"]) == set(b.years)
    rng = np.random.default_rng(3)
    worst_sum = worst_exact = 0.0
    for (year, parent), g in u.groupby(["year", "parent"]):
        kids = FW.children[parent]
        y = b.stage("scores", year)[kids]
        w = g.pivot(index="region_code", columns="child", values="weight").loc[y.index, kids]
        score = b.stage("scores", year)[parent]
        # the reported weights reproduce each unit's score: sum_j w_ij y_ij = BoD_i
        worst_sum = max(worst_sum, float(np.abs((w * y).sum(axis=1) - score).max()))
        # an LP-free exact BoD (two children) agrees
        exact = _exact_bod_two_children(y.to_numpy())
        worst_exact = max(worst_exact, float(np.abs(exact - score.to_numpy()).max()))
        # every unit's BoD >= its score under the build's common weights and random ones
        for v in [np.full(2, 0.5), *rng.dirichlet([1, 1], size=200)]:
            common = y.to_numpy() @ v
            assert (score.to_numpy() >= common / common.max() - 1e-12).all()
    assert worst_sum < 1e-12 and worst_exact < 1e-12, (worst_sum, worst_exact)


def test_effective_weights_stay_truthful_with_bod(tmp_path):
    from index.publish import tables
    from index.results import unit_weights_path, write_results

    ds = dataset()
    b = build(PLAIN.with_overrides([BOD_PILLARS]), ds, FW)
    nodes = b.nodes.set_index("code")
    assert nodes.loc[["a", "b", "c", "d"], "eff_weight"].isna().all()
    assert nodes.loc[["p1", "p2"], "eff_weight"].tolist() == pytest.approx([0.25, 0.75])
    assert nodes.loc["a", "weight_basis"].startswith("各地区自选 per unit (BoD")
    table = b.weight_table()
    assert table[["a", "b", "c", "d"]].isna().all().all()
    assert (table[["p1", "p2"]].to_numpy() == [0.25, 0.75]).all()
    own = b.unit_weights(b.years[-1])
    sheet = tables.weights(b.nodes, own).frame.set_index("代码 Code")
    assert sheet.loc[["a", "b", "c", "d"], "名义权重 Nominal weight"].isna().all()
    lo, hi = own.loc[own["child"] == "a", "share"].agg(["min", "max"])
    assert f"share of score {lo:.1%}–{hi:.1%}" in sheet.loc["a", tables.BASIS]
    assert sheet.loc["p2", "名义权重 Nominal weight"] == pytest.approx(0.75)
    bod = tables.unit_weights(own, b.nodes)
    assert bod.name == "BoD权重 BoD weights" and len(bod.frame) == len(own)
    assert {"自选权重 Own weight", "得分占比 Share of score", "BoD得分 BoD score"} <= set(bod.frame)
    # above the BoD groups the weights are common, below an index-level BoD every one is per unit
    top = build(PLAIN.with_overrides(['aggregation.by_level={"3": "bod"}', "weights.p2=1"]), ds, FW)
    assert top.nodes.set_index("code")["eff_weight"].drop("idx").isna().all()
    assert top.nodes.set_index("code").loc["a", "weight_basis"].startswith("随上级 via p1")
    plain = build(PLAIN, ds, FW)
    assert plain.unit_weights().empty and (plain.nodes["weight_basis"] == "").all()
    assert tables.BASIS not in tables.weights(plain.nodes).frame
    # the run's results: the per-unit weights beside the scores, and no stale file after
    out = tmp_path / "results.parquet"
    assert write_results(b, out) == [out, unit_weights_path(out)]
    back = pd.read_parquet(unit_weights_path(out))
    pd.testing.assert_frame_equal(back, b.unit_weights(), check_dtype=False)
    assert write_results(plain, out) == [out] and not unit_weights_path(out).exists()


def test_publication_of_a_bod_run_names_the_analyses_it_leaves_out():
    from index.publication import PublishSettings, _analyses
    from index.publish.parallel import Pool

    b = build(PLAIN.with_overrides([BOD_PILLARS]), dataset(), FW)
    settings = PublishSettings(run=b.config, uncertainty={"runs": 0})
    intervals, bounds, profiles, sobol, left_out = _analyses(b, settings, b.years[-1], Pool(1))
    assert intervals is None and bounds is None and profiles == [] and sobol is None
    assert list(left_out) == ["rank bounds and profiles"]
    assert "child weights of p1, p2 are per unit" in left_out["rank bounds and profiles"]


def test_methods_lists_the_joint_optimisation_and_the_outputs():
    res = CliRunner().invoke(app, ["methods"], terminal_width=200)
    assert res.exit_code == 0, res.output
    for name in ("optimise", "level: int (≥1),", "Build.ahp_consistency()",
                 "Build.unit_weights(year)", "Build.plot_framework()", "SobolAnalysis.plot()"):  # fmt: skip
        assert name in res.output, name
    res = CliRunner().invoke(app, ["methods", "outputs"])
    assert res.exit_code == 0 and "SobolAnalysis.plot()" in res.output
    assert "infomax" not in res.output
    assert CliRunner().invoke(app, ["methods", "output"]).exit_code == 2


def test_iterative_imputation_respects_the_sign_in_a_build(bundled_inputs):
    """The bundled panel: IterativeImputer extrapolates 西藏's IT-service revenue below 0; the
    build clips it at 0, flags the cells and names them, or refuses with impute.negative."""
    import index
    from index.methods.impute import ImputationClipWarning
    from index.pipeline import CLIPPED

    with pytest.warns(ImputationClipWarning, match=r"it_service_revenue \(西藏") as rec:
        b = index.build(data=bundled_inputs, overrides=['impute={"method": "iterative"}'])
    clipped = b.flags == CLIPPED
    assert clipped.sum() == rec[-1].message.cells.sum() > 0
    assert (b.stages["imputed"][clipped] == 0).all()
    observed = ~np.isnan(b.stages["denominated"])
    nonneg = np.nanmin(np.where(observed, b.stages["denominated"], np.nan), axis=1) >= 0
    assert (b.stages["imputed"][:, :, nonneg.all(axis=0)] >= 0).all()
    with pytest.raises(InputError, match="it_service_revenue:impute: iterative imputation gave"):
        index.build(
            data=bundled_inputs,
            overrides=['impute={"method": "iterative", "negative": "refuse"}'],
        )


ISSUE_12 = {
    # every method / setting / helper of issue 12 and the name `compute-index methods` shows
    "screen": ["unit_screen", "byNAandzeros", "nonzero_thresh", "force"],
    "impute": ["max_gap", "negative:", "'refuse']"],
    "treat": ["log_CT_plus", "log_GII", "per_indicator"],
    "normalise": ["per_indicator", "indiv_specs", "goalposts"],
    "weighting": ["infomax", "list[list[list]]", "allow_inconsistent"],
    "aggregation": ["bod", "rbod", "mean_min", "owa", "dat_thresh", "by_level"],
    "analysis": ["get_str_weak", "get_trends", "get_pvals", "get_denom_corr", "get_data_avail",
                 "Screen", "geometric", "--coinr"],
}  # fmt: skip


def test_compute_index_methods_lists_every_issue_12_item():
    res = CliRunner().invoke(app, ["methods"])
    assert res.exit_code == 0, res.output
    words = set(res.output.split())  # table cells wrap between words, never inside one
    for names in ISSUE_12.values():
        for name in names:
            assert name in words or any(name in w for w in words), name
    for section, names in ISSUE_12.items():
        one = CliRunner().invoke(app, ["methods", section])
        assert one.exit_code == 0, one.output
        assert names[0] in one.output, (section, names[0])
    bad = CliRunner().invoke(app, ["methods", "analyses"])
    assert bad.exit_code == 2 and "choose from" in bad.output
