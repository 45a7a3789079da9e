"""`compute-index targets`: the action plan's national targets against the figures reported."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from index.cli.app import app, guarded
from index.cli.options import DataOpt, load_data
from index.cli.tables import print_sheet

SHOWN = [
    "指标 Indicator", "单位 Unit", "目标年 Target year", "目标 Target", "报告值 Reported",
    "说明 Qualifier", "截至 As of", "差距 Gap", "所需年增长率 Growth needed (%/yr)", "所需年增幅 Increase needed (pp/yr)",
    "状态 Status",
]  # fmt: skip


@app.command()
@guarded
def targets(
    national: Annotated[
        Path | None,
        typer.Option(help="folder of action_plan_*.csv (default: the project's data/national)"),
    ] = None,
    sources: Annotated[
        Path | None, typer.Option(help="sources table (default: the project's data/raw)")
    ] = None,
    data: DataOpt = None,
    full: Annotated[bool, typer.Option("--full", help="every column, sources included")] = False,
) -> None:
    """Action-plan tracker: the 2023–2025 national targets of 《算力基础设施高质量发展行动计划》 against
    the national figures officially reported (gap, years left, growth needed per year), and each
    province's share where data/national/target_series.csv declares a series for a target.

    Example: compute-index targets --full
    """
    from index import tracker  # reads the catalogue (openpyxl) only when the command runs
    from index.publish import tables

    national = tracker.national_dir() if national is None else national
    tr = tracker.load(national, sources)
    sheet = tables.action_plan(tr)
    print_sheet(sheet, None if full else SHOWN)
    if tr.series:
        print_sheet(tables.province_shares(tr, load_data(data).long))
    else:
        typer.echo(
            "各省占比：没有被声明为度量目标数量的数据序列 / province shares: no data series is declared "
            f"to measure a target quantity ({Path(national) / tracker.SERIES_FILE})"
        )
