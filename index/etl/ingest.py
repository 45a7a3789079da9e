"""``ingest``: every data file in ``data/raw`` → one validated long panel, ``inputs.parquet``.

Which files are read (by convention, no manifest):

* ``indicators.csv`` (the catalogue), ``sources.csv`` (the sources table) and, optionally,
  ``region_groups.csv`` (unit groups: NBS regions, hub nodes; see ``index.etl.groups``) in
  ``raw_dir`` itself;
* every ``*.csv``, ``*.xlsx``, ``*.xlsm`` below ``raw_dir`` is data, with optional metadata in a
  sidecar ``<stem>.toml`` beside it (see ``index.etl.read``);
* ``*.md``, ``*.txt``, ``*.toml``, ``*.pdf``, files without a suffix (``LICENSE``), hidden files and
  Excel lock files (``~$…``) are skipped; any other file is an error, and so is an entry that is
  not a readable regular file or folder: a dangling symbolic link, a link to a folder (not
  followed), a FIFO, socket or device, an unreadable folder — each named by its path.

Nothing is written unless every file passes; the Parquet file is then replaced atomically. Its rows
are sorted by (indicator, year, region_code) and its key-value metadata holds the tool version and
the SHA-256 of every input, keyed by path relative to ``raw_dir`` — no absolute paths or times — so
the same inputs give a byte-identical file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
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
from index.etl.groups import GROUPS_FILE, METADATA_GROUPS, load_groups
from index.etl.read import CSV_SUFFIXES, XLSX_SUFFIXES, TableMeta, load_sidecar, read_table
from index.etl.validate import (
    PANEL_COLUMNS,
    PANEL_KEY,
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


def _entries(raw_dir: Path) -> tuple[list[Path], list[Problem]]:
    """Every regular file below ``raw_dir`` (hidden names and Excel lock files ``~$…`` skipped), in
    path order, and a problem for each entry that cannot be read as one: a symbolic link whose
    target is missing, a link to a folder (not followed, so a moved folder cannot drop out
    unseen), a FIFO, socket or device (reading one would block), an unreadable folder."""
    files: list[Path] = []
    problems: list[Problem] = []

    def visit(folder: Path) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            rel = _rel(folder, raw_dir) if folder != raw_dir else str(raw_dir)
            problems.append(Problem(rel, None, None, f"cannot read the folder: {exc.strerror}"))
            return
        for entry in entries:
            if entry.name.startswith((".", "~$")):
                continue
            path = Path(entry.path)
            rel = _rel(path, raw_dir)
            if entry.is_symlink() and not path.exists():
                problems.append(
                    Problem(rel, None, None, "a symbolic link whose target is missing: "
                            "restore the file or remove the link")
                )  # fmt: skip
            elif entry.is_symlink() and path.is_dir():
                problems.append(
                    Problem(rel, None, None, "a symbolic link to a folder, which is not "
                            "followed: move or copy the files into the folder itself")
                )  # fmt: skip
            elif entry.is_dir(follow_symlinks=False):
                visit(path)
            elif entry.is_file():
                files.append(path)
            else:
                problems.append(
                    Problem(rel, None, None, "not a regular file (a FIFO, socket or device)")
                )

    visit(raw_dir)
    return files, problems


def data_files(raw_dir: Path) -> tuple[list[Path], list[Problem]]:
    """The data files below ``raw_dir`` in path order, and a problem for each unrecognised file
    or unreadable entry (see ``_entries``)."""
    files: list[Path] = []
    entries, problems = _entries(raw_dir)
    for path in entries:
        rel = _rel(path, raw_dir)
        suffix = path.suffix.lower()
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


def _folder(path: Path) -> None:
    if not path.is_dir():
        what = "not a folder" if path.exists() else "no such folder"
        raise InputError(Problem(str(path), None, None, what))


def _layers(raw_dir: str | Path | Sequence[str | Path]) -> list[tuple[str, Path]]:
    """(label prefix, folder) of the base raw folder and each overlay: files of overlay k are
    named ``overlay<k>/<path>`` in messages and in the input hashes."""
    dirs = [Path(raw_dir)] if isinstance(raw_dir, str | Path) else [Path(d) for d in raw_dir]
    if not dirs:
        raise InputError(Problem("--raw-dir", None, None, "give at least one raw folder"))
    return [("" if k == 0 else f"overlay{k}/", d) for k, d in enumerate(dirs)]


def _merged_catalogue(layers: list[tuple[str, Path]]) -> tuple[Catalogue, list[Path]]:
    """The base catalogue plus the indicators the overlays' own ``indicators.csv`` add (a code
    defined twice with other content is an error)."""
    base = load_catalogue(layers[0][1] / CATALOGUE_FILE)
    files = [layers[0][1] / CATALOGUE_FILE]
    tables, lookup = [base.table], dict(base.lookup)
    for prefix, folder in layers[1:]:
        path = folder / CATALOGUE_FILE
        if not path.is_file():
            continue
        extra = load_catalogue(path)
        files.append(path)
        known = pd.concat(tables)
        for code in extra.table.index.intersection(known.index):
            if not extra.table.loc[code].equals(known.loc[code]):
                raise InputError(
                    Problem(f"{prefix}{CATALOGUE_FILE}", code, "code", "redefines an indicator "
                            "of an earlier catalogue; give new indicators new codes")
                )  # fmt: skip
        tables.append(extra.table.drop(index=extra.table.index.intersection(known.index)))
        lookup |= extra.lookup
    return Catalogue(pd.concat(tables), lookup), files


def build(
    raw_dir: str | Path | Sequence[str | Path],
    *,
    drop_non_provinces: bool = True,
    years: tuple[int, int] = YEARS,
) -> IngestReport:
    """Read, clean and validate ``raw_dir`` without writing anything; raise ``InputError`` listing
    every problem in every file.

    ``raw_dir`` may be several folders: the first is the base (its catalogue, sources and region
    groups), each later one an *overlay* whose data files add values and replace the base's
    values for the same region, year and indicator (later overlays win), with its own
    ``indicators.csv`` / ``sources.csv`` adding indicators and sources — so a user's files
    overlay the bundled data without copying it. Every replaced value is noted."""
    layers = _layers(raw_dir)
    for _, folder in layers:
        _folder(folder)
    raw_dir = layers[0][1]
    if not (raw_dir / CATALOGUE_FILE).is_file():
        raise InputError(
            Problem(str(raw_dir), None, None, f"no indicator catalogue {CATALOGUE_FILE} here")
        )
    catalogue, inputs = _merged_catalogue(layers)
    known_sources: set[str] | None = None
    for _, folder in layers:
        if (folder / SOURCES_FILE).is_file():
            known_sources = (known_sources or set()) | set(
                load_sources(folder / SOURCES_FILE).index
            )
            inputs.append(folder / SOURCES_FILE)
    problems: list[Problem] = []
    frames = []
    layer_of: dict[str, int] = {}
    for k, (prefix, folder) in enumerate(layers):
        if k and (folder / GROUPS_FILE).is_file():
            problems.append(
                Problem(
                    f"{prefix}{GROUPS_FILE}",
                    None,
                    None,
                    "region groups come from the first raw folder only",
                )  # fmt: skip
            )
        files, found = data_files(folder)
        problems += [replace(p, file=f"{prefix}{p.file}") for p in found]
        if k == 0 and not files and not found:
            problems.append(Problem(str(folder), None, None, "no data files (.csv, .xlsx) found"))
        for path in files:
            rel = f"{prefix}{_rel(path, folder)}"
            sidecar = path.with_suffix(".toml")
            try:
                meta = (
                    load_sidecar(sidecar, f"{prefix}{_rel(sidecar, folder)}")
                    if sidecar.is_file()
                    else TableMeta()
                )
                frames.append(read_table(path, name=rel, meta=meta))
            except InputError as exc:
                problems += exc.problems
            layer_of[rel] = k
            inputs += [path, *([sidecar] if sidecar.is_file() else [])]
    if not frames:
        raise_problems(problems)  # not one file could be read, so there is at least one problem
    raw = pd.concat(frames, ignore_index=True)
    sources = None if known_sources is None else known_sources | set(layer_of)
    cleaned = clean(
        raw, catalogue, sources=sources, drop_non_provinces=drop_non_provinces, years=years
    )
    frame, overlay_notes = _overlaid(cleaned.frame, layer_of)
    located, duplicate_notes = collapse_duplicates(frame)
    duplicate_notes = overlay_notes + duplicate_notes
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
        inputs={_label(p, layers): sha256_file(p) for p in sorted(set(inputs))},
        panel=panel,
        missing={str(k): int(v) for k, v in cleaned.missing.items()},
        notes=cleaned.notes + duplicate_notes,
        coverage=coverage(panel, catalogue),
        groups=groups,
    )


def _label(path: Path, layers: list[tuple[str, Path]]) -> str:
    """An input file's name relative to its layer, with the layer's prefix."""
    for prefix, folder in reversed(layers):  # an overlay may lie inside the base folder's parent
        if path.is_relative_to(folder):
            return f"{prefix}{_rel(path, folder)}"
    return path.as_posix()


def _overlaid(frame: pd.DataFrame, layer_of: dict[str, int]) -> tuple[pd.DataFrame, list[str]]:
    """Keep, for each region-year-indicator, only the rows of the highest layer that has it."""
    if not layer_of or max(layer_of.values()) == 0:
        return frame, []
    layer = frame["file"].map(layer_of).fillna(0).astype(int)
    top = layer.groupby([frame[c] for c in PANEL_KEY]).transform("max")
    replaced = frame[layer < top]
    notes = [
        f"{file}: {len(group)} value(s) replaced by an overlay (rows "
        + ", ".join(map(str, group["row"].iloc[:5]))
        + (", …)" if len(group) > 5 else ")")
        for file, group in replaced.groupby("file", sort=True)
    ]
    return frame[layer == top], notes


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
    raw_dir: str | Path | Sequence[str | Path],
    out_path: str | Path,
    *,
    drop_non_provinces: bool = True,
    years: tuple[int, int] = YEARS,
) -> IngestReport:
    """Build the panel from ``raw_dir`` and write it to ``out_path`` (nothing is written on error)."""
    report = build(raw_dir, drop_non_provinces=drop_non_provinces, years=years)
    write_panel(report.panel, out_path, report.inputs, report.groups)
    return replace(report, out_path=Path(out_path))
