"""Publication tables: the frames behind ranking.xlsx / ranking.csv / scores.parquet, and their writers.

Every writer is byte-deterministic: the xlsx zip is rewritten with a fixed timestamp (document
properties and zip entries), the CSV has a fixed float format, the Parquet file no creation time.

No cell a spreadsheet could execute is written (OWASP "CSV injection"): a text cell or header —
from a framework's names, ``sources.csv``, a data file's name — beginning with ``=`` ``+`` ``-``
``@``, tab or carriage return gets a leading ``'`` in xlsx and csv (:func:`escape`), so Excel and
LibreOffice show it as text and never evaluate it; numbers stay numeric cells, so a genuine
negative number is untouched. Characters XML cannot hold (control characters) become U+FFFD.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from index import tracker as trk
from index.io import escape, escaped
from index.io import parquet_bytes as io_parquet_bytes
from index.publish import citations, views

#: The one timestamp written into documents and archives (xlsx core properties, zip entries).
STAMP = datetime(2000, 1, 1, 0, 0, 0)

RANK, REGION_ZH, REGION_EN, CODE, SCORE = (
    "排名 Rank",
    "地区 Region",
    "Region (English)",
    "代码 Code",
    "得分 Score",
)
F_SCORE, F_RANK, F_CHANGE, F_WEIGHT, F_VALUE = "0.00", "0", "+0;-0;0", "0.0000", "#,##0.####"


@dataclass(frozen=True)
class Sheet:
    """One worksheet: a frame, Excel number formats by column, the frozen-pane anchor cell."""

    name: str
    frame: pd.DataFrame
    formats: dict[str, str] = field(default_factory=dict)
    freeze: str = "A2"
    wrap: tuple[str, ...] = ()
    highlight: tuple[str, ...] = ()  # columns whose non-empty, non-zero cells are highlighted
    links: dict[str, dict[str, str]] = field(default_factory=dict)  # column → cell text → href


HIGHLIGHT = "FFE8A3"  # fill colour of imputed / flagged cells
IMPUTED = "填补数 Imputed cells"
HOW = {
    "latest": ("本省邻近年份", "own series, nearest year"),
    "linear": ("本省时间插值", "own series, interpolated in time"),
    "worst_grp": ("同区域最低值", "weakest value in its region"),
    "derived": ("由相关公布数据推算", "derived from related published series"),
    "missing": ("缺失", "still missing"),
}


# ---- frames ---------------------------------------------------------------------------------
def ranking(
    scores: pd.DataFrame,
    nodes: pd.DataFrame,
    *,
    year: int | None = None,
    rank_intervals: pd.DataFrame | None = None,
) -> Sheet:
    """Overall ranking of ``year``: rank, names, score, pillar scores and ranks, change, 90 % interval.

    Change = rank(previous year) − rank(year), so positive means the region moved up.
    """
    year = views.edition_year(scores, year)
    root, pil = views.root_code(nodes), views.pillars(nodes)
    reg = views.regions(scores)
    df = pd.DataFrame(index=reg.index)
    df[RANK] = views.wide(scores, year, [root], "rank")[root].astype("Int64")
    df[REGION_ZH], df[REGION_EN], df[CODE] = reg["region_zh"], reg["region_en"], reg.index
    df[SCORE] = views.wide(scores, year, [root], "score")[root]
    formats = {RANK: F_RANK, SCORE: F_SCORE}
    pscore = views.wide(scores, year, list(pil["code"]), "score")
    prank = views.wide(scores, year, list(pil["code"]), "rank")
    for p in pil.itertuples():
        s_col, r_col = f"{p.name_zh}得分 {p.name_en} score", f"{p.name_zh}排名 {p.name_en} rank"
        df[s_col], df[r_col] = pscore[p.code], prank[p.code].astype("Int64")
        formats |= {s_col: F_SCORE, r_col: F_RANK}
    prev = views.previous_year(scores, year)
    if prev is not None:
        change = f"较{prev}年排名变化 Change vs {prev}"
        df[change] = views.rank_change(scores, root, year).astype("Int64")
        formats[change] = F_CHANGE
    highlight: tuple[str, ...] = ()
    if "n_imputed" in scores.columns:
        df[IMPUTED] = views.wide(scores, year, [root], "n_imputed")[root].astype("Int64")
        formats[IMPUTED] = F_RANK
        highlight = (IMPUTED,)
    if rank_intervals is not None and len(rank_intervals):
        ri = rank_intervals.set_index("region_code").reindex(df.index)
        for key, head in (
            ("median", "排名中位数 Median rank"),
            ("q05", "排名5%分位 Q5 rank"),
            ("q95", "排名95%分位 Q95 rank"),
        ):
            df[head] = ri[key]
            formats[head] = "0.0"
    df = df.sort_values([RANK, CODE], na_position="last", kind="stable").reset_index(drop=True)
    return Sheet("排名 Ranking", df, formats, freeze="C2", highlight=highlight)


def imputed(scores: pd.DataFrame, nodes: pd.DataFrame) -> Sheet:
    """Every indicator value that is not as published, all years: region, indicator, how it was
    obtained (bilingual) and the value used."""
    rows = scores[(scores["level"] == 1) & (scores.get("imputed", "") != "")]
    meta = nodes.set_index("code")
    how = rows["imputed"].map(lambda h: HOW.get(h, (h, h)))
    df = pd.DataFrame(
        {
            "年份 Year": rows["year"].to_numpy(),
            REGION_ZH: rows["region_zh"].to_numpy(),
            REGION_EN: rows["region_en"].to_numpy(),
            CODE: rows["region_code"].to_numpy(),
            "指标 Indicator": rows["code"].map(meta["name_zh"]).to_numpy(),
            "Indicator (English)": rows["code"].map(meta["name_en"]).to_numpy(),
            "指标代码 Indicator code": rows["code"].to_numpy(),
            "方法 How": [h[0] for h in how],
            "How (English)": [h[1] for h in how],
            "所用值 Value used": rows["value"].to_numpy(),
        }
    ).sort_values(["年份 Year", CODE, "指标代码 Indicator code"], kind="stable")
    return Sheet(
        "填补 Imputed", df.reset_index(drop=True), {"所用值 Value used": F_VALUE}, freeze="D2"
    )


def indicator_data(
    data: pd.DataFrame, nodes: pd.DataFrame, scores: pd.DataFrame, *, year: int
) -> Sheet:
    """Raw indicator values of ``year``, regions × indicators, headers "中文名 English (unit)"."""
    reg = views.regions(scores)
    sel = data[data["year"] == year]
    table = sel.pivot_table(
        index="region_code", columns="indicator", values="value", aggfunc="first"
    )
    known = [c for c in views.indicators(nodes)["code"] if c in table.columns]
    table = table[known + sorted(set(table.columns) - set(known))]
    meta = nodes.set_index("code")
    units = sel.drop_duplicates("indicator").set_index("indicator")["unit"]

    def head(code: str) -> str:
        zh, en = (
            (meta.at[code, "name_zh"], meta.at[code, "name_en"])
            if code in meta.index
            else ("", code)
        )
        unit = units.get(code, "")
        return f"{zh} {en} ({unit})".strip() if unit else f"{zh} {en}".strip()

    table.columns = [head(c) for c in table.columns]
    df = reg[["region_zh", "region_en"]].rename(
        columns={"region_zh": REGION_ZH, "region_en": REGION_EN}
    )
    df = df.join(table).rename_axis(CODE).reset_index()
    df = df[[REGION_ZH, REGION_EN, CODE, *table.columns]]
    return Sheet(
        f"指标数据 Indicator data {year}"[:31],
        df,
        dict.fromkeys(table.columns, F_VALUE),
        freeze="D2",
    )


BASIS = "权重说明 Weight basis"


def weights(nodes: pd.DataFrame, unit_weights: pd.DataFrame | None = None) -> Sheet:
    """Every node in tree order with its nominal weight (within parent) and effective weight (to root).

    Where a node has no common weight (``nodes.weight_basis``: children of a benefit-of-the-doubt,
    robust-BoD or OWA group, and below them) the weight cells are left empty and the basis column
    says why; for BoD children it gives the range of the units' own shares of their score
    (``unit_weights``, ``Build.unit_weights`` of the edition year)."""
    tree = views.tree_order(nodes)
    basis = tree["weight_basis"] if "weight_basis" in tree else pd.Series("", index=tree.index)
    basis = basis.fillna("").astype(str)
    from index.pipeline import VIA

    own = (basis != "") & ~basis.str.startswith(VIA)  # its own group has no common weights
    if unit_weights is not None and len(unit_weights):
        span = unit_weights.groupby("child")["share"].agg(["min", "max"]).round(9) + 0.0  # no -0
        text = {
            c: f"; 得分占比 share of score {lo:.1%}–{hi:.1%}" for c, lo, hi in span.itertuples()
        }
        basis = basis + tree["code"].map(text).fillna("")
    df = pd.DataFrame(
        {
            "代码 Code": tree["code"],
            "层级 Level": tree["level"].astype("Int64"),
            "上级 Parent": tree["parent"],
            "名称 Name": tree["name_zh"],
            "Name (English)": tree["name_en"],
            "名义权重 Nominal weight": tree["weight"].where(~own),
            "有效权重 Effective weight": tree["eff_weight"],
            BASIS: basis,
            "方向 Direction": tree["direction"].astype("Int64"),
            "单位 Unit": tree["unit"],
            "来源 Sources": tree["source_ids"],
        }
    )
    if not basis.str.len().any():
        df = df.drop(columns=BASIS)
    formats = {
        "名义权重 Nominal weight": F_WEIGHT,
        "有效权重 Effective weight": F_WEIGHT,
        "方向 Direction": "+0;-0",
    }
    return Sheet("权重 Weights", df, formats, freeze="B2")


def unit_weights(table: pd.DataFrame, nodes: pd.DataFrame) -> Sheet:
    """Benefit-of-the-doubt weights per unit (``Build.unit_weights`` of the edition year): for
    every BoD group, region and child the weight $w_{ij}$ the unit chose, its share of the unit's
    score $w_{ij} y_{ij}/BoD_i$ and the score ($\\sum_j w_{ij} y_{ij}$)."""
    meta = nodes.set_index("code")
    df = pd.DataFrame(
        {
            "年份 Year": table["year"].to_numpy(),
            "上级 Group": table["parent"].to_numpy(),
            "上级名称 Group name": (
                table["parent"].map(meta["name_zh"]) + " " + table["parent"].map(meta["name_en"])
            ).to_numpy(),
            REGION_ZH: table["region_zh"].to_numpy(),
            REGION_EN: table["region_en"].to_numpy(),
            CODE: table["region_code"].to_numpy(),
            "下级 Child": table["child"].to_numpy(),
            "下级名称 Child name": (
                table["child"].map(meta["name_zh"]) + " " + table["child"].map(meta["name_en"])
            ).to_numpy(),
            "自选权重 Own weight": table["weight"].to_numpy(),
            "得分占比 Share of score": table["share"].to_numpy(),
            "BoD得分 BoD score": table["bod_score"].to_numpy(),
        }
    )
    formats = {
        "自选权重 Own weight": "0.000000",
        "得分占比 Share of score": "0.0%",
        "BoD得分 BoD score": "0.0000",
    }
    return Sheet("BoD权重 BoD weights", df, formats, freeze="G2")


def method(config: Mapping[str, Any], facts: Mapping[str, Any]) -> Sheet:
    """Key facts of the run, then the resolved configuration flattened to dotted keys."""
    rows = [(k, _text(v)) for k, v in facts.items()]
    rows += [(f"config.{k}", _text(v)) for k, v in _flatten(config)]
    df = pd.DataFrame(rows, columns=["项目 Item", "值 Value"])
    return Sheet("方法 Method summary", df, wrap=("值 Value",))


AHP_FACT = "AHP一致性比率 consistency ratio"


def ahp_facts(table: pd.DataFrame | None) -> dict[str, str]:
    """Method-sheet rows of Saaty's consistency, one per AHP matrix (``Build.ahp_consistency``):
    "AHP一致性比率 consistency ratio (group)" → CR, the verdict against Saaty's $CR \\le 0.1$,
    λmax, CI and RI. Empty without AHP."""
    from index.methods.weights import CR_LIMIT

    if table is None:
        return {}
    return {
        f"{AHP_FACT} ({r.group})": f"CR = {r.CR:.4f} "
        + (f"≤ {CR_LIMIT}: 一致 consistent" if r.consistent else
           f"> {CR_LIMIT}: 不一致 INCONSISTENT (allow_inconsistent)")
        + f"; n = {r.n}, experts = {r.experts}, λmax = {r.lambda_max:.4f}, CI = {r.CI:.4f}, "
        f"RI = {r.RI} (Saaty 1980)"
        for r in table.itertuples()
    }  # fmt: skip


def sources(data: pd.DataFrame, nodes: pd.DataFrame, table: pd.DataFrame | None) -> Sheet:
    """Sources the indicators cite (id, source, table, indicators using it), then the references."""
    used = _source_usage(data, nodes)
    if table is None:
        table = pd.DataFrame({"source_id": used.index, "source": "", "source_table": ""})
    table = table[table["source_id"].isin(used.index)].sort_values(
        "source_id", key=_natural, kind="stable"
    )
    df = pd.DataFrame(
        {
            "类型 Type": "数据 data",
            "编号 ID": table["source_id"].to_numpy(),
            "来源 Source": table["source"].to_numpy(),
            "数据表 Table": table["source_table"].to_numpy(),
            "指标 Indicators": used.reindex(table["source_id"]).to_numpy(),
        }
    )
    refs = citations.for_sources([*table["source"].astype(str), *table["source_table"].astype(str)])
    cites = pd.DataFrame(
        {
            "类型 Type": "引用 reference",
            "编号 ID": [f"R{k + 1}" for k in range(len(refs))],
            "来源 Source": refs,
            "数据表 Table": "",
            "指标 Indicators": "",
        }
    )
    return Sheet(
        "来源 Sources",
        pd.concat([df, cites], ignore_index=True),
        wrap=("来源 Source", "数据表 Table"),
    )


def action_plan(tracker: trk.Tracker) -> Sheet:
    """The action plan's targets against the national figures reported (see :mod:`index.tracker`):
    one row per target indicator and year, with gap, years left and the growth needed."""
    c = trk.compare(tracker)
    share = c["unit"].map(trk.is_share).astype(bool)
    needed = "所需年增长率 Growth needed (%/yr)"
    points = "所需年增幅 Increase needed (pp/yr)"
    df = pd.DataFrame(
        {
            "维度 Dimension": c["dimension_zh"] + " " + c["dimension_en"],
            "指标 Indicator": c["indicator_zh"] + " " + c["indicator_en"],
            "单位 Unit": c["unit"],
            "目标年 Target year": c["year"],
            "目标 Target": c["target"],
            "报告值 Reported": c["reported"],
            "说明 Qualifier": c["qualifier"],
            "截至 As of": c["as_of"],
            "差距 Gap": c["gap"],
            "剩余年数 Years left": c["years_left"],
            needed: (100 * c["needed"]).where(~share),
            points: c["needed"].where(share),
            "状态 Status": c["status"],
            "来源 Source": [tracker.source_label(v) if v else "" for v in c["source"]],
            "目标来源 Target source": [tracker.source_label(v) for v in c["target_source"]],
        }
    )
    formats = {k: F_VALUE for k in ("目标 Target", "报告值 Reported", "差距 Gap")}
    formats |= {"剩余年数 Years left": "0.00", needed: "0.0", points: "0.0"}
    return Sheet("行动计划 Action plan", df, formats, freeze="C2", wrap=("来源 Source",))


def province_shares(tracker: trk.Tracker, data: pd.DataFrame) -> Sheet:
    """Each province's share of the national figure, for series declared to measure a target."""
    s = trk.province_shares(tracker, data)
    df = pd.DataFrame(
        {
            "指标 Target": s["indicator_en"],
            "数据 Series": s["series"],
            "年份 Year": s["year"],
            REGION_ZH: s["region_zh"],
            REGION_EN: s["region_en"],
            CODE: s["region_code"],
            "数值 Value": s["value"],
            "单位 Unit": s["unit"],
            "全国 National": s["national"],
            "占比 Share (%)": s["share"],
        }
    )
    formats = {"数值 Value": F_VALUE, "全国 National": F_VALUE, "占比 Share (%)": "0.00"}
    return Sheet("各省占比 Province shares", df, formats, freeze="D2")


def _source_usage(data: pd.DataFrame, nodes: pd.DataFrame) -> pd.Series:
    """source id → indicators using it, from the indicators' ``source_ids`` ("S1 | S2"; these
    include denominators); from the data's ``source_id`` column when the nodes list none."""
    ind = views.indicators(nodes)
    pairs = pd.DataFrame(
        [
            (sid, code)
            for code, ids in zip(ind["code"], ind["source_ids"].fillna(""), strict=True)
            for sid in re.split(r"\s*[|,;]\s*", str(ids).strip())
            if sid
        ],
        columns=["source_id", "indicator"],
    )
    if pairs.empty:
        pairs = data[["source_id", "indicator"]]
    return pairs.groupby("source_id")["indicator"].agg(lambda s: ", ".join(sorted(set(s))))


def _natural(s: pd.Series) -> pd.Series:
    """Sort key putting S2 before S10."""
    return s.astype(str).map(
        lambda v: tuple((0, int(t)) if t.isdigit() else (1, t) for t in re.split(r"(\d+)", v))
    )


def _flatten(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(obj, Mapping):
        return [kv for k in sorted(obj, key=str) for kv in _flatten(obj[k], f"{prefix}{k}.")]
    return [(prefix[:-1], obj)]


def _text(value: Any) -> str:
    return (
        value
        if isinstance(value, str)
        else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    )


# ---- writers --------------------------------------------------------------------------------
def xlsx_bytes(sheets: list[Sheet], *, stamp: datetime = STAMP) -> bytes:
    """Formatted workbook (bold wrapped header, frozen panes, filters, widths, number formats),
    every entry dated ``stamp``. openpyxl loads here, when a workbook is made (not for every
    user of the tables)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    highlight = PatternFill("solid", fgColor=HIGHLIGHT)
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = "compute-index"
    wb.properties.created = wb.properties.modified = stamp
    header_fill = PatternFill("solid", fgColor="DDE5EE")
    for sheet in sheets:
        ws = wb.create_sheet(sheet.name)
        ws.append([escape(str(c)) for c in sheet.frame.columns])
        for row in sheet.frame.itertuples(index=False):
            ws.append([escape(_cell(v)) for v in row])
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = header_fill
            cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        for j, col in enumerate(sheet.frame.columns, start=1):
            letter = ws.cell(1, j).column_letter
            fmt = sheet.formats.get(col)
            wrap = col in sheet.wrap
            mark = col in sheet.highlight
            for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                if fmt:
                    cell.number_format = fmt
                if wrap:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
                if mark and cell.value not in (None, 0, ""):
                    cell.fill = highlight
            ws.column_dimensions[letter].width = _width(col, sheet.frame[col], fmt, wrap)
        ws.row_dimensions[1].height = 45
        ws.freeze_panes = sheet.freeze
        ws.auto_filter.ref = ws.dimensions
    buffer, out = io.BytesIO(), io.BytesIO()
    wb.save(buffer)
    _rewrite_zip(buffer.getvalue(), out, stamp)
    return out.getvalue()


def _cell(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _display_len(text: str) -> int:
    """Width in Excel character units: East Asian wide characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _width(header: str, values: pd.Series, fmt: str | None, wrap: bool) -> float:
    head = max(_display_len(w) for w in str(header).split(" ")) + 2
    if fmt in (F_SCORE, F_WEIGHT) or (fmt and pd.api.types.is_float_dtype(values)):
        cells = [f"{v:,.4f}" for v in values.dropna()]
    else:
        cells = [str(v) for v in values.dropna()]
    body = max((_display_len(c) for c in cells), default=0) + 2
    return float(min(max(head, body, 6), 60 if wrap else 40))


_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _rewrite_zip(data: bytes, target: io.BytesIO, stamp: datetime) -> None:
    """Copy a zip with every entry dated ``stamp`` (and the xlsx modified property set to it)."""
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "docProps/core.xml":
                body = _MODIFIED.sub(rb"\g<1>" + iso + rb"\g<2>", body)
            entry = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 3
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, body, compresslevel=6)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 with BOM (so Excel detects the encoding of the Chinese names), LF line ends; text
    cells and headers escaped (:func:`escape`)."""
    text = escaped(frame).to_csv(index=False, lineterminator="\n", float_format="%.6g")
    return text.encode("utf-8-sig")


def parquet_bytes(scores: pd.DataFrame, metadata: Mapping[str, str]) -> bytes:
    """All scores (every level, every year) sorted by year, level, node and region, with provenance."""
    frame = scores.sort_values(["year", "level", "code", "region_code"], kind="stable")
    meta = {f"compute_index.{k}": v for k, v in metadata.items()}
    return io_parquet_bytes(frame.reset_index(drop=True), meta)
