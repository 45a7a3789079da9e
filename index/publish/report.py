"""report.html: one self-contained page (inline CSS, PNG figures as data: URIs, no scripts).

A Content-Security-Policy meta tag (``default-src 'none'``) makes browsers refuse any network
request the page might otherwise make. The output has no date and is byte-deterministic.
"""

from __future__ import annotations

import base64
import html
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from index.publish import tables, views


@dataclass(frozen=True)
class Figure:
    """A rendered figure for the page: file stem, bilingual caption, PNG bytes."""

    stem: str
    caption_zh: str
    caption_en: str
    png: bytes


CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei","WenQuanYi Zen Hei",
 sans-serif;margin:0 auto;max-width:1100px;padding:0 1.2em 3em;color:#1d2733;line-height:1.5}
h1{font-size:1.6em;border-bottom:3px solid #1f77b4;padding-bottom:.3em}
h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ccd;padding-bottom:.2em}
.en{color:#556;font-weight:normal}
table{border-collapse:collapse;font-size:.82em;margin:.8em 0;width:100%}
th,td{border:1px solid #d5dbe3;padding:.25em .45em}
th{background:#dde5ee;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.txt{white-space:nowrap}
td.wrap{min-width:24em}
tr:nth-child(even) td{background:#f6f8fa}
figure{margin:1.5em 0}
figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9em;color:#445}
.scroll{overflow-x:auto;max-height:40em;overflow-y:auto}
ol.refs li{margin:.3em 0;font-size:.9em}
footer{margin-top:3em;font-size:.8em;color:#667}
"""

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

_FORMATTERS = {
    tables.F_SCORE: "{:.2f}",
    tables.F_RANK: "{:.0f}",
    tables.F_CHANGE: "{:+.0f}",
    tables.F_WEIGHT: "{:.4f}",
    tables.F_VALUE: "{:,.4g}",
    "0.0": "{:.1f}",
    "+0;-0": "{:+.0f}",
}


def _h(zh: str, en: str, level: int = 2, anchor: str = "") -> str:
    ident = f' id="{anchor}"' if anchor else ""
    return (
        f'<h{level}{ident}>{html.escape(zh)} <span class="en">{html.escape(en)}</span></h{level}>'
    )


def _fmt(value: Any, fmt: str | None) -> tuple[str, bool]:
    """Cell text and whether it is numeric."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "", False
    if isinstance(value, int | float | np.number) and not isinstance(value, bool):
        text = _FORMATTERS.get(fmt or "", "{:.6g}").format(value)
        return ("0" if text in ("+0", "-0") else text), True
    return str(value), False


def table_html(sheet: tables.Sheet) -> str:
    """A plain HTML table with the sheet's number formats applied."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in sheet.frame.columns)
    rows = []
    for row in sheet.frame.itertuples(index=False):
        cells = []
        for col, value in zip(sheet.frame.columns, row, strict=True):
            text, numeric = _fmt(value, sheet.formats.get(col))
            kind = "num" if numeric else "wrap" if col in sheet.wrap else "txt"
            body = text if numeric else html.escape(text)
            if (href := sheet.links.get(col, {}).get(text)) is not None:
                body = f'<a href="{html.escape(href)}">{body}</a>'
            cells.append(f'<td class="{kind}">{body}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from the PNG IHDR chunk."""
    return struct.unpack(">II", png[16:24])


def figure_html(fig: Figure) -> str:
    width, height = _png_size(fig.png)
    data = base64.b64encode(fig.png).decode("ascii")
    alt = html.escape(f"{fig.caption_zh} / {fig.caption_en}")
    return (
        f'<figure id="fig-{fig.stem}"><img src="data:image/png;base64,{data}" width="{width}" '
        f'height="{height}" alt="{alt}"><figcaption>{html.escape(fig.caption_zh)} — '
        f"{html.escape(fig.caption_en)} (<code>figures/{fig.stem}.png</code>, "
        f"<code>.svg</code>)</figcaption></figure>"
    )


def headlines(
    scores: pd.DataFrame, nodes: pd.DataFrame, year: int, rank_intervals: pd.DataFrame | None
) -> list[str]:
    """Bilingual headline sentences: top 3, biggest climbers and fallers, widest rank interval."""
    root = views.root_code(nodes)
    reg = views.regions(scores)
    name = reg["short_zh"] + " " + reg["region_en"]
    score = views.wide(scores, year, [root], "score")[root]
    rank = views.wide(scores, year, [root], "rank")[root].sort_values(kind="stable").dropna()
    top = "；".join(f"{r:.0f}. {name[c]} ({score[c]:.2f})" for c, r in rank.iloc[:3].items())
    lines = [f"前三名 Top 3 ({year}): {top}"]
    prev = views.previous_year(scores, year)
    if prev is not None:
        change = views.rank_change(scores, root, year).dropna()
        change = change.loc[
            sorted(change.index, key=lambda c: (-abs(change[c]), rank.get(c, np.inf), c))
        ]
        for sign, zh, en in (
            (1, "上升最多", "Biggest climbers"),
            (-1, "下降最多", "Biggest fallers"),
        ):
            moved = change[np.sign(change) == sign].iloc[:3]
            if len(moved):
                items = "；".join(
                    f"{name[c]} {d:+.0f} ({rank[c] + d:.0f}→{rank[c]:.0f})"
                    for c, d in moved.items()
                )
                lines.append(f"{zh} {en} ({prev}→{year}): {items}")
    if rank_intervals is not None and len(rank_intervals):
        ri = rank_intervals.assign(width=rank_intervals["q95"] - rank_intervals["q05"])
        ri = ri.sort_values(["width", "region_code"], ascending=[False, True], kind="stable")
        widest = "；".join(
            f"{name.get(r.region_code, r.region_code)} ({r.q05:.0f}–{r.q95:.0f})"
            for r in ri.iloc[:3].itertuples()
        )
        lines.append(f"排名最不确定 Widest 90% rank intervals: {widest}")
    return lines


def ahp_note(method: tables.Sheet) -> str:
    """Saaty's rule, said above the Method summary when the run weighs by AHP (its rows
    ``tables.AHP_FACT``): a consistency ratio above 0.1 means the judgements should be revised."""
    from index.methods.weights import CR_LIMIT

    rows = method.frame[method.frame["项目 Item"].str.startswith(tables.AHP_FACT)]
    if rows.empty:
        return ""
    bad = int(rows["值 Value"].str.contains("INCONSISTENT").sum())
    verdict = (
        f"其中 {bad} 个判断矩阵不一致（已用 allow_inconsistent 放行） / {bad} matrix(es) are "
        "inconsistent (let through by allow_inconsistent): the weights rest on contradictory "
        "judgements."
        if bad
        else "所有判断矩阵均满足一致性要求 / every matrix passes."
    )
    return (
        f"<p>AHP 权重：一致性比率 CR = CI/RI，CI = (λmax − n)/(n − 1)，RI 为 Saaty (1980) 随机一致性指标；"
        f"CR ≤ {CR_LIMIT} 视为一致。 / AHP weights: consistency ratio CR = CI/RI with "
        f"CI = (λmax − n)/(n − 1) and Saaty's (1980) random index RI; CR ≤ {CR_LIMIT} is "
        f"consistent. {html.escape(verdict)}</p>"
    )


def action_plan_html(plan: Sequence[tables.Sheet]) -> str:
    """The action-plan section (empty without a tracker): targets vs reported, province shares."""
    if not plan:
        return ""
    shares = (
        table_html(plan[1])
        if len(plan) > 1
        else "<p>框架中没有被声明为度量目标数量的数据序列（算力、存力分项使用代理指标），因此不列各省占比。 / "
        "No data series is declared to measure a target quantity (the compute and storage pillars "
        "use proxies), so no province shares are shown (data/national/target_series.csv).</p>"
    )
    return "".join(
        [
            _h("行动计划目标", "Action-plan targets 2023–2025", anchor="action-plan"),
            "<p>《算力基础设施高质量发展行动计划》附件2的全国目标与官方报告的全国数值：差距 = 目标 − 报告值；"
            "所需增长为从报告日期到目标年末的年均增长（占比类为百分点）。无公开来源的数值不列出。 / "
            "National targets of the action plan (annex 2) against the national figures officially "
            "reported: gap = target − reported; growth needed is per year from the reported date to "
            "the end of the target year (percentage points for shares). Figures without a stored "
            "public source are left out.</p>",
            table_html(plan[0]),
            shares,
        ]
    )


def render(
    *,
    edition: str,
    year: int,
    scores: pd.DataFrame,
    nodes: pd.DataFrame,
    rank_intervals: pd.DataFrame | None,
    sheets: Sequence[tables.Sheet],
    figures: Sequence[Figure],
    version: str,
    imputed: tables.Sheet | None = None,
    profiles: str = "",
    plan: Sequence[tables.Sheet] = (),
) -> str:
    """The full page. ``sheets``: ranking, indicator data, weights, method, sources (in that order);
    ``profiles``: the HTML of the province profile sections (index.publish.claims), if any;
    ``plan``: the action-plan sheet and, if any series measures a target, the province shares."""
    ranking, indicator, weights, method, sources = sheets
    n_ind = int((nodes["level"] == 1).sum())
    n_pil = len(views.pillars(nodes))
    years = sorted(scores["year"].unique())
    refs = sources.frame[sources.frame["类型 Type"].str.startswith("引用")]
    data_sources = tables.Sheet(
        sources.name, sources.frame.drop(refs.index).drop(columns="类型 Type"), wrap=sources.wrap
    )
    uncertainty = (
        "<p>排名区间来自蒙特卡洛不确定性分析（Q5–Q95 为 90% 区间）。 / Rank intervals come from the "
        "Monte Carlo uncertainty analysis (Q5–Q95 = 90 % interval).</p>"
        if rank_intervals is not None and len(rank_intervals)
        else ""
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>中国综合算力指数 {html.escape(edition)} / China Comprehensive Computing Power Index</title>",
        f"<style>{CSS}</style></head><body>",
        _h(f"中国综合算力指数 {edition}", "China Comprehensive Computing Power Index", 1),
        f"<p>{len(views.regions(scores))} 个省级地区 provinces · {n_pil} 个分项 pillars · {n_ind} 项指标 "
        f"indicators · {years[0]}–{years[-1]}</p>",
        _h("要点", "Headline findings", anchor="findings"),
        "<ul>"
        + "".join(
            f"<li>{html.escape(s)}</li>" for s in headlines(scores, nodes, year, rank_intervals)
        )
        + "</ul>",
        _h(f"{year}年排名", f"Ranking {year}", anchor="ranking"),
        table_html(ranking),
        '<p><a href="explorer.html">权重探索 What-if explorer</a>：调整权重与汇总方法，排名即时重算 / '
        "move the weights or switch the aggregation and see the ranking recomputed.</p>",
        _h("图表", "Figures", anchor="figures"),
        *(figure_html(f) for f in figures),
        *((_h("省份档案", "Province profiles", anchor="profiles"), profiles) if profiles else ()),
        _h("权重", "Weights", anchor="weights"),
        "<p>名义权重为同一上级内归一化的权重；有效权重为到综合指数的权重连乘。 / Nominal weights are "
        "normalised within their parent; the effective weight is their product up to the index.</p>",
        table_html(weights),
        _h("指标数据", "Indicator data", anchor="data"),
        f"<details><summary>{html.escape(indicator.name)}</summary>{table_html(indicator)}</details>",
        *_imputed_section(imputed, year),
        _h("方法", "Method summary", anchor="method"),
        "<p>各指标按配置进行缺失值处理、异常值处理和标准化，再按框架权重逐级汇总为分项指数和综合指数；"
        "排名 1 为最优，并列取最小名次。 / Each indicator is imputed, treated for outliers and normalised "
        "as configured, then aggregated level by level with the framework weights into pillar scores "
        "and the composite index; rank 1 is best, ties take the lowest rank.</p>",
        uncertainty,
        ahp_note(method),
        table_html(method),
        action_plan_html(plan),
        _h("数据来源与引用", "Data sources and citations", anchor="sources"),
        table_html(data_sources),
        '<ol class="refs">'
        + "".join(f"<li>{html.escape(str(r))}</li>" for r in refs["来源 Source"])
        + "</ol>",
        f"<footer>compute-index {html.escape(version)} · 可用 <code>compute-index verify</code> 逐字节复现 / "
        "reproducible byte for byte with <code>compute-index verify</code> (see manifest.json)</footer>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _imputed_section(sheet: tables.Sheet | None, year: int) -> list[str]:
    """Missing data: the rule, the count per province in the edition year, every filled cell."""
    if sheet is None:
        return []
    frame = sheet.frame
    this = frame[frame["年份 Year"] == year]
    counts = (
        this.groupby([tables.REGION_ZH, tables.REGION_EN]).size().rename("n").reset_index()
        if len(this)
        else pd.DataFrame(columns=[tables.REGION_ZH, tables.REGION_EN, "n"])
    )
    summary = (
        "；".join(f"{r[tables.REGION_ZH]} {r['n']}" for _, r in counts.iterrows()) or "无 none"
    )
    return [
        _h("缺失数据与填补", "Missing data and imputation", anchor="imputed"),
        "<p>未按公布值使用的指标值（填补或由相关公布数据推算）逐一列出于此及 ranking.xlsx 的“填补”表，"
        "并在排名表中以颜色标出；规则见方法摘要中的 impute 设置。 / Every indicator value not used "
        "as published (imputed, or derived from related published series) is listed here and in "
        "the 'Imputed' sheet of ranking.xlsx, and counted in the ranking table; the rule is the "
        "run configuration's <code>impute</code> (Method summary).</p>",
        f"<p>{year}年填补单元格数 / filled cells in {year}: {html.escape(summary)}</p>",
        f"<details><summary>{html.escape(sheet.name)} ({len(frame)})</summary>"
        f"{table_html(sheet)}</details>",
    ]
