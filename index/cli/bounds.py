"""`compute-index bounds`: exact best and worst ranks over admissible weights, beside the Monte Carlo
interval; reversal margins of adjacent pairs; Parquet output."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from index import __version__
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
from index.errors import InputError, Problem

BoxOpt = Annotated[
    float,
    typer.Option(
        "--box", min=0.0, help="each within-group weight within ±box of its nominal value"
    ),
]
OrderOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--order", help="order constraint between siblings, e.g. 'compute>=storage' (repeatable)"
    ),
]


@app.command()
@guarded
def bounds(
    box: BoxOpt = 0.5,
    order: OrderOpt = None,
    year: YearOpt = None,
    mc: Annotated[int, typer.Option("--mc", min=1, help="Monte Carlo runs in the same set")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Monte Carlo seed")] = 20240101,
    norm: Annotated[
        str, typer.Option("--norm", help="reversal distance: l1 or linf (effective weights)")
    ] = "l1",
    framework: FrameworkOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    weight: WeightOpt = None,
    exclude: ExcludeOpt = None,
    data: DataOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="bounds Parquet (default: bounds.parquet beside the data); the weights "
            "realising each bound and the reversals are written beside it"
        ),
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """What the ranking can claim: every region's best and worst attainable rank over all admissible weights.

    Admissible: every within-group weight within ±box of its nominal value, each group summing to 1, plus --order constraints between siblings. With arithmetic means the bounds are exact (a mixed-integer programme over the effective weights, methodology.md § 7a) and the weights realising each bound are re-run through the pipeline; otherwise they are attained bounds inside certified outer bounds, flagged "no". Beside them: the Monte Carlo 5–95 % interval of draws inside the same set, and, for adjacent pairs, the smallest weight change that swaps them.

    Examples:

      compute-index bounds --box 0.5 --order "compute>=storage" --year 2024

      compute-index bounds --box 0.25 --order "算力>=存力>=运力" --norm linf
    """
    from index.io import write_parquet
    from index.pipeline import build

    if norm not in ("l1", "linf"):
        raise InputError(Problem("--norm", None, None, f"'{norm}': choose l1 or linf"))
    cfg = resolve_config(config, framework, set_, weight, exclude)
    b = build(cfg, load_data(data))
    out = output(out, data, "bounds.parquet")
    cl = b.claims(box, tuple(order or ()), year, mc=mc, seed=seed)
    table = cl.table()
    weights = cl.bound_weights()
    reversals = None if cl.nonlinear else cl.reversals(norm)
    meta = {
        "compute_index_version": __version__,
        "bounds": json.dumps(
            {
                "config": cfg.model_dump(mode="json"),
                "year": cl.year,
                "box": box,
                "order": list(order or ()),
                "mc": mc,
                "seed": seed,
                "method": table.attrs["method"],
            },
            sort_keys=True,
            ensure_ascii=False,
        ),
    }
    written = [write_parquet(table, out, meta)]
    written.append(write_parquet(weights, out.with_name(f"{out.stem}_weights.parquet"), meta))
    if reversals is not None:
        written.append(
            write_parquet(reversals, out.with_name(f"{out.stem}_reversals.parquet"), meta)
        )
    if quiet:
        return
    console = Console(width=160)
    fw = b.framework
    console.print(bounds_table(table, f"{fw.root.name_zh} {fw.root.name_en} — {cl.year}", box))
    console.print(f"method: {table.attrs['method']}")
    if reversals is not None:
        console.print(reversal_table(reversals))
    for path in written:
        typer.echo(f"wrote {path}")


def _r(v) -> str:
    """A rank or count for the terminal: integers plainly, missing (None, NaN, pd.NA) as —."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "—"
    return "—" if math.isnan(f) else f"{f:g}"


def bounds_table(df, title: str, box: float) -> Table:
    """Rank, names, score, exact best–worst, Monte Carlo Q5–Q95, exact/verified flags."""
    t = Table(title=f"{title}: 排名界限 rank bounds, weights ±{box:.0%}", header_style="bold")
    columns: tuple[tuple[str, Literal["left", "center", "right"]], ...] = (
        ("排名\nRank", "right"),
        ("地区", "left"),
        ("Region", "left"),
        ("得分\nScore", "right"),
        ("最好\nBest", "right"),
        ("最差\nWorst", "right"),
        ("蒙特卡洛\nMC Q5–Q95", "center"),
        ("精确\nExact", "center"),
    )
    for head, justify in columns:
        t.add_column(head, justify=justify)
    for row in df.itertuples():
        exact = "yes" if row.exact else f"no ({_r(row.best_outer)}–{_r(row.worst_outer)})"
        t.add_row(
            _r(row.rank),
            row.name_zh,
            row.name_en,
            "—" if math.isnan(row.score) else f"{row.score:.2f}",
            _r(row.best),
            _r(row.worst),
            f"{_r(row.mc_q05)}–{_r(row.mc_q95)}",
            exact if row.verified else f"{exact}, not verified",
        )
    return t


def reversal_table(df) -> Table:
    """Adjacent pairs: the smallest admissible weight change that swaps them."""
    norm = df["norm"].iloc[0] if len(df) else "l1"
    t = Table(
        title=f"逆转距离 Reversal margins (adjacent pairs, {norm.upper()} on effective weights)",
        header_style="bold",
    )
    for head in ("Rank", "上 above", "下 below", "gap", "distance", "largest within-group changes"):
        t.add_column(head, justify="right" if head in ("Rank", "gap", "distance") else "left")
    for row in df.itertuples():
        dist = "never (dominance)" if math.isnan(row.distance) else f"{row.distance:.4f}"
        t.add_row(
            str(row.rank),
            f"{row.above_zh} {row.above_en}",
            f"{row.below_zh} {row.below_en}",
            f"{row.gap:.2f}",
            dist,
            row.change,
        )
    return t
