"""explorer.html: a self-contained what-if page that recomputes the index in the browser.

The page embeds the edition year's normalised indicator scores (level 1 of ``scores``), the
hierarchy and the published weights as JSON (``<script type="application/json">``), and a small
dependency-free script (``explorer.js``) that re-aggregates them with the formulas of
:mod:`index.methods.aggregate` when a reader moves a weight or switches the aggregation. Only
aggregations that the published normalised scores allow *exactly* are offered:

* ``amean`` (weighted arithmetic mean), always;
* ``gmean`` (weighted geometric mean), on the scores as published when they are all positive, or
  after the documented shift of a min-max normalisation onto $[1, u]$ (the publication's
  "几何平均 geometric" alternative, ``aggregation=gmean normalise.l=1``): min-max is affine, so
  $x' = 1 + (x - l)\\,(u - 1)/(u - l)$ is exactly the score min-max onto $[1, u]$ would give.

Without JavaScript the page shows the published ranking and tile map (static HTML). Labels are
escaped here and written with ``textContent`` by the script; a Content-Security-Policy allows the
one inline script (by its SHA-256) and no network request. The output is byte-deterministic.
"""

from __future__ import annotations

import base64
import hashlib
import html
import inspect
import json
from importlib import resources
from typing import Any, Literal

import numpy as np
import pandas as pd

from index import framework as fwmod
from index.config import Aggregation, Normalise
from index.methods import normalize as norm
from index.pipeline import aggregate_tree
from index.publish import report, tilegrid, views

#: Aggregations the explorer can recompute exactly: code → (zh, en).
METHODS = {"amean": ("算术平均", "arithmetic mean"), "gmean": ("几何平均", "geometric mean")}

#: Largest |explorer − published| score accepted as "reproduces the published scores".
TOLERANCE = 1e-9

SCRIPT = resources.files("index.publish").joinpath("explorer.js").read_text(encoding="utf-8")

CSS = """
body{max-width:1500px}
.lead{max-width:60em}
@media (min-width:1100px){#main.live{display:grid;grid-template-columns:minmax(24em,1fr) minmax(36em,1.4fr);gap:1.5em;align-items:start}
 #main.live .groups{grid-template-columns:1fr}}
.note{background:#fff6d6;border:1px solid #e5c65c;padding:.4em .7em}
.bar{display:flex;flex-wrap:wrap;gap:1em;align-items:center;margin:.8em 0}
.groups{display:grid;grid-template-columns:repeat(auto-fill,minmax(24em,1fr));gap:.6em}
fieldset{border:1px solid #ccd;font-size:.85em}
.w{display:grid;grid-template-columns:1fr 7em 5.5em 3.5em;gap:.4em;align-items:center}
.w input[type=number]{width:5em}
output{text-align:right;font-variant-numeric:tabular-nums}
#fragment{width:100%;font-size:.8em}
.out{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}
.out table{width:auto}
.map{display:grid;gap:3px;grid-auto-rows:3.1em}
.tile{border-radius:3px;text-align:center;font-size:.75em;line-height:1.25;padding-top:.3em}
.tile b{display:block;font-size:1.15em}
"""


def run_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The run configuration inside a publication config (``config["run"]``: the effective one,
    framework settings included), or the config itself (e.g. ``Build.config`` dumped)."""
    run = config.get("run")
    return run if isinstance(run, dict) else config


def published_method(run: dict[str, Any]) -> str:
    """The aggregation of the published index, or ``""`` if it is not one method at every level."""
    agg = run.get("aggregation") or {}
    method = agg.get("method", Aggregation().method)
    levels = set((agg.get("by_level") or {}).values())
    return method if levels <= {method} else ""


def gmean_shift(run: dict[str, Any], x: np.ndarray) -> dict[str, float] | None | Literal[False]:
    """How ``gmean`` can use the scores ``x``: ``None`` = as they are (all present values > 0);
    ``{l, u, to}`` = min-max from $[l, u]$ shifted onto $[1, u]$; ``False`` = not exactly possible
    (another normalisation, or some indicators normalised their own way)."""
    present = x[~np.isnan(x)]
    if (present > 0).all():
        return None
    step = run.get("normalise") or {}
    if step.get("method", Normalise().method) != "minmax" or step.get("per_indicator"):
        return False
    defaults = inspect.signature(norm.minmax).parameters
    low = float(step.get("l", defaults["l"].default))
    high = float(step.get("u", defaults["u"].default))
    return {"l": low, "u": high, "to": 1.0} if high > 1.0 > low else False


def data_threshold(run: dict[str, Any]) -> float | dict[int, float] | None:
    """``aggregation.dat_thresh``: one share, one per parent level (``{level: share}``), or None."""
    t = (run.get("aggregation") or {}).get("dat_thresh")
    return {int(k): float(v) for k, v in t.items()} if isinstance(t, dict) else t


def shifted(x: np.ndarray, shift: dict[str, float] | None) -> np.ndarray:
    """$to + (x - l)\\,(u - to)/(u - l)$, in the script's operation order (``None``: x itself)."""
    if shift is None:
        return x
    return shift["to"] + (x - shift["l"]) * ((shift["u"] - shift["to"]) / (shift["u"] - shift["l"]))


def recompute(
    fw: fwmod.Framework,
    xn: np.ndarray,
    weights: np.ndarray,
    method: str,
    shift: dict[str, float] | None,
    dat_thresh: float | dict[int, float] | None,
) -> np.ndarray:
    """Scores (units, nodes in ``fw.codes`` order) as the explorer computes them, by the engine."""
    x = shifted(xn, shift) if method == "gmean" else xn
    thresh = dat_thresh.get if isinstance(dat_thresh, dict) else dat_thresh
    return aggregate_tree(x, fw, weights, method, dat_thresh=thresh)[0]


def _largest_difference(
    scores: pd.DataFrame,
    nodes: pd.DataFrame,
    year: int,
    xn: pd.DataFrame,
    method: str,
    shift: dict[str, float] | None,
    dat_thresh: float | dict[int, float] | None,
) -> float:
    """max |recomputed − published| over the index and pillar scores (inf if missing differs)."""
    fw = fwmod.from_table(nodes.to_dict("records"))  # structure only: weights from the nodes
    weights = nodes.set_index("code")["weight"].reindex(fw.codes).to_numpy(dtype=float)
    codes = [views.root_code(nodes), *views.pillars(nodes)["code"]]
    mine = recompute(fw, xn[fw.indicator_codes].to_numpy(), weights, method, shift, dat_thresh)
    mine = mine[:, [fw.codes.index(c) for c in codes]]
    theirs = views.wide(scores, year, codes, "score").to_numpy()
    if (np.isnan(mine) != np.isnan(theirs)).any():
        return float("inf")
    return float(np.nanmax(np.abs(mine - theirs), initial=0.0))


def _none(values) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in np.asarray(values, dtype=float)]


def explorer_data(
    scores: pd.DataFrame, nodes: pd.DataFrame, config: dict[str, Any], year: int
) -> tuple[dict[str, Any], list[str]]:
    """The JSON the page embeds, and the bilingual notes it must show (empty = exact)."""
    run = run_settings(config)
    root = views.root_code(nodes)
    tree = views.tree_order(nodes)
    inds = list(views.indicators(nodes)["code"])
    xn = views.wide(scores, year, inds, "score")
    reg = views.regions(scores).loc[xn.index]
    how = gmean_shift(run, xn.to_numpy())
    methods = ["amean"] + (["gmean"] if how is not False else [])
    shift = how if isinstance(how, dict) else None
    dat_thresh = data_threshold(run)
    method = published_method(run)
    notes = []
    if method not in methods:
        notes.append(
            f"发布的指数采用 {method or '分层不同'} 汇总，无法由标准化得分精确重算；探索页从算术平均开始。"
            f" / The published index uses {method or 'different methods by level'}, which the "
            "normalised scores do not allow to recompute exactly; the explorer starts from the "
            "arithmetic mean."
        )
        method = "amean"
    elif (
        worst := _largest_difference(scores, nodes, year, xn, method, shift, dat_thresh)
    ) > TOLERANCE:
        notes.append(
            f"按发布权重重算的得分与发布值相差最多 {worst:.3g}（例如逐年估计的数据驱动权重）。"
            f" / Recomputed with the published weights, scores differ from the published ones "
            f"by up to {worst:.3g} (e.g. data-driven weights estimated year by year)."
        )
    published = views.wide(scores, year, [root], "rank")[root].loc[xn.index]
    data = {
        "year": year,
        "nodes": [
            {
                "code": n.code,
                "parent": n.parent if isinstance(n.parent, str) else None,
                "level": int(n.level),
                "w": float(n.weight),
            }
            for n in tree.itertuples()
        ],
        "units": [
            {"code": c, "zh": r.region_zh, "en": r.region_en}
            for c, r in zip(reg.index, reg.itertuples(), strict=True)
        ],
        "x": {c: _none(xn[c]) for c in inds},
        "published": {"rank": _none(published)},
        "methods": methods,
        "method": method,
        "shift": shift,
        "dat_thresh": dat_thresh,
    }
    return data, notes


def _shade(rank: float, n: int) -> tuple[str, str]:
    """Tile background and text colour of a rank (rank 1 darkest), as the script computes them."""
    if np.isnan(rank):
        return "#ddd", "#1d2733"
    light = 25 + 60 * (rank - 1) / max(n - 1, 1)
    return f"hsl(212,60%,{light:g}%)", "#fff" if light < 55 else "#1d2733"


def _weight_rows(tree: pd.DataFrame, parent: str) -> str:
    """One slider + number input + share per child of ``parent`` (published weights)."""
    rows = []
    kids = tree[tree["parent"] == parent]
    total = kids["weight"].sum()
    for n in kids.itertuples():
        code, w = html.escape(n.code), repr(float(n.weight))
        share = f"{100 * n.weight / total:.1f}%" if total > 0 else "—"
        name = html.escape(f"{n.name_zh} {n.name_en}".strip() or n.code)
        rows.append(
            f'<div class="w"><label for="r-{code}">{name}</label>'
            f'<input type="range" id="r-{code}" min="0" max="1" step="any" value="{w}" '
            f'data-w="{code}" data-role="range">'
            f'<input type="number" min="0" step="any" value="{w}" data-w="{code}" '
            f'data-role="number" aria-label="{name}">'
            f'<output data-w="{code}" data-role="share">{share}</output></div>'
        )
    return "".join(rows)


def _controls(nodes: pd.DataFrame, data: dict[str, Any]) -> str:
    tree = views.tree_order(nodes)
    root = views.root_code(nodes)
    groups = [("分项权重", "Pillar weights", root)]
    groups += [
        (f"{n.name_zh} 下级权重", f"{n.name_en} — weights within", n.code)
        for n in tree.itertuples()
        if n.level > 1 and n.code != root
    ]
    options = "".join(
        f'<option value="{m}"{" selected" if m == data["method"] else ""}>{METHODS[m][0]} '
        f"{METHODS[m][1]}{_shift_label(data) if m == 'gmean' else ''}</option>"
        for m in data["methods"]
    )
    fieldsets = "".join(
        f'<fieldset><legend>{html.escape(zh)} <span class="en">{html.escape(en)}</span></legend>'
        f"{_weight_rows(tree, code)}</fieldset>"
        for zh, en, code in groups
    )
    return (
        '<section id="controls" hidden><div class="bar">'
        f'<label>汇总方法 Aggregation <select id="method">{options}</select></label>'
        '<button id="reset" type="button">重置 Reset</button><span id="status"></span></div>'
        '<p id="warning" class="note" hidden>链接中有无法识别的设置，已忽略。 / Some settings in '
        "the link were not recognised and were ignored.</p>"
        '<p id="zero" class="note" hidden>有一组权重全为零：该组得分缺失（—），其上级按其余各项计算。 / '
        "All weights of a group are zero: its score is missing (—) and its parent is computed from "
        "the others.</p>"
        f'<div class="groups">{fieldsets}</div>'
        "<p><label>本设置的链接片段（加在本文件地址之后） Link fragment of this setting (append it "
        'to the address of the file) <input id="fragment" readonly placeholder="#"></label></p>'
        "</section>"
    )


def _shift_label(data: dict[str, Any]) -> str:
    shift = data["shift"]
    return "" if shift is None else f"（min-max → [{shift['to']:g}, {shift['u']:g}]）"


def _ranking_table(scores: pd.DataFrame, nodes: pd.DataFrame, year: int) -> str:
    """The published ranking as a static table (what the page shows without JavaScript)."""
    root, pil = views.root_code(nodes), views.pillars(nodes)
    reg = views.regions(scores)
    codes = [root, *pil["code"]]
    score = views.wide(scores, year, codes, "score")
    rank = views.wide(scores, year, codes, "rank")
    head = ["排名 Rank", "较发布 Change vs published", "地区 Region", "得分 Score"]
    head += [f"{p.name_zh} {p.name_en} (排名 rank)" for p in pil.itertuples()]
    order = sorted(
        score.index,
        key=lambda c: (
            np.inf if np.isnan(rank.at[c, root]) else rank.at[c, root],
            reg.at[c, "region_en"],
        ),
    )

    def fmt(v: float) -> str:
        return "—" if np.isnan(v) else f"{v:.2f}"

    def rk(v: float) -> str:
        return "—" if np.isnan(v) else f"{v:.0f}"

    rows = []
    for c in order:
        cells = [
            f'<td class="num rank">{rk(rank.at[c, root])}</td>',
            f'<td class="num change">{"" if np.isnan(rank.at[c, root]) else "0"}</td>',
            f'<td class="txt">{html.escape(reg.at[c, "region_zh"] + " " + reg.at[c, "region_en"])}</td>',
            f'<td class="num score">{fmt(score.at[c, root])}</td>',
        ]
        cells += [
            f'<td class="num pillar">{fmt(score.at[c, p])} ({rk(rank.at[c, p])})</td>'
            for p in pil["code"]
        ]
        rows.append(f'<tr data-unit="{html.escape(c)}">{"".join(cells)}</tr>')
    ths = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    return (
        f'<table id="ranking"><thead><tr>{ths}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _tile_map(scores: pd.DataFrame, nodes: pd.DataFrame, year: int) -> str:
    """The published ranks on the tile grid of :mod:`index.publish.tilegrid` (empty if the units
    are not the 31 provinces)."""
    root = views.root_code(nodes)
    reg = views.regions(scores)
    if not set(reg.index) <= set(tilegrid.TILES):
        return ""
    rank = views.wide(scores, year, [root], "rank")[root]
    tiles = []
    for c in reg.index:
        row, col = tilegrid.TILES[c]
        bg, fg = _shade(rank[c], len(reg))
        title = html.escape(f"{reg.at[c, 'region_zh']} {reg.at[c, 'region_en']}")
        tiles.append(
            f'<div class="tile" data-unit="{html.escape(c)}" title="{title}" '
            f'style="grid-row:{row + 1};grid-column:{col + 1};background:{bg};color:{fg}">'
            f"<b>{html.escape(reg.at[c, 'short_zh'])}</b><span>{'—' if np.isnan(rank[c]) else f'{rank[c]:.0f}'}</span></div>"
        )
    return (
        f'<div><div class="map" style="grid-template-columns:repeat({tilegrid.N_COLS},3.4em)">'
        f'{"".join(tiles)}</div><p class="en">颜色越深名次越高 darker = higher rank</p></div>'
    )


def _json_script(data: dict[str, Any]) -> str:
    """JSON safe inside <script>: no '<', '>', '&' or line separators outside escapes."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for ch, esc in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(ch, esc)
    return f'<script type="application/json" id="explorer-data">{text}</script>'


def render(
    scores: pd.DataFrame,
    nodes: pd.DataFrame,
    config: dict[str, Any],
    *,
    edition: str,
    year: int,
    version: str,
) -> str:
    """The whole page: published ranking and tile map as static HTML, controls, data and script."""
    data, notes = explorer_data(scores, nodes, config, year)
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii")
    csp = f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'"
    zh, en = views.root_names(nodes)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(zh)} {html.escape(edition)} 权重探索 / What-if explorer</title>",
        f"<style>{report.CSS}{CSS}</style></head><body>",
        f'<h1>{html.escape(zh)} {html.escape(edition)} 权重探索 <span class="en">{html.escape(en)} — what-if explorer</span></h1>',
        f'<p class="lead">移动各分项及其指标的权重或切换汇总方法，{year}年排名即时按发布的标准化得分重算；'
        "“较发布”为相对发布排名上升（+）或下降（−）的名次。 / Move the weight of a pillar or of an "
        f"indicator, or switch the aggregation: the {year} ranking is recomputed at once from the "
        "published normalised scores; “change” is the places gained (+) or lost (−) against the "
        "published ranking. Weights are relative within their group.</p>",
        '<noscript><p class="note">未启用 JavaScript：下表为发布的排名。 / JavaScript is off: the '
        "table shows the published ranking.</p></noscript>",
        *(f'<p class="note">{html.escape(n)}</p>' for n in notes),
        f'<div id="main">{_controls(nodes, data)}<div class="out">{_tile_map(scores, nodes, year)}'
        f'<div class="scroll">{_ranking_table(scores, nodes, year)}</div></div></div>',
        _json_script(data),
        f"<script>{SCRIPT}</script>",
        f"<footer>compute-index {html.escape(version)} · 与 report.html 同一发布 / same publication as "
        "report.html (manifest.json)</footer>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
