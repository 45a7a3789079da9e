"""Hostile files: crafted workbooks, quadratic-looking CSVs, contradictory metadata, odd entries in
data/raw. Large or binary files are generated here, not stored."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest
from _hostile import (
    LONG_HEADER,
    assert_ingest_accepted,
    assert_ingest_refused,
    assert_refused,
    cli,
    error_lines,
    ingest,
    project,
    raw_dir,
    rezip,
    snapshot,
    workbook,
)

PORTS = "broadband_access_ports"
ROW = f"北京市,2024,{PORTS},1595.7,万个,S01\n"
NBS = "数据库：分省年度数据\n指标：互联网宽带接入端口(万个)\n时间：最近2年\n地区,2024年,2023年\n"


# ---- XLSX -----------------------------------------------------------------------------------
def _hide(state: str):
    def edit(book):
        extra = book.create_sheet("secret")
        extra.append(["region", "year", "indicator", "value", "unit", "source"])
        extra.append(["天津市", 2024, PORTS, 999.0, "万个", "S01"])
        extra.sheet_state = state

    return edit


LONG_ROWS = (
    ["region", "year", "indicator", "value", "unit", "source"],
    ["北京市", 2024, PORTS, 1595.7, "万个", "S01"],
)


@pytest.mark.parametrize("state", ["hidden", "veryHidden"])
def test_hidden_sheet_with_data_is_refused(tmp_path, state):
    book = workbook(*LONG_ROWS, edit=_hide(state))
    assert_ingest_refused(
        tmp_path, {"book.xlsx": book}, "book.xlsx:sheets: ", "hidden sheet(s) ['secret']", "unhide"
    )


def test_hidden_sheet_listed_in_the_sidecar_is_read(tmp_path):
    files = {
        "book.xlsx": workbook(*LONG_ROWS, edit=_hide("hidden")),
        "book.toml": "[sheets.Sheet]\n[sheets.secret]\n",
    }
    expected = {("11", 2024, PORTS): "1595.7", ("12", 2024, PORTS): "999.0"}
    assert_ingest_accepted(tmp_path, files, expected)


def test_zip_bomb_is_refused_before_it_is_inflated(tmp_path):
    # 300 MB of zeros deflate to ~300 kB: over the 200 MB limit, refused from the zip directory.
    book = rezip(workbook(*LONG_ROWS), lambda n, b: b, {"xl/media/pad.bin": bytes(300 * 10**6)})
    assert len(book) < 2 * 10**6
    assert_ingest_refused(
        tmp_path, {"book.xlsx": book}, "book.xlsx: ", "inflates to 300 MB",
        "limit of 200 MB", "COMPUTE_INDEX_XLSX_LIMIT_MB",
    )  # fmt: skip


def test_xlsx_limit_is_overridable_and_checked(tmp_path):
    book = workbook(*LONG_ROWS)
    small = {"COMPUTE_INDEX_XLSX_LIMIT_MB": "0.001"}
    assert_ingest_refused(tmp_path / "a", {"b.xlsx": book}, "b.xlsx: ", "limit of 0 MB", env=small)
    bad = {"COMPUTE_INDEX_XLSX_LIMIT_MB": "lots"}
    assert_ingest_refused(
        tmp_path / "b", {"b.xlsx": book}, "COMPUTE_INDEX_XLSX_LIMIT_MB: ", "'lots'", env=bad
    )
    big = {"COMPUTE_INDEX_XLSX_LIMIT_MB": "1000"}
    assert_ingest_accepted(
        tmp_path / "c", {"b.xlsx": book}, {("11", 2024, PORTS): "1595.7"}, env=big
    )


def test_merged_range_over_the_whole_sheet_is_refused(tmp_path):
    def merge(book):
        book.active.merge_cells("H1:H2")

    def widen(name, body):
        return (
            body.replace(b'ref="H1:H2"', b'ref="A10:XFD1048576"') if "worksheets" in name else body
        )

    book = rezip(workbook(*LONG_ROWS, edit=merge), widen)
    assert_ingest_refused(tmp_path, {"book.xlsx": book}, "book.xlsx: ", "merged cells", "unmerge")


def test_used_range_to_the_last_column_reads_only_the_cells_held(tmp_path):
    rows = [["region", "year", "indicator", "value", "unit", "source"]]
    regions = ["北京市", "天津市", "河北省", "山西省"]
    rows += [
        [r, 2016 + y, PORTS, f"{100 + y}.25", "万个", "S01"] for r in regions for y in range(9)
    ]

    def far(book):
        book.active["XFD1"].number_format = "0.00"  # a styled empty cell at column 16384
        book.active["XFD1"].value = None
        book.active.cell(2000, 16384).number_format = "0.00"

    codes = dict(zip(regions, ["11", "12", "13", "14"], strict=True))
    expected = {(codes[r[0]], r[1], PORTS): r[3] for r in rows[1:]}
    assert_ingest_accepted(tmp_path, {"far.xlsx": workbook(*rows, edit=far)}, expected)


def test_bytes_that_are_not_a_workbook_are_refused(tmp_path):
    assert_ingest_refused(
        tmp_path, {"book.xlsx": os.urandom(4096)}, "book.xlsx: ", "not a readable XLSX workbook"
    )


def test_formula_without_saved_value_is_refused_from_the_single_load(tmp_path):
    def formula(book):
        book.active["D2"] = "=B2*2"

    assert_ingest_refused(
        tmp_path, {"f.xlsx": workbook(*LONG_ROWS, edit=formula)}, "f.xlsx[Sheet]:2:value: ",
        "formula without a saved result: '=B2*2'",
    )  # fmt: skip


# ---- CSV resources ---------------------------------------------------------------------------
def test_row_with_200k_trailing_commas_is_read(tmp_path):
    files = {"ports.csv": LONG_HEADER + ROW.rstrip("\n") + "," * 200_000 + "\n"}
    assert_ingest_accepted(tmp_path, files, {("11", 2024, PORTS): "1595.7"})


def test_one_cell_bigger_than_the_csv_field_limit_is_a_located_error(tmp_path):
    files = {"ports.csv": LONG_HEADER + f"北京市,2024,{PORTS},{'7' * 200_000},万个,S01\n"}
    assert_ingest_refused(tmp_path, files, "ports.csv:2:value: ", "200000 characters")


def test_error_output_is_capped(tmp_path):
    n = 20_000
    body = "".join(f"北京市,2024,{PORTS},x{k},万个,S01\n" for k in range(n))
    result, out, before = ingest(tmp_path, raw_dir(tmp_path, {"bad.csv": LONG_HEADER + body}))
    assert result.exit_code == 2 and "Traceback" not in result.output
    lines = error_lines(result.output)
    assert len(lines) == 51 and lines[0].startswith("error: bad.csv:2:value: not a number")
    assert lines[-1] == f"error: … and {n - 50:,} more"
    assert snapshot(out.parent) == before


# ---- contradictory metadata -------------------------------------------------------------------
def test_two_indicator_lines_are_refused(tmp_path):
    nbs = NBS.replace("时间：", "指标：互联网宽带接入用户(万户)\n时间：") + "北京市,1595.7,1500.0\n"
    assert_ingest_refused(
        tmp_path, {"nbs.csv": nbs}, "nbs.csv:3:指标: ", "two '指标：' lines", "which one"
    )


def test_region_line_when_rows_are_regions_is_refused(tmp_path):
    nbs = NBS.replace("时间：", "地区：上海市\n时间：") + "北京市,1595.7,1500.0\n"
    assert_ingest_refused(tmp_path, {"nbs.csv": nbs}, "nbs.csv:3:地区: ", "the rows are 地区")


def test_sidecar_unit_contradicting_the_label_is_refused(tmp_path):
    files = {"nbs.csv": NBS + "北京市,1595.7,1500.0\n", "nbs.toml": 'unit = "亿个"\n'}
    assert_ingest_refused(
        tmp_path, files, "nbs.csv:5:unit: ", "unit = '亿个'", "the label", "'万个'"
    )


def test_unit_column_contradicting_the_sidecar_unit_is_refused(tmp_path):
    files = {"ports.csv": LONG_HEADER + ROW, "ports.toml": 'unit = "亿个"\n'}
    assert_ingest_refused(tmp_path, files, "ports.csv:2:unit: ", "contradicts the metadata")


def test_sidecar_indicator_on_a_table_that_names_its_own_is_refused(tmp_path):
    files = {"ports.csv": LONG_HEADER + ROW, "ports.toml": 'indicator = "gdp"\n'}
    assert_ingest_refused(tmp_path, files, "ports.csv:1:indicator: ", "is not used", "remove it")


def test_sidecar_nested_5000_deep_is_refused(tmp_path):
    files = {"ports.csv": LONG_HEADER + ROW, "ports.toml": "a = " + "[" * 5000 + "]" * 5000 + "\n"}
    assert_ingest_refused(tmp_path, files, "ports.toml: ", "nested too deep")


def test_binary_sidecar_is_refused(tmp_path):
    files = {"ports.csv": LONG_HEADER + ROW, "ports.toml": b"\x00\xff\xfe" * 100}
    assert_ingest_refused(tmp_path, files, "ports.toml: ", "cannot decode")


# ---- entries of data/raw ----------------------------------------------------------------------
def test_dangling_symlink_is_refused_by_path(tmp_path):
    raw = raw_dir(tmp_path, {"ports.csv": LONG_HEADER + ROW})
    (raw / "moved.csv").symlink_to(tmp_path / "gone.csv")
    result, out, before = ingest(tmp_path, raw)
    assert_refused(
        result, "moved.csv: ", "symbolic link", "missing", folder=out.parent, before=before
    )


def test_symlinked_folder_is_refused_by_path(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "more.csv").write_text(LONG_HEADER + ROW, encoding="utf-8")
    raw = raw_dir(tmp_path, {"ports.csv": LONG_HEADER + ROW})
    (raw / "nbs").symlink_to(elsewhere, target_is_directory=True)
    result, out, before = ingest(tmp_path, raw)
    assert_refused(
        result, "nbs: ", "link to a folder", "not followed", folder=out.parent, before=before
    )


def test_fifo_is_refused_without_blocking(tmp_path):
    raw = raw_dir(tmp_path, {"ports.csv": LONG_HEADER + ROW})
    os.mkfifo(raw / "pipe.csv")
    out = tmp_path / "inputs.parquet"
    proc = cli("ingest", str(raw), "--out", str(out), "-q", cwd=tmp_path, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert error_lines(proc.stderr) == [
        "error: pipe.csv: not a regular file (a FIFO, socket or device)"
    ]
    assert not out.exists()


def test_stale_temporary_file_of_a_killed_ingest_is_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    processed = tmp_path / "processed"
    processed.mkdir()
    stale = processed / f".inputs.parquet.{int(dead.stdout)}.k2j4h5g6.tmp"
    stale.write_bytes(b"half a parquet file")
    old_form = processed / ".inputs.parquet.a1b2c3d4.tmp"
    old_form.write_bytes(b"half")
    result, out, _ = ingest(tmp_path, raw_dir(tmp_path, {"ports.csv": LONG_HEADER + ROW}))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in processed.iterdir()) == ["inputs.parquet"]


def test_any_command_cleans_stale_temporary_files_in_the_working_directory(tmp_path):
    project(tmp_path)
    processed = tmp_path / "data" / "processed"
    processed.mkdir(parents=True)
    stale = processed / ".inputs.parquet.999999999.abcdefgh.tmp"  # no such process
    stale.write_bytes(b"half")
    proc = cli("ingest", "no-such-folder", "--out", "x.parquet", "-q", cwd=tmp_path, timeout=120)
    assert proc.returncode == 2 and error_lines(proc.stderr) == [
        "error: no-such-folder: no such folder"
    ]
    assert not stale.exists()


def test_zip_listing_is_what_bounds_inflation():
    # why the limit can trust the zip directory: a member is never inflated past its declared size
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a", bytes(10_000))
    data = bytearray(buf.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = z.infolist()[0]
        info.file_size = 100  # a lying size
        with pytest.raises(zipfile.BadZipFile), z.open(info) as fh:
            fh.read()


def test_decimal_mark_declared_for_a_workbook_is_refused(tmp_path):
    files = {"book.xlsx": workbook(*LONG_ROWS), "book.toml": 'decimal = ","\n'}
    assert_ingest_refused(tmp_path, files, "book.xlsx[Sheet]:decimal: ", "for CSV files")
