"""What the ranking can claim, in the publication: the bounds column of the ranking table, the bounds
figure (nominal rank, exact bounds, Monte Carlo interval) and one bilingual profile section per
province, linked from the ranking table.

Inputs are the labelled frames of :mod:`index.analysis.claims` (``Claims.table()`` and
``Profile`` objects); nothing here computes a bound.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from index.publish import figures, tables

BOUNDS = "排名界限 Rank bounds"
MOVES_SHOWN = 5


def anchor(code: str) -> str:
    """The id of a region's profile section."""
    return f"profile-{code}"


def _rank(v) -> str:
    return "—" if v is None or pd.isna(v) else f"{float(v):.0f}"


def bounds_text(row: pd.Series) -> str:
    """ "best–worst", marked "≈" when the bounds are attained but not certified exact."""
    text = f"{_rank(row['best'])}–{_rank(row['worst'])}"
    return text if bool(row["exact"]) else f"≈{text}"


def with_bounds(sheet: tables.Sheet, bounds: pd.DataFrame, *, link: bool = True) -> tables.Sheet:
    """The ranking sheet with a bounds column after the rank, and (``link``) region names linked
    to their profile sections in the report."""
    b = bounds.set_index("region_code")
    df = sheet.frame.copy()
    codes = df[tables.CODE].astype(str)
    text = [bounds_text(b.loc[c]) if c in b.index else "" for c in codes]
    df.insert(df.columns.get_loc(tables.RANK) + 1, BOUNDS, text)
    links = dict(sheet.links)
    if link:
        links[tables.REGION_ZH] = {
            zh: f"#{anchor(c)}" for zh, c in zip(df[tables.REGION_ZH], codes, strict=True)
        }
    return replace(sheet, frame=df, links=links)


def bounds_figure(
    bounds: pd.DataFrame, intervals: pd.DataFrame | None, *, bilingual: bool = True
) -> Figure:
    """Per region: nominal rank (diamond), the exact best–worst range over the admissible weights
    (thick bar; hatched when not certified exact) and, beside it, the Monte Carlo Q5–Q95 interval
    (thin line: the publication's uncertainty analysis if given, else the draws inside the box)."""
    df = bounds.dropna(subset=["rank"]).sort_values(["rank", "region_code"], kind="stable")
    label = figures._title
    names = [
        f"{zh} {en}" if bilingual else en
        for zh, en in zip(df["name_zh"], df["name_en"], strict=True)
    ]
    y = np.arange(len(df))
    fig = Figure(figsize=(8, 0.3 * len(df) + 1.8), layout="constrained")
    ax = fig.add_subplot()
    exact = df["exact"].to_numpy(bool)
    best, worst = df["best"].to_numpy(float), df["worst"].to_numpy(float)
    # a bar covers whole rank cells: best − 0.4 … worst + 0.4 (visible when best = worst)
    ax.barh(y[exact] - 0.15, worst[exact] - best[exact] + 0.8, left=best[exact] - 0.4, height=0.3,
            color=figures.PILLAR_COLORS[0], alpha=0.55,
            label=label("精确界限", "exact bounds", bilingual))  # fmt: skip
    if (~exact).any():
        ax.barh(y[~exact] - 0.15, worst[~exact] - best[~exact] + 0.8, left=best[~exact] - 0.4,
                height=0.3,
                color="none", edgecolor=figures.PILLAR_COLORS[0], hatch="///",
                label=label("近似界限", "bounds (not exact)", bilingual))  # fmt: skip
    if intervals is not None and len(intervals):
        ri = intervals.set_index("region_code").reindex(df["region_code"])
        lo, hi = ri["q05"].to_numpy(float), ri["q95"].to_numpy(float)
        mc = label("蒙特卡洛 Q5–Q95", "Monte Carlo Q5–Q95", bilingual)
    else:
        lo, hi = df["mc_q05"].to_numpy(float), df["mc_q95"].to_numpy(float)
        mc = label("界限内蒙特卡洛 Q5–Q95", "Monte Carlo in the box, Q5–Q95", bilingual)
    ax.hlines(y + 0.2, lo, hi, color="0.3", linewidth=2, label=mc)
    ax.scatter(df["rank"].to_numpy(float), y, marker="D", s=20, color=figures.PILLAR_COLORS[3],
               zorder=4, label=label("名义排名", "nominal rank", bilingual))  # fmt: skip
    ax.set_yticks(y, names)
    ax.set_ylim(len(y) - 0.5, -0.5)
    ax.set_xlabel(label("排名", "rank", bilingual))
    ax.set_xlim(0.5, max(len(df), np.nanmax(worst) if len(df) else 1) + 0.5)
    fig.legend(loc="outside lower center", ncols=2, frameon=False)
    ax.set_title(
        label("排名能说明什么：精确界限与蒙特卡洛区间", "What the ranking can claim", bilingual)
    )
    return fig


def _p(zh: str, en: str) -> str:
    return f'<p>{html.escape(zh)}<br><span class="en">{html.escape(en)}</span></p>'


def _value(v: float) -> str:
    """An indicator value: thousands separated from 1,000 on, else 4 significant digits."""
    if v is None or math.isnan(v):
        return "—"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def _num(v: float, digits: int = 2) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:,.{digits}f}"


def profile_section(p, render_table, intervals: pd.DataFrame | None, box: float) -> str:
    """One region's section (``render_table`` turns a Sheet into HTML, e.g. report.table_html)."""
    bnd = p.bounds
    exact = "精确" if bnd["exact"] else "近似（非精确）"
    exact_en = "exact" if bnd["exact"] else "attained, not certified exact"
    mc = ""
    if intervals is not None and len(intervals) and p.code in set(intervals["region_code"]):
        ri = intervals.set_index("region_code").loc[p.code]
        mc = f"{_rank(ri['q05'])}–{_rank(ri['q95'])}"
    box_mc = f"{_rank(bnd['mc_q05'])}–{_rank(bnd['mc_q95'])}"
    parts = [
        f'<section id="{anchor(p.code)}"><h3>{html.escape(p.name_zh)} '
        f'<span class="en">{html.escape(p.name_en)}</span></h3>',
        _p(
            f"{p.year}年综合得分 {_num(p.score)}，排名第 {_rank(p.rank)} / {p.n_ranked}；权重在名义值 ±{box:.0%} "
            f"内任意取值时排名界限为 {_rank(bnd['best'])}–{_rank(bnd['worst'])}（{exact}），"
            f"同一范围内蒙特卡洛 90% 区间 {box_mc}"
            + (f"；不确定性分析 90% 区间 {mc}" if mc else "")
            + "。",
            f"Score {_num(p.score)}, rank {_rank(p.rank)} of {p.n_ranked} in {p.year}; over every "
            f"weighting within ±{box:.0%} of the nominal weights its rank lies in "
            f"{_rank(bnd['best'])}–{_rank(bnd['worst'])} ({exact_en}); Monte Carlo 90 % interval "
            f"in the same set {box_mc}"
            + (f"; uncertainty analysis 90 % interval {mc}" if mc else "")
            + ".",
        ),
    ]
    group = f"组中位数 group median ({p.group_label})" if p.group_label else None
    pil = pd.DataFrame(
        {
            "分项 Pillar": p.pillars["name_zh"] + " " + p.pillars["name_en"],
            "得分 Score": p.pillars["score"],
            "排名 Rank": p.pillars["rank"],
            "全国中位数 Median": p.pillars["median"],
        }
    )
    formats = {"得分 Score": tables.F_SCORE, "排名 Rank": tables.F_RANK,
               "全国中位数 Median": tables.F_SCORE}  # fmt: skip
    if group:
        pil[group] = p.pillars["group_median"]
        formats[group] = tables.F_SCORE
    parts.append(render_table(tables.Sheet("pillars", pil, formats)))

    def items(df: pd.DataFrame) -> str:
        return "；".join(
            f"{r.name_zh} {r.name_en}: {_value(r.value)} {r.unit} (#{_rank(r.rank)})"
            for r in df.itertuples()
        )

    parts.append(f"<p><b>优势 Strengths</b>: {html.escape(items(p.strengths))}</p>")
    parts.append(f"<p><b>短板 Weaknesses</b>: {html.escape(items(p.weaknesses))}</p>")
    hist = pd.DataFrame([p.history["rank"].to_numpy()], columns=[str(y) for y in p.history["year"]])
    parts.append("<p><b>排名历史 Rank history</b></p>")
    parts.append(
        render_table(tables.Sheet("history", hist, dict.fromkeys(hist.columns, tables.F_RANK)))
    )
    parts.append(_moves(p, render_table))
    parts.append("</section>")
    return "\n".join(parts)


def _moves(p, render_table) -> str:
    w = p.what_it_takes
    if w.empty:
        return _p(
            "排名第一（或未排名）：无需追赶。",
            "Ranked first (or not ranked): nobody to catch up with.",
        )
    ok = w[w["verified"].fillna(False).astype(bool)]
    ind = ok[ok["kind"] == "indicator"].sort_values(["change_pct", "code"]).head(MOVES_SHOWN)
    pil = ok[ok["kind"] == "pillar"]
    rows = pd.concat([ind, pil])
    df = pd.DataFrame(
        {
            "指标/分项 Indicator/pillar": rows["name_zh"] + " " + rows["name_en"],
            "现值 Value": rows["value"],
            "需提高 Change": rows["change"],
            "单位 Unit": rows["unit"],
            "提高% Change %": rows["change_pct"],
            "方法 Method": rows["method"].map(_method_label),
        }
    )
    gap = w.attrs.get("gap", float("nan"))
    head = _p(
        f"上升一位需要（与上一名差 {_num(gap)} 分；单项指标单独提高，或某分项全部指标同比例提高；"
        "均经全流程重算验证）：",
        f"What it takes to move up one place (gap {_num(gap)} points; one indicator alone, or all "
        "of a pillar's indicators by the same %; every figure re-run through the pipeline):",
    )
    formats = {
        "现值 Value": tables.F_VALUE,
        "需提高 Change": tables.F_VALUE,
        "提高% Change %": "0.0",
    }
    return head + render_table(tables.Sheet("moves", df, formats))


def _method_label(method: str) -> str:
    """ "exact" / "search" (", whole units") in both languages."""
    words = {"exact": "精确 exact", "search": "搜索 search", "whole units": "取整 whole units"}
    return "，".join(words.get(part.strip(), part) for part in method.split(","))


def profiles_html(
    profiles: Sequence, render_table, intervals: pd.DataFrame | None, box: float
) -> str:
    """The report's profile chapter: one section per region, in rank order."""
    if not profiles:
        return ""
    body = "\n".join(profile_section(p, render_table, intervals, box) for p in profiles)
    intro = _p(
        "每个省份一节：分项得分与全国及所在地区组中位数比较、优势与短板指标、排名历史、蒙特卡洛区间、"
        "权重变动下的精确排名界限，以及上升一位所需的改进。",
        "One section per province: pillar scores against the national and group median, strongest "
        "and weakest indicators, rank history, Monte Carlo interval, exact rank bounds under changed "
        "weights, and what it takes to move up one place.",
    )
    return intro + body
