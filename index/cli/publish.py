"""`compute-index publish` and `compute-index verify`: the annual publication and its proof."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from index import paths
from index.cli.app import app, guarded
from index.cli.options import (
    ConfigOpt,
    ExcludeOpt,
    FrameworkOpt,
    QuietOpt,
    SetOpt,
    WeightOpt,
    resolve_config,
)
from index.cli.tables import print_ranking

JobsOpt = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        "-j",
        min=1,
        help="processes for the profiles and figures (default: one per core); the files are "
        "the same bytes whatever it is",
    ),
]


@contextlib.contextmanager
def stage_messages(quiet: bool) -> Iterator[None]:
    """Show the publication's stage messages (``index.publication``'s INFO log) on stderr, each
    with the seconds since the start, unless ``quiet``: a publication takes seconds to minutes."""
    if quiet:
        yield
        return
    start = time.perf_counter()

    class Elapsed(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return f"[{time.perf_counter() - start:5.1f} s] {record.getMessage()}"

    handler = logging.StreamHandler()  # stderr
    handler.setFormatter(Elapsed())
    logger = logging.getLogger("index.publication")
    level, logger.level = logger.level, logging.INFO
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@app.command()
@guarded
def publish(
    raw_dir: Annotated[
        list[Path] | None,
        typer.Option(
            help="raw input folder (default: the project's data/raw); repeat it to overlay "
            "your own folders on the first (their values win)"
        ),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="publications root (default: the project's publications/)"),
    ] = None,
    edition: Annotated[
        str | None, typer.Option(help="edition folder name (default: the year)")
    ] = None,
    year: Annotated[
        int | None, typer.Option(help="edition year (default: latest complete)")
    ] = None,
    runs: Annotated[int, typer.Option(help="uncertainty-analysis runs (0 = skip)")] = 2000,
    seed: Annotated[int, typer.Option(help="seed of the uncertainty analysis")] = 20231008,
    sobol: Annotated[
        int, typer.Option(help="base sample N of the Sobol' analysis (N(d+2) runs; 0 = skip)")
    ] = 512,
    framework: FrameworkOpt = None,
    set_: SetOpt = None,
    weight: WeightOpt = None,
    exclude: ExcludeOpt = None,
    config: ConfigOpt = None,
    jobs: JobsOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Full publication run: ingest, every year, alternatives, uncertainty, tables, figures, report.

    Writes publications/<edition>/ atomically (ranking.xlsx, ranking.csv, scores.parquet,
    figures/*.png|svg, report.html, manifest.json).

    Example: compute-index publish --year 2024 --runs 5000
    """
    from index.publication import PublishSettings, UncertaintySettings, run_publication

    start = time.perf_counter()
    settings = PublishSettings(
        raw_dir=(raw_dir[0] if raw_dir else paths.raw_dir()).as_posix(),
        overlays=[d.as_posix() for d in (raw_dir or [])[1:]],
        edition=edition,
        year=year,
        run=resolve_config(config, framework, set_, weight, exclude),
        uncertainty=UncertaintySettings(runs=runs, seed=seed, sobol=sobol),
    )
    with stage_messages(quiet):
        pub, b = run_publication(settings, out_dir or paths.publications(), jobs=jobs)
    for note in pub.notes:  # even with --quiet: it says which edition was written
        typer.echo(f"note: {note}", err=True)
    if not quiet:
        print_ranking(b, pub.manifest["year"])
        for label, why in pub.manifest["config"].get("alternatives_skipped", {}).items():
            typer.echo(f"note: alternative '{label}' left out: {why}")
        for name, why in pub.manifest["config"].get("analyses_skipped", {}).items():
            typer.echo(f"note: {name} left out: {why}")
        total = 0
        for rel, info in sorted(pub.files.items()):
            total += info["bytes"]
            typer.echo(f"  {info['bytes']:>10,d}  {rel}")
        typer.echo(
            f"published {pub.folder} ({total:,d} bytes) in {time.perf_counter() - start:.1f} s"
        )


@app.command("verify")
@guarded
def verify_cmd(
    folder: Annotated[Path, typer.Argument(help="a publication folder (with manifest.json)")],
    raw_dir: Annotated[
        list[Path] | None,
        typer.Option(
            help="where the raw inputs are now, then any overlays (default: as the manifest "
            "records, relative to the publication)"
        ),
    ] = None,
    jobs: JobsOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Re-run a publication from its manifest and confirm every output is byte-identical.

    Exit 0 when identical; 1 with the list of differing, missing or extra files otherwise.

    Examples:

      compute-index verify publications/2024

      compute-index verify ~/from-colleague/2024 --raw-dir ~/from-colleague/raw
    """
    from index.publication import verify_publication

    with stage_messages(quiet):
        result = (
            verify_publication(folder, raw_dir[0], raw_dir[1:] or None, jobs=jobs)
            if raw_dir
            else verify_publication(folder, jobs=jobs)
        )
    for line in result.lines():
        typer.echo(line, err=not result.ok)
    if not result.ok:
        raise typer.Exit(1)
    if not quiet:
        typer.echo(f"verified: every output in {folder} is byte-identical")
