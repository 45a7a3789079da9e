"""Publication figures: each function takes the pipeline's DataFrames and returns a matplotlib Figure.

Figures are built on ``matplotlib.figure.Figure`` (no pyplot state). Render them inside
:func:`style` so that the output depends only on the data, the installed CJK font and the
matplotlib version, never on a user's matplotlibrc. ``bilingual=False`` swaps Chinese labels for
English ones (used when no CJK font is installed).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PathCollection
from matplotlib.colors import Normalize, to_rgba
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Rectangle
from matplotlib.path import Path as Outline
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D, Bbox
from PIL import Image

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

from index.io import atomic_path
from index.publish import fonts, views
from index.publish.tilegrid import N_COLS, N_ROWS, TILES

DPI = 150
PAD = 0.15  # inches of white around the tight bounding box
HASH_SALT = "compute-index"
PILLAR_COLORS = tuple(mpl.color_sequences["tab10"])  # = the tab10 colormap's colours
_STYLE: dict[RcKeyType, Any] = {
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "svg.hashsalt": HASH_SALT,
    "svg.fonttype": "path",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "font.size": 9,
}


@contextlib.contextmanager
def style() -> Iterator[fonts.FontChoice | None]:
    """Matplotlib defaults + the house style + a CJK font, restored on exit; yields the font.

    Without a CJK font, the one :class:`~index.publish.fonts.CJKFontWarning` is emitted and
    matplotlib's per-glyph "missing from font" warnings are silenced.
    """
    with mpl.rc_context():
        mpl.rcdefaults()
        mpl.rcParams.update(_STYLE)
        font = fonts.configure()
        with warnings.catch_warnings():
            if font is None:
                warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
            yield font


def font_choice() -> fonts.FontChoice | None:
    """The CJK font :func:`style` draws in (None: English labels), with the one
    :class:`~index.publish.fonts.CJKFontWarning` when there is none; matplotlib's rcParams are
    left as they are."""
    return fonts.configure({})


def save_figure(fig: Figure, stem: str | Path) -> list[Path]:
    """Write ``stem.png`` and ``stem.svg`` atomically (:func:`figure_bytes`)."""
    paths = [Path(f"{stem}.png"), Path(f"{stem}.svg")]
    for path, content in zip(paths, figure_bytes(fig), strict=True):
        with atomic_path(path) as tmp:
            tmp.write_bytes(content)
    return paths


def figure_bytes(fig: Figure) -> tuple[bytes, bytes]:
    """The figure's PNG and SVG files, without dates or software versions.

    One draw at ``DPI`` lays the figure out (constrained layout) and paints the PNG's pixels;
    the tight bounding box (+ ``PAD`` inches) is measured with that renderer's text extents and
    the PNG is that box cut from the pixels (white where it reaches past the figure's edge: the
    picture ``savefig(bbox_inches=box)`` draws, up to a sub-pixel shift, without laying the text
    out again), written as RGB where every pixel is opaque (as the house style's white face
    makes them), RGBA otherwise. The SVG is printed from the same layout and box.
    """
    with mpl.rc_context({"svg.hashsalt": HASH_SALT, "svg.fonttype": "path"}):
        fig.set_dpi(DPI)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        bbox = fig.get_tightbbox(canvas.get_renderer()).padded(PAD)
        engine = fig.get_layout_engine()
        fig.set_layout_engine("none")  # laid out above: keep those positions for the SVG
        try:
            png, svg = io.BytesIO(), io.BytesIO()
            pixels = _cut(canvas, bbox)
            opaque = bool((pixels[..., 3] == 255).all())  # RGB: a quarter fewer bytes to pack
            Image.fromarray(pixels[..., :3] if opaque else pixels).save(
                png, format="png", dpi=(DPI, DPI)
            )  # no text chunks: no software version, no date
            fig.savefig(
                svg, format="svg", dpi=DPI, bbox_inches=bbox,
                metadata={"Date": None, "Creator": "compute-index"},
            )  # fmt: skip
        finally:
            fig.set_layout_engine(engine)
    return png.getvalue(), svg.getvalue()


def _cut(canvas: FigureCanvasAgg, box: Bbox) -> np.ndarray:
    """The pixels (RGBA) of ``box`` (inches, origin bottom left) of a drawn figure, as many as
    ``savefig(bbox_inches=box)`` makes (``int`` of the box size in pixels), the figure's face
    colour where the box reaches past its edge."""
    pixels = np.asarray(canvas.buffer_rgba())
    height, width = pixels.shape[:2]
    dpi = canvas.figure.dpi
    rows_out, cols_out = int(box.height * dpi), int(box.width * dpi)
    # the box's bottom-left at the output's bottom-left; rows counted from the top
    x0, y0 = round(box.x0 * dpi), round(height - rows_out - box.y0 * dpi)
    out = np.empty((rows_out, cols_out, 4), dtype=np.uint8)
    out[:] = np.round(np.array(to_rgba(canvas.figure.get_facecolor())) * 255)
    rows = slice(max(y0, 0), min(y0 + out.shape[0], height))
    cols = slice(max(x0, 0), min(x0 + out.shape[1], width))
    out[rows.start - y0 : rows.stop - y0, cols.start - x0 : cols.stop - x0] = pixels[rows, cols]
    return out


def _title(zh: str, en: str, bilingual: bool) -> str:
    return views.label(zh, en, bilingual)


def _region_names(scores: pd.DataFrame, bilingual: bool) -> pd.Series:
    """region_code → "北京 Beijing" (or "Beijing")."""
    reg = views.regions(scores)
    return reg["short_zh"] + " " + reg["region_en"] if bilingual else reg["region_en"]


def _node_names(nodes: pd.DataFrame, bilingual: bool) -> pd.Series:
    """node code → Chinese name (English without a CJK font, or when the Chinese is empty)."""
    names = nodes.set_index("code")
    zh = names["name_zh"].fillna("").astype(str)
    return zh.where((zh != "") & bilingual, names["name_en"].astype(str))


def composite_bars(
    scores: pd.DataFrame, nodes: pd.DataFrame, *, year: int | None = None, bilingual: bool = True
) -> Figure:
    """Composite score per region as bars stacked by pillar contribution ($w_p \\cdot s_p$).

    The stack sums to the composite under weighted arithmetic aggregation; a black tick marks the
    composite itself so other aggregations stay honest.
    """
    year = views.edition_year(scores, year)
    root, pil = views.root_code(nodes), views.pillars(nodes)
    index = views.wide(scores, year, [root], "score")[root]
    ranks = views.wide(scores, year, [root], "rank")[root]
    order = ranks.sort_values(na_position="last", kind="stable").index
    contrib = (
        views.wide(scores, year, list(pil["code"]), "score").loc[order] * pil["weight"].to_numpy()
    )
    names = _region_names(scores, bilingual).loc[order]
    fig = Figure(figsize=(9, 0.28 * len(order) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(order))
    left = np.zeros(len(order))
    for k, p in enumerate(pil.itertuples()):
        width = contrib[p.code].fillna(0).to_numpy()
        label = _title(p.name_zh, p.name_en, bilingual)
        ax.barh(y, width, left=left, color=PILLAR_COLORS[k % 10], label=label, height=0.75)
        left += width
    ax.scatter(
        index.loc[order],
        y,
        marker="|",
        s=120,
        color="black",
        zorder=3,
        label=_title("综合得分", "composite", bilingual),
    )
    ax.set_yticks(
        y,
        [
            f"{r:.0f}. {n}" if np.isfinite(r) else n
            for r, n in zip(ranks.loc[order], names, strict=True)
        ],
    )
    ax.set_ylim(len(y) - 0.5, -0.5)
    ax.set_xlabel(_title("权重 × 分项得分", "weight × pillar score", bilingual))
    fig.legend(loc="outside lower center", ncols=len(pil) + 1, frameon=False)
    zh, en = views.root_names(nodes)
    ax.set_title(_title(f"{year}年{zh}", f"{en} {year}", bilingual))
    return fig


def tile_map(
    scores: pd.DataFrame,
    nodes: pd.DataFrame,
    *,
    year: int | None = None,
    bilingual: bool = True,
    cmap: str = "YlGnBu",
) -> Figure:
    """Tile-grid map of the composite score (colour) with the short name and rank on each tile."""
    year = views.edition_year(scores, year)
    root = views.root_code(nodes)
    score = views.wide(scores, year, [root], "score")[root]
    rank = views.wide(scores, year, [root], "rank")[root]
    reg = views.regions(scores)
    norm = Normalize(np.nanmin(score), np.nanmax(score))
    colormap = mpl.colormaps[cmap]
    fig = Figure(figsize=(8, 7), layout="constrained")
    ax = fig.add_subplot()
    for code, (row, col) in TILES.items():
        value = score.get(code, np.nan)
        face = colormap(norm(value)) if np.isfinite(value) else (0.85, 0.85, 0.85, 1.0)
        ax.add_patch(Rectangle((col, -row), 0.94, 0.94, facecolor=face, edgecolor="white"))
        if code in reg.index:
            name = reg.at[code, "short_zh"] if bilingual else _en_tile(reg.at[code, "region_en"])
        else:
            name = code
        r = rank.get(code, np.nan)
        text = f"{name}\n{r:.0f}" if np.isfinite(r) else f"{name}\n–"
        luminance = 0.299 * face[0] + 0.587 * face[1] + 0.114 * face[2]
        ax.text(
            col + 0.47,
            -row + 0.47,
            text,
            ha="center",
            va="center",
            fontsize=10 if bilingual else 7,
            color="white" if luminance < 0.5 else "black",
        )
    ax.set_xlim(-0.1, N_COLS)
    ax.set_ylim(-N_ROWS + 0.9, 1.0)
    ax.set_aspect("equal")
    ax.set_axis_off()
    fig.colorbar(
        ScalarMappable(norm, colormap),
        ax=ax,
        shrink=0.6,
        label=_title("综合得分 (数字为排名)", "composite score (number = rank)", bilingual),
    )
    zh, en = views.root_names(nodes)
    ax.set_title(_title(f"{year}年{zh}", f"{en}, {year}", bilingual))
    return fig


def _en_tile(name: str) -> str:
    """English name fitted on a tile: drop a parenthesised alias, one word per line."""
    return name.split(" (")[0].replace(" ", "\n")


def rank_intervals(
    rank_intervals: pd.DataFrame, scores: pd.DataFrame, *, bilingual: bool = True
) -> Figure:
    """Dot and whisker per region: nominal rank (diamond), median (dot), Q5–Q95 (whisker)."""
    ri = rank_intervals.set_index("region_code").sort_values(["nominal", "median"], kind="stable")
    names = _region_names(scores, bilingual).reindex(ri.index).fillna(pd.Series(ri.index, ri.index))
    y = np.arange(len(ri))
    fig = Figure(figsize=(8, 0.28 * len(ri) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    ax.hlines(
        y,
        ri["q05"],
        ri["q95"],
        color="0.45",
        linewidth=2,
        label=_title("90% 区间", "Q5–Q95", bilingual),
    )
    ax.scatter(
        ri["median"],
        y,
        color=PILLAR_COLORS[0],
        zorder=3,
        label=_title("中位数", "median", bilingual),
    )
    ax.scatter(
        ri["nominal"],
        y,
        marker="D",
        s=18,
        color=PILLAR_COLORS[3],
        zorder=4,
        label=_title("名义排名", "nominal", bilingual),
    )
    ax.set_yticks(y, names)
    ax.set_ylim(len(y) - 0.5, -0.5)
    ax.set_xlabel(_title("排名", "rank", bilingual))
    fig.legend(loc="outside lower center", ncols=3, frameon=False)
    ax.set_title(_title("排名不确定性", "Rank uncertainty", bilingual))
    return fig


def pillar_profiles(
    scores: pd.DataFrame,
    nodes: pd.DataFrame,
    *,
    year: int | None = None,
    top: int = 10,
    bilingual: bool = True,
) -> Figure:
    """Small multiples of the pillar scores of the top ``top`` regions; grey tick = median region."""
    year = views.edition_year(scores, year)
    root, pil = views.root_code(nodes), views.pillars(nodes)
    ranks = views.wide(scores, year, [root], "rank")[root].sort_values(kind="stable").dropna()
    leaders = ranks.index[:top]
    table = views.wide(scores, year, list(pil["code"]), "score")
    median = table.median()
    names = _region_names(scores, bilingual)
    pil_names = _node_names(nodes, bilingual).loc[pil["code"]]
    ncols = min(5, len(leaders)) or 1
    nrows = -(-len(leaders) // ncols) or 1
    fig = Figure(
        figsize=(2.4 * ncols + 1, 1.0 + 0.35 * len(pil) * nrows + 0.6 * nrows), layout="constrained"
    )
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)
    y = np.arange(len(pil))
    lo = min(0.0, float(np.nanmin(table.to_numpy())))
    hi = float(np.nanmax(table.to_numpy()))
    colors = [PILLAR_COLORS[k % 10] for k in range(len(pil))]
    for ax, code in zip(axes.flat, leaders, strict=False):
        ax.barh(y, table.loc[code].fillna(0).to_numpy(), color=colors, height=0.7)
        ax.scatter(median.to_numpy(), y, marker="|", s=80, color="0.3", zorder=3)
        ax.set_title(f"{ranks[code]:.0f}. {names.get(code, code)}", fontsize=9)
        ax.set_xlim(lo, hi * 1.05)
    for ax in axes.flat[len(leaders) :]:
        ax.set_axis_off()
    axes[0, 0].set_yticks(y, list(pil_names))
    axes[0, 0].invert_yaxis()
    fig.suptitle(
        _title(
            f"前{len(leaders)}名分项得分",
            f"Pillar profiles of the top {len(leaders)}, {year}",
            bilingual,
        ),
        fontweight="bold",
    )
    return fig


def alternate_rankings(
    alternatives: pd.DataFrame, scores: pd.DataFrame, *, bilingual: bool = True
) -> Figure:
    """Dot chart of each region's rank under every weighting scheme (long: scheme, region_code, rank).

    Regions are ordered by the first scheme listed (normally the nominal weights); a grey bar spans
    the best and worst rank across schemes.
    """
    schemes = list(dict.fromkeys(alternatives["scheme"]))
    table = alternatives.pivot(index="region_code", columns="scheme", values="rank")[schemes]
    table = table.sort_values(schemes, kind="stable")
    names = (
        _region_names(scores, bilingual)
        .reindex(table.index)
        .fillna(pd.Series(table.index, table.index))
    )
    y = np.arange(len(table))
    fig = Figure(figsize=(8, 0.28 * len(table) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    ax.hlines(y, table.min(axis=1), table.max(axis=1), color="0.8", linewidth=4)
    markers = "oDs^vP*X"
    for k, scheme in enumerate(schemes):
        ax.scatter(
            table[scheme],
            y,
            marker=markers[k % len(markers)],
            color=PILLAR_COLORS[k % 10],
            zorder=3,
            label=str(scheme),
            s=22,
        )
    ax.set_yticks(y, names)
    ax.set_ylim(len(y) - 0.5, -0.5)
    ax.set_xlabel(_title("排名", "rank", bilingual))
    fig.legend(
        loc="outside lower center",
        ncols=min(len(schemes), 6),
        frameon=False,
        title=_title("权重方案", "weighting", bilingual),
    )
    ax.set_title(_title("不同权重方案下的排名", "Rankings under alternate weightings", bilingual))
    return fig


def bump_chart(
    scores: pd.DataFrame, nodes: pd.DataFrame, *, highlight: int = 10, bilingual: bool = True
) -> Figure:
    """Composite rank per year, one line per region; the final year's top ``highlight`` in colour."""
    ranks = views.ranks_by_year(scores, views.root_code(nodes))
    years = list(ranks.columns)
    last = ranks[years[-1]]
    ranks = ranks.loc[last.sort_values(na_position="last", kind="stable").index]
    names = _region_names(scores, bilingual)
    fig = Figure(
        figsize=(max(6.0, 1.1 * len(years) + 4), 0.26 * len(ranks) + 1.8), layout="constrained"
    )
    ax = fig.add_subplot()
    for k, (code, row) in enumerate(ranks.iterrows()):
        top = k < highlight
        color = PILLAR_COLORS[k % 10] if top else "0.78"
        ax.plot(
            years,
            row.to_numpy(),
            marker="o",
            markersize=4,
            color=color,
            linewidth=2.2 if top else 1.0,
            zorder=3 if top else 2,
        )
        for x, ha in ((years[-1], "left"), (years[0], "right")):
            if np.isfinite(row[x]):
                pad = 0.15 if ha == "left" else -0.15
                ax.text(
                    x + pad,
                    row[x],
                    f"{row[x]:.0f} {names.get(code, code)}",
                    va="center",
                    ha=ha,
                    fontsize=7,
                    color=color if top else "0.45",
                )
    ax.set_xticks(years, [str(y) for y in years])
    ax.set_xlim(years[0] - 1.6, years[-1] + 1.6)
    ax.set_ylim(len(ranks) + 0.5, 0.5)
    ax.set_yticks([1, *range(5, len(ranks) + 1, 5)])
    ax.set_ylabel(_title("排名", "rank", bilingual))
    ax.set_title(_title("历年排名变化", "Ranks over the years", bilingual))
    return fig


def correlation_heatmap(
    scores: pd.DataFrame,
    nodes: pd.DataFrame,
    *,
    year: int | None = None,
    method: str = "pearson",
    bilingual: bool = True,
) -> Figure:
    """Correlation (``method``: pearson | spearman | kendall) between indicators, pillars and the index.

    Indicators are grouped by pillar; pairwise-complete observations (NaN rows dropped per pair).
    """
    year = views.edition_year(scores, year)
    root, pil = views.root_code(nodes), views.pillars(nodes)
    pillar_of = views.pillar_of(nodes)
    ind = views.indicators(nodes)
    ind = ind.assign(_g=ind["code"].map(pillar_of).map({c: k for k, c in enumerate(pil["code"])}))
    ind = ind.sort_values("_g", kind="stable")
    codes = [*ind["code"], *pil["code"], root]
    corr = views.wide(scores, year, codes).corr(method=method).to_numpy()
    names = _node_names(nodes, bilingual).loc[codes]
    n = len(codes)
    size = max(5.0, 0.32 * n + 2.5)
    fig = Figure(figsize=(size + 1.2, size), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(corr, cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(n), names, rotation=90)
    ax.set_yticks(range(n), names)
    ax.spines[:].set_visible(False)
    if n <= 25:
        i, j = np.nonzero(np.isfinite(corr))
        values = corr[i, j]
        dark = np.abs(values) > 0.6
        colors = np.where(dark[:, None], [[1.0, 1.0, 1.0, 1.0]], [[0.0, 0.0, 0.0, 1.0]])
        _cell_labels(ax, [f"{v:.2f}" for v in values], j, i, colors, fontsize=6)
    bounds = np.cumsum(ind.groupby("_g", sort=False).size().to_numpy())
    for b in bounds:
        ax.axhline(b - 0.5, color="black", linewidth=0.8)
        ax.axvline(b - 0.5, color="black", linewidth=0.8)
    fig.colorbar(
        image,
        ax=ax,
        shrink=0.7,
        label=_title("相关系数", f"{method.capitalize()} correlation", bilingual),
    )
    ax.set_title(_title(f"{year}年指标相关性", f"Correlations, {year}", bilingual))
    return fig


def _cell_labels(
    ax: Axes,
    labels: Sequence[str],
    x: np.ndarray,
    y: np.ndarray,
    colors: np.ndarray,
    fontsize: float,
) -> None:
    """Labels centred on the data points (x, y), drawn as glyph outlines, one collection per
    distinct label.

    What a reader sees is the text of ``ax.text(x, y, label, ha="center", va="center")`` (the
    SVG draws text as outlines anyway, ``svg.fonttype = path``), centred on its ink; but a few
    dozen artists instead of hundreds: each ``Text`` is laid out and drawn on its own, which for a
    heatmap's cells costs more than the rest of the figure. Each distinct label is converted to
    an outline once (in points) and stamped at its data points (the SVG defines it once). The
    ink box is the box of the outline's points (``Path.get_extents`` would solve every curve for
    its extremes, a third of the figure's making): the same box, as outlines have points at their
    extremes (as the TrueType and OpenType specifications recommend and the fonts drawn here do).
    """
    prop = FontProperties(size=fontsize)
    points = Affine2D().scale(1 / 72) + ax.figure.dpi_scale_trans
    at: dict[str, list[int]] = {}
    for k, label in enumerate(labels):
        at.setdefault(label, []).append(k)
    for label, where in at.items():  # first-appearance order: the same file every time
        path = TextPath((0, 0), label, prop=prop)
        if not len(path.vertices):  # a blank label: no ink
            continue
        ink = path.vertices[path.codes != Outline.CLOSEPOLY]  # a CLOSEPOLY's vertex is ignored
        middle = (ink.min(axis=0) + ink.max(axis=0)) / 2
        centred = path.transformed(Affine2D().translate(-middle[0], -middle[1]))
        stamps = PathCollection(
            [centred],
            offsets=np.column_stack([x[where], y[where]]),
            offset_transform=ax.transData,
            transform=points,
            facecolors=colors[where],
            edgecolors="none",
            linewidths=0,
        )
        stamps.set_in_layout(False)
        ax.add_collection(stamps, autolim=False)
