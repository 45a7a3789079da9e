"""`compute-index ingest` from the command line: success output, and bad input → exit 2, one
readable file:row:field message, no traceback, nothing written (a previous output untouched)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from index.cli import app

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"
HEADER = "region,year,indicator,value,unit,source\n"
GOOD = "北京市,2024,gdp,49670.2,亿元,S227\n"  # a real row (NBS GDP export, source B)
runner = CliRunner()


def _raw_dir(tmp_path: Path, files: dict[str, bytes | str]) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in ("indicators.csv", "sources.csv"):
        shutil.copy(RAW / name, raw)
    for name, content in files.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (raw / name).write_bytes(data)
    return raw


def test_ingest_bundled_data_prints_summary_and_coverage(tmp_path: Path):
    out = tmp_path / "inputs.parquet"
    result = runner.invoke(app, ["ingest", str(RAW), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (
        f"wrote {out}: 11257 values: 31 regions × 45 indicators, years 2016–2025" in result.output
    )
    assert "missing cells: none" in result.output
    assert "coverage: regions with a value" in result.output
    gdp_line = next(line for line in result.output.splitlines() if " gdp " in line)
    assert gdp_line.count("31") == 9 and "·" in gdp_line  # 2016–2024 complete, none in 2025
    assert out.is_file()


def test_quiet_and_help(tmp_path: Path):
    result = runner.invoke(
        app, ["ingest", str(RAW), "--out", str(tmp_path / "x.parquet"), "--quiet"]
    )
    assert result.exit_code == 0 and result.output == ""
    help_text = runner.invoke(app, ["ingest", "--help"]).output
    assert "compute-index ingest data/raw --out data/processed/inputs.parquet" in help_text


def test_gbk_file_is_read_without_being_told(tmp_path: Path):
    data = (HEADER + GOOD).encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    raw = _raw_dir(tmp_path, {"gdp.csv": data})
    result = runner.invoke(app, ["ingest", str(raw), "--out", str(tmp_path / "o.parquet")])
    assert result.exit_code == 0, result.output
    assert "1 values: 1 regions × 1 indicators" in result.output


BAD = {
    "unknown region": (
        {"a.csv": HEADER + "火星省,2024,gdp,1.0,亿元,S227\n"},
        "a.csv:2:region: unknown region '火星省'",
    ),
    "duplicate with a different value": (
        {"a.csv": HEADER + GOOD, "b.csv": HEADER + "北京,2024,gdp,49843.1,亿元,S01\n"},
        "b.csv:2:value: duplicate region_code/year/indicator 11/2024/gdp with a different value: "
        "49843.1 here, 49670.2 at a.csv:2",
    ),
    "unknown unit": (
        {"a.csv": HEADER + "北京市,2024,gdp,49670.2,亿美刀,S227\n"},
        "a.csv:2:unit: unknown unit '亿美刀'",
    ),
    "incompatible unit": (
        {"a.csv": HEADER + "北京市,2024,gdp,49670.2,万户,S227\n"},
        "a.csv:2:unit: cannot convert '万户' (subscriptions) to '亿元' (CNY): different dimensions",
    ),
    "non-numeric cell": (
        {"a.csv": HEADER + "北京市,2024,gdp,49670.2亿,亿元,S227\n"},
        "a.csv:2:value: not a number: '49670.2亿'",
    ),
    "non-numeric NBS cell": (
        {"n.csv": "数据库：分省年度数据\n指标：地区生产总值(亿元)\n地区,2024年\n北京市,四万\n"},
        "n.csv:4:2024年: not a number: '四万'",
    ),
    "unknown indicator": (
        {"a.csv": HEADER + "北京市,2024,GDP总量,49670.2,亿元,S227\n"},
        "a.csv:2:indicator: unknown indicator 'GDP总量'",
    ),
    "unknown source": (
        {"a.csv": HEADER + "北京市,2024,gdp,49670.2,亿元,S999\n"},
        "a.csv:2:source: unknown source id 'S999'",
    ),
    "malformed year": (
        {"a.csv": HEADER + "北京市,20244,gdp,49670.2,亿元,S227\n"},
        "a.csv:2:year: not a year: '20244'",
    ),
    "year out of range": (
        {"a.csv": HEADER + "北京市,1900,gdp,49670.2,亿元,S227\n"},
        "a.csv:2:year: year 1900 outside 1949–2100",
    ),
    "empty file": ({"a.csv": ""}, "a.csv: empty file: no data"),
    "header-only file": ({"a.csv": HEADER}, "a.csv:1: header only: no data rows"),
    "undecodable encoding": (
        {"a.csv": (HEADER + "Café,2024,gdp,1,CNY,S227\n").encode("latin-1")},
        "a.csv: cannot decode the file as UTF-8 or GB18030/GBK",
    ),
    "unrecognised format": ({"a.xls": b"\xd0\xcf\x11\xe0"}, "a.xls: not a recognised data format"),
    "unrecognised table": ({"a.csv": "foo,bar\n1,2\n"}, "a.csv:1: not a recognised table"),
    "no values left": ({"a.csv": HEADER + "全国,2024,gdp,—,亿元,S227\n"}, "no values: every cell"),
    "bad sidecar": (
        {"a.csv": HEADER + GOOD, "a.toml": "yaer = 2024\n"},
        "a.toml:yaer: Extra inputs are not permitted",
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_input_exits_2_with_one_message_and_writes_nothing(tmp_path: Path, case: str):
    files, message = BAD[case]
    raw = _raw_dir(tmp_path, files)
    out = tmp_path / "processed" / "inputs.parquet"
    out.parent.mkdir()
    out.write_bytes(b"previous output")
    result = runner.invoke(app, ["ingest", str(raw), "--out", str(out)])
    assert result.exit_code == 2, result.output
    errors = result.stderr.splitlines()
    assert len(errors) == 1 and errors[0].startswith("error: ") and message in errors[0]
    assert "Traceback" not in result.output
    assert out.read_bytes() == b"previous output"
    assert sorted(p.name for p in out.parent.iterdir()) == ["inputs.parquet"]  # no temporary left


def test_all_problems_listed_at_once(tmp_path: Path):
    raw = _raw_dir(
        tmp_path,
        {
            "a.csv": HEADER + "火星,2024,gdp,1,亿元,S227\n北京,2024,gdp,x,亿元,S227\n",
            "b.csv": HEADER,
        },
    )
    result = runner.invoke(app, ["ingest", str(raw), "--out", str(tmp_path / "o.parquet")])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: a.csv:2:region: unknown region '火星'",
        "error: a.csv:3:value: not a number: 'x'",
        "error: b.csv:1: header only: no data rows",
    ]


def test_strict_regions_rejects_totals(tmp_path: Path):
    raw = _raw_dir(tmp_path, {"a.csv": HEADER + GOOD + "全国,2024,gdp,—,亿元,S227\n"})
    out = tmp_path / "o.parquet"
    ok = runner.invoke(app, ["ingest", str(raw), "--out", str(out)])
    assert ok.exit_code == 0 and "note: a.csv: dropped 1 row(s) for '全国'" in ok.output
    strict = runner.invoke(app, ["ingest", str(raw), "--out", str(out), "--strict-regions"])
    assert strict.exit_code == 2
    assert strict.stderr.splitlines() == [
        "error: a.csv:3:region: not one of the 31 provinces: '全国'"
    ]
