"""Data views shared by figures, tables and the report: the pipeline's long frames reshaped.

All views key regions by ``region_code`` and read the framework hierarchy from ``nodes``
(root = the node without parent; pillars = the root's children, in framework order).
"""

from __future__ import annotations

import pandas as pd

from index.etl import regions as provinces


def root_code(nodes: pd.DataFrame) -> str:
    """Code of the composite index (the one node without a parent)."""
    return str(nodes.loc[nodes["parent"].isna(), "code"].iloc[0])


def root_names(nodes: pd.DataFrame) -> tuple[str, str]:
    """(zh, en) name of the composite index, e.g. 中国综合算力指数 / China … Index."""
    root = nodes.loc[nodes["parent"].isna()].iloc[0]
    return str(root["name_zh"] or root["code"]), str(root["name_en"] or root["code"])


def pillars(nodes: pd.DataFrame) -> pd.DataFrame:
    """The root's children (code, name_zh, name_en, weight, …) in framework order."""
    return nodes[nodes["parent"] == root_code(nodes)].reset_index(drop=True)


def indicators(nodes: pd.DataFrame) -> pd.DataFrame:
    """Level-1 nodes (indicators) in framework order."""
    return nodes[nodes["level"] == 1].reset_index(drop=True)


def edition_year(scores: pd.DataFrame, year: int | None = None) -> int:
    """``year`` if given, else the latest year in the scores."""
    return int(scores["year"].max()) if year is None else int(year)


def previous_year(scores: pd.DataFrame, year: int) -> int | None:
    """The latest year before ``year`` that has scores, or None."""
    earlier = scores.loc[scores["year"] < year, "year"]
    return int(earlier.max()) if len(earlier) else None


def regions(scores: pd.DataFrame) -> pd.DataFrame:
    """region_code → region_zh, region_en, short_zh (sorted by code; short name from
    ``index.etl.regions``, the given name for units that are not provinces)."""
    out = (
        scores[["region_code", "region_zh", "region_en"]]
        .drop_duplicates("region_code")
        .set_index("region_code")
        .sort_index()
    )
    short = provinces.labels()["short_zh"]
    out["short_zh"] = [
        short.get(code, zh) for code, zh in zip(out.index, out["region_zh"], strict=True)
    ]
    return out


def wide(scores: pd.DataFrame, year: int, codes: list[str], value: str = "score") -> pd.DataFrame:
    """Regions × nodes table of ``value`` for one year (columns in ``codes`` order)."""
    sel = scores[(scores["year"] == year) & scores["code"].isin(codes)]
    table = sel.pivot(index="region_code", columns="code", values=value)
    return table.reindex(columns=codes).sort_index()


def ranks_by_year(scores: pd.DataFrame, code: str) -> pd.DataFrame:
    """Regions × years table of the rank of node ``code``."""
    sel = scores[scores["code"] == code]
    return sel.pivot(index="region_code", columns="year", values="rank").sort_index()


def rank_change(scores: pd.DataFrame, code: str, year: int) -> pd.Series:
    """Places gained since the previous year: rank(previous) − rank(year); NaN if no previous year."""
    ranks = ranks_by_year(scores, code)
    prev = previous_year(scores, year)
    if prev is None:
        return pd.Series(float("nan"), index=ranks.index, name="change")
    return (ranks[prev] - ranks[year]).rename("change")


def label(zh: str, en: str, bilingual: bool) -> str:
    """``"zh / en"`` when Chinese can be drawn, else ``en``."""
    return f"{zh} / {en}" if bilingual else en


def pillar_of(nodes: pd.DataFrame) -> pd.Series:
    """node code → code of the pillar it belongs to (NaN for the root)."""
    parent = dict(zip(nodes["code"], nodes["parent"], strict=True))
    top = set(pillars(nodes)["code"])

    def up(code: str) -> str | None:
        while isinstance(code, str) and code not in top:
            code = parent.get(code)
        return code if isinstance(code, str) else None

    return pd.Series({c: up(c) for c in nodes["code"]}, name="pillar")


def tree_order(nodes: pd.DataFrame) -> pd.DataFrame:
    """Nodes in depth-first order from the root (children in framework order): index, pillar, …"""
    children: dict[str, list[str]] = {}
    for code, parent in zip(nodes["code"], nodes["parent"], strict=True):
        if isinstance(parent, str):
            children.setdefault(parent, []).append(code)
    order, stack = [], [root_code(nodes)]
    while stack:
        code = stack.pop()
        order.append(code)
        stack.extend(reversed(children.get(code, [])))
    return nodes.set_index("code").loc[order].reset_index()
