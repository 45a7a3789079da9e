"""Data views shared by figures, tables and the report: the pipeline's long frames reshaped.

All views key regions by ``region_code`` and read the framework hierarchy from ``nodes`` through
:class:`index.framework.Framework` (root = the node without parent; pillars = the root's
children, in framework order).
"""

from __future__ import annotations

import pandas as pd

from index import framework as fwmod
from index.etl import regions as provinces


def hierarchy(nodes: pd.DataFrame) -> fwmod.Framework:
    """The framework structure of a node table (code, parent, names)."""
    return fwmod.from_table(nodes.to_dict("records"))


def _rows(nodes: pd.DataFrame, codes: list[str]) -> pd.DataFrame:
    return nodes.set_index("code").loc[codes].reset_index()


def root_code(nodes: pd.DataFrame) -> str:
    """Code of the composite index (the one node without a parent)."""
    return hierarchy(nodes).root.code


def root_names(nodes: pd.DataFrame) -> tuple[str, str]:
    """(zh, en) name of the composite index, e.g. 中国综合算力指数 / China … Index."""
    root = hierarchy(nodes).root
    return root.name_zh or root.code, root.name_en or root.code


def pillars(nodes: pd.DataFrame) -> pd.DataFrame:
    """The root's children (code, name_zh, name_en, weight, …) in framework order."""
    return _rows(nodes, hierarchy(nodes).pillars)


def indicators(nodes: pd.DataFrame) -> pd.DataFrame:
    """Level-1 nodes (indicators) in framework order."""
    return _rows(nodes, hierarchy(nodes).codes_at(1, nodes["code"]))


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
    """node code → code of the pillar it belongs to (the pillar itself for a pillar, None for the
    root)."""
    fw = hierarchy(nodes)
    return pd.Series({c: fw.pillar_of(c) for c in nodes["code"]}, name="pillar")


def tree_order(nodes: pd.DataFrame) -> pd.DataFrame:
    """Nodes in depth-first order from the root (children in framework order): index, pillar, …"""
    return _rows(nodes, hierarchy(nodes).depth_first())
