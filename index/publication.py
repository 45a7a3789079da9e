"""The annual publication run: ingest → index for every year → alternatives → uncertainty → folder.

Everything that determines the files is in :class:`PublishSettings`, which the manifest records,
so ``verify`` can rebuild a publication from its manifest alone and compare every byte.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from index import framework as fwmod
from index import paths, tracker
from index.config import Config
from index.dataset import Dataset, load_inputs
from index.errors import InputError, Problem
from index.etl.ingest import ingest
from index.pipeline import Build, build
from index.publish import (
    Publication,
    Verification,
    build_publication,
    figures,
    manifest,
    parallel,
    verify,
)
from index.publish import build as publish_build
from index.publish import folder as publish_folder
from index.publish.build import FigureData, FigureJobs
from index.tracker import Tracker

log = logging.getLogger(__name__)
"""Stage messages of a publication run (INFO); the CLI shows them unless --quiet."""


class Alternative(BaseModel):
    """An alternative ranking shown beside the baseline: a label and its --set overrides."""

    model_config = ConfigDict(extra="forbid", strict=True)

    label: str
    overrides: list[str]


# A list, not a mapping: the order is part of the output and must survive the manifest's JSON.
DEFAULT_ALTERNATIVES = [
    Alternative(label="等权 equal", overrides=["weighting=equal"]),
    Alternative(label="熵权 entropy", overrides=["weighting=entropy", "weighting.levels=[1]"]),
    Alternative(label="CRITIC", overrides=["weighting=critic", "weighting.levels=[1]"]),
    Alternative(label="几何平均 geometric", overrides=["aggregation=gmean", "normalise.l=1"]),
]


class UncertaintySettings(BaseModel):
    """How the publication's rank intervals are computed (0 runs = skip)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    runs: int = Field(default=2000, ge=0)
    seed: int = 20231008
    spec: str = "default"
    sobol: int = Field(
        default=512,
        ge=0,
        description="base sample N of the Sobol' analysis of the same spec (N(d+2) runs, its "
        "chart in the publication); 0, or runs = 0, skips it",
    )


class BoundsSettings(BaseModel):
    """Rank bounds and province profiles in the publication (see methodology.md § 7a)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    box: float = Field(default=0.5, ge=0.0, description="within-group weights within ±box")
    order: list[str] = Field(default_factory=list, description='e.g. ["compute>=storage"]')
    mc: int = Field(default=1000, ge=1)
    seed: int = 20240101
    profiles: bool = True


class PublishSettings(BaseModel):
    """All that determines a publication (recorded in manifest.json)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    raw_dir: str = "data/raw"
    overlays: list[str] = Field(
        default_factory=list, description="raw folders overlaying raw_dir (their values win)"
    )
    alternatives_skipped: dict[str, str] = Field(
        default_factory=dict, description="alternatives that do not apply to this run, and why"
    )
    analyses_skipped: dict[str, str] = Field(
        default_factory=dict, description="analyses that do not apply to this run, and why"
    )
    edition: str | None = None
    year: int | None = None
    run: Config = Config()
    alternatives: list[Alternative] = Field(default_factory=lambda: list(DEFAULT_ALTERNATIVES))
    uncertainty: UncertaintySettings = UncertaintySettings()
    bounds: BoundsSettings = BoundsSettings()


@dataclass
class PublicationResult:
    """What the publication layer reads (see index.publish.ResultLike)."""

    scores: pd.DataFrame
    nodes: pd.DataFrame
    data: pd.DataFrame
    config: dict
    alternatives: pd.DataFrame
    sources: pd.DataFrame
    rank_intervals: pd.DataFrame | None = None
    rank_bounds: pd.DataFrame | None = None
    profiles: list | None = None
    tracker: Tracker | None = None
    ahp: pd.DataFrame | None = None  # Saaty's consistency of the AHP matrices, if any
    unit_weights: pd.DataFrame | None = None  # BoD: each unit's own weights (edition year)
    sobol: pd.DataFrame | None = None  # Sobol' indices of the scalar output, one row per factor


def input_files(raw: Path, fw_path: Path, overlays: list[Path] | None = None) -> dict[str, Path]:
    """Every file that feeds the run, labelled independently of where anything lies:
    ``raw/<path inside the raw folder>``, ``national/<file name>`` (the action-plan tables) and
    ``framework/<file name>`` (so a moved publication,
    or one handed over with its inputs, still names the same inputs)."""
    files = sorted(p for p in raw.rglob("*") if p.is_file() and not p.name.startswith("."))
    out = {f"raw/{p.relative_to(raw).as_posix()}": p for p in files}
    out |= {f"national/{p.name}": p for p in sorted(national_dir(raw).glob("*.csv"))}
    for k, folder in enumerate(overlays or [], start=1):
        more = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
        out |= {f"overlay{k}/{p.relative_to(folder).as_posix()}": p for p in more}
    out[f"framework/{fw_path.name}"] = fw_path
    return out


def national_dir(raw: Path) -> Path:
    """The action-plan tables (:mod:`index.tracker`) beside the raw folder: ``data/national`` for
    ``data/raw``. Optional: without the folder a publication has no action-plan section."""
    return raw.parent / "national"


def _recorded_raw_dir(raw: Path, target: Path) -> str:
    """The raw folder as the manifest records it: relative to the publication folder."""
    return Path(os.path.relpath(raw.resolve(), target.resolve())).as_posix()


def _alternatives(
    b: Build, settings: PublishSettings, year: int
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The baseline and every alternative ranking (long), and the alternatives that do not apply
    to this run (label → why, e.g. a geometric mean of zero scores, entropy weights where a
    --weight was given): those are left out and named in the publication's Method summary."""
    frames = []
    schemes: dict[str, Build] = {"基准 baseline": b}
    skipped: dict[str, str] = {}
    for a in settings.alternatives:
        try:
            schemes[a.label] = b.rebuild(*a.overrides)
        except InputError as exc:
            skipped[a.label] = "; ".join(str(p) for p in exc.problems)
    for label, alt in schemes.items():
        r = alt.ranking(year)
        frames.append(
            pd.DataFrame({"scheme": label, "region_code": r.index, "rank": r["rank"].to_numpy()})
        )
    return pd.concat(frames, ignore_index=True), skipped


def _sources(raw_dir: Path) -> pd.DataFrame:
    path = raw_dir / "sources.csv"
    if not path.is_file():
        return pd.DataFrame(columns=["source_id", "source", "source_table"])
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    return df.rename(columns={"publisher": "source", "table": "source_table"})


def _rank_intervals(b: Build, settings: PublishSettings, year: int) -> pd.DataFrame:
    """Rank intervals of the edition year from the uncertainty analysis."""
    from index.analysis.uncertainty import publication_intervals

    return publication_intervals(b, settings.uncertainty, year)


def _claims(
    b: Build,
    settings: PublishSettings,
    year: int,
    pool: parallel.Pool,
    known: Callable[[dict[str, pd.DataFrame | None]], None],
) -> tuple[pd.DataFrame, list[parallel.Pending[list]]]:
    """The rank-bounds table of the edition year (``known`` is told it before the profiles
    are submitted: its figure starts first) and, if asked, every ranked region's profile as
    pool jobs (lists of profiles, in the table's order whatever the number of processes).

    The bounds are computed once, here, and every profile reads them; the profiles (what it
    takes re-runs the pipeline ~60 times per region) are computed by the pool's processes,
    each job a consecutive share of the regions whose searches it pools
    (:func:`~index.analysis.claims.profiles`), carrying the build and the bounds (pickled
    once per share)."""
    from index.analysis import claims

    s = settings.bounds
    c = b.claims(s.box, tuple(s.order), year, mc=s.mc, seed=s.seed)
    table = c.table()
    known({"bounds": table})
    if not s.profiles:
        return table, []
    ranked = [code for code in table["region_code"][table["rank"].notna()]]
    n = min(pool.workers, len(ranked))
    shares = [ranked[k * len(ranked) // n : (k + 1) * len(ranked) // n] for k in range(n)]
    return table, pool.map(
        claims.profiles, [(b, share, year, c) for share in shares], priority=PROFILES_FIRST
    )


PROFILES_FIRST = 1e9
"""The profiles' priority in the pool: before any figure waiting (the report's tables wait for
them in the main process, the figures are only needed at the end)."""


def _analyses(
    b: Build,
    settings: PublishSettings,
    year: int,
    pool: parallel.Pool,
    known: Callable[[dict[str, pd.DataFrame | None]], None] = lambda tables: None,
) -> tuple[pd.DataFrame | None, pd.DataFrame | None, list, pd.DataFrame | None, dict[str, str]]:
    """Rank intervals, rank bounds and profiles, Sobol' indices of the mean absolute rank change
    (``Build.sensitivity(...).overall()``, one row per factor), and the analyses left out
    (name → why). ``known`` is told each table the moment it is computed (FigureData field →
    table or None), so the figures drawing it start while the rest is computed; the profiles
    are computed by ``pool`` meanwhile.

    A run with groups that have no common child weights (benefit of the doubt, robust BoD, OWA:
    ``Build.nodes.weight_basis``) has no weights to bound, so bounds and profiles are left out;
    its uncertainty analysis is left out when the spec varies weights those groups cannot take.
    Both are named in the Method summary and by ``publish``, never dropped silently."""
    from index.pipeline import VIA

    n = b.nodes
    per_unit = sorted(
        set(n["parent"][(n["weight_basis"] != "") & ~n["weight_basis"].str.startswith(VIA)])
    )
    left_out: dict[str, str] = {}
    u = settings.uncertainty

    def attempt(name: str, run: Callable[[], pd.DataFrame]) -> pd.DataFrame | None:
        try:
            return run()
        except InputError as exc:  # only the weights those groups cannot take; not other errors
            from index.methods.compind import NO_CHILD_WEIGHTS

            if not per_unit or not all(NO_CHILD_WEIGHTS in p.message for p in exc.problems):
                raise
            left_out[name] = "; ".join(str(p) for p in exc.problems)
            return None

    intervals = (
        attempt("uncertainty", lambda: _rank_intervals(b, settings, year)) if u.runs else None
    )
    sobol = (
        attempt(
            "sensitivity",
            lambda: (
                b.sensitivity(u.sobol, spec=u.spec, seed=u.seed, year=year, progress=False)
                .overall()
                .reset_index()
            ),
        )
        if u.runs and u.sobol
        else None
    )
    known({"intervals": intervals, "sobol": sobol})
    if per_unit:
        left_out["rank bounds and profiles"] = (
            f"the child weights of {', '.join(per_unit)} are per unit or by position (BoD, "
            "robust BoD, OWA), not common weights that could be bounded"
        )
        known({"bounds": None})
        return intervals, None, [], sobol, left_out
    bounds, chunks = _claims(b, settings, year, pool, known)
    return intervals, bounds, [p for chunk in chunks for p in chunk.result()], sobol, left_out


def run_publication(
    settings: PublishSettings,
    out_dir: str | Path | None = None,
    *,
    processed: str | Path | None = None,
    source: str | Path | None = None,
    overlay_sources: list[Path] | None = None,
    jobs: int | None = None,
    atomic: bool = True,
) -> tuple[Publication, Build]:
    """Ingest, build every year, compare alternatives, and write ``<out_dir>/<edition>/``
    (default: the project's ``publications/``).

    ``jobs``: processes for the profiles and the figures (None = one per core); it is not part
    of the settings, as the files are the same bytes whatever it is. ``atomic=False``: written
    in place into a folder that must not exist yet (``verify``'s private rebuild).

    ``processed`` is where the ingested panel goes: by default the project's
    ``data/processed/inputs.parquet`` when the raw folder is the project's own ``data/raw``,
    and a temporary file otherwise (a publication of other inputs never overwrites the
    repository's processed data). The manifest records the raw folder relative to the
    publication folder; ``source`` (used by ``verify``) reads the raw files from elsewhere while
    recording ``settings.raw_dir`` unchanged (``overlay_sources`` likewise for ``overlays``).
    Returns the publication and the nominal build. The whole run holds the edition's lock (see
    :mod:`index.publish.folder`) when the edition is known at the start; an output folder that
    cannot be made is refused before any work.
    """
    raw = Path(settings.raw_dir if source is None else source)
    overlays = [Path(o) for o in settings.overlays] if overlay_sources is None else overlay_sources
    if processed is None:
        if raw.resolve() == paths.raw_dir().resolve() and not overlays:
            return run_publication(
                settings, out_dir, processed=paths.inputs(), source=source,
                overlay_sources=overlay_sources, jobs=jobs, atomic=atomic,
            )  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="compute-index-") as work:
            return run_publication(
                settings, out_dir, processed=Path(work) / "inputs.parquet", source=source,
                overlay_sources=overlay_sources, jobs=jobs, atomic=atomic,
            )  # fmt: skip
    out_dir = paths.publications() if out_dir is None else Path(out_dir)
    _check_writable(out_dir)
    lock = (
        publish_folder.locked(out_dir / (settings.edition or str(settings.year)))
        if settings.edition or settings.year
        else contextlib.nullcontext()
    )
    with lock:
        return _run_publication(
            settings, out_dir, raw, overlays,
            processed=processed, source=source, overlay_sources=overlay_sources, jobs=jobs,
            atomic=atomic,
        )  # fmt: skip


def _check_writable(out_dir: Path) -> None:
    """Refuse at once, before the minutes of work, an output folder that cannot be made: one
    whose nearest existing ancestor is a file, or a folder this user may not write in."""
    here = out_dir
    while not here.exists() and here != here.parent:
        here = here.parent
    if here.exists() and (not here.is_dir() or not os.access(here, os.W_OK | os.X_OK)):
        why = "is a file, not a folder" if not here.is_dir() else "is not writable"
        raise InputError(
            Problem(str(out_dir), None, None, f"cannot write the output: {here} {why}")
        )


def _edition_year(b: Build, ds: Dataset, settings: PublishSettings) -> tuple[int, str | None]:
    """The edition year and, when it is not the latest year of the framework's data, the note
    saying so: ``settings.year``, else the latest year the build covers (every series has a value).
    A series without a value in the latest data year drops that year from the build, so the
    edition becomes the year before — said in a note naming the series, never silently."""
    if settings.year:
        return settings.year, None
    built = b.years[-1]
    long = ds.long  # all years: the build keeps only those it could compute
    used = long[long["indicator"].isin(b.framework.data_series) & long["value"].notna()]
    latest = int(used["year"].max()) if len(used) else built
    if latest <= built or settings.run.years:
        return built, None
    have = set(used.loc[used["year"] == latest, "indicator"])
    absent = [s for s in b.framework.data_series if s not in have]
    shown = ", ".join(absent[:5]) + (f" and {len(absent) - 5} more" if len(absent) > 5 else "")
    return built, (
        f"edition year {built}, the latest year with a value for every series: {latest} lacks "
        f"{shown} (give --year to choose)"
    )


def _run_publication(
    settings: PublishSettings,
    out_dir: Path,
    raw: Path,
    overlays: list[Path],
    *,
    processed: str | Path,
    source: str | Path | None,
    overlay_sources: list[Path] | None,
    jobs: int | None = None,
    atomic: bool = True,
) -> tuple[Publication, Build]:
    """:func:`run_publication` in one pool of ``jobs`` processes (:func:`_prepare`)."""
    with parallel.Pool(jobs) as pool:
        run = _prepare(
            settings, out_dir, raw, overlays, processed=processed, source=source,
            overlay_sources=overlay_sources, pool=pool,
        )  # fmt: skip
        log.info("tables, figures and report")
        pub = build_publication(
            run.result, out_dir, edition=run.edition, inputs=run.inputs, year=run.year,
            seeds=run.seeds, rendering=run.rendering, atomic=atomic,
        )  # fmt: skip
    return (replace(pub, notes=(run.note,)) if run.note else pub), run.build


@dataclass(frozen=True)
class _Run:
    """A publication's result, computed; its files are made from it (figures being rendered
    by ``rendering``)."""

    result: PublicationResult
    build: Build
    edition: str
    year: int
    inputs: dict[str, Path]
    seeds: dict[str, Any]
    note: str | None
    rendering: FigureJobs


def _prepare(
    settings: PublishSettings,
    out_dir: Path,
    raw: Path,
    overlays: list[Path],
    *,
    processed: str | Path,
    source: str | Path | None,
    overlay_sources: list[Path] | None,
    pool: parallel.Pool,
) -> _Run:
    """Ingest, build, alternatives and analyses, with ``pool`` busy meanwhile: the figures of
    the build alone render while the alternatives and analyses run, each figure of an analysis from the moment
    its table is known, and the profiles with them (so the tables can be written while the last
    figures render)."""
    rendering = FigureJobs(pool, figures.font_choice())
    log.info("ingest %s%s", raw.resolve(), f" + {len(overlays)} overlay(s)" if overlays else "")
    ingest([raw, *overlays], processed)
    ds = load_inputs(processed)
    log.info("build the index (%s)", settings.run.framework)
    b = build(settings.run, ds)
    year, note = _edition_year(b, ds, settings)
    if year not in b.years:
        raise InputError(Problem("publish", None, "year", f"{year} not in {list(b.years)}"))
    settings = _effective(settings, b, year, raw, overlays, out_dir, source, overlay_sources)
    tables: dict[str, pd.DataFrame | None] = {}

    def known(more: dict[str, pd.DataFrame | None]) -> None:
        tables.update(more)
        data = FigureData(b.scores_long, b.nodes, year, rendering.font is not None, **tables)
        pending = {"alternatives", "intervals", "sobol", "bounds"} - tables.keys()
        rendering.submit(data, pending=pending)

    known({})  # the figures of the build alone, while the rest is computed
    log.info("alternate weightings (%d)", len(settings.alternatives))
    alternatives, skipped = _alternatives(b, settings, year)
    known({"alternatives": alternatives})
    u = settings.uncertainty
    log.info(
        "analyses of %s: uncertainty %d runs, Sobol' N = %d, rank bounds, province profiles",
        year, u.runs, u.sobol if u.runs else 0,
    )  # fmt: skip
    intervals, bounds, profiles, sobol, left_out = _analyses(b, settings, year, pool, known)
    settings = settings.model_copy(
        update={"alternatives_skipped": skipped, "analyses_skipped": left_out}
    )
    data = b.dataset.long
    result = PublicationResult(
        scores=b.scores_long,
        nodes=b.nodes,
        data=data[data["indicator"].isin(b.framework.data_series)].reset_index(drop=True),
        config=settings.model_dump(mode="json"),
        alternatives=alternatives,
        sources=pd.concat([_sources(d) for d in (raw, *overlays)], ignore_index=True),
        rank_intervals=intervals,
        rank_bounds=bounds,
        profiles=profiles,
        ahp=b.ahp_consistency(),
        unit_weights=b.unit_weights(year),
        sobol=sobol,
        tracker=(
            tracker.load(national_dir(raw), raw / "sources.csv")
            if national_dir(raw).is_dir()
            else None
        ),
    )
    fw_path = fwmod.framework_path(settings.run.framework)
    return _Run(
        result, b, str(settings.edition), year, input_files(raw, fw_path, overlays),
        {"run.seed": settings.run.seed, "uncertainty.seed": settings.uncertainty.seed},
        note, rendering,
    )  # fmt: skip


def _effective(
    settings: PublishSettings,
    b: Build,
    year: int,
    raw: Path,
    overlays: list[Path],
    out_dir: Path,
    source: str | Path | None,
    overlay_sources: list[Path] | None,
) -> PublishSettings:
    """The settings as the manifest records them: the edition and year, the raw folder and
    overlays relative to the publication, and the effective run configuration (the
    framework's settings included), complete and explicit, so a rebuild from it does not
    depend on what was left unset."""
    edition = settings.edition or str(year)
    target = out_dir / edition
    recorded = settings.raw_dir if source is not None else _recorded_raw_dir(raw, target)
    layers = (
        settings.overlays
        if overlay_sources is not None
        else [_recorded_raw_dir(o, target) for o in overlays]
    )
    return settings.model_copy(
        update={
            "edition": edition,
            "year": year,
            "raw_dir": recorded,
            "overlays": layers,
            "run": b.config,
        }
    )


def verify_publication(
    folder: str | Path,
    raw_dir: str | Path | None = None,
    overlays: Sequence[str | Path] | None = None,
    *,
    jobs: int | None = None,
) -> Verification:
    """Rebuild a publication from its manifest and compare every output byte for byte, in
    memory as each file is made (:func:`index.publish.manifest.verify`: nothing is written, the
    rebuild stops at the first difference); ``jobs``: processes of the rebuild, as for
    :func:`run_publication`.

    The raw inputs are read from ``raw_dir`` if given, else from where the manifest says
    (relative to the publication folder, so a checkout moved whole still verifies), else from the
    project's ``data/raw``; the first folder that exists is used and inputs whose SHA-256 changed
    since publication are reported."""
    folder = Path(folder)
    if not (folder / manifest.NAME).is_file():
        raise InputError(Problem(str(folder), None, None, "no manifest.json: not a publication"))
    recorded = manifest.read(folder)
    settings = PublishSettings.model_validate(recorded["config"])
    candidates = (
        [Path(raw_dir)] if raw_dir is not None else [folder / settings.raw_dir, paths.raw_dir()]
    )
    source = next((c for c in candidates if c.is_dir()), None)
    if source is None:
        raise InputError(
            Problem(
                str(folder),
                None,
                "raw_dir",
                f"the raw inputs are not at {candidates[0]}: give their folder with --raw-dir",
            )  # fmt: skip
        )
    fw_path = fwmod.framework_path(settings.run.framework)
    if not fw_path.is_file():
        raise InputError(
            Problem(str(folder), None, "run.framework", f"the framework file {fw_path} is not "
                    "here: run verify from the folder the publication was made from")
        )  # fmt: skip
    layers = (
        [Path(o) for o in overlays]
        if overlays is not None
        else [folder / o if not Path(o).is_absolute() else Path(o) for o in settings.overlays]
    )
    if missing := [str(o) for o in layers if not o.is_dir()]:
        raise InputError(
            Problem(str(folder), None, "overlays", f"overlay folder(s) not found: {missing}")
        )
    now = input_files(source, fw_path, layers)

    with (
        tempfile.TemporaryDirectory(prefix="compute-index-") as work,
        parallel.Pool(jobs) as pool,
    ):
        run = _prepare(
            settings, folder.parent, source, layers, processed=Path(work) / "inputs.parquet",
            source=source, overlay_sources=layers, pool=pool,
        )  # fmt: skip
        log.info("tables, figures and report, compared with %s as they are made", folder)
        made = publish_build.files(
            run.result, edition=run.edition, inputs=run.inputs, config=None, year=run.year,
            alternatives=None, sources=None, seeds=run.seeds, rendering=run.rendering,
        )  # fmt: skip
        return verify(folder, made, current=now)
