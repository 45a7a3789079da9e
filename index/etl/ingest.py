"""``ingest``: every data file in ``data/raw`` → one validated long panel, ``inputs.parquet``.

Which files are read (by convention, no manifest):

* ``indicators.csv`` (the catalogue), ``sources.csv`` (the sources table) and, optionally,
  ``region_groups.csv`` (unit groups: NBS regions, hub nodes; see ``index.etl.groups``) in
  ``raw_dir`` itself;
* every ``*.csv``, ``*.xlsx``, ``*.xlsm`` below ``raw_dir`` is data, with optional metadata in a
  sidecar ``<stem>.toml`` beside it (see ``index.etl.read``);
* ``*.md``, ``*.txt``, ``*.toml``, ``*.pdf``, files without a suffix (``LICENSE``), hidden files and
  Excel lock files (``~$…``) are skipped; any other file is an error.

Nothing is written unless every file passes; the Parquet file is then replaced atomically. Its rows
are sorted by (indicator, year, region_code) and its key-value metadata holds the tool version and
the SHA-256 of every input, keyed by path relative to ``raw_dir`` — no absolute paths or times — so
the same inputs give a byte-identical file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

import pandas as pd
import pyarrow as pa

from index import __version__
from index.errors import InputError, Problem
from index.etl.catalogue import (
    CATALOGUE_FILE,
    DIMENSIONS,
    SOURCES_FILE,
    Catalogue,
    load_catalogue,
    load_sources,
)
from index.etl.clean import clean
from index.etl.groups import GROUPS_FILE, load_groups
from index.etl.read import CSV_SUFFIXES, XLSX_SUFFIXES, TableMeta, load_sidecar, read_table
from index.etl.validate import (
    PANEL_COLUMNS,
    YEARS,
    collapse_duplicates,
    panel_schema,
    raise_problems,
    schema_problems,
)
from index.io import sha256_file, write_parquet

SKIPPED_SUFFIXES: Final = frozenset({".md", ".txt", ".toml", ".pdf", ""})
SORT_KEY: Final = ["indicator", "year", "region_code"]
ARROW_SCHEMA: Final = pa.schema(
    [
        ("region_code", pa.string()), ("region_zh", pa.string()), ("region_en", pa.string()),
        ("year", pa.int64()), ("indicator", pa.string()), ("value", pa.float64()),
        ("unit", pa.string()), ("source_id", pa.string()),
    ]
)  # fmt: skip
METADATA_VERSION: Final = "compute_index.version"
METADATA_INPUTS: Final = "compute_index.inputs"
METADATA_GROUPS: Final = "compute_index.unit_groups"


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did: the output, its inputs' hashes, missing cells, notes and coverage."""

    out_path: Path | None
    inputs: dict[str, str]
    panel: pd.DataFrame
    missing: dict[str, int]
    notes: list[str]
    coverage: pd.DataFrame
    groups: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        """One line: rows, regions, indicators and years of the panel."""
        p = self.panel
        years = f"{p.year.min()}–{p.year.max()}" if len(p) else "none"
        return (
            f"{len(p)} values: {p.region_code.nunique()} regions × {p.indicator.nunique()} indicators, "
            f"years {years}"
        )


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def data_files(raw_dir: Path) -> tuple[list[Path], list[Problem]]:
    """The data files below ``raw_dir`` in path order, and a problem for each unrecognised file."""
    files, problems = [], []
    for path in sorted(p for p in raw_dir.rglob("*") if p.is_file()):
        rel = _rel(path, raw_dir)
        suffix = path.suffix.lower()
        if any(part.startswith((".", "~$")) for part in Path(rel).parts):
            continue
        if rel in (CATALOGUE_FILE, SOURCES_FILE, GROUPS_FILE) or suffix in SKIPPED_SUFFIXES:
            continue
        if suffix in CSV_SUFFIXES | XLSX_SUFFIXES:
            files.append(path)
        else:
            problems.append(
                Problem(rel, None, None, "not a recognised data format (use .csv or .xlsx)")
            )
    return files, problems


def coverage(panel: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """Regions with a value per indicator (rows, by dimension) and year (columns); 0 = none."""
    counts = panel.groupby(["indicator", "year"])["region_code"].nunique().unstack(fill_value=0)
    years = range(int(panel.year.min()), int(panel.year.max()) + 1) if len(panel) else []
    table = catalogue.table
    order = sorted(table.index, key=lambda c: (DIMENSIONS.index(table.at[c, "dimension"]), c))
    counts = counts.reindex(index=order, columns=years, fill_value=0).astype("int64")
    counts.index = pd.MultiIndex.from_arrays(
        [table.loc[order, "dimension"], order], names=["dimension", "indicator"]
    )
    counts.columns.name = "year"
    return counts


def build(
    raw_dir: str | Path, *, drop_non_provinces: bool = True, years: tuple[int, int] = YEARS
) -> IngestReport:
    """Read, clean and validate ``raw_dir`` without writing anything; raise ``InputError`` listing
    every problem in every file."""
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        what = "not a folder" if raw_dir.exists() else "no such folder"
        raise InputError(Problem(str(raw_dir), None, None, what))
    if not (raw_dir / CATALOGUE_FILE).is_file():
        raise InputError(
            Problem(str(raw_dir), None, None, f"no indicator catalogue {CATALOGUE_FILE} here")
        )
    catalogue = load_catalogue(raw_dir / CATALOGUE_FILE)
    inputs = [raw_dir / CATALOGUE_FILE]
    known_sources: set[str] | None = None
    if (raw_dir / SOURCES_FILE).is_file():
        known_sources = set(load_sources(raw_dir / SOURCES_FILE).index)
        inputs.append(raw_dir / SOURCES_FILE)
    files, problems = data_files(raw_dir)
    if not files and not problems:
        problems.append(Problem(str(raw_dir), None, None, "no data files (.csv, .xlsx) found"))
    frames = []
    for path in files:
        rel = _rel(path, raw_dir)
        sidecar = path.with_suffix(".toml")
        try:
            meta = (
                load_sidecar(sidecar, _rel(sidecar, raw_dir)) if sidecar.is_file() else TableMeta()
            )
            frames.append(read_table(path, name=rel, meta=meta))
        except InputError as exc:
            problems += exc.problems
        inputs += [path, *([sidecar] if sidecar.is_file() else [])]
    if not frames:
        raise_problems(problems)  # not one file could be read, so there is at least one problem
    raw = pd.concat(frames, ignore_index=True)
    sources = None if known_sources is None else known_sources | {_rel(p, raw_dir) for p in files}
    cleaned = clean(
        raw, catalogue, sources=sources, drop_non_provinces=drop_non_provinces, years=years
    )
    located, duplicate_notes = collapse_duplicates(cleaned.frame)
    problems += cleaned.problems
    problems += schema_problems(panel_schema(list(catalogue.table.index), years), located)
    if located.empty and not problems:
        missing = ", ".join(f"{k} {v}" for k, v in cleaned.missing.items()) or "none"
        message = f"no values: every cell is missing (missing cells: {missing}) or dropped"
        problems.append(Problem(str(raw_dir), None, None, message))
    groups: dict[str, dict[str, str]] = {}
    if (raw_dir / GROUPS_FILE).is_file():
        inputs.append(raw_dir / GROUPS_FILE)
        try:
            groups = load_groups(
                raw_dir / GROUPS_FILE, known_sources, set(located["region_code"].unique())
            )
        except InputError as exc:
            problems += exc.problems
    raise_problems(problems)
    panel = located.sort_values(SORT_KEY, kind="stable")[list(PANEL_COLUMNS)].reset_index(drop=True)
    return IngestReport(
        out_path=None,
        inputs={_rel(p, raw_dir): sha256_file(p) for p in sorted(set(inputs))},
        panel=panel,
        missing={str(k): int(v) for k, v in cleaned.missing.items()},
        notes=cleaned.notes + duplicate_notes,
        coverage=coverage(panel, catalogue),
        groups=groups,
    )


def write_panel(
    panel: pd.DataFrame,
    out_path: str | Path,
    inputs: dict[str, str],
    groups: dict[str, dict[str, str]] | None = None,
) -> None:
    """Write the panel as Parquet atomically, with the version, input hashes and unit groups as
    metadata."""
    metadata = {
        METADATA_VERSION: __version__,
        METADATA_INPUTS: json.dumps(inputs, sort_keys=True, ensure_ascii=False),
        METADATA_GROUPS: json.dumps(groups or {}, sort_keys=True, ensure_ascii=False),
    }
    write_parquet(panel, out_path, metadata, schema=ARROW_SCHEMA)


def ingest(
    raw_dir: str | Path,
    out_path: str | Path,
    *,
    drop_non_provinces: bool = True,
    years: tuple[int, int] = YEARS,
) -> IngestReport:
    """Build the panel from ``raw_dir`` and write it to ``out_path`` (nothing is written on error)."""
    report = build(raw_dir, drop_non_provinces=drop_non_provinces, years=years)
    write_panel(report.panel, out_path, report.inputs, report.groups)
    return replace(report, out_path=Path(out_path))
