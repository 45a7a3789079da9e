"""`compute-index ingest`: raw files → validated data/processed/inputs.parquet."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from index.cli.app import app, guarded

if TYPE_CHECKING:
    from index.etl.ingest import IngestReport


def coverage_table(report: IngestReport) -> Table:
    """Indicators × years: number of regions with a value (· = none)."""
    cov = report.coverage
    table = Table(title="coverage: regions with a value", box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("dimension")
    table.add_column("indicator")
    for year in cov.columns:
        table.add_column(str(year), justify="right")
    previous = None
    for (dimension, indicator), counts in cov.iterrows():
        if previous is not None and dimension != previous:
            table.add_section()
        cells = (str(n) if n else "·" for n in counts)
        table.add_row(dimension if dimension != previous else "", indicator, *cells)
        previous = dimension
    return table


@app.command("ingest")
@guarded
def ingest_command(
    raw_dirs: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Folder with indicators.csv, sources.csv and the data files (default: the "
            "project's data/raw); further folders overlay it (their values win)."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Parquet file to write (default: the project's data/processed)."
        ),
    ] = None,
    strict_regions: Annotated[
        bool,
        typer.Option(
            "--strict-regions",
            help="Treat 全国/total, 香港, 澳门, 台湾 rows as errors instead of dropping them.",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")] = False,
) -> None:
    """Read every CSV/XLSX in RAW_DIR, clean, convert units, validate and write the long panel.

    Reads the project's long CSV, wide tables and NBS data-portal exports (CSV separated by commas, tabs or semicolons, or XLSX; UTF-8, UTF-8-BOM, UTF-16 or GBK/GB18030, detected), converts every value to the unit in indicators.csv, and prints a coverage table (indicators × years: regions with a value).

    On any problem it lists each as file:row:field: message, exits with code 2 and writes nothing.

    Examples:

      compute-index ingest

      compute-index ingest data/raw ~/my-racks --out ~/my-racks.parquet   # overlay your own files
    """
    from index import paths
    from index.errors import InputError, Problem
    from index.etl.ingest import ingest  # imported here: pandera/pyarrow load only when used

    dirs = raw_dirs or [paths.raw_dir()]
    if out is None:
        if [d.resolve() for d in dirs] != [paths.raw_dir().resolve()]:
            raise InputError(
                Problem("--out", None, None, "give --out when ingesting other folders than the "
                        "project's data/raw (its data/processed holds the bundled panel)")
            )  # fmt: skip
        out = paths.inputs()
    report = ingest(dirs, out, drop_non_provinces=not strict_regions)
    if quiet:
        return
    # at least 120 columns so the table is never squeezed (a narrower terminal wraps the lines)
    width = max(shutil.get_terminal_size((120, 24)).columns, 120)
    console = Console(width=width, highlight=False, soft_wrap=True)
    console.print(f"wrote {out}: {report.summary}", markup=False)
    for note in report.notes:
        console.print(f"note: {note}", markup=False)
    if report.missing:
        missing = ", ".join(f"{k} {v}" for k, v in report.missing.items())
        console.print(f"missing cells (not filled, rows left out): {missing}", markup=False)
    else:
        console.print("missing cells: none")
    console.print(coverage_table(report), soft_wrap=False)
