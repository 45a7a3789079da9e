"""`compute-index audit`: the statistical audit of one year's build (correlations, flags,
Cronbach's alpha, PCA per group, indicator statistics) as tables and a heatmap."""

from __future__ import annotations

import math
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
    output,
    resolve_config,
)

if TYPE_CHECKING:
    from index.analysis.audit import Audit


@app.command("audit")
@guarded
def audit_command(
    framework: FrameworkOpt = None,
    year: YearOpt = None,
    set_: SetOpt = None,
    weight: WeightOpt = None,
    exclude: ExcludeOpt = None,
    config: ConfigOpt = None,
    data: DataOpt = None,
    out: Annotated[
        Path | None, typer.Option(help="workbook with every audit table (default: beside the data)")
    ] = None,
    heatmap: Annotated[
        bool, typer.Option(help="also save the correlation heatmap (audit_heatmap.png/.svg)")
    ] = True,
    quiet: QuietOpt = False,
) -> None:
    """Statistical audit: correlations within and between levels, flags (collinear > 0.9 within a group, negative < −0.4), Cronbach's alpha and PCA per group, indicator statistics.

    Writes every table to one workbook and the correlation heatmap beside it.

    Example: compute-index audit --year 2024 --set weighting=entropy
    """
    from index.pipeline import build

    cfg = resolve_config(config, framework, set_, weight, exclude)
    b = build(cfg, load_data(data))
    out = output(out, data, "audit.xlsx")
    shown = b.years[-1] if year is None else year
    a = b.audit(shown)
    written = [a.to_excel(out)]
    if heatmap:
        from index.publish import figures  # matplotlib only when asked for

        with figures.style():
            fig = figures.correlation_heatmap(b.scores_long, b.nodes, year=shown)
            written += figures.save_figure(fig, out.with_name("audit_heatmap"))
    if quiet:
        return
    console = Console(width=160)
    for table in (flags_table(a, shown), group_table(a)):
        console.print(table)
    for path in written:
        typer.echo(f"wrote {path}")


def _num(v: float, digits: int = 2) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def flags_table(a: Audit, year: int) -> Table:
    """Pearson flags: collinear siblings, negatively correlated siblings or element–parent."""
    flags = a.flags[a.flags["method"] == "pearson"]
    t = Table(title=f"Correlation flags (Pearson), {year}: {len(flags)}", header_style="bold")
    for head in ("kind", "level", "group", "element", "with", "r"):
        t.add_column(head, justify="right" if head in ("level", "r") else "left")
    for row in flags.itertuples():
        t.add_row(row.kind, str(row.level), row.group, row.code_1, row.code_2, _num(row.r))
    if not len(flags):
        t.add_row("none", "", "", "", "", "")
    return t


def group_table(a: Audit) -> Table:
    """Per group: items, Cronbach's alpha, PC1 share of variance, eigenvalues > 1."""
    pca = a.pca.set_index("group")
    t = Table(title="Consistency per group", header_style="bold")
    for head in ("group", "name", "items", "Cronbach α", "PC1 variance", "eigenvalues > 1"):
        t.add_column(head, justify="left" if head in ("group", "name") else "right")
    for row in a.cronbach.itertuples():
        name = f"{row.name_zh} {row.name_en}".strip()
        pc1 = pca["pc1_var_explained"].get(row.group, float("nan"))
        n_gt1 = pca["n_eigen_gt1"].get(row.group)
        t.add_row(
            row.group,
            name,
            str(row.k),
            _num(row.alpha),
            _num(pc1),
            "" if n_gt1 is None else str(n_gt1),
        )
    return t
