"""`compute-index ingest` from the command line: success output, and bad input → exit 2, one
readable file:row:field message, no traceback, nothing written (a previous output untouched)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hostile._hostile import workbook as _xlsx
from openpyxl.workbook import Workbook
from typer.testing import CliRunner

from index.cli import app

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"
HEADER = "region,year,indicator,value,unit,source\n"
GOOD = "北京市,2024,gdp,49670.2,亿元,S227\n"  # a real row (NBS GDP export, source B)
CATALOGUE = (RAW / "indicators.csv").read_text(encoding="utf-8")
APPENDED = len(CATALOGUE.splitlines()) + 1  # line number of a row appended to the catalogue
NBS_GDP = "数据库：分省年度数据\n指标：地区生产总值(亿元)\n时间：最近2年\n"
runner = CliRunner()


def _notes_sheet(book: Workbook) -> None:
    book.create_sheet("说明").append(["本表数据来自国家统计局"])


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
        f"wrote {out}: 11965 values: 31 regions × 49 indicators, years 2016–2025" in result.output
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
    assert "compute-index ingest data/raw ~/my-racks --out ~/my-racks.parquet" in help_text


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
        "b.csv:2:value: duplicate region/year/indicator 北京市/2024/gdp with a different value: "
        "49843.1 here, 49670.2 at a.csv:2",
    ),
    "a row repeated in its own file, also given by another file": (
        {"a.csv": HEADER + GOOD, "b.csv": HEADER + GOOD + GOOD},
        "b.csv:3:value: duplicate region/year/indicator 北京市/2024/gdp (the same value 49670.2 "
        "twice) at a.csv:2",
    ),
    "a row without the source its file's other rows give": (
        {"a.csv": HEADER + GOOD + "天津市,2024,gdp,17931.3,亿元,\n"},
        "a.csv:3:source: no source id, while other rows of this file give one",
    ),
    "a row repeated in its own file": (
        {"a.csv": HEADER + GOOD + GOOD},
        "a.csv:3:value: duplicate region/year/indicator 北京市/2024/gdp (the same value 49670.2 "
        "twice) at a.csv:2",
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
    "negative value": (
        {"a.csv": HEADER + "北京市,2024,gdp,−5,亿元,S227\n"},  # unicode minus
        "a.csv:2:value: negative value '−5' for gdp (allowed only if indicators.csv marks it "
        "signed = true)",
    ),
    "number beyond the float range": (
        {"a.csv": HEADER + "北京市,2024,gdp,1e400,亿元,S227\n"},
        "a.csv:2:value: number out of range: '1e400'",
    ),
    "overflow in the unit conversion": (
        {"a.csv": HEADER + "北京市,2024,gdp,1e305,万亿元,S227\n"},
        "a.csv:2:value: out of range after unit conversion: inf",
    ),
    "empty region cell": (
        {"a.csv": HEADER + ",2024,gdp,1,亿元,S227\n"},
        "a.csv:2:region: no region given",
    ),
    "empty indicator cell": (
        {"a.csv": HEADER + "北京市,2024,,1,亿元,S227\n"},
        "a.csv:2:indicator: no indicator given",
    ),
    "unit column contradicts the label": (
        {"a.csv": HEADER + "北京市,2024,地区生产总值(亿元),49670.2,万元,S227\n"},
        "a.csv:2:unit: unit '万元' contradicts the label '地区生产总值(亿元)'",
    ),
    "unknown unit in a label": (
        {
            "w.csv": "地区,地区生产总值(亿美刀)\n北京,1\n",
            "w.toml": "year = 2024\nsource = 'S227'\n",
        },
        "w.csv:2:indicator: unknown unit '亿美刀' in the label '地区生产总值(亿美刀)'",
    ),
    "year both in the table and in the sidecar": (
        {"w.csv": "地区,年份,gdp(亿元)\n北京,2023,1\n", "w.toml": "year = 2024\nsource = 'S227'\n"},
        "w.csv:1: the years are in the table, so remove year = 2024 from the metadata",
    ),
    "two columns with the same header": (
        {"a.csv": "region,year,indicator,value,value,unit,source\n北京,2024,gdp,1,2,亿元,S227\n"},
        "a.csv:1:value: two columns named 'value' (columns 4 and 5)",
    ),
    "unbalanced quote": (
        {"a.csv": HEADER + GOOD + '天津,2024,gdp,"1,亿元,S227\n河北,2024,gdp,2,亿元,S227\n'},
        "a.csv:3: malformed CSV from this row on (unexpected end of data): check the quotes",
    ),
    "xlsx formula without a saved result": (
        {"b.xlsx": _xlsx(HEADER.split(","), ["北京", 2024, "gdp", "=1+2", "亿元", "S227"])},
        "b.xlsx[Sheet]:2:value: formula without a saved result: '=1+2' (open and save the file in "
        "Excel, or paste the values)",
    ),
    "xlsx date in the year column": (
        {
            "b.xlsx": _xlsx(
                HEADER.split(","), ["北京", dt.date(2024, 1, 1), "gdp", 1, "亿元", "S227"]
            )
        },
        "b.xlsx[Sheet]:2:year: not a year: '2024-01-01'",
    ),
    "xlsx with a notes sheet": (
        {
            "b.xlsx": _xlsx(
                *[[line] for line in NBS_GDP.split()],
                ["地区", "2024年"],
                ["北京市", 1],
                edit=_notes_sheet,
            )
        },
        "b.xlsx[说明]:1: not a recognised table: expected an NBS export (数据库：…), a long table "
        "(region, year, indicator, value, unit, source) or a wide table whose first column is the "
        "region (地区/region); to read only some sheets, list them in the sidecar TOML "
        "([sheets.<name>])",
    ),
    "undecodable sidecar": (
        {"a.csv": HEADER + GOOD, "a.toml": b"\xff\xfe\x00\x01garbage"},
        "a.toml: cannot decode the file as UTF-8, UTF-16 or GB18030/GBK",
    ),
    "empty catalogue": (
        {"indicators.csv": "", "a.csv": HEADER + GOOD},
        "indicators.csv: empty file",
    ),
    "catalogue without rows": (
        {"indicators.csv": CATALOGUE.splitlines()[0], "a.csv": HEADER + GOOD},
        "indicators.csv:1: header only: no data rows",
    ),
    "ragged catalogue row": (
        {
            "indicators.csv": CATALOGUE + "x,a,b,万元,compute,true,,d,c,extra\n",
            "a.csv": HEADER + GOOD,
        },
        f"indicators.csv:{APPENDED}: 10 cells but only 9 column headers",
    ),
    "catalogue with an unbalanced quote": (
        {"indicators.csv": CATALOGUE + 'x,"a,b,万元,compute,true,,d,c\n', "a.csv": HEADER + GOOD},
        f"indicators.csv:{APPENDED}: malformed CSV from this row on (unexpected end of data)",
    ),
    "empty sources table": ({"sources.csv": "", "a.csv": HEADER + GOOD}, "sources.csv: empty file"),
    "a source's commit that is not a commit id": (
        {"sources.csv": "source_id,publisher,commit\nS227,NBS,2016.5\n", "a.csv": HEADER + GOOD},
        "sources.csv:2:commit: must be a git commit id or blank: '2016.5'",
    ),
    "empty file": ({"a.csv": ""}, "a.csv: empty file: no data"),
    "header-only file": ({"a.csv": HEADER}, "a.csv:1: header only: no data rows"),
    "undecodable encoding": (
        {"a.csv": (HEADER + "Café,2024,gdp,1,CNY,S227\n").encode("latin-1")},
        "a.csv: cannot decode the file as UTF-8, UTF-16 or GB18030/GBK",
    ),
    "unrecognised format": ({"a.xls": b"\xd0\xcf\x11\xe0"}, "a.xls: not a recognised data format"),
    "unrecognised table": ({"a.csv": "foo,bar\n1,2\n"}, "a.csv:1: not a recognised table"),
    "no values left": (
        {"a.csv": HEADER + "全国,2024,gdp,—,亿元,S227\n天津,2024,gdp,—,亿元,S227\n"},
        "raw: no values: every cell is missing (missing cells: gdp 1) or dropped",
    ),
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
    assert len(errors) == 1 and errors[0].startswith("error: ") and message in errors[0], errors
    assert "Traceback" not in result.output
    assert out.read_bytes() == b"previous output"
    assert sorted(p.name for p in out.parent.iterdir()) == ["inputs.parquet"]  # no temporary left


def _ingest(raw: Path, out: Path) -> tuple[object, pd.DataFrame]:
    result = runner.invoke(app, ["ingest", str(raw), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return result, pd.read_parquet(out).set_index(["region_code", "year", "indicator"])["value"]


def test_unreadable_folder_or_output_is_one_message_exit_2(tmp_path: Path):
    raw = _raw_dir(tmp_path, {"a.csv": HEADER + GOOD})
    (tmp_path / "processed").mkdir()
    (tmp_path / "file").write_text("x", encoding="utf-8")
    cases = {
        (tmp_path / "nowhere", tmp_path / "o.parquet"): f"{tmp_path / 'nowhere'}: no such folder",
        (raw / "a.csv", tmp_path / "o.parquet"): f"{raw / 'a.csv'}: not a folder",
        (raw, tmp_path / "processed"): f"{tmp_path / 'processed'}: is a folder: give a file",
        (raw, tmp_path / "file" / "o.parquet"): f"{tmp_path / 'file' / 'o.parquet'}: cannot write",
    }
    for (folder, out), message in cases.items():
        result = runner.invoke(app, ["ingest", str(folder), "--out", str(out)])
        assert result.exit_code == 2, result.output
        assert (
            result.stderr.startswith(f"error: {message}") and len(result.stderr.splitlines()) == 1
        )
        assert "Traceback" not in result.output and not (tmp_path / "o.parquet").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "processed", "raw"]
    assert list((tmp_path / "processed").iterdir()) == []


def test_messy_nbs_export_reads_every_row(tmp_path: Path):
    """Blank lines, trailing commas, 全国/合计 rows and a footnote in the middle of the table."""
    export = (
        NBS_GDP + "\n地区,2024年,2023年,,\n\n北京市,49670.2,47353.7,,\n全国,1,2,,\n合计,1,2\n"
        "注：按照我国国民经济核算数据修订制度……\n天津市,17931.3,17211.8\n数据来源：国家统计局\n"
    )
    result, values = _ingest(
        _raw_dir(tmp_path, {"n.csv": export.encode("gb18030")}), tmp_path / "o"
    )
    assert values.to_dict() == {
        ("11", 2023, "gdp"): 47353.7, ("11", 2024, "gdp"): 49670.2,
        ("12", 2023, "gdp"): 17211.8, ("12", 2024, "gdp"): 17931.3,
    }  # fmt: skip
    assert "note: n.csv: dropped 2 row(s) for '全国' (not one of the 31 provinces)" in result.output
    assert "note: n.csv: dropped 2 row(s) for '合计' (not one of the 31 provinces)" in result.output


@pytest.mark.parametrize(
    "data",
    [
        (HEADER + GOOD).replace(",", ";").encode("utf-8"),
        (HEADER + GOOD).replace(",", "\t").encode("utf-16"),  # Excel's "Unicode text"
        (HEADER.replace(",", "\t") + "北京市\t2024\tgdp\t49,670.2\t亿元\tS227\n").encode(),
    ],
    ids=["semicolons", "utf-16 tabs", "tabs and a comma in a number"],
)
def test_semicolon_and_tab_separated_files(tmp_path: Path, data: bytes):
    _, values = _ingest(_raw_dir(tmp_path, {"a.csv": data}), tmp_path / "o.parquet")
    assert values.to_dict() == {("11", 2024, "gdp"): 49670.2}


def test_xlsx_percent_format_and_merged_region(tmp_path: Path):
    def edit(book: Workbook) -> None:
        sheet = book.active
        sheet["D2"].number_format = "0.00%"  # 0.0658 shown as 6.58%
        sheet["D4"].number_format = '0.00"%"'  # a literal % sign: 2.04 shown as 2.04%
        sheet.merge_cells("A2:A3")  # 北京 spans its two years

    book = _xlsx(
        HEADER.strip().split(","),
        ["北京", 2024, "rd_intensity", 0.0658, "%", "S248"],
        [None, 2023, "rd_intensity", 6.22, "%", "S247"],
        ["河北", 2024, "rd_intensity", 2.04, "%", "S248"],
        edit=edit,
    )
    _, values = _ingest(_raw_dir(tmp_path, {"b.xlsx": book}), tmp_path / "o.parquet")
    assert values.to_dict() == {
        ("11", 2023, "rd_intensity"): 6.22, ("11", 2024, "rd_intensity"): 6.58,
        ("13", 2024, "rd_intensity"): 2.04,
    }  # fmt: skip


def test_missing_cells_need_no_unit_and_empty_indicators_are_noted(tmp_path: Path):
    data = HEADER + GOOD + "天津,2024,gdp,,,S227\n北京,2024,rd_intensity,—,%,S248\n"
    result, values = _ingest(_raw_dir(tmp_path, {"a.csv": data}), tmp_path / "o.parquet")
    assert values.to_dict() == {("11", 2024, "gdp"): 49670.2}
    assert "note: a.csv: no value for rd_intensity (all 1 cell(s) missing)" in result.output
    assert "missing cells (not filled, rows left out): gdp 1, rd_intensity 1" in result.output


def test_catalogue_flags_and_signed_indicators(tmp_path: Path):
    """true/false in any case; ``signed = true`` lets an indicator be negative; spaces around a
    source id are ignored."""
    header, *rows = CATALOGUE.splitlines()
    rows = [r.replace(",true,", ",TRUE,") for r in rows]
    catalogue = "\n".join(
        [header + ",signed", *(r + (",True" if r.startswith("gdp,") else ",") for r in rows)]
    )
    data = HEADER + "北京市,2024,gdp,-5,亿元, S227 \n"
    raw = _raw_dir(tmp_path, {"indicators.csv": catalogue + "\n", "a.csv": data})
    _, values = _ingest(raw, tmp_path / "o.parquet")
    assert values.to_dict() == {("11", 2024, "gdp"): -5.0}


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
