"""`compute-index compare`: the ranking under several configurations, side by side."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

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
    resolve_config,
)

if TYPE_CHECKING:
    from index.compare import Comparison
    from index.config import Config


def _variant(base: Config, spec: str) -> Config:
    """A variant is a TOML config file or comma-separated key=value overrides of the baseline."""
    if spec.endswith(".toml"):
        from index import config as cfgmod

        return cfgmod.load(spec)
    return base.with_overrides([s.strip() for s in spec.split(",") if s.strip()])


def _print(cmp: Comparison) -> None:
    labels = cmp.labels
    console = Console(width=160)
    t = Table(title="排名对比 Rank comparison", header_style="bold")
    t.add_column("地区")
    t.add_column("Region")
    for label in labels:
        t.add_column(label, justify="right")
    for code, row in cmp.ranks.iterrows():
        shifts = cmp.shifts.loc[code]
        cells = [str(row["name_zh"]), str(row["name_en"]), _rank(row[labels[0]])]
        cells += [f"{_rank(row[lab])} ({_shift(shifts[lab])})" for lab in labels[1:]]
        t.add_row(*cells)
    console.print(t)
    c = Table(title="秩相关 Rank correlations", header_style="bold")
    for col in ("a", "b", "spearman", "kendall", "max_abs_shift"):
        c.add_column(col, justify="right")
    for _, r in cmp.correlations.iterrows():
        c.add_row(
            r["a"],
            r["b"],
            f"{r['spearman']:.3f}",
            f"{r['kendall']:.3f}",
            f"{r['max_abs_shift']:.0f}",
        )
    console.print(c)


def _rank(v: object) -> str:
    import pandas as pd

    return "—" if pd.isna(v) else str(v)


def _shift(v: object) -> str:
    import pandas as pd

    return "—" if pd.isna(v) else f"{v:+d}"


@app.command("compare")
@guarded
def compare_cmd(
    variants: Annotated[
        list[str],
        typer.Argument(help="each: comma-separated key=value overrides, or a config .toml"),
    ],
    framework: FrameworkOpt = None,
    year: YearOpt = None,
    set_: SetOpt = None,
    weight: WeightOpt = None,
    exclude: ExcludeOpt = None,
    config: ConfigOpt = None,
    data: DataOpt = None,
    out: Annotated[
        Path | None, typer.Option(help="write the side-by-side ranks (CSV, UTF-8 with BOM)")
    ] = None,
    figure: Annotated[
        Path | None, typer.Option(help="save the rank chart as FIGURE.png and FIGURE.svg")
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Compare the baseline ranking with alternative configurations.

    Example: compute-index compare weighting=entropy weighting=pca "aggregation=gmean,normalise.l=1"
    """
    from index.io import atomic_path, escaped
    from index.pipeline import build
    from index.publish import figures

    base = resolve_config(config, framework, set_, weight, exclude)
    ds = load_data(data)
    baseline = build(base, ds)
    cmp = baseline.compare({spec: build(_variant(base, spec), ds) for spec in variants}, year=year)
    if out is not None:
        with atomic_path(out) as tmp:
            escaped(cmp.ranks).to_csv(tmp, encoding="utf-8-sig")
    if figure is not None:
        with figures.style() as font:
            fig = figures.alternate_rankings(
                cmp.long(), baseline.scores_long, bilingual=font is not None
            )
            figures.save_figure(fig, figure)
    if not quiet:
        _print(cmp)
