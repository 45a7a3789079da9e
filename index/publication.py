"""The annual publication run: ingest → index for every year → alternatives → uncertainty → folder.

Everything that determines the files is in :class:`PublishSettings`, which the manifest records,
so ``verify`` can rebuild a publication from its manifest alone and compare every byte.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from index import framework as fwmod
from index import paths
from index.config import Config
from index.dataset import load_inputs
from index.errors import InputError, Problem
from index.etl.ingest import ingest
from index.pipeline import Build, build
from index.publish import Publication, Verification, build_publication, manifest, verify


class Alternative(BaseModel):
    """An alternative ranking shown beside the baseline: a label and its --set overrides."""

    model_config = ConfigDict(extra="forbid")

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

    model_config = ConfigDict(extra="forbid")

    runs: int = Field(default=2000, ge=0)
    seed: int = 20231008
    spec: str = "default"


class PublishSettings(BaseModel):
    """All that determines a publication (recorded in manifest.json)."""

    model_config = ConfigDict(extra="forbid")

    raw_dir: str = "data/raw"
    edition: str | None = None
    year: int | None = None
    run: Config = Config()
    alternatives: list[Alternative] = Field(default_factory=lambda: list(DEFAULT_ALTERNATIVES))
    uncertainty: UncertaintySettings = UncertaintySettings()


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


def input_files(settings: PublishSettings, fw_path: Path) -> dict[str, Path]:
    """Every file that feeds the run, keyed by its path relative to the working directory."""
    raw = Path(settings.raw_dir)
    files = sorted(p for p in raw.rglob("*") if p.is_file() and not p.name.startswith("."))
    files.append(fw_path)
    return {_relative(p): p for p in files}


def _relative(p: Path) -> str:
    try:
        return p.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return p.as_posix()


def _alternatives(b: Build, settings: PublishSettings, year: int) -> pd.DataFrame:
    frames = []
    schemes = {
        "基准 baseline": b,
        **{a.label: b.rebuild(*a.overrides) for a in settings.alternatives},
    }
    for label, alt in schemes.items():
        r = alt.ranking(year)
        frames.append(
            pd.DataFrame({"scheme": label, "region_code": r.index, "rank": r["rank"].to_numpy()})
        )
    return pd.concat(frames, ignore_index=True)


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


def run_publication(
    settings: PublishSettings,
    out_dir: str | Path | None = None,
    *,
    processed: str | Path | None = None,
) -> tuple[Publication, Build]:
    """Ingest, build every year, compare alternatives, and write ``<out_dir>/<edition>/``
    (default: the project's ``publications/``).

    ``processed`` is where the ingested panel goes: by default the project's
    ``data/processed/inputs.parquet`` when the raw folder is the project's own ``data/raw``,
    and a temporary file otherwise (a publication of other inputs never overwrites the
    repository's processed data). Returns the publication and the nominal build.
    """
    if processed is None:
        if Path(settings.raw_dir).resolve() == paths.raw_dir().resolve():
            return run_publication(settings, out_dir, processed=paths.inputs())
        with tempfile.TemporaryDirectory(prefix="compute-index-") as work:
            return run_publication(settings, out_dir, processed=Path(work) / "inputs.parquet")
    out_dir = paths.publications() if out_dir is None else out_dir
    ingest(settings.raw_dir, processed)
    ds = load_inputs(processed)
    fw_path = fwmod.framework_path(settings.run.framework)
    b = build(settings.run, ds)
    year = settings.year or b.years[-1]
    if year not in b.years:
        raise InputError(Problem("publish", None, "year", f"{year} not in {list(b.years)}"))
    edition = settings.edition or str(year)
    settings = settings.model_copy(update={"edition": edition, "year": year})
    data = b.dataset.long
    data = data[data["indicator"].isin(b.framework.data_series)]
    intervals = _rank_intervals(b, settings, year) if settings.uncertainty.runs else None
    result = PublicationResult(
        scores=b.scores_long,
        nodes=b.nodes,
        data=data.reset_index(drop=True),
        config=settings.model_dump(mode="json"),
        alternatives=_alternatives(b, settings, year),
        sources=_sources(Path(settings.raw_dir)),
        rank_intervals=intervals,
    )
    pub = build_publication(
        result,
        out_dir,
        edition=edition,
        inputs=input_files(settings, fw_path),
        year=year,
        seeds={"run.seed": settings.run.seed, "uncertainty.seed": settings.uncertainty.seed},
    )
    return pub, b


def verify_publication(folder: str | Path) -> Verification:
    """Rebuild a publication from its manifest and compare every output byte for byte."""
    folder = Path(folder)
    if not (folder / manifest.NAME).is_file():
        raise InputError(Problem(str(folder), None, None, "no manifest.json: not a publication"))
    recorded = manifest.read(folder)
    settings = PublishSettings.model_validate(recorded["config"])

    def rebuild(tmp: Path) -> Path:
        with tempfile.TemporaryDirectory(prefix="compute-index-") as work:
            pub, _ = run_publication(settings, tmp, processed=Path(work) / "inputs.parquet")
        return pub.folder

    return verify(folder, rebuild, base=Path.cwd())
