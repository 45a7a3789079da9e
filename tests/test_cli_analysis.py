"""`compute-index sensitivity` and `compute-index audit` end to end: on a synthetic index (TEST DATA
ONLY), on the bundled real data, and the audit on COINr's example against the oracle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import uncertainty_synthetic as syn
from typer.testing import CliRunner

import index.cli.audit  # noqa: F401  (registers the command)
import index.cli.sensitivity  # noqa: F401  (registers the command)
from index.cli import app
from index.coinr import load_coinr
from index.config import Config
from index.pipeline import build

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

SPEC = """
[sampling]
method = "mc"
n = 200
seed = 9

[factors]
treat.winmax = [1, 3, 5]
normalise = [{method = "minmax", l = 1, u = 100}, {method = "rank"}]
aggregation.method = ["amean", "gmean"]

[[weights]]
name = "w"
levels = [1, 2]
noise = 0.25
"""


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("synthetic")
    (d / "spec.toml").write_text(SPEC, encoding="utf-8")
    return {
        "framework": str(syn.write_framework(d / "fw.toml")),
        "data": str(syn.write_inputs(d / "inputs.parquet")),
        "spec": str(d / "spec.toml"),
    }


def common(s: dict[str, str], out: Path) -> list[str]:
    return ["--framework", s["framework"], "--data", s["data"], "--out", str(out)]


def test_sensitivity_writes_intervals_sobol_and_loo(synthetic, tmp_path):
    out = tmp_path / "u" / "uncertainty.parquet"
    args = [
        "sensitivity",
        *common(synthetic, out),
        "--spec",
        synthetic["spec"],
        "--set",
        "denominate=false",
    ]
    res = runner.invoke(app, [*args, "--sobol", "--loo", "--n", "32"])
    assert res.exit_code == 0, res.output
    assert "Unit U00" in res.output and "Q5–Q95" in res.output
    assert "Sobol'" in res.output and "Leave one out" in res.output
    df = pd.read_parquet(out)
    assert len(df) == len(syn.UNITS)
    assert {"region_code", "nominal", "median", "q05", "q95", "score_q95"} <= set(df.columns)
    assert all(sum(c) == 32 * 6 for c in df["rank_counts"])  # N(d+2) runs, d = 4
    meta = json.loads(pq.read_schema(out).metadata[b"uncertainty"])
    assert meta["runs"] == 192 and meta["year"] == 2021 and meta["sobol"]
    sens = pd.read_parquet(out.with_name("sensitivity.parquet"))
    assert set(sens["variable"]) == {"treat.winmax", "normalise", "aggregation.method", "w"}
    loo = pd.read_parquet(out.with_name("leave_one_out.parquet"))
    assert len(loo) == 12 * len(syn.UNITS)
    first = out.read_bytes()
    res = runner.invoke(app, [*args, "--sobol", "--loo", "--n", "32", "--quiet"])
    assert res.exit_code == 0 and res.output == ""
    assert out.read_bytes() == first  # same seed, same file


def test_sensitivity_seed_and_n(synthetic, tmp_path):
    out = tmp_path / "uncertainty.parquet"
    base = ["sensitivity", *common(synthetic, out), "--spec", synthetic["spec"], "--quiet"]
    base += ["--set", "denominate=false", "--year", "2020"]
    assert runner.invoke(app, [*base, "--n", "50", "--seed", "1"]).exit_code == 0
    one = pd.read_parquet(out)
    assert runner.invoke(app, [*base, "--n", "50", "--seed", "2"]).exit_code == 0
    two = pd.read_parquet(out)
    assert all(sum(c) == 50 for c in one["rank_counts"])
    assert not one["mean"].equals(two["mean"])
    assert json.loads(pq.read_schema(out).metadata[b"uncertainty"])["year"] == 2020


@pytest.mark.parametrize(
    "text,expected",
    [
        ("[factors]\nframework = ['a', 'b']", "factors.framework: cannot vary 'framework'"),
        ("[factors\n", "not valid TOML"),
        ("[sampling]\nn = 0", "sampling.n: Input should be greater than or equal to 1"),
        (
            "[factors]\nnormalise.method = ['minmax', 'magic']",
            "factors.normalise.method[1]: normalise.method: unknown normalisation method 'magic'",
        ),
        (
            "[factors]\nnormalise = [{method = 'zscore'}, {method = 'minmax'}]\n"
            "aggregation.method = ['amean', 'gmean']",
            "negative values cannot be aggregated",
        ),
    ],
)
def test_bad_spec_exits_2_with_location(synthetic, tmp_path, text, expected):
    spec = tmp_path / "bad.toml"
    spec.write_text(text, encoding="utf-8")
    out = tmp_path / "uncertainty.parquet"
    res = runner.invoke(
        app,
        ["sensitivity", *common(synthetic, out), "--spec", str(spec), "--set", "denominate=false"],
    )
    assert res.exit_code == 2, res.output
    assert "bad.toml" in res.output and expected in res.output, res.output
    assert "Traceback" not in res.output and not out.exists()


def test_missing_spec_file(synthetic, tmp_path):
    res = runner.invoke(
        app, ["sensitivity", *common(synthetic, tmp_path / "u.parquet"), "--spec", "nope.toml"]
    )
    assert res.exit_code == 2 and "nope.toml: spec file not found" in res.output


def test_audit_prints_summary_and_writes_workbook(synthetic, tmp_path):
    out = tmp_path / "audit.xlsx"
    res = runner.invoke(
        app, ["audit", *common(synthetic, out), "--set", "denominate=false", "--no-heatmap"]
    )
    assert res.exit_code == 0, res.output
    assert "Cronbach" in res.output and "PC1 variance" in res.output and "flags" in res.output
    sheets = pd.read_excel(out, sheet_name=None)
    assert {"flags", "cronbach", "pca", "stats", "corr_pearson", "corr_kendall"} <= set(sheets)
    assert set(sheets["cronbach"]["group"]) >= {"p1", "p2", "p3", "idx"}


def test_audit_bad_year(synthetic, tmp_path):
    out = tmp_path / "audit.xlsx"
    res = runner.invoke(
        app, ["audit", *common(synthetic, out), "--set", "denominate=false", "--year", "1990"]
    )
    assert res.exit_code == 2 and "1990" in res.output and not out.exists()


def test_audit_reproduces_coinr(oracle_dir):
    """The example pipeline's aggregated data set gives COINr's alpha and indicator–pillar r."""
    fw, ds = load_coinr(oracle_dir / "input_iData.csv", oracle_dir / "input_iMeta.csv")
    cfg = Config.model_validate(
        {
            "impute": {"method": "mean_grp", "group": "EurAsia_group"},
            "aggregation": {"method": "amean"},
        }
    )
    a = build(cfg, ds, fw).audit()
    read = lambda f: pd.read_csv(oracle_dir / f, keep_default_na=False, na_values=[""])  # noqa: E731
    alpha = read("audit_cronbach_alpha.csv").set_index("group")["alpha"]
    ours = a.cronbach.set_index("group")["alpha"]
    ours = ours.rename({"ALL_L1": "ALL_INDICATORS_L1", "ALL_L2": "ALL_PILLARS_L2"})
    np.testing.assert_allclose(ours.reindex(alpha.index), alpha, rtol=1e-12)
    corr = read("audit_corr_indicator_vs_parent_pillar.csv")
    wp = a.with_parent.query("method == 'pearson'").set_index(["ancestor", "code"])["r"]
    keys = list(zip(corr["Var1"], corr["Var2"], strict=True))
    np.testing.assert_allclose(wp.reindex(keys), corr["Correlation"], rtol=0, atol=1e-14)


# ---- the bundled real data ------------------------------------------------------------------------


@pytest.mark.slow
def test_sensitivity_on_the_default_framework(bundled_inputs, tmp_path):
    out = tmp_path / "uncertainty.parquet"
    res = runner.invoke(
        app,
        [
            "sensitivity",
            "--data",
            str(bundled_inputs),
            "--out",
            str(out),
            "--n",
            "512",
            "--year",
            "2024",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "2024" in res.output and "北京市" in res.output and "Heilongjiang" in res.output
    df = pd.read_parquet(out)
    assert len(df) == 31 and sorted(df["nominal"]) == list(range(1, 32))
    assert (df["q05"] <= df["median"]).all() and (df["median"] <= df["q95"]).all()


@pytest.mark.slow
def test_audit_on_the_default_framework(bundled_inputs, tmp_path):
    out = tmp_path / "audit.xlsx"
    res = runner.invoke(app, ["audit", "--data", str(bundled_inputs), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "算力 Compute" in res.output
    assert (tmp_path / "audit_heatmap.png").is_file() and (tmp_path / "audit_heatmap.svg").is_file()
