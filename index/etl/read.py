"""Readers: CSV/XLSX files in any of the supported layouts → one raw long frame of strings.

Every file is first loaded as *grids* (a CSV is one grid, an XLSX has one per sheet) of text cells
with their original row numbers; the layout is then detected per grid and parsed into records that
one shared step (``_frame``) turns into the raw long frame ``RAW_COLUMNS``. Nothing is converted
here: regions, years, numbers and units stay text for ``index.etl.clean``.

Layouts (detected in this order, or forced with ``format`` in the table's metadata):

``nbs``
    The NBS data-portal export: lines ``数据库：…`` ``指标：地区生产总值(亿元)`` ``时间：…``, a header
    ``地区,2024年,2023年,…`` and footnotes ``注：…`` / ``数据来源：…``.
    The header's first cell names the row dimension (地区, 指标 or 时间); the columns hold years or,
    failing that, the remaining dimension; the third dimension is fixed by its ``指标：``/``地区：``/
    ``时间：`` line.
``long``
    A header with a ``value`` column and region, year, indicator columns (``province_zh``,
    ``province_en``, ``地区`` … are accepted for region), optional ``unit`` and ``source``.
``wide``
    First column the region (header ``地区``/``region``/``province`` … or blank). Either every other
    header is a year (one indicator, named by ``indicator`` in the metadata), or the headers are
    indicators, with the year in a ``year``/``年份`` column or given as ``year`` in the metadata.

Units: a label ending in a parenthesised unit (``软件业务收入(万元)``) declares it; otherwise the row's
``unit`` column, else the metadata ``unit`` (one string, or a table by indicator label). Sources: the
``source`` column, else the metadata ``source``, else — for a file that cites no source in any row —
the file's own name (a blank source cell in a file whose other rows cite one is an error).

Metadata comes from the ``meta`` argument; ``index.etl.ingest`` loads it from a sidecar
``<file stem>.toml`` with keys ``format indicator year unit source`` and, for workbooks, per-sheet
tables ``[sheets.<name>]`` that override them — when ``sheets`` is given, only those sheets are read.
Blank rows, trailing blank cells and footnote rows (first cell ``注：`` ``数据来源：`` ``资料来源：``,
wherever they stand) are ignored everywhere; row numbers are those of the file (a quoted cell
spanning lines is reported at its first line).

CSV: the delimiter is the most frequent of ``,`` tab ``;`` on the first line that is not an NBS
``数据库：…`` line (ties → comma), so Excel's tab-separated "Unicode text" and ``;``-separated
exports read too; an unbalanced quote is an error at the row where it starts. In a ``;``- or
tab-separated file a value like ``1,234`` is refused unless the metadata declares the decimal mark
(``decimal = "," | "."``); with ``decimal = ","`` values are rewritten with a decimal point here.
XLSX: cells are read as saved (``data_only``); a number shown as a percentage (format ``0.0%``)
is read as the percentage it shows (0.0658 → ``6.58%``); a date as its ISO date; a formula
without a saved result as its formula text (an error downstream); a label merged over several
rows repeats in each (a region spanning the rows of its years; a merged number is never copied).
A workbook over the inflated-size limit (``COMPUTE_INDEX_XLSX_LIMIT_MB``, default 200) is refused
before parsing; a hidden sheet with data is refused unless ``[sheets]`` lists the sheets to read.
Metadata that contradicts the table (two ``指标：`` lines, a sidecar unit against a ``(万个)``
label, a key the layout does not use) is an error.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
import re
import stat
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict

from index.errors import InputError, Problem, validated
from index.etl.numbers import ambiguous_comma, footnote, parse_decimal, parse_year
from index.etl.text import clean, key
from index.etl.units import UnitError, parse_unit
from index.io import parse_toml

if TYPE_CHECKING:  # openpyxl loads only when a workbook is read (run and --help never do)
    from openpyxl.cell.cell import Cell, MergedCell
    from openpyxl.worksheet.worksheet import Worksheet

RAW_COLUMNS: Final = (
    "file", "row", "field", "region", "year", "indicator", "value", "unit", "source",
)  # fmt: skip
CSV_SUFFIXES: Final = frozenset({".csv"})
XLSX_SUFFIXES: Final = frozenset({".xlsx", ".xlsm"})

# Header names per field (compared by ``text.key``: case, width, spaces and punctuation ignored);
# earlier names win when a table has several (province_zh before province_en).
HEADERS: Final = {
    "region": ("region", "province_zh", "province", "地区", "省份", "省份名称", "地区名称",
               "省", "省市", "省区市", "region_code", "省份代码", "province_en"),
    "year": ("year", "年份", "年", "时间"),
    "indicator": ("indicator", "indicator_code", "指标", "指标名称"),
    "value": ("value", "值", "数值"),
    "unit": ("unit", "单位"),
    "source": ("source", "source_id", "来源", "数据来源"),
}  # fmt: skip
_HEADER_KEYS: Final = {f: [key(n) for n in names] for f, names in HEADERS.items()}
NBS_DIMENSIONS: Final = {"地区": "region", "指标": "indicator", "时间": "year"}
_NBS_LINE = re.compile(r"(数据库|指标|地区|时间):(.*)")
DELIMITERS: Final = (",", "\t", ";")  # in order of preference on a tie
_LITERAL = re.compile(r'"[^"]*"|\\.')  # quoted text and escaped characters in a number format
_FOOTNOTE = re.compile(r"(注\d*|数据来源|资料来源):")
LABEL_UNIT = re.compile(r"(.*\S)\s*\(([^()]*)\)")


class TableMeta(BaseModel):
    """What a table does not say about itself (a sidecar TOML or reader arguments)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    format: Literal["nbs", "long", "wide"] | None = None
    decimal: Literal[".", ","] | None = None
    indicator: str | None = None
    year: int | None = None
    unit: str | dict[str, str] | None = None
    source: str | dict[str, str] | None = None
    sheets: dict[str, TableMeta] | None = None

    def for_sheet(self, sheet: str) -> TableMeta:
        """This metadata with the ``[sheets.<sheet>]`` overrides applied."""
        own = (self.sheets or {}).get(sheet)
        return self.model_copy(
            update={**(own.model_dump(exclude_unset=True) if own else {}), "sheets": None}
        )

    def lookup(self, attr: Literal["unit", "source"], label: str) -> str:
        """The metadata unit/source for an indicator label ('' if none is declared)."""
        value = getattr(self, attr)
        if isinstance(value, dict):
            value = next((v for k, v in value.items() if key(k) == key(label)), "")
        return clean(value or "")


@dataclass(frozen=True)
class Grid:
    """A table of text cells: ``name`` is the file (``book.xlsx[Sheet1]`` for a sheet); each row
    keeps its 1-based row number in the file. Blank rows and trailing blank cells are dropped.
    ``delimiter`` is a CSV's field separator; ``hidden`` marks a hidden (or very hidden) sheet."""

    name: str
    rows: list[tuple[int, list[str]]]
    sheet: str | None = None
    delimiter: str | None = None
    hidden: bool = False


def load_sidecar(path: Path, name: str | None = None) -> TableMeta:
    """Parse and check a sidecar TOML; problems are reported at ``<name>:<key>``."""
    name = name or path.name
    return validated(TableMeta, parse_toml(read_text(path, name), name), name)


def read_bytes(path: Path, name: str | None = None) -> bytes:
    """The file's bytes; an unreadable file (permissions, a folder, a FIFO or device, which would
    block or never end) is an ``InputError``."""
    name = name or path.name
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            what = (
                "a folder"
                if stat.S_ISDIR(mode)
                else "not a regular file (a FIFO, socket or device)"
            )
            raise InputError(Problem(name, None, None, f"cannot read the file: {what}"))
        return path.read_bytes()
    except OSError as exc:
        raise InputError(
            Problem(name, None, None, f"cannot read the file: {exc.strerror}")
        ) from None


def read_text(path: Path, name: str | None = None) -> str:
    """Decode a text file without being told its encoding: UTF-16 (by BOM), UTF-8 (with or without
    BOM), else GB18030 (a superset of GBK/GB2312, as NBS exports use). Anything else is an error."""
    data = read_bytes(path, name)
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    for encoding in ("utf-16",) if utf16 else ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise InputError(
        Problem(
            name or path.name, None, None,
            "cannot decode the file as UTF-8, UTF-16 or GB18030/GBK (is it binary, or in another "
            "encoding?); save it as UTF-8",
        )
    )  # fmt: skip


def _delimiter(text: str) -> str:
    """The most frequent of ``DELIMITERS`` on the first line that is not an NBS header line."""
    for line in text.splitlines():
        if clean(line) and not _NBS_LINE.match(clean(line)):
            counts = Counter({d: line.count(d) for d in DELIMITERS})
            return max(DELIMITERS, key=lambda d: counts[d])  # max keeps the first on a tie
    return ","


def _csv_rows(text: str, name: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """CSV records with the line each starts on; a malformed quote is an error located there."""
    csv.field_size_limit(len(text) + 1)  # one cell may be the whole file; it is read once anyway
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    try:
        for row in reader:
            yield start, row
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(
            Problem(name, start, None, f"malformed CSV from this row on ({exc}): check the quotes")
        ) from None


def _cell(cell: Cell | MergedCell) -> str:
    """Spreadsheet cell → text: floats keep their shortest round-trip form (49670.2, not
    49670.199…); a number formatted as a percentage is the percentage shown; a date its ISO date."""
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float) and "%" in _LITERAL.sub("", cell.number_format):
        return f"{Decimal(repr(value)).scaleb(2):f}%"  # exact decimal shift: 0.0658 → 6.58%
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    return repr(value) if isinstance(value, float) else str(value)


def _sheet_rows(
    ws: Worksheet, unsaved: dict[tuple[int, int], str]
) -> Iterator[tuple[int, list[str]]]:
    """A sheet's rows as text, from the cells the file holds (not its used range: a workbook whose
    range ends at XFD1048576 is read in the time of its few cells). A formula without a saved
    result (``unsaved``, by (row, column)) reads as its formula; a label merged over several rows
    repeats down its first column (a merged number is never copied)."""
    below = {
        (r, rng.min_col): top
        for rng in ws.merged_cells.ranges
        if isinstance(top := ws.cell(rng.min_row, rng.min_col).value, str)
        for r in range(rng.min_row + 1, rng.max_row + 1)
    }
    by_row: dict[int, dict[int, str]] = {}
    cells: dict[tuple[int, int], Cell | MergedCell] = ws._cells  # noqa: SLF001 - the sparse store
    for (r, c), cell in cells.items():
        text = below.get((r, c)) or _cell(cell) or unsaved.get((r, c), "")
        if text:
            by_row.setdefault(r, {})[c] = text
    for r in sorted(by_row):
        row = by_row[r]
        yield r, [row.get(c, "") for c in range(1, max(row) + 1)]


def _trimmed(cells: list[str]) -> list[str]:
    """``cells`` without its trailing blank cells, in one pass and one slice (linear time: a row of
    5 million trailing commas is one scan, not 5 million shrinking copies)."""
    end = len(cells)
    while end and not clean(cells[end - 1]):
        end -= 1
    return cells if end == len(cells) else cells[:end]


def _grid(
    name: str,
    rows: Iterator[tuple[int, list[str]]],
    sheet: str | None = None,
    **extra: str | bool | None,
) -> Grid:
    kept = [(n, trimmed) for n, cells in rows if (trimmed := _trimmed(cells))]
    return Grid(f"{name}[{sheet}]" if sheet else name, kept, sheet, **extra)  # type: ignore[arg-type]


def load_grids(path: Path, name: str | None = None) -> list[Grid]:
    """A CSV as one grid, or each non-empty sheet of an XLSX workbook."""
    name = name or path.name
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        text = read_text(path, name)
        delimiter = _delimiter(text)
        grids = [_grid(name, _csv_rows(text, name, delimiter), delimiter=delimiter)]
    elif suffix in XLSX_SUFFIXES:
        grids = _xlsx_grids(read_bytes(path, name), name)
    else:
        raise InputError(
            Problem(name, None, None, "not a recognised data format (use .csv or .xlsx)")
        )
    grids = [g for g in grids if g.rows] if len(grids) > 1 else grids
    if not any(g.rows for g in grids):
        raise InputError(Problem(name, None, None, "empty file: no data"))
    return grids


XLSX_LIMIT_ENV: Final = "COMPUTE_INDEX_XLSX_LIMIT_MB"
XLSX_LIMIT_MB: Final = 200  # uncompressed size of all parts of one workbook, in MB (10**6 bytes)
MERGED_LIMIT: Final = 1_000_000  # cells covered by merged ranges in one sheet
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def xlsx_limit() -> int:
    """The inflated-size limit in bytes: ``$COMPUTE_INDEX_XLSX_LIMIT_MB`` MB, default 200."""
    text = os.environ.get(XLSX_LIMIT_ENV, "")
    try:
        mb = float(text) if text.strip() else XLSX_LIMIT_MB
    except ValueError:
        mb = -1.0
    if not 0 < mb < float("inf"):
        raise InputError(
            Problem(XLSX_LIMIT_ENV, None, None, f"must be a positive number of MB, not {text!r}")
        )
    return int(mb * 10**6)


def _xlsx_grids(data: bytes, name: str) -> list[Grid]:
    """Each sheet of a workbook as a grid. Before openpyxl sees the bytes, the zip's declared
    uncompressed size (which bounds what can be inflated: a member longer than declared fails its
    check) is held to ``xlsx_limit()`` and the merged ranges to ``MERGED_LIMIT`` cells per sheet,
    so a small zip bomb is refused at once; the workbook is then loaded once, with saved values,
    and formulas without a saved result are taken from the same pre-scan of the sheet XML."""

    def refuse(message: str) -> InputError:
        return InputError(Problem(name, None, None, message))

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        inflated = sum(info.file_size for info in archive.infolist())
        limit = xlsx_limit()
        if inflated > limit:
            raise refuse(
                f"inflates to {inflated / 10**6:,.0f} MB, over the limit of {limit / 10**6:,.0f} MB "
                f"for one workbook (a zip bomb?); to read it anyway, set {XLSX_LIMIT_ENV} higher"
            )
        unsaved = {
            part: _scan_sheet(archive, part, name)
            for part in archive.namelist()
            if part.startswith("xl/worksheets/") and part.endswith(".xml")
        }
        from openpyxl.reader.excel import ExcelReader

        reader = ExcelReader(io.BytesIO(data), read_only=False, data_only=True)
        reader.read()
    except InputError:
        raise
    except MemoryError:
        raise refuse("too large to read in memory") from None
    except Exception as exc:  # noqa: BLE001 - any failure of the parser on foreign bytes
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise refuse(f"not a readable XLSX workbook ({why})") from None
    part_of = {sheet.name: rel.target.lstrip("/") for sheet, rel in reader.parser.find_sheets()}
    return [
        _grid(
            name,
            _sheet_rows(ws, unsaved.get(part_of.get(ws.title, ""), {})),
            ws.title,
            hidden=ws.sheet_state != "visible",
        )
        for ws in reader.wb.worksheets
    ]


def _scan_sheet(archive: zipfile.ZipFile, part: str, name: str) -> dict[tuple[int, int], str]:
    """One streaming pass over a sheet's XML: the formulas of cells without a saved value, by
    (row, column); an ``InputError`` if its merged ranges cover more than ``MERGED_LIMIT`` cells
    (openpyxl would create an object for every covered cell)."""
    import xml.etree.ElementTree as ET

    from openpyxl.utils.cell import coordinate_to_tuple, range_boundaries

    unsaved: dict[tuple[int, int], str] = {}
    merged = 0
    row = col = 0
    with archive.open(part) as fh:
        for event, elem in ET.iterparse(fh, events=("start", "end")):
            tag = elem.tag
            if event == "start":
                if tag == f"{_MAIN}row":
                    row, col = int(elem.get("r") or row + 1), 0
                continue
            if tag == f"{_MAIN}c":
                ref = elem.get("r")
                row, col = coordinate_to_tuple(ref) if ref else (row, col + 1)
                f = elem.find(f"{_MAIN}f")
                v = elem.find(f"{_MAIN}v")
                if f is not None and (v is None or not (v.text or "").strip()):
                    unsaved[row, col] = "=" + (f.text or "")
                elem.clear()
            elif tag == f"{_MAIN}row":
                elem.clear()
            elif tag == f"{_MAIN}mergeCell":
                min_col, min_row, max_col, max_row = range_boundaries(elem.get("ref", "A1"))
                merged += (max_col - min_col + 1) * (max_row - min_row + 1)
                if merged > MERGED_LIMIT:
                    raise InputError(
                        Problem(
                            name, None, None,
                            f"merged cells in {part} cover more than {MERGED_LIMIT:,} cells "
                            "(a crafted workbook?): unmerge them",
                        )
                    )  # fmt: skip
    return unsaved


def read_records(path: Path, name: str | None = None) -> pd.DataFrame:
    """A plain CSV with one header row (the catalogue, the sources table) → its stripped text
    cells, one column per header, plus ``row``: each record's line in the file."""
    (grid,) = load_grids(path, name)
    header = [h.strip() for h in grid.rows[0][1]]
    rows = _body(grid, 1, len(header))
    frame = pd.DataFrame([cells for _, cells in rows], columns=header, dtype=object)
    return frame.map(str.strip).assign(row=[n for n, _ in rows])


def split_label(label: str) -> tuple[str, str]:
    """``"地区生产总值(亿元)"`` → ``("地区生产总值", "亿元")``; a trailing parenthesis that is not a
    known unit stays part of the name (``"R&D经费投入强度(与地区生产总值之比)"``, ``"")``."""
    label = clean(label)
    m = LABEL_UNIT.fullmatch(label)
    if m:
        try:
            parse_unit(m.group(2))
        except UnitError:
            return label, ""
        return m.group(1), m.group(2).strip()
    return label, ""


def _field_of(header: str) -> str | None:
    k = key(header)
    return next((f for f, names in _HEADER_KEYS.items() if k in names), None)


def _columns(grid: Grid) -> dict[str, int]:
    """Field → column of the recognised headers in the grid's first row. When several columns
    name a field, the name listed first in ``HEADERS`` wins; the same name twice is an error."""
    n0, header = grid.rows[0]
    found: dict[str, int] = {}
    for j, h in enumerate(header):
        f = _field_of(h)
        if f is None:
            continue
        i = found.get(f)
        rank = _HEADER_KEYS[f].index
        if i is None or rank(key(h)) < rank(key(header[i])):
            found[f] = j
        elif key(h) == key(header[i]):
            message = f"two columns named {clean(h)!r} (columns {i + 1} and {j + 1})"
            raise InputError(Problem(grid.name, n0, clean(h), message))
    return found


def _is_year(text: str) -> bool:
    try:
        parse_year(text)
    except ValueError:
        return False
    return True


def _detect(grid: Grid) -> str:
    """The layout of a grid: ``nbs``, ``long`` or ``wide`` (see the module docstring)."""
    first = clean(grid.rows[0][1][0])
    if _NBS_LINE.match(first):
        return "nbs"
    if "value" in _columns(grid):
        return "long"
    if not first or _field_of(first) == "region":
        return "wide"
    skip = "; to read only some sheets, list them in the sidecar TOML ([sheets.<name>])"
    raise InputError(
        Problem(
            grid.name, grid.rows[0][0], None,
            "not a recognised table: expected an NBS export (数据库：…), a long table "
            "(region, year, indicator, value, unit, source) or a wide table whose first column is "
            "the region (地区/region)" + (skip if grid.sheet else ""),
        )
    )  # fmt: skip


# One value cell: row, field (its column header), region, year, indicator, value, unit, source.
Record = tuple[int, str, str, str, str, str, str, str]


def _unused(grid: Grid, meta: TableMeta, layout: str, why: str, *keys: str) -> None:
    """Refuse metadata a layout does not use: ignoring it would hide a contradiction (a sidecar
    ``indicator = …`` on a table that names its indicators itself)."""
    given = [k for k in keys if getattr(meta, k) is not None]
    if given:
        listed = ", ".join(f"{k} = {getattr(meta, k)!r}" for k in given)
        raise InputError(
            Problem(grid.name, grid.rows[0][0], given[0], f"{listed} in the metadata is not used "
                    f"by a {layout} table ({why}): remove it")
        )  # fmt: skip


def _body(grid: Grid, start: int, width: int) -> list[tuple[int, list[str]]]:
    """Data rows after the header (index ``start``), padded to ``width``; footnotes are skipped."""
    rows = []
    for n, cells in grid.rows[start:]:
        if _FOOTNOTE.match(clean(cells[0])):
            continue
        if len(cells) > width:
            raise InputError(
                Problem(grid.name, n, None, f"{len(cells)} cells but only {width} column headers")
            )
        rows.append((n, cells + [""] * (width - len(cells))))
    if not rows:
        raise InputError(
            Problem(grid.name, grid.rows[start - 1][0], None, "header only: no data rows")
        )
    return rows


def _long(grid: Grid, meta: TableMeta) -> list[Record]:
    _unused(grid, meta, "long", "its columns name the indicator and year", "indicator", "year")
    n0, header = grid.rows[0]
    cols = _columns(grid)
    missing = [f for f in ("region", "year", "indicator", "value") if f not in cols]
    if missing:
        raise InputError(
            Problem(grid.name, n0, None, f"long table without column(s): {', '.join(missing)}")
        )

    def get(cells: list[str], field: str) -> str:
        return cells[cols[field]] if field in cols else ""

    return [
        (n, header[cols["value"]], get(c, "region"), get(c, "year"), get(c, "indicator"),
         get(c, "value"), get(c, "unit"), get(c, "source"))
        for n, c in _body(grid, 1, len(header))
    ]  # fmt: skip


def _wide(grid: Grid, meta: TableMeta) -> list[Record]:
    n0, header = grid.rows[0]
    year_col = next((j for j, h in enumerate(header) if j and _field_of(h) == "year"), None)
    data_cols = [j for j in range(1, len(header)) if j != year_col]
    body = _body(grid, 1, len(header))
    blank = [j for j in data_cols if not clean(header[j])]
    if any(clean(cells[j]) for j in blank for _, cells in body):
        raise InputError(Problem(grid.name, n0, None, "a column with values has no header"))
    data_cols = [j for j in data_cols if j not in blank]
    if not data_cols:
        raise InputError(Problem(grid.name, n0, None, "wide table without value columns"))
    by_year = year_col is None and all(_is_year(header[j]) for j in data_cols)
    table_indicator = meta.indicator or ""  # the indicator of a years-as-columns table
    if by_year and not table_indicator:
        raise InputError(
            Problem(grid.name, n0, None, "years as columns: say which indicator (indicator = …)")
        )
    if not by_year:
        _unused(grid, meta, "wide", "its headers name the indicators", "indicator")
    if (year_col is None and not by_year) == (meta.year is None):
        raise InputError(
            Problem(
                grid.name, n0, None,
                "indicators as columns: add a year column or say which year (year = …)"
                if meta.year is None
                else f"the years are in the table, so remove year = {meta.year} from the metadata",
            )
        )  # fmt: skip
    records = []
    for n, cells in body:
        row_year = cells[year_col] if year_col is not None else str(meta.year)
        for j in data_cols:
            year, indicator = (header[j], table_indicator) if by_year else (row_year, header[j])
            records.append((n, header[j], cells[0], year, indicator, cells[j], "", ""))
    return records


def _nbs(grid: Grid, meta: TableMeta) -> list[Record]:
    lines = [_NBS_LINE.fullmatch(clean(",".join(filter(clean, cells)))) for _, cells in grid.rows]
    i = next((k for k, line in enumerate(lines) if not line), None)
    if i is None:
        raise InputError(
            Problem(grid.name, None, None, "NBS export without a table header (地区,2024年,…)")
        )
    fixed: dict[str, str] = {}
    where: dict[str, int] = {}
    for (n, _), line in zip(grid.rows[:i], lines[:i], strict=True):
        assert line is not None  # every line before the header (index i) matched
        dim, value = line.group(1), line.group(2).strip()
        if dim in fixed and key(fixed[dim]) != key(value):
            raise InputError(
                Problem(
                    grid.name, n, dim,
                    f"two '{dim}：' lines: {fixed[dim]!r} (row {where[dim]}) and {value!r}: "
                    "which one is it? keep one",
                )
            )  # fmt: skip
        fixed[dim], where[dim] = value, n
    _unused(
        grid, meta, "NBS", "its '指标：' line or header names the indicator", "indicator", "year"
    )
    header_row, header = grid.rows[i]
    row_dim = clean(header[0])
    if row_dim not in NBS_DIMENSIONS:
        raise InputError(
            Problem(
                grid.name,
                header_row,
                None,
                f"NBS export: header starts with {header[0]!r}, not 地区/指标/时间",
            )
        )
    if all(_is_year(h) for h in header[1:]):
        col_dim = "时间"
    elif row_dim != "时间":
        col_dim = next(d for d in NBS_DIMENSIONS if d not in (row_dim, "时间"))
    else:
        col_dim = "指标" if "地区" in fixed else "地区"
    fixed_dim = next(d for d in NBS_DIMENSIONS if d not in (row_dim, col_dim))
    for dim in ("地区", "指标"):  # a 时间： line describes the years shown (最近10年), so may stay
        if dim in fixed and dim != fixed_dim:
            axis = "rows" if dim == row_dim else "columns"
            raise InputError(
                Problem(
                    grid.name, where[dim], dim,
                    f"'{dim}：{fixed[dim]}' line, but the {axis} are {dim}: the line contradicts "
                    "the table; remove it",
                )
            )  # fmt: skip
    if fixed_dim not in fixed:
        raise InputError(
            Problem(grid.name, None, None, f"NBS export without a '{fixed_dim}：' line")
        )
    records = []
    for n, cells in _body(grid, i + 1, len(header)):
        for j in range(1, len(header)):
            at = {
                NBS_DIMENSIONS[fixed_dim]: fixed[fixed_dim],
                NBS_DIMENSIONS[row_dim]: cells[0],
                NBS_DIMENSIONS[col_dim]: header[j],
            }
            records.append(
                (n, header[j], at["region"], at["year"], at["indicator"], cells[j], "", "")
            )
    return records


PARSERS: Final = {"nbs": _nbs, "long": _long, "wide": _wide}


def _same_unit(a: str, b: str) -> bool:
    """Whether two unit strings are the same unit (an unknown one is reported by ``clean``)."""
    try:
        return parse_unit(a) == parse_unit(b)
    except UnitError:
        return True


def _decimal_problems(
    grid: Grid, records: list[Record], meta: TableMeta
) -> tuple[list[Record], list[Problem]]:
    """Apply the file's decimal mark to its value cells. Declared ``decimal = ","``: each value is
    rewritten with a decimal point (``1.234,5`` → ``1234.5``). Undeclared in a ``;``- or
    tab-separated CSV (the separators of decimal-comma locales): a cell like ``1,234`` could be
    1234 or 1.234, so it is refused rather than guessed; ``1,234.5`` and ``2,5`` are unambiguous."""
    if meta.decimal is not None and grid.delimiter is None:
        message = f"decimal = {meta.decimal!r} is for CSV files: a workbook's numbers have no mark"
        return records, [Problem(grid.name, None, "decimal", message)]
    if meta.decimal == ",":
        out, problems = [], []
        for rec in records:
            value = rec[5]
            try:
                number, unit = parse_decimal(value, ",")
            except ValueError as exc:
                problems.append(Problem(grid.name, rec[0], rec[1], str(exc)))
                continue
            text = value if number is None else f"{number}{unit}{footnote(value)}"
            out.append((*rec[:5], text, *rec[6:]))
        return out, problems
    if meta.decimal is None and grid.delimiter in (";", "\t"):
        sep = "';'" if grid.delimiter == ";" else "tab"
        sidecar = Path(grid.name).with_suffix(".toml").name
        return records, [
            Problem(
                grid.name, rec[0], rec[1],
                f"{rec[5]!r} in a {sep}-separated file: a thousands separator or a decimal comma? "
                f'declare decimal = "," or decimal = "." in {sidecar}',
            )
            for rec in records
            if ambiguous_comma(rec[5])
        ]  # fmt: skip
    return records, []


def _frame(grid: Grid, records: list[Record], meta: TableMeta, source: str) -> pd.DataFrame:
    """The shared normalisation: apply the decimal mark, split ``name(unit)`` labels, apply
    metadata defaults (a unit column, a label's unit and the metadata unit that contradict each
    other are an error), build the frame."""
    records, problems = _decimal_problems(grid, records, meta)
    if problems:
        raise InputError(problems)
    frame = pd.DataFrame(records, columns=list(RAW_COLUMNS[1:]), dtype=object)
    frame[["unit", "source"]] = frame[["unit", "source"]].map(clean)
    labels = {label: split_label(label) for label in frame["indicator"].unique()}
    declared = {i: meta.lookup("unit", labels[i][0]) or meta.lookup("unit", i) for i in labels}
    conflicts = [
        Problem(grid.name, n, "unit", f"unit {u!r} contradicts the label {clean(i)!r}")
        for n, i, u in zip(frame["row"], frame["indicator"], frame["unit"], strict=True)
        if u and labels[i][1] and not _same_unit(u, labels[i][1])
    ]
    first_row = frame.drop_duplicates("indicator").set_index("indicator")["row"]
    conflicts += [
        Problem(
            grid.name, int(first_row[i]), "unit",
            f"the metadata says unit = {declared[i]!r} but the label {clean(i)!r} says "
            f"{labels[i][1]!r}: remove one",
        )
        for i in labels
        if declared[i] and labels[i][1] and not _same_unit(declared[i], labels[i][1])
    ]  # fmt: skip
    conflicts += [
        Problem(
            grid.name, n, "unit",
            f"unit {u!r} contradicts the metadata's unit = {declared[i]!r}",
        )
        for n, i, u in zip(frame["row"], frame["indicator"], frame["unit"], strict=True)
        if u and declared[i] and not _same_unit(u, declared[i])
    ]  # fmt: skip
    if conflicts:
        raise InputError(conflicts)
    frame["unit"] = [
        u or labels[i][1] or declared[i]
        for i, u in zip(frame["indicator"], frame["unit"], strict=True)
    ]
    cited = {i: meta.lookup("source", labels[i][0]) or meta.lookup("source", i) for i in labels}
    unsourced = [  # a file citing no source at all is its own source (its name, as documented)
        Problem(grid.name, n, "source", "no source id, while other rows of this file give one "
                "(a value needs its source: give it here, or in the file's metadata)")
        for n, i, s in zip(frame["row"], frame["indicator"], frame["source"], strict=True)
        if not s and not cited[i]
    ] if frame["source"].astype(bool).any() else []  # fmt: skip
    if unsourced:
        raise InputError(unsourced)
    frame["source"] = [
        s or cited[i] or source for i, s in zip(frame["indicator"], frame["source"], strict=True)
    ]
    frame["indicator"] = frame["indicator"].map(lambda i: labels[i][0])
    frame.insert(0, "file", grid.name)
    return frame.astype({c: str for c in RAW_COLUMNS if c != "row"}).astype({"row": "int64"})


def read_table(
    path: str | Path, *, name: str | None = None, meta: TableMeta | None = None
) -> pd.DataFrame:
    """Read one CSV/XLSX file in any supported layout into the raw long frame ``RAW_COLUMNS``.

    ``name`` is how the file is named in messages and the default source id (default: its name).
    Raises ``InputError`` with every problem found in the file's sheets.
    """
    path = Path(path)
    name = name or path.name
    meta = meta or TableMeta()
    grids = load_grids(path, name)
    if meta.sheets:
        absent = set(meta.sheets) - {g.sheet for g in grids}
        if absent:
            raise InputError(Problem(name, None, "sheets", f"no such sheet(s): {sorted(absent)}"))
        grids = [g for g in grids if g.sheet in meta.sheets]
    elif hidden := [g.sheet for g in grids if g.hidden and g.rows]:
        raise InputError(
            Problem(
                name, None, "sheets",
                f"hidden sheet(s) {hidden} hold data, which would enter the panel unseen: unhide "
                "them, or list the sheets to read in the sidecar TOML ([sheets.<name>])",
            )
        )  # fmt: skip
    frames, problems = [], []
    for grid in grids:
        sheet_meta = meta.for_sheet(grid.sheet) if grid.sheet else meta
        try:
            fmt = sheet_meta.format or _detect(grid)
            frames.append(_frame(grid, PARSERS[fmt](grid, sheet_meta), sheet_meta, name))
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems)
    return pd.concat(frames, ignore_index=True)
