"""Assemble a publication folder from a pipeline Result: tables, figures, report, manifest.

``build_publication`` writes ``<out_dir>/<edition>/`` atomically (see :mod:`index.publish.folder`);
``assemble`` writes the same files into any existing folder (used by tests and ``verify``).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
from matplotlib.figure import Figure

import index
from index.errors import InputError, Problem
from index.publish import (
    claims,
    explorer,
    figures,
    folder,
    manifest,
    parallel,
    report,
    sobol_chart,
    sunburst,
    tables,
    views,
)
from index.publish.fonts import FontChoice


class ResultLike(Protocol):
    """What the publication reads from the pipeline (see RESULT.md); ``rank_intervals``,
    ``alternatives`` (scheme, region_code, rank), ``sources`` (source_id, source,
    source_table), ``tracker`` (``index.tracker.Tracker``), ``ahp`` (``Build.ahp_consistency``),
    ``unit_weights`` (``Build.unit_weights``) and ``sobol`` (``SobolAnalysis.overall()``, reset)
    are optional attributes."""

    scores: pd.DataFrame
    nodes: pd.DataFrame
    data: pd.DataFrame
    config: dict


@dataclass(frozen=True)
class Publication:
    """The published folder and its manifest."""

    folder: Path
    manifest: dict[str, Any]
    notes: tuple[
        str, ...
    ] = ()  # what the user should know (e.g. why the edition year is not the latest)

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        """relative path → {sha256, bytes} (manifest.json excluded)."""
        return self.manifest["outputs"]


_EDITION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class FigureData:
    """What a figure draws on: the result, the edition year, whether labels are bilingual (a
    CJK font is installed) and the optional tables ``assemble`` resolved."""

    result: ResultLike
    year: int
    bilingual: bool
    intervals: pd.DataFrame | None = None
    alternatives: pd.DataFrame | None = None
    bounds: pd.DataFrame | None = None

    @property
    def scores(self) -> pd.DataFrame:
        return self.result.scores

    @property
    def nodes(self) -> pd.DataFrame:
        return self.result.nodes

    @property
    def sobol(self) -> pd.DataFrame | None:
        """Sobol' indices of the publication (``result.sobol``, optional)."""
        return getattr(self.result, "sobol", None)


def _given(table: pd.DataFrame | None) -> bool:
    return table is not None and len(table) > 0


@dataclass(frozen=True)
class FigureEntry:
    """One figure of the publication: file stem, captions (``{year}`` is filled in), the
    function drawing it and the test whether the data support it."""

    stem: str
    caption_zh: str
    caption_en: str
    make: Callable[[FigureData], Figure]
    shown: Callable[[FigureData], bool] = lambda d: True


#: Every figure of the publication, in report order. Adding a figure = one entry here (its drawing
#: function in :mod:`index.publish.figures`): it is rendered by a worker process like the others.
FIGURES: tuple[FigureEntry, ...] = (
    FigureEntry(
        "composite",
        "{year}年综合得分（按分项贡献堆叠）",
        "Composite score by pillar contribution, {year}",
        lambda d: figures.composite_bars(d.scores, d.nodes, year=d.year, bilingual=d.bilingual),
    ),
    FigureEntry(
        "map",
        "{year}年各省综合得分瓦片地图（数字为排名）",
        "Tile-grid map of the composite score, {year} (number = rank)",
        lambda d: figures.tile_map(d.scores, d.nodes, year=d.year, bilingual=d.bilingual),
    ),
    FigureEntry(
        "rank_intervals",
        "排名不确定性区间（Q5–Q95）",
        "Rank intervals (Q5–Q95) from the uncertainty analysis",
        lambda d: figures.rank_intervals(d.intervals, d.scores, bilingual=d.bilingual),
        lambda d: _given(d.intervals),
    ),
    FigureEntry(
        "rank_bounds",
        "名义排名、权重在名义值±范围内变动时的精确排名界限，及不确定性分析的蒙特卡洛区间"
        "（后者也改变方法选择，故可超出界限）",
        "Nominal rank, exact rank bounds over the admissible weights, and the Monte Carlo "
        "interval of the uncertainty analysis (which also varies the methods, so it may leave "
        "the bounds)",
        lambda d: claims.bounds_figure(d.bounds, d.intervals, bilingual=d.bilingual),
        lambda d: _given(d.bounds),
    ),
    FigureEntry(
        "profiles",
        "前10名分项得分",
        "Pillar profiles of the top 10",
        lambda d: figures.pillar_profiles(d.scores, d.nodes, year=d.year, bilingual=d.bilingual),
    ),
    FigureEntry(
        "alternatives",
        "不同权重方案下的排名",
        "Rankings under alternate weightings",
        lambda d: figures.alternate_rankings(d.alternatives, d.scores, bilingual=d.bilingual),
        lambda d: _given(d.alternatives),
    ),
    FigureEntry(
        "bump",
        "历年排名变化",
        "Ranks over the years",
        lambda d: figures.bump_chart(d.scores, d.nodes, bilingual=d.bilingual),
        lambda d: d.scores["year"].nunique() > 1,
    ),
    FigureEntry(
        "correlations",
        "{year}年指标、分项与综合指数的相关系数",
        "Correlations between indicators, pillars and the index, {year}",
        lambda d: figures.correlation_heatmap(
            d.scores, d.nodes, year=d.year, bilingual=d.bilingual
        ),
    ),
    FigureEntry(
        "framework",
        "指数框架与有效权重（COINr plot_framework）",
        "The framework with effective weights (COINr plot_framework)",
        lambda d: sunburst.framework_sunburst(d.nodes, bilingual=d.bilingual),
        lambda d: sunburst.drawable(d.nodes),
    ),
    FigureEntry(
        "sobol",
        "Sobol' 敏感性指数：各不确定因素对平均绝对排名变化的一阶与总效应",
        "Sobol' sensitivity indices: first-order and total effect of each uncertain factor on "
        "the mean absolute rank change",
        lambda d: sobol_chart.sobol_chart(d.sobol, bilingual=d.bilingual),
        lambda d: _given(d.sobol),
    ),
)


def _render(entry: FigureEntry, data: FigureData, where: Path) -> bytes:
    """Draw one figure, write its PNG and SVG into ``where``; return the PNG's bytes."""
    png, _svg = figures.save_figure(entry.make(data), where / entry.stem)
    return png.read_bytes()


def assemble(
    result: ResultLike,
    target: str | Path,
    *,
    edition: str,
    inputs: Mapping[str, str | Path] | Iterable[str | Path] = (),
    config: Mapping[str, Any] | None = None,
    year: int | None = None,
    alternatives: pd.DataFrame | None = None,
    sources: pd.DataFrame | None = None,
    seeds: Mapping[str, Any] | None = None,
    jobs: int | None = None,
) -> dict[str, Any]:
    """Write every publication file into the existing folder ``target``; return the manifest.

    ``jobs``: processes rendering the figures (None = one per core); the files are the same
    bytes whatever it is."""
    target = Path(target)
    config = dict(result.config if config is None else config)
    scores, nodes = result.scores, result.nodes
    year = views.edition_year(scores, year)
    intervals = getattr(result, "rank_intervals", None)
    alternatives = getattr(result, "alternatives", None) if alternatives is None else alternatives
    sources = getattr(result, "sources", None) if sources is None else sources
    bounds = getattr(result, "rank_bounds", None)
    profiles = getattr(result, "profiles", None) or []
    input_hashes = manifest.hash_inputs(inputs)

    (target / "figures").mkdir(parents=True, exist_ok=True)
    with figures.style() as font:
        data = FigureData(result, year, font is not None, intervals, alternatives, bounds)
        shown = [e for e in FIGURES if e.shown(data)]
        renders = [functools.partial(_render, e, data, target / "figures") for e in shown]
        with parallel.started(renders, jobs) as pngs:  # rendered while the tables are written
            sheets = _sheets(result, config, edition, year, intervals, sources, font)
            if bounds is not None and len(bounds):
                sheets[0] = claims.with_bounds(sheets[0], bounds, link=bool(profiles))
            flagged = tables.imputed(scores, nodes) if "imputed" in scores.columns else None
            plan = _plan(result)
            own = getattr(result, "unit_weights", None)  # BoD: every unit's own weights
            bod = [tables.unit_weights(own, nodes)] if own is not None and len(own) else []
            tables.write_xlsx(
                [*sheets, *bod, *([flagged] if flagged is not None else []), *plan],
                target / "ranking.xlsx",
            )
            tables.write_csv(sheets[0].frame, target / "ranking.csv")
            rendered = [
                report.Figure(
                    e.stem, e.caption_zh.format(year=year), e.caption_en.format(year=year), png
                )
                for e, png in zip(shown, pngs(), strict=True)
            ]
    provenance = {
        "edition": edition,
        "year": str(year),
        "config": json.dumps(config, sort_keys=True, ensure_ascii=False, default=str),
    }
    tables.write_parquet(scores, target / "scores.parquet", provenance)
    page = report.render(
        edition=edition,
        year=year,
        scores=scores,
        nodes=nodes,
        rank_intervals=intervals,
        sheets=sheets,
        imputed=flagged,
        figures=rendered,
        version=index.__version__,
        profiles=claims.profiles_html(
            profiles, report.table_html, intervals, config.get("bounds", {}).get("box", 0.5)
        ),
        plan=plan,
    )
    report.write(target / "report.html", page)
    report.write(
        target / "explorer.html",
        explorer.render(
            scores,
            nodes,
            config,
            edition=edition,
            year=year,
            version=index.__version__,
        ),
    )

    record = manifest.build(
        edition=edition,
        year=year,
        config=config,
        inputs=input_hashes,
        seeds=manifest.find_seeds(config) if seeds is None else seeds,
        outputs=manifest.hash_outputs(target),
        font=font,
    )
    manifest.write(target, record)
    return record


def _plan(result: ResultLike) -> list[tables.Sheet]:
    """The action-plan sheets when the result carries a tracker (``index.tracker.Tracker``)."""
    tracker = getattr(result, "tracker", None)
    if tracker is None:
        return []
    shares = tables.province_shares(tracker, result.data)
    return [tables.action_plan(tracker), *([shares] if len(shares.frame) else [])]


def _sheets(
    result: ResultLike,
    config: Mapping[str, Any],
    edition: str,
    year: int,
    intervals: pd.DataFrame | None,
    sources: pd.DataFrame | None,
    font: FontChoice | None,
) -> list:
    """The workbook's sheets: ranking, indicator data, weights, method, sources."""
    scores, nodes = result.scores, result.nodes
    return [
        tables.ranking(scores, nodes, year=year, rank_intervals=intervals),
        tables.indicator_data(result.data, nodes, scores, year=year),
        tables.weights(nodes, getattr(result, "unit_weights", None)),
        tables.method(
            config,
            _facts(edition, year, scores, nodes, font)
            | tables.ahp_facts(getattr(result, "ahp", None)),
        ),
        tables.sources(result.data, nodes, sources),
    ]


def _facts(
    edition: str, year: int, scores: pd.DataFrame, nodes: pd.DataFrame, font: FontChoice | None
) -> dict[str, Any]:
    years = sorted(int(y) for y in scores["year"].unique())
    return {
        "版本 Edition": edition,
        "年份 Year": year,
        "年份范围 Years computed": f"{years[0]}–{years[-1]}",
        "地区数 Regions": int(scores["region_code"].nunique()),
        "分项 Pillars": ", ".join(
            f"{p.name_zh} {p.name_en}" for p in views.pillars(nodes).itertuples()
        ),
        "指标数 Indicators": int((nodes["level"] == 1).sum()),
        "排名规则 Ranking": "1 = 最优 best; 并列取最小名次 ties share the lowest rank",
        "图表字体 Figure font": font.name if font else "DejaVu Sans (no CJK font: English labels)",
    }


def build_publication(
    result: ResultLike,
    out_dir: str | Path,
    *,
    edition: str,
    inputs: Mapping[str, str | Path] | Iterable[str | Path] = (),
    config: Mapping[str, Any] | None = None,
    year: int | None = None,
    alternatives: pd.DataFrame | None = None,
    sources: pd.DataFrame | None = None,
    seeds: Mapping[str, Any] | None = None,
    jobs: int | None = None,
    atomic: bool = True,
) -> Publication:
    """Build ``<out_dir>/<edition>/`` atomically: the previous folder survives any failure.

    ``inputs``: files that fed the run (label → path, or paths), hashed into the manifest.
    ``config``: the fully resolved configuration (default ``result.config``).
    ``year``: the edition year (default: the latest in ``result.scores``).
    ``alternatives`` / ``sources``: default to the same-named attributes of ``result``.
    ``seeds``: default = every config entry whose key contains "seed".
    ``jobs``: processes rendering the figures (None = one per core; same bytes whatever it is).
    ``atomic=False`` writes straight into ``<out_dir>/<edition>/``, which must not exist (a
    private scratch folder, as ``verify``'s rebuild: no staging folder, swap or permissions).
    """
    if not _EDITION.match(edition):
        raise InputError(
            Problem(
                "",
                None,
                "edition",
                f"'{edition}' is not a valid folder name (letters, digits, . _ -)",
            )
        )
    target = Path(out_dir) / edition
    write = functools.partial(
        assemble, result, edition=edition, inputs=inputs, config=config, year=year,
        alternatives=alternatives, sources=sources, seeds=seeds, jobs=jobs,
    )  # fmt: skip
    if not atomic:
        target.mkdir(parents=True)
        return Publication(target, write(target))
    with folder.staging(target) as tmp:
        record = write(tmp)
    return Publication(target, record)
