"""`compute-index run`: build the index with one configuration and print the ranking."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from index.cli.app import app, guarded
from index.cli.options import (
    ConfigOpt,
    DataOpt,
    FrameworkOpt,
    QuietOpt,
    SetOpt,
    YearOpt,
    load_data,
    resolve_config,
)
from index.cli.tables import print_ranking
from index.coinr import load_coinr
from index.dataset import DEFAULT_INPUTS
from index.pipeline import build
from index.results import DEFAULT_RESULTS, write_results


@app.command()
@guarded
def run(
    framework: FrameworkOpt = None,
    year: YearOpt = None,
    set_: SetOpt = None,
    config: ConfigOpt = None,
    data: DataOpt = DEFAULT_INPUTS,
    out: Annotated[
        Path, typer.Option(help="results Parquet (all years, all levels)")
    ] = DEFAULT_RESULTS,
    top: Annotated[int, typer.Option(help="rows to print (0 = all)")] = 0,
    coinr: Annotated[
        tuple[Path, Path] | None,
        typer.Option(
            metavar="IDATA IMETA",
            help="build from a COINr iData/iMeta CSV pair instead (framework and data)",
        ),
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Build the index and print the ranking with pillar scores and ranks.

    Example: compute-index run --year 2024 --set weighting=entropy --set aggregation=gmean

    From COINr: compute-index run --coinr iData.csv iMeta.csv --set impute=mean_grp
    --set impute.group=EurAsia_group
    """
    cfg = resolve_config(config, framework, set_)
    if coinr is not None:
        fw, ds = load_coinr(*coinr)
        b = build(cfg, ds, fw)
    else:
        b = build(cfg, load_data(data))
    write_results(b, out)
    if not quiet:
        print_ranking(b, year, top=top)
        typer.echo(f"wrote {out}")
