"""Readable bilingual ranking tables in the terminal (rich)."""

from __future__ import annotations

import math
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd

    from index.pipeline import Build
    from index.publish.tables import Sheet


def _fmt(v: float, rank: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return f"{int(v)}" if rank else f"{v:.2f}"


def print_ranking(b: Build, year: int | None = None, *, top: int = 0) -> None:
    """Print rank, 中文 / English names, score and each pillar's score (rank)."""
    fw = b.framework
    table_df = b.ranking(year)
    if top:
        table_df = table_df.head(top)
    shown_year = year or b.years[-1]
    pillars = fw.children[fw.root.code]
    t = Table(title=f"{fw.root.name_zh} {fw.root.name_en} — {shown_year}", header_style="bold")
    t.add_column("排名 Rank", justify="right")
    t.add_column("地区", justify="left")
    t.add_column("Region", justify="left")
    t.add_column("得分 Score", justify="right")
    for p in pillars:
        n = fw.node(p)
        t.add_column(f"{n.name_zh} {n.name_en}\n(rank)", justify="right")
    for _, row in table_df.iterrows():
        cells = [_fmt(row["rank"], True), row["name_zh"], row["name_en"], _fmt(row["score"])]
        cells += [f"{_fmt(row[f'{p}_score'])} ({_fmt(row[f'{p}_rank'], True)})" for p in pillars]
        t.add_row(*cells)
    Console(width=160).print(t)


def print_frame(frame: pd.DataFrame, title: str, *, whole: AbstractSet[str] = frozenset()) -> None:
    """A table the library computed, as it is: the index (unit codes), then every column;
    numbers to two decimals, the ``whole`` columns (ranks) as integers, missing as "—"."""
    import pandas as pd

    t = Table(title=title, header_style="bold")
    t.add_column(str(frame.index.name or ""), justify="left")
    for col in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[col])
        t.add_column(str(col), justify="right" if numeric else "left", overflow="fold")
    for key, row in zip(frame.index, frame.itertuples(index=False), strict=True):
        cells = [
            _fmt(v, rank=c in whole) if isinstance(v, int | float) else str(v)
            for c, v in zip(frame.columns, row, strict=True)
        ]
        t.add_row(str(key), *cells)
    Console(width=max(160, 12 * (len(frame.columns) + 1))).print(t)


def print_sheet(sheet: Sheet, columns: list[str] | None = None) -> None:
    """A publication sheet in the terminal, with its number formats (``columns``: a subset)."""
    import pandas as pd

    from index.publish.report import _fmt as cell_text  # the publication's cell format

    frame = sheet.frame if columns is None else sheet.frame[columns]
    t = Table(title=sheet.name, header_style="bold")
    for col in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[col])
        t.add_column(str(col), justify="right" if numeric else "left")
    for row in frame.itertuples(index=False):
        t.add_row(
            *(
                cell_text(v, sheet.formats.get(c))[0] or "—"
                for c, v in zip(frame.columns, row, strict=True)
            )
        )
    Console(width=160).print(t)


def ahp_lines(table) -> list[str]:
    """One line per AHP matrix: group, Saaty's measures and the verdict against $CR \\le 0.1$."""
    from index.methods.weights import CR_LIMIT

    return [
        f"AHP {r.group}: CR = {r.CR:.4f} "
        + (f"≤ {CR_LIMIT} 一致 consistent" if r.consistent else f"> {CR_LIMIT} 不一致 INCONSISTENT "
           "(allowed by weighting.allow_inconsistent: revise the judgements)")
        + f" (n = {r.n}, experts = {r.experts}, λmax = {r.lambda_max:.4f}, CI = {r.CI:.4f}, "
        f"RI = {r.RI})"
        for r in table.itertuples()
    ]  # fmt: skip
