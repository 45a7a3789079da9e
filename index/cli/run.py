"""`compute-index run`: build the index with one configuration and print the ranking."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from index.cli.app import app, guarded
from index.cli.options import (
    ConfigOpt,
    DataOpt,
    ExcludeOpt,
    FrameworkOpt,
    QuietOpt,
    SetOpt,
    WeightOpt,
    YearOpt,
    load_data,
    output,
    resolve_config,
)


@app.command()
@guarded
def run(
    framework: FrameworkOpt = None,
    year: YearOpt = None,
    set_: SetOpt = None,
    weight: WeightOpt = None,
    exclude: ExcludeOpt = None,
    config: ConfigOpt = None,
    data: DataOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(help="results Parquet, all years and levels (default: beside the data)"),
    ] = None,
    top: Annotated[int, typer.Option(help="rows to print (0 = all)")] = 0,
    coinr: Annotated[
        tuple[Path, Path] | None,
        typer.Option(
            metavar="IDATA IMETA",
            help="build from a COINr iData/iMeta CSV pair instead (framework and data)",
        ),
    ] = None,
    full: Annotated[
        str | None,
        typer.Option(
            metavar="scores|ranks|groupranks",
            help="print the full results table instead (every level; COINr get_results Full)",
        ),
    ] = None,
    group: Annotated[
        str | None, typer.Option(help="unit-group column for --full (e.g. nbs_region)")
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Build the index and print the ranking with pillar scores and ranks.

    Examples:

      compute-index run --year 2024

      compute-index run --weight compute=2 --exclude web_pages     # what if …?

      compute-index run --set weighting=entropy --set aggregation=gmean --set normalise.l=1

      compute-index run -c caict                                    # CAICT's published method

      compute-index run --coinr iData.csv iMeta.csv --set impute=mean_grp
      --set impute.group=EurAsia_group

      compute-index run --full groupranks --group nbs_region      # every level, within regions
    """
    from index.pipeline import build
    from index.results import write_results

    if coinr is not None:
        from index.coinr import load_coinr

        fw, ds = load_coinr(*coinr)
        cfg = resolve_config(config, None, set_, weight, exclude, framework_obj=fw)
        b = build(cfg, ds, fw)
        target = out if out is not None else coinr[0].resolve().parent / "results.parquet"
    else:
        cfg = resolve_config(config, framework, set_, weight, exclude)
        b = build(cfg, load_data(data))
        target = output(out, data, "results.parquet")
    b.ranking(year)  # a year outside the build is an error before anything is written
    if (group is not None and full is None) or (full is not None and quiet):
        from index.errors import InputError, Problem

        if full is None:
            raise InputError(Problem("--group", None, group, "only the --full table uses a group"))
        raise InputError(Problem("--full", None, full, "prints a table; --quiet prints nothing"))
    if full == "groupranks" and group is None:
        from index.errors import InputError, Problem

        raise InputError(
            Problem("--full", None, full, "ranks within groups: name the groups with --group")
        )
    table = None if full is None else b.results(year, use=full, group=group)  # type: ignore[arg-type]
    written = write_results(b, target)
    from index.cli.tables import ahp_lines

    ahp = b.ahp_consistency()
    if not quiet:
        from index.cli.tables import print_frame, print_ranking

        if table is None:
            print_ranking(b, year, top=top)
        else:
            whole = {"Rank"} if full == "scores" else set(table.columns)  # ranks: integers
            title = f"{full} — {year or b.years[-1]}"
            print_frame(table.head(top) if top else table, title, whole=whole)
        if b.screening is not None and not b.screening["Included"].all():
            units = (b.input_dataset or b.dataset).units
            gone = b.screening.loc[~b.screening["Included"], "region_code"]
            names = [f"{u} {units['name_zh'].get(u, '')}".strip() for u in gone]
            typer.echo(f"筛除 screened out ({b.config.screen.unit_screen}): {', '.join(names)}")
        for line in ahp_lines(ahp):
            typer.echo(line)
        for path in written:
            typer.echo(f"wrote {path}")
    elif not ahp["consistent"].all():  # an allowed inconsistent matrix is said even when quiet
        for line in ahp_lines(ahp[~ahp["consistent"]]):
            typer.echo(line, err=True)
