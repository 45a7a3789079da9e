"""Action-plan tracker: the bundled targets against the reported national figures (gaps and growth
worked by hand), input checks located as file:row:field, province shares, the sheet, the report
section and `compute-index targets`."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from publish_synthetic import make_result
from typer.testing import CliRunner

from index import tracker
from index.cli import app
from index.errors import InputError
from index.publish import build, build_publication, tables

ROOT = Path(__file__).resolve().parents[1]
NATIONAL = ROOT / "data" / "national"
SOURCES = ROOT / "data" / "raw" / "sources.csv"


@pytest.fixture
def national(tmp_path: Path) -> Path:
    """A writable copy of data/national."""
    out = tmp_path / "national"
    shutil.copytree(NATIONAL, out)
    return out


def _row(table: pd.DataFrame, indicator: str, year: int) -> pd.Series:
    return table[(table["indicator_en"] == indicator) & (table["year"] == year)].iloc[0]


def test_bundled_targets_against_reported_figures():
    c = tracker.compare(tracker.load(NATIONAL, SOURCES))
    assert len(c) == 8 * 3  # eight targets, three years each
    # 算力规模: 230 EFLOPS at end-2023 (target 220), 280 at end-2024 (260), 300 due end-2025
    row = _row(c, "total compute capacity", 2023)
    assert (row["reported"], row["gap"], row["years_left"], row["status"]) == (
        230,
        -10,
        0,
        "已达成 reached",
    )
    assert np.isnan(row["needed"])
    row = _row(c, "total compute capacity", 2025)
    assert (
        row["gap"] == 20 and row["as_of"] == "2024-12-31" and row["status"] == "进行中 in progress"
    )
    assert row["years_left"] == pytest.approx(365 / 365.25)
    assert row["needed"] == pytest.approx((300 / 280) ** (365.25 / 365) - 1)  # ≈ 7.1 % a year
    # 存储总量: "超过 1680 EB" at 2025-06-30, 184 days before the 1800 EB target is due
    row = _row(c, "total storage capacity", 2025)
    assert row["gap"] == 120 and row["qualifier"].startswith("超过")
    assert row["needed"] == pytest.approx((1800 / 1680) ** (365.25 / 184) - 1)
    # the latest storage figure before end-2023 is mid-2023, and a later one exists
    assert _row(c, "total storage capacity", 2023)["status"] == "无年末值 no year-end figure"
    # a share is compared in percentage points: 32 % at end-2024, 35 % due end-2025
    row = _row(c, "share of intelligent compute", 2025)
    assert row["needed"] == pytest.approx(3 / (365 / 365.25))
    # no figure, no number: the OTN coverage has targets only
    row = _row(c, "OTN coverage of key application sites", 2024)
    assert (
        np.isnan(row["reported"]) and np.isnan(row["gap"]) and row["status"].startswith("无报告值")
    )


def test_status_of_a_year_end_figure_below_target(national):
    path = national / tracker.PROGRESS_FILE
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [ln.replace("2024,280,S283,2024-12-31,", "2024,250,S283,2024-12-31,") for ln in lines]
    lines.append("total storage capacity,存储总量,EB,2024,1400,S282,2024-12-31,超过 more than")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    c = tracker.compare(tracker.load(national, SOURCES))
    assert _row(c, "total compute capacity", 2024)["status"] == "未达成 not reached"
    assert _row(c, "total storage capacity", 2024)["status"] == "未确定 undetermined (lower bound)"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("2024,280,S283", "2024,lots,S283", "action_plan_progress.csv:4:value: not a number"),
        ("2024,280,S283", "2024,,S283", "action_plan_progress.csv:4:value: a reported figure needs a value"),
        ("2024,280,S283", "2024,280,", "action_plan_progress.csv:4:source: must not be empty"),
        ("算力规模,EFLOPS,2024", "算力规模,PFLOPS,2024", "action_plan_progress.csv:4:unit: 'PFLOPS', but the target is in 'EFLOPS'"),
        ("2024,280,S283,2024-12-31", "2024,280,S283,2023-12-31", "action_plan_progress.csv:4:as_of: 2023-12-31 is not in the year 2024"),
        ("2024,280,S283,2024-12-31", "2024,280,S283,31/12/2024", "action_plan_progress.csv:4:as_of: not an ISO date"),
        ("total compute capacity,算力规模,EFLOPS,2024", "total compute,算力规模,EFLOPS,2024", "action_plan_progress.csv:4:indicator_en: no target 'total compute'"),
    ],
)  # fmt: skip
def test_bad_progress_rows_are_located(national, old, new, message):
    path = national / tracker.PROGRESS_FILE
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError) as exc:
        tracker.load(national, SOURCES)
    assert any(str(p).startswith(message) for p in exc.value.problems), exc.value.problems


def test_bad_target_rows_and_missing_files_are_located(national):
    path = national / tracker.TARGETS_FILE
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("EFLOPS,220,260,300", "EFLOPS,220,26O,300"), encoding="utf-8")
    with pytest.raises(InputError, match=r"action_plan_targets.csv:2:target_2024: not a number"):
        tracker.load(national, SOURCES)
    (national / tracker.PROGRESS_FILE).unlink()
    with pytest.raises(InputError, match="file not found"):
        tracker.load(national, SOURCES)


def _panel(unit: str) -> pd.DataFrame:
    """TEST DATA ONLY: made-up provincial compute totals, not real figures."""
    return pd.DataFrame(
        {
            "year": [2024, 2024, 2023, 2016],
            "region_code": ["11", "44", "11", "11"],
            "region_zh": ["北京市", "广东省", "北京市", "北京市"],
            "region_en": ["Beijing", "Guangdong", "Beijing", "Beijing"],
            "indicator": "test_compute_total",
            "value": [28000.0, 14000.0, 2300.0, 1.0],
            "unit": unit,
        }
    )


def test_province_shares_of_a_declared_series(national):
    (national / tracker.SERIES_FILE).write_text(
        "indicator_en,series\ntotal compute capacity,test_compute_total\n", encoding="utf-8"
    )
    tr = tracker.load(national, SOURCES)
    shares = tracker.province_shares(tr, _panel("PFLOPS"))
    # 28000 PFLOPS = 28 EFLOPS = 10 % of 280 (2024); 2300 PFLOPS = 1 % of 230 (2023); 2016: no figure
    assert shares[["year", "region_code"]].values.tolist() == [
        [2023, "11"],
        [2024, "11"],
        [2024, "44"],
    ]
    np.testing.assert_allclose(shares["share"], [1.0, 10.0, 5.0], rtol=1e-12)
    assert set(shares["unit"]) == {"EFLOPS"}
    with pytest.raises(InputError, match="target_series.csv:test_compute_total: cannot convert"):
        tracker.province_shares(tr, _panel("万GB"))
    # an undeclared series is never matched by its unit alone (mobile traffic is not storage)
    assert tracker.province_shares(tracker.load(NATIONAL, SOURCES), _panel("PFLOPS")).empty


def test_target_series_must_name_an_amount_target(national):
    (national / tracker.SERIES_FILE).write_text(
        "indicator_en,series\nshare of intelligent compute,x\nnope,y\n", encoding="utf-8"
    )
    with pytest.raises(InputError) as exc:
        tracker.load(national, SOURCES)
    text = [str(p) for p in exc.value.problems]
    assert "target_series.csv:2:indicator_en: a share target has no provincial shares" in text
    assert "target_series.csv:3:indicator_en: no target 'nope' in action_plan_targets.csv" in text


def test_sheet_and_report_section(tmp_path, monkeypatch):
    res = make_result()
    res.tracker = tracker.load(NATIONAL, SOURCES)
    monkeypatch.setattr(build, "FIGURES", ())  # keep the test fast
    pub = build_publication(res, tmp_path, edition="plan")
    wb = openpyxl.load_workbook(pub.folder / "ranking.xlsx")
    assert (
        "行动计划 Action plan" in wb.sheetnames and "各省占比 Province shares" not in wb.sheetnames
    )
    ws = wb["行动计划 Action plan"]
    head = [c.value for c in ws[1]]
    rows = [dict(zip(head, (c.value for c in r), strict=True)) for r in ws.iter_rows(min_row=2)]
    assert len(rows) == 24
    first = rows[0]
    assert (first["目标 Target"], first["报告值 Reported"], first["差距 Gap"]) == (220, 230, -10)
    assert first["目标来源 Target source"].startswith("S258")
    page = (pub.folder / "report.html").read_text(encoding="utf-8")
    assert 'id="action-plan"' in page and "算力规模 total compute capacity" in page
    assert "no province shares are shown" in page
    sheet = tables.action_plan(res.tracker)
    assert (
        sheet.frame["所需年增长率 Growth needed (%/yr)"].notna().sum() == 4
    )  # amounts short of target


def test_targets_command():
    runner = CliRunner()
    res = runner.invoke(app, ["targets", "--national", str(NATIONAL), "--sources", str(SOURCES)])
    assert res.exit_code == 0, res.output
    assert "算力规模" in res.output and "已达成" in res.output and "1,800" in res.output
    assert "no data series is declared" in res.output
    res = runner.invoke(app, ["targets", "--national", str(ROOT / "nowhere")])
    assert res.exit_code == 2 and res.output.count("\n") == 1 and "file not found" in res.output
