"""`compute-index sensitivity`: rank intervals over thousands of alternative indices, Sobol' indices
and leave-one-out, for one year."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

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
    from index.analysis.sensitivity import LeaveOneOut, SobolAnalysis
    from index.analysis.uncertainty import Outcome
    from index.framework import Framework


@app.command()
@guarded
def sensitivity(
    spec: Annotated[
        Path | None, typer.Option("--spec", help="uncertainty spec TOML (default: built-in)")
    ] = None,
    n: Annotated[
        int | None, typer.Option("--n", min=2, help="runs (with --sobol: base sample N)")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="random seed (default: spec's)")
    ] = None,
    year: YearOpt = None,
    framework: FrameworkOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    weight: WeightOpt = None,
    exclude: ExcludeOpt = None,
    data: DataOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="per-region results Parquet (default: beside the data); Sobol'/LOO tables go beside it"
        ),
    ] = None,
    sobol: Annotated[
        bool, typer.Option("--sobol", help="Sobol' indices (Saltelli design)")
    ] = False,
    loo: Annotated[bool, typer.Option("--loo", help="leave each element out in turn")] = False,
    region: Annotated[
        str | None,
        typer.Option(
            "--region", "-r", help="show one region: 广东, Guangdong, 44 (its rank distribution)"
        ),
    ] = None,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            help="worker processes (pays for large panels; the same output bytes whatever N)",
        ),
    ] = 1,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            metavar="ADDRESS",
            help="run the evaluation on the Dask cluster whose scheduler is at ADDRESS, e.g. "
            "tcp://10.0.0.5:8786 (instead of --jobs; needs pip install 'compute-index\\[dask]' here "
            "and on the workers; the same output bytes)",
        ),
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Uncertainty and sensitivity of the ranking to the method choices in the spec.

    Prints, per region, the nominal rank, the median rank and the 90 % interval (Q5–Q95) over all runs; with --sobol, first-order and total Sobol' indices of the mean absolute rank change and of every region's rank; with --loo, the rank shifts when each element is removed.

    Examples:

      compute-index sensitivity --n 10000 --year 2024 --sobol

      compute-index sensitivity --region 贵州 --sobol     # what moves one province's rank

      compute-index sensitivity --n 1000000 --dask tcp://10.0.0.5:8786   # on a Dask cluster
    """
    from index.analysis.sensitivity import write_results
    from index.analysis.workers import connect
    from index.pipeline import build

    cfg = resolve_config(config, framework, set_, weight, exclude)
    out = output(out, data, "uncertainty.parquet")
    the_spec, progress = ("default" if spec is None else spec), (False if quiet else None)
    with connect(dask, jobs) as client:
        b = build(cfg, load_data(data))
        only = None if region is None else b.unit(region)
        how: dict[str, Any] = dict(
            spec=the_spec, seed=seed, year=year, progress=progress, jobs=jobs, client=client
        )
        sa = b.sensitivity(n, **how) if sobol else None
        outcome = sa.outcome if sa is not None else b.uncertainty(n, **how)
    shifts = b.leave_one_out(year=outcome.year) if loo else None
    written = write_results(out, outcome, b.config, sobol=sa, loo=shifts)
    if quiet:
        return
    fw = b.framework
    console = Console(width=160)
    console.print(interval_table(outcome, fw, only))
    if only is not None:
        console.print(distribution_table(outcome, only))
    else:
        console.print(within_line(outcome))
    if sa is not None:
        console.print(sobol_table(sa))
        console.print(regional_table(sa, only))
    if shifts is not None:
        console.print(loo_table(shifts))
    for path in written:
        typer.echo(f"wrote {path}")
    sampling = outcome.design.sampling
    if sampling.method == "sobol" and sampling.n & (sampling.n - 1):
        typer.echo(f"note: Sobol' points are balanced only for n = 2^m; n = {sampling.n}")


# ---- terminal tables -------------------------------------------------------------------------------
def _num(v: float, digits: int = 2) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _rank(v: object) -> str:
    """A rank (integer, or an interpolated quantile such as 6.45); a dash when missing."""
    import pandas as pd

    return "—" if pd.isna(v) else f"{v:g}"


def interval_table(outcome: Outcome, fw: Framework, only: str | None = None) -> Table:
    """GII-style table: nominal rank, names, score, median rank and the 90 % interval."""
    df = outcome.table().sort_values(["nominal", "region_code"], na_position="last")
    if only is not None:
        df = df[df["region_code"] == only]
    title = (
        f"{fw.root.name_zh} {fw.root.name_en} — {outcome.year}: "
        f"排名不确定性 rank uncertainty over {outcome.n_runs:,} runs"
    )
    t = Table(title=title, header_style="bold")
    columns: tuple[tuple[str, Literal["left", "center", "right"]], ...] = (
        ("名义排名\nRank", "right"),
        ("地区", "left"),
        ("Region", "left"),
        ("得分\nScore", "right"),
        ("中位数\nMedian", "right"),
        ("90%区间\nQ5–Q95", "center"),
        ("均值\nMean", "right"),
    )
    for head, justify in columns:
        t.add_column(head, justify=justify)
    for row in df.itertuples():
        t.add_row(
            _rank(row.nominal),
            row.name_zh,
            row.name_en,
            _num(row.score_nominal),
            _rank(row.median),
            f"{_rank(row.q05)}–{_rank(row.q95)}",
            _num(row.mean, 1),
        )
    return t


def distribution_table(outcome: Outcome, code: str) -> Table:
    """One region's rank distribution over the runs: share of runs at each rank it reaches."""
    dist = outcome.distribution().loc[code]
    share = dist / dist.sum()
    name = outcome.units.loc[code]
    t = Table(title=f"{name['name_zh']} {name['name_en']}: 排名分布 rank distribution")
    for head in ("排名 Rank", "比例 Share of runs", ""):
        t.add_column(head, justify="right" if head else "left")
    for rank, value in share[share > 0].items():
        t.add_row(str(rank), f"{value:.1%}", "█" * max(1, round(40 * value)))
    return t


def within_line(outcome: Outcome) -> str:
    from index.analysis.sensitivity import WITHIN

    shares = outcome.within(WITHIN)
    parts = ", ".join(f"±{k}: {v:.0%}" for k, v in shares.items())
    return f"90 % interval within ±k places of the nominal rank (share of regions): {parts}"


def sobol_table(sa: SobolAnalysis) -> Table:
    """First-order and total indices of the mean absolute rank change, with intervals."""
    df = sa.table()
    from index.analysis.sensitivity import SCALAR

    df = df[df["output"] == SCALAR]
    alts = {f.name: f.n_alt for f in sa.outcome.design.factors}
    t = Table(
        title=f"Sobol' indices of the mean absolute rank change (N = {sa.n}, "
        f"{sa.outcome.n_runs:,} runs)",
        header_style="bold",
    )
    for head in ("因素 Factor", "alternatives", "S1", "S1 interval", "ST", "ST interval"):
        t.add_column(head, justify="left" if head.startswith("因素") else "right")
    for row in df.itertuples():
        ci = hasattr(row, "S1_lo")
        t.add_row(
            row.variable,
            str(alts[row.variable]),
            _num(row.S1, 3),
            f"[{_num(row.S1_lo, 3)}, {_num(row.S1_hi, 3)}]" if ci else "",
            _num(row.ST, 3),
            f"[{_num(row.ST_lo, 3)}, {_num(row.ST_hi, 3)}]" if ci else "",
        )
    return t


def regional_table(sa: SobolAnalysis, only: str | None = None) -> Table:
    """Total Sobol' index of each factor for each region's rank (rows in nominal rank order)."""
    import pandas as pd

    st = sa.regional_total()
    if only is not None:
        st = st.loc[[only]]
    names = sa.outcome.units
    order = pd.Series(sa.outcome.nominal_ranks, index=st.index).sort_values(kind="stable").index
    t = Table(
        title="Total Sobol' index per region: which choice moves its rank", header_style="bold"
    )
    t.add_column("Rank", justify="right")
    t.add_column("Region")
    for name in st.columns:
        t.add_column(name, justify="right")
    for code in order:
        rank = sa.outcome.nominal_ranks[list(st.index).index(code)]
        t.add_row(
            _rank(rank),
            f"{names.at[code, 'name_zh']} {names.at[code, 'name_en']}",
            *(_num(v) for v in st.loc[code]),
        )
    return t


def loo_table(shifts: LeaveOneOut) -> Table:
    """Mean and maximum absolute rank shift when each element is removed."""
    df = shifts.summary()
    t = Table(title="Leave one out: rank shifts when an element is removed", header_style="bold")
    for head in ("level", "removed", "name", "mean |shift|", "max |shift|"):
        t.add_column(head, justify="right" if "shift" in head or head == "level" else "left")
    for row in df.itertuples():
        t.add_row(
            str(row.level),
            row.removed,
            f"{row.name_zh} {row.name_en}".strip(),
            _num(row.mean_abs_shift),
            _rank(row.max_abs_shift),
        )
    return t
