"""Assemble a publication folder from a pipeline Result: tables, figures, report, manifest.

``build_publication`` writes ``<out_dir>/<edition>/`` atomically (see :mod:`index.publish.folder`);
``assemble`` writes the same files into any existing folder (used by tests and ``verify``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
from matplotlib.figure import Figure

import index
from index.errors import InputError, Problem
from index.io import write_bytes
from index.publish import (
    claims,
    explorer,
    figures,
    folder,
    fonts,
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
    """What a figure draws on: the scores and nodes of the build, the edition year, whether
    labels are bilingual (a CJK font is installed) and the optional tables of the analyses.
    Plain tables only, so a figure's job pickles in milliseconds."""

    scores: pd.DataFrame
    nodes: pd.DataFrame
    year: int
    bilingual: bool
    intervals: pd.DataFrame | None = None
    alternatives: pd.DataFrame | None = None
    bounds: pd.DataFrame | None = None
    sobol: pd.DataFrame | None = None  # Sobol' indices of the publication (``result.sobol``)


def figure_data(
    result: ResultLike, year: int, bilingual: bool, **tables: pd.DataFrame | None
) -> FigureData:
    """The figures' data of a result: its scores and nodes, its optional ``rank_intervals``,
    ``alternatives``, ``rank_bounds`` and ``sobol`` unless given in ``tables`` (FigureData
    field names)."""
    found = {
        "intervals": getattr(result, "rank_intervals", None),
        "alternatives": getattr(result, "alternatives", None),
        "bounds": getattr(result, "rank_bounds", None),
        "sobol": getattr(result, "sobol", None),
    }
    return FigureData(result.scores, result.nodes, year, bilingual, **(found | tables))


def _given(table: pd.DataFrame | None) -> bool:
    return table is not None and len(table) > 0


@dataclass(frozen=True)
class FigureEntry:
    """One figure of the publication: file stem, captions (``{year}`` is filled in), the
    function drawing it, the test whether the data support it, the analyses' tables it reads
    (FigureData fields: it is rendered once they are known) and its rendering time in seconds
    as measured on the bundled data (it only orders the jobs: the longest first)."""

    stem: str
    caption_zh: str
    caption_en: str
    make: Callable[[FigureData], Figure]
    shown: Callable[[FigureData], bool] = lambda d: True
    needs: frozenset[str] = frozenset()
    cost: float = 0.5


#: Every figure of the publication, in report order. Adding a figure = one entry here (its drawing
#: function in :mod:`index.publish.figures`): it is rendered by a worker process like the others.
FIGURES: tuple[FigureEntry, ...] = (
    FigureEntry(
        "composite",
        "{year}年综合得分（按分项贡献堆叠）",
        "Composite score by pillar contribution, {year}",
        lambda d: figures.composite_bars(d.scores, d.nodes, year=d.year, bilingual=d.bilingual),
        cost=0.6,
    ),
    FigureEntry(
        "map",
        "{year}年各省综合得分瓦片地图（数字为排名）",
        "Tile-grid map of the composite score, {year} (number = rank)",
        lambda d: figures.tile_map(d.scores, d.nodes, year=d.year, bilingual=d.bilingual),
        cost=0.4,
    ),
    FigureEntry(
        "rank_intervals",
        "排名不确定性区间（Q5–Q95）",
        "Rank intervals (Q5–Q95) from the uncertainty analysis",
        lambda d: figures.rank_intervals(d.intervals, d.scores, bilingual=d.bilingual),
        lambda d: _given(d.intervals),
        needs=frozenset({"intervals"}),
        cost=0.55,
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
        needs=frozenset({"bounds", "intervals"}),
        cost=0.7,
    ),
    FigureEntry(
        "profiles",
        "前10名分项得分",
        "Pillar profiles of the top 10",
        lambda d: figures.pillar_profiles(d.scores, d.nodes, year=d.year, bilingual=d.bilingual),
        cost=0.9,
    ),
    FigureEntry(
        "alternatives",
        "不同权重方案下的排名",
        "Rankings under alternate weightings",
        lambda d: figures.alternate_rankings(d.alternatives, d.scores, bilingual=d.bilingual),
        lambda d: _given(d.alternatives),
        needs=frozenset({"alternatives"}),
        cost=0.45,
    ),
    FigureEntry(
        "bump",
        "历年排名变化",
        "Ranks over the years",
        lambda d: figures.bump_chart(d.scores, d.nodes, bilingual=d.bilingual),
        lambda d: d.scores["year"].nunique() > 1,
        cost=0.55,
    ),
    FigureEntry(
        "correlations",
        "{year}年指标、分项与综合指数的相关系数",
        "Correlations between indicators, pillars and the index, {year}",
        lambda d: figures.correlation_heatmap(
            d.scores, d.nodes, year=d.year, bilingual=d.bilingual
        ),
        cost=1.1,
    ),
    FigureEntry(
        "framework",
        "指数框架与有效权重（COINr plot_framework）",
        "The framework with effective weights (COINr plot_framework)",
        lambda d: sunburst.framework_sunburst(d.nodes, bilingual=d.bilingual),
        lambda d: sunburst.drawable(d.nodes),
        cost=0.3,
    ),
    FigureEntry(
        "sobol",
        "Sobol' 敏感性指数：各不确定因素对平均绝对排名变化的一阶与总效应",
        "Sobol' sensitivity indices: first-order and total effect of each uncertain factor on "
        "the mean absolute rank change",
        lambda d: sobol_chart.sobol_chart(d.sobol, bilingual=d.bilingual),
        lambda d: _given(d.sobol),
        needs=frozenset({"sobol"}),
        cost=0.3,
    ),
)


def render(stem: str, data: FigureData) -> tuple[bytes, bytes]:
    """The PNG and SVG bytes of the registered figure ``stem``, drawn in the house style (a
    pool job: every process renders the same bytes; the missing-font warning is the caller's,
    given once by :func:`index.publish.figures.font_choice`)."""
    entry = next(e for e in FIGURES if e.stem == stem)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fonts.CJKFontWarning)
        with figures.style():
            return figures.figure_bytes(entry.make(data))


class FigureJobs:
    """The publication's figures, each submitted to ``pool`` as soon as the tables it needs are
    known, its rendering time its priority (the longest first); ``font`` is the CJK font they
    are drawn in (None: English labels)."""

    def __init__(self, pool: parallel.Pool, font: FontChoice | None) -> None:
        self.pool, self.font = pool, font
        self._jobs: dict[str, parallel.Pending[tuple[bytes, bytes]] | None] = {}

    def submit(self, data: FigureData, pending: Iterable[str] = ()) -> None:
        """Submit every figure not yet submitted that needs none of the ``pending`` tables
        (FigureData fields still being computed); one its data do not support is left out."""
        waiting = set(pending)
        for e in FIGURES:
            if e.stem not in self._jobs and not e.needs & waiting:
                job = (
                    self.pool.submit(render, e.stem, data, priority=e.cost)
                    if e.shown(data)
                    else None
                )
                self._jobs[e.stem] = job

    def rendered(self, data: FigureData) -> list[tuple[FigureEntry, bytes, bytes]]:
        """Every shown figure with its PNG and SVG bytes, in registry order (waits for them;
        submits first those not submitted yet, with ``data``)."""
        self.submit(data)
        out = []
        for e in FIGURES:
            if (job := self._jobs[e.stem]) is not None:
                png, svg = job.result()
                out.append((e, png, svg))
        return out


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
    rendering: FigureJobs | None = None,
) -> dict[str, Any]:
    """Write every publication file (:func:`files`, same arguments) into the existing folder
    ``target``; return the manifest."""
    made = files(
        result, edition=edition, inputs=inputs, config=config, year=year,
        alternatives=alternatives, sources=sources, seeds=seeds, jobs=jobs, rendering=rendering,
    )  # fmt: skip
    for rel, content in made:
        write_bytes(Path(target) / rel, content)
    return json.loads(content)  # the manifest, made last


def files(
    result: ResultLike,
    *,
    edition: str,
    inputs: Mapping[str, str | Path] | Iterable[str | Path] = (),
    config: Mapping[str, Any] | None = None,
    year: int | None = None,
    alternatives: pd.DataFrame | None = None,
    sources: pd.DataFrame | None = None,
    seeds: Mapping[str, Any] | None = None,
    jobs: int | None = None,
    rendering: FigureJobs | None = None,
) -> Iterator[tuple[str, bytes]]:
    """Every publication file as (path in the folder, bytes), in the order they are made (the
    tables while the figures render, the report when they are in, the manifest of all the
    others last): :func:`assemble` writes them, ``verify`` compares them with a publication's
    files as they come (and stops the rest at the first difference).

    ``rendering``: the figures already submitted to a pool (:class:`FigureJobs`); without it
    they are rendered by ``jobs`` processes (None = one per core). The files are the same bytes
    whatever the number of processes."""
    args = (result, edition, inputs, config, year, alternatives, sources, seeds)
    if rendering is not None:
        yield from _made(*args, rendering)
        return
    with parallel.Pool(jobs, tasks=len(FIGURES)) as pool:
        rendering = FigureJobs(pool, figures.font_choice())
        given = {} if alternatives is None else {"alternatives": alternatives}
        edition_year = views.edition_year(result.scores, year)
        rendering.submit(figure_data(result, edition_year, rendering.font is not None, **given))
        yield from _made(*args, rendering)


def _made(
    result: ResultLike,
    edition: str,
    inputs: Mapping[str, str | Path] | Iterable[str | Path],
    config: Mapping[str, Any] | None,
    year: int | None,
    alternatives: pd.DataFrame | None,
    sources: pd.DataFrame | None,
    seeds: Mapping[str, Any] | None,
    rendering: FigureJobs,
) -> Iterator[tuple[str, bytes]]:
    """:func:`files` with the figures submitted to ``rendering``."""
    config = dict(result.config if config is None else config)
    scores, nodes = result.scores, result.nodes
    year = views.edition_year(scores, year)
    intervals = getattr(result, "rank_intervals", None)
    alternatives = getattr(result, "alternatives", None) if alternatives is None else alternatives
    sources = getattr(result, "sources", None) if sources is None else sources
    bounds = getattr(result, "rank_bounds", None)
    profiles = getattr(result, "profiles", None) or []
    font = rendering.font
    input_hashes = manifest.hash_inputs(inputs)
    outputs: dict[str, dict[str, Any]] = {}

    def made(rel: str, content: bytes) -> tuple[str, bytes]:
        outputs[rel] = {"sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}
        return rel, content

    sheets = _sheets(result, config, edition, year, intervals, sources, font)
    if bounds is not None and len(bounds):
        sheets[0] = claims.with_bounds(sheets[0], bounds, link=bool(profiles))
    flagged = tables.imputed(scores, nodes) if "imputed" in scores.columns else None
    plan = _plan(result)
    own = getattr(result, "unit_weights", None)  # BoD: every unit's own weights
    bod = [tables.unit_weights(own, nodes)] if own is not None and len(own) else []
    workbook = [*sheets, *bod, *([flagged] if flagged is not None else []), *plan]
    yield made("ranking.xlsx", tables.xlsx_bytes(workbook))
    yield made("ranking.csv", tables.csv_bytes(sheets[0].frame))
    provenance = {
        "edition": edition,
        "year": str(year),
        "config": json.dumps(config, sort_keys=True, ensure_ascii=False, default=str),
    }
    yield made("scores.parquet", tables.parquet_bytes(scores, provenance))
    page = explorer.render(
        scores, nodes, config, edition=edition, year=year, version=index.__version__
    )
    yield made("explorer.html", page.encode("utf-8"))
    profile_sections = claims.profiles_html(
        profiles, report.table_html, intervals, config.get("bounds", {}).get("box", 0.5)
    )
    data = figure_data(
        result, year, font is not None, intervals=intervals, alternatives=alternatives
    )
    shown = []
    for e, png, svg in rendering.rendered(data):
        yield made(f"figures/{e.stem}.png", png)
        yield made(f"figures/{e.stem}.svg", svg)
        caption_zh, caption_en = e.caption_zh.format(year=year), e.caption_en.format(year=year)
        shown.append(report.Figure(e.stem, caption_zh, caption_en, png))
    page = report.render(
        edition=edition,
        year=year,
        scores=scores,
        nodes=nodes,
        rank_intervals=intervals,
        sheets=sheets,
        imputed=flagged,
        figures=shown,
        version=index.__version__,
        profiles=profile_sections,
        plan=plan,
    )
    yield made("report.html", page.encode("utf-8"))
    record = manifest.build(
        edition=edition,
        year=year,
        config=config,
        inputs=input_hashes,
        seeds=manifest.find_seeds(config) if seeds is None else seeds,
        outputs=dict(sorted(outputs.items())),
        font=font,
    )
    yield manifest.NAME, manifest.dumps(record).encode("utf-8")


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
    rendering: FigureJobs | None = None,
    atomic: bool = True,
) -> Publication:
    """Build ``<out_dir>/<edition>/`` atomically: the previous folder survives any failure.

    ``inputs``: files that fed the run (label → path, or paths), hashed into the manifest.
    ``config``: the fully resolved configuration (default ``result.config``).
    ``year``: the edition year (default: the latest in ``result.scores``).
    ``alternatives`` / ``sources``: default to the same-named attributes of ``result``.
    ``seeds``: default = every config entry whose key contains "seed".
    ``jobs``: processes rendering the figures (None = one per core; same bytes whatever it is),
    unless they were submitted already (``rendering``, see :func:`assemble`).
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
        alternatives=alternatives, sources=sources, seeds=seeds, jobs=jobs, rendering=rendering,
    )  # fmt: skip
    if not atomic:
        target.mkdir(parents=True)
        return Publication(target, write(target))
    with folder.staging(target) as tmp:
        record = write(tmp)
    return Publication(target, record)
