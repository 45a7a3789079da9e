"""`compute-index profile REGION`: one province's pillars against the median and its group, strengths
and weaknesses, rank history, Monte Carlo interval, exact rank bounds and what it takes to move up."""

from __future__ import annotations

import math
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from index.cli.app import app, guarded
from index.cli.bounds import BoxOpt
from index.cli.options import (
    ConfigOpt,
    DataOpt,
    ExcludeOpt,
    FrameworkOpt,
    SetOpt,
    WeightOpt,
    YearOpt,
    load_data,
    resolve_config,
)


@app.command()
@guarded
def profile(
    region: Annotated[
        str, typer.Argument(help="region: code (44), 中文 (广东) or English (Guangdong)")
    ],
    year: YearOpt = None,
    box: BoxOpt = 0.5,
    framework: FrameworkOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    weight: WeightOpt = None,
    exclude: ExcludeOpt = None,
    data: DataOpt = None,
) -> None:
    """Profile of one region: pillar scores vs the median, strengths, history, rank bounds, what it takes.

    Examples:

      compute-index profile 广东 --year 2024

      compute-index profile Sichuan --box 0.25

      compute-index profile 44 --weight compute=2
    """
    from index.pipeline import build

    cfg = resolve_config(config, framework, set_, weight, exclude)
    b = build(cfg, load_data(data))
    p = b.profile(region, year, box)
    console = Console(width=160)
    for part in render(p, box):
        console.print(part)


def _n(v, digits: int = 2) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:,.{digits}f}"


def _r(v) -> str:
    return "—" if v is None or v != v else f"{float(v):g}"


def render(p, box: float) -> list:
    """The profile as rich renderables (a headline and tables)."""
    bnd = p.bounds
    head = (
        f"[bold]{p.name_zh} {p.name_en}[/bold] ({p.code}) — {p.year}: score {_n(p.score)}, "
        f"rank {_r(p.rank)} of {p.n_ranked}; exact bounds (weights ±{box:.0%}) "
        f"{_r(bnd['best'])}–{_r(bnd['worst'])}{'' if bnd['exact'] else ' (not exact)'}; "
        f"Monte Carlo Q5–Q95 {_r(bnd['mc_q05'])}–{_r(bnd['mc_q95'])}"
    )
    out: list = [head]
    t = Table(title="支柱 Pillars", header_style="bold")
    group = f"组中位数 group median ({p.group_label})" if p.group_label else "组中位数 group median"
    for h in ("支柱 Pillar", "得分 Score", "排名 Rank", "中位数 Median", group):
        t.add_column(h, justify="left" if h.startswith("支柱") else "right")
    for r in p.pillars.itertuples():
        t.add_row(f"{r.name_zh} {r.name_en}", _n(r.score), _r(r.rank), _n(r.median),
                  _n(r.group_median))  # fmt: skip
    out.append(t)
    for title, df in (("优势 Strengths", p.strengths), ("短板 Weaknesses", p.weaknesses)):
        t = Table(title=title, header_style="bold")
        for h in ("指标 Indicator", "值 Value", "单位 Unit", "排名 Rank"):
            t.add_column(h, justify="left" if h.startswith(("指标", "单位")) else "right")
        for r in df.itertuples():
            t.add_row(f"{r.name_zh} {r.name_en}", _n(r.value), r.unit, _r(r.rank))
        out.append(t)
    t = Table(title="排名历史 Rank history", header_style="bold")
    for y in p.history["year"]:
        t.add_column(str(y), justify="right")
    t.add_row(*(_r(v) for v in p.history["rank"]))
    out.append(t)
    w = p.what_it_takes
    if len(w):
        gap = w.attrs.get("gap", float("nan"))
        t = Table(
            title=f"上升一位需要 What it takes to move up one place (gap {_n(gap)} points)",
            header_style="bold",
        )
        for h in ("指标/支柱 Indicator/pillar", "现值 Value", "提高 Change", "单位 Unit", "%",
                  "方法 Method"):  # fmt: skip
            t.add_column(h, justify="left" if h.startswith(("指标", "单位", "方法")) else "right")
        for r in w.itertuples():
            method = (
                r.method
                if r.verified or r.method in ("missing", "unreachable")
                else (f"{r.method} (not verified)")
            )
            t.add_row(f"{r.name_zh} {r.name_en}", _n(r.value), _n(r.change), r.unit,
                      _n(r.change_pct, 1), method)  # fmt: skip
        out.append(t)
    else:
        out.append("Rank 1 (or not ranked): nothing above to close the gap to.")
    return out
