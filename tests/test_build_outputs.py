"""Build's treatment flags and details and its full results table, against COINr's ASEM outputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _prep_oracle import assert_close
from scipy.stats import rankdata
from typer.testing import CliRunner

import index
from index.cli import app
from index.coinr import dataset_from_idata, framework_from_imeta
from index.config import Config
from index.errors import InputError
from index.pipeline import build

KW = dict(keep_default_na=False, na_values=[""])
runner = CliRunner()


def read(oracle_dir, name: str) -> pd.DataFrame:
    return pd.read_csv(oracle_dir / name, **KW)


def asem_build(oracle_dir, **steps):
    imeta = read(oracle_dir, "input_iMeta.csv")
    raw = read(oracle_dir, "input_iData.csv")  # with the unit groups
    base = {"denominate": False, "impute": {"method": "none"}, "treat": {"method": "none"}}
    cfg = Config.model_validate(
        {**base, "normalise": {"method": "minmax", "l": 0, "u": 100}, **steps}
    )
    return build(cfg, dataset_from_idata(raw, imeta), framework_from_imeta(imeta))


@pytest.fixture(scope="module")
def treated(oracle_dir):
    return asem_build(oracle_dir, treat={"method": "winsorise", "winmax": 5})


def test_treatment_flags_are_coinr_treated_points(treated, oracle_dir):
    points = read(oracle_dir, "treat_raw_default_points.csv").set_index("uCode")
    flags = treated.treatment_flags()
    assert flags.index.name == "unit" and flags.columns.name == "indicator"
    expected = points.astype(object).where(points.notna(), "")
    np.testing.assert_array_equal(
        flags.loc[expected.index, expected.columns].to_numpy(str), expected.to_numpy(str)
    )
    assert (flags == "winhi").sum().sum() == 29 and (flags == "winlo").sum().sum() == 1


def test_treatment_details_are_coinr_dets_table(treated, oracle_dir):
    ref = read(oracle_dir, "treat_raw_default_details.csv").set_index("iCode")
    got = treated.treatment_details().loc[ref.index]
    for col in ref.columns:
        if col.endswith(".Pass"):
            assert [None if pd.isna(v) else bool(v) for v in got[col]] == [
                None if pd.isna(v) else bool(v) for v in ref[col]
            ], col
        else:
            assert_close(got[col].to_numpy(float), ref[col].to_numpy(float))
    winsorised = ref["winsorise.nwin"].notna()
    assert (got.loc[winsorised, "treatment"] == "winsorise").all()
    assert (got.loc[~winsorised, "treatment"] == "none").all()


def test_no_treatment_has_no_flags_and_no_details(oracle_dir):
    b = asem_build(oracle_dir)
    assert (b.treatment_flags() == "").all().all()
    assert b.treatment_details().empty
    with pytest.raises(InputError, match="not in data years"):
        b.treatment_flags(1999)


def test_results_table_is_coinr_full_results(oracle_dir):
    b = asem_build(oracle_dir)
    scores = read(oracle_dir, "pipe_A1_minmax_amean_scores.csv").set_index("uCode")
    ranks = read(oracle_dir, "pipe_A1_minmax_amean_ranks.csv").set_index("uCode")
    t = b.results()
    assert list(t.columns[:6]) == ["name_zh", "name_en", "Rank", "Index", "Conn", "Sust"]
    assert t.loc["AUT", "name_en"] == "Austria"
    assert t["Index"].is_monotonic_decreasing
    assert_close(t[scores.columns].to_numpy(float), scores.loc[t.index].to_numpy(float))
    np.testing.assert_array_equal(t["Rank"], ranks.loc[t.index, "Index"])
    r = b.results(use="ranks")
    np.testing.assert_array_equal(r[ranks.columns].to_numpy(), ranks.loc[r.index].to_numpy())
    g = b.results(use="groupranks", group="EurAsia_group")
    assert g.columns[2] == "EurAsia_group"
    for _, part in scores.groupby(g["EurAsia_group"]):
        np.testing.assert_array_equal(
            g.loc[part.index, "Index"], rankdata(-part["Index"], method="min")
        )
    with pytest.raises(InputError, match="no unit group column 'nope'"):
        b.results(group="nope")


def test_cli_full_table_prints_the_library_table(oracle_dir, tmp_path):
    pair = [str(oracle_dir / "input_iData.csv"), str(oracle_dir / "input_iMeta.csv")]
    out = tmp_path / "r.parquet"
    res = runner.invoke(
        app, ["run", "--coinr", *pair, "--full", "ranks", "--top", "2", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    b = index.build(
        data=dataset_from_idata(
            *(read(oracle_dir, f) for f in ("input_iData.csv", "input_iMeta.csv"))
        ),
        framework=framework_from_imeta(read(oracle_dir, "input_iMeta.csv")),
    )
    first, second = b.results(use="ranks").head(2)["name_en"]
    assert first in res.output and second in res.output and "SusEcFin" in res.output
    for args, message in (
        (["--full", "rank"], "use must be scores, ranks or groupranks"),
        (["--group", "EurAsia_group"], "only the --full table uses a group"),
        (["--full", "scores", "-q"], "--full:scores: prints a table; --quiet prints nothing"),
        (["--full", "groupranks"], "name the groups with --group"),
    ):
        bad = tmp_path / "bad.parquet"
        res = runner.invoke(app, ["run", "--coinr", *pair, *args, "--out", str(bad)])
        assert res.exit_code == 2 and message in res.output and not bad.exists()
