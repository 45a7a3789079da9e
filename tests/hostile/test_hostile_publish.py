"""Hostile labels in the published spreadsheets, user mistakes that must exit 2, and kills at
every point of the publication swap."""

from __future__ import annotations

import csv
import io
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from _hostile import RAW, ROOT, assert_refused, cli, error_lines, project, runner, snapshot

from index.cli import app
from index.io import FORMULA_START
from index.publish import tables

HOSTILE = {
    "equals": '=HYPERLINK("http://example.invalid","x")',
    "plus": "+1+1",
    "minus": "-2+3",
    "at": "@SUM(1,1)",
    "tab": "\t=1",
    "cr": "\r=1",
}
FRAMEWORK = (ROOT / "index" / "frameworks" / "cci_public.toml").read_text(encoding="utf-8")
EVIL_FILE = "=1+2.csv"  # a data file's name is the default source id of its rows


def _executable(value: object) -> bool:
    """A text a spreadsheet would evaluate: it starts with = + - @ tab CR and is not a plain
    number (a CSV has no types: a genuine negative number is written as -3 and must stay so)."""
    if not isinstance(value, str) or not value.startswith(FORMULA_START):
        return False
    try:
        float(value)
    except ValueError:
        return True
    return False


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """One publication from a raw folder whose every label source is hostile: framework names,
    sources.csv's publisher and table, a data file's name (as the source id of its rows)."""
    work = tmp_path_factory.mktemp("hostile-publish")
    raw = work / "raw"
    shutil.copytree(RAW, raw)
    src = pd.read_csv(raw / "sources.csv", dtype=str, keep_default_na=False)
    src.loc[0, "publisher"] = HOSTILE["equals"]
    src.loc[0, "table"] = HOSTILE["at"]
    src.to_csv(raw / "sources.csv", index=False)
    data = pd.read_csv(raw / "provincial_inputs.csv", dtype=str, keep_default_na=False)
    mine = data["indicator"].eq("domain_names")
    data[mine].assign(source="").to_csv(raw / EVIL_FILE, index=False)
    late = data["indicator"].eq("web_pages") & data["year"].eq("2024")  # absent in the last year
    data[~mine & ~late].to_csv(raw / "provincial_inputs.csv", index=False)
    fw = (
        FRAMEWORK.replace('name_zh = "算力"', f"name_zh = {HOSTILE['plus']!r}", 1)
        .replace('name_en = "Compute"', f"name_en = {HOSTILE['minus']!r}", 1)
        .replace('name_zh = "信息技术服务收入"', 'name_zh = "@cmd"', 1)
        .replace('name_en = "IT-services revenue"', 'name_en = "\\t=evil"', 1)
    )
    (work / "fw.toml").write_text(fw, encoding="utf-8")
    result = runner.invoke(
        app,
        ["publish", "--raw-dir", str(raw), "--out", str(work / "pub"), "--runs", "0", "-q",
         "--framework", str(work / "fw.toml")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (work / "output.txt").write_text(result.output, encoding="utf-8")
    (edition,) = (work / "pub").iterdir()
    return edition


def test_edition_year_below_the_latest_data_year_is_said_even_when_quiet(published):
    # web_pages has no 2024 value in this raw folder: the edition is 2023, and the run says so
    output = (published.parent.parent / "output.txt").read_text(encoding="utf-8")
    assert published.name == "2023"
    assert error_lines(output) == []
    (note,) = [line for line in output.splitlines() if line.startswith("note: ")]
    assert note == (
        "note: edition year 2023, the latest year with a value for every series: 2024 lacks "
        "web_pages (give --year to choose)"
    )


def test_no_sheet_of_the_workbook_holds_an_executable_cell(published):
    book = openpyxl.load_workbook(published / "ranking.xlsx")
    seen = 0
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                assert not _executable(cell.value), (ws.title, cell.coordinate, cell.value)
                seen += isinstance(cell.value, str) and cell.value.startswith("'")
    assert seen >= 5  # the hostile labels are there, escaped


def test_hostile_labels_are_kept_as_text_with_a_quote(published):
    book = openpyxl.load_workbook(published / "ranking.xlsx")
    texts = {c.value for ws in book.worksheets for row in ws.iter_rows() for c in row}
    heads = {str(c.value) for ws in book.worksheets for c in ws[1]}
    assert "'" + HOSTILE["equals"] in texts  # sources.csv publisher
    assert "'" + HOSTILE["at"] in texts  # sources.csv table
    assert "'" + EVIL_FILE in texts  # the data file's name as a source id
    assert "'@cmd" in texts  # framework name_zh
    assert any(h.startswith("'+1+1") for h in heads)  # a pillar name in the ranking headers


def test_negative_numbers_stay_numeric_cells(published):
    book = openpyxl.load_workbook(published / "ranking.xlsx")
    ws = book.worksheets[0]
    change = next(c.column for c in ws[1] if str(c.value).startswith("较"))
    values = [ws.cell(r, change).value for r in range(2, ws.max_row + 1)]
    assert any(isinstance(v, int) and v < 0 for v in values)
    assert all(v is None or isinstance(v, int) for v in values)


def test_csv_has_no_executable_cell_and_numbers_unquoted(published):
    text = (published / "ranking.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert not [c for row in rows for c in row if _executable(c)]
    assert any(c.startswith("'+1+1") for c in rows[0])
    change = next(j for j, h in enumerate(rows[0]) if h.startswith("较"))
    assert any(row[change].startswith("-") and row[change][1:].isdigit() for row in rows[1:])


def test_control_characters_in_a_label_do_not_break_the_workbook(tmp_path):
    frame = pd.DataFrame({"名称 Name": ["bell\x07", "=x\x00y"], "v": [-1.5, 2.0]})
    ws = openpyxl.load_workbook(io.BytesIO(tables.xlsx_bytes([tables.Sheet("S", frame)]))).active
    assert [ws.cell(r, 1).value for r in (2, 3)] == ["bell\ufffd", "'=x\ufffdy"]
    assert [ws.cell(r, 2).value for r in (2, 3)] == [-1.5, 2.0]


# ---- user mistakes: exit 2 ---------------------------------------------------------------------
def test_publish_into_a_path_below_a_file_names_the_path_before_any_work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocker = tmp_path / "pub"
    blocker.write_text("a file where the publications folder should be", encoding="utf-8")
    result = runner.invoke(
        app, ["publish", "--raw-dir", str(RAW), "--out", str(blocker / "x"), "--runs", "0", "-q"]
    )
    assert_refused(result, str(blocker / "x"), "cannot write the output", "is a file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pub"]  # not even data/processed


def test_negative_runs_is_a_located_setting_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["publish", "--out", str(tmp_path), "--runs", "-5", "-q"])
    assert_refused(result, "settings:runs: ", "greater than or equal to 0")
    assert not list(tmp_path.iterdir())


def test_data_that_is_not_parquet_is_refused(tmp_path):
    bogus = tmp_path / "inputs.parquet"
    bogus.write_text("region,year\n", encoding="utf-8")
    result = runner.invoke(app, ["run", "--data", str(bogus)])
    assert_refused(result, f"{bogus}: ", "not a readable Parquet file")


@pytest.mark.parametrize(("content", "phrase"), [("", "empty file"), ("uCode,x\n", "header only")])
def test_coinr_empty_files_are_refused(tmp_path, content, phrase):
    idata, imeta = tmp_path / "iData.csv", tmp_path / "iMeta.csv"
    idata.write_text(content, encoding="utf-8")
    imeta.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["run", "--coinr", str(idata), str(imeta)])
    assert_refused(result, str(imeta), phrase)


def test_sensitivity_output_below_a_file_names_the_path(tmp_path, bundled_inputs):
    blocker = tmp_path / "processed"
    blocker.write_text("not a folder", encoding="utf-8")
    out = blocker / "uncertainty.parquet"
    result = runner.invoke(
        app, ["sensitivity", "--data", str(bundled_inputs), "--out", str(out), "--n", "4", "-q"]
    )
    assert_refused(result, str(out), "cannot write the output")


def test_second_concurrent_publish_stops_with_a_message(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "pub" / "2024"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time
            from index.publish import folder
            with folder.locked({str(target)!r}):
                print("locked", flush=True)
                time.sleep(120)
        """)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = runner.invoke(
            app,
            ["publish", "--raw-dir", str(RAW), "--out", str(tmp_path / "pub"), "--year", "2024",
             "--runs", "0", "-q"],
        )  # fmt: skip
        assert_refused(result, str(target), "another publish is writing this edition",
                       f"process {holder.pid}")  # fmt: skip
        assert not target.exists()
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


# ---- crash windows ---------------------------------------------------------------------------
BUILD = """
import sys
from pathlib import Path
from index.publish import folder
if sys.argv[2] == "rename":
    folder._RENAMEAT2 = None  # a system without renameat2: the two-rename swap
with folder.staging(Path(sys.argv[1])) as tmp:
    for k in range(20):
        (tmp / f"part{k}.txt").write_text("new", encoding="utf-8")
"""


def _old_edition(root: Path) -> Path:
    project(root)  # commands run in root read and write below it
    target = root / "publications" / "2024"
    target.mkdir(parents=True)
    for k in range(20):
        (target / f"part{k}.txt").write_text("old", encoding="utf-8")
    return target


def _kill_at(point: str, target: Path, mode: str, root: Path) -> None:
    signal_file = root / f"paused-{point}"
    proc = subprocess.Popen(
        [sys.executable, "-c", BUILD, str(target), mode],
        env={**os.environ, "PYTHONPATH": str(ROOT), "COMPUTE_INDEX_TEST_PAUSE": f"{point}:{signal_file}"},
    )  # fmt: skip
    for _ in range(600):
        if signal_file.exists() or proc.poll() is not None:
            break
        time.sleep(0.1)  # waiting for the child to reach the point, not timing anything
    assert signal_file.exists(), f"the run never reached {point}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def _edition(target: Path) -> set[str]:
    """The contents of a visible edition: {'old'} or {'new'}, whole (all 20 parts)."""
    parts = sorted(target.iterdir())
    assert len(parts) == 20
    return {p.read_text(encoding="utf-8") for p in parts}


@pytest.mark.parametrize(
    ("point", "mode", "visible", "after"),
    [
        ("staged", "exchange", "old", "old"),
        ("swap", "exchange", "new", "new"),  # the exchange is one step: new at once
        ("swapped", "exchange", "new", "new"),
        ("staged", "rename", "old", "old"),
        ("swap", "rename", None, "old"),  # between the two renames: put back by the next command
        ("swapped", "rename", "new", "new"),
    ],
)
def test_killed_publish_leaves_an_edition_and_the_next_command_recovers(
    tmp_path, point, mode, visible, after
):
    target = _old_edition(tmp_path)
    _kill_at(point, target, mode, tmp_path)
    if visible is None:
        assert not target.exists() and any(".aside" in p.name for p in target.parent.iterdir())
    else:
        assert _edition(target) == {visible}
    proc = cli(
        "ingest", "no-such-folder", "--out", "x.parquet", "-q", cwd=tmp_path
    )  # any command, failing or not
    assert proc.returncode == 2 and error_lines(proc.stderr) == [
        "error: no-such-folder: no such folder"
    ]
    assert _edition(target) == {after}
    assert sorted(p.name for p in target.parent.iterdir()) == ["2024"]  # no debris left


def test_killed_cli_publish_keeps_the_previous_edition_byte_for_byte(tmp_path, bundled_inputs):
    raw = tmp_path / "data" / "raw"
    shutil.copytree(RAW, raw)
    target = _old_edition(tmp_path)
    before = snapshot(target)
    signal_file = tmp_path / "paused"
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from index.cli import app; app()", "publish",
         "--raw-dir", str(raw), "--year", "2024", "--runs", "0", "-q"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT), "COMPUTE_INDEX_TEST_PAUSE": f"staged:{signal_file}"},
    )  # fmt: skip
    for _ in range(3000):
        if signal_file.exists() or proc.poll() is not None:
            break
        time.sleep(0.1)
    assert signal_file.exists(), "publish never reached the swap"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert snapshot(target) == before
    cli("ingest", "no-such-folder", "--out", "x.parquet", "-q", cwd=tmp_path)
    assert sorted(p.name for p in target.parent.iterdir()) == ["2024"]
    assert snapshot(target) == before


def test_config_that_is_a_folder_names_it(tmp_path):
    result = runner.invoke(app, ["run", "--config", str(tmp_path)])
    assert_refused(result, str(tmp_path))
