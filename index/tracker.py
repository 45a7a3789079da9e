"""Action-plan tracker: the national targets of 《算力基础设施高质量发展行动计划》 (2023–2025)
against the national figures officially reported, and each province's share where a framework
series measures a target quantity.

Inputs (``data/national``, see its README): ``action_plan_targets.csv`` (one row per target
indicator: ``dimension_zh, dimension_en, indicator_zh, indicator_en, unit, target_2023,
target_2024, target_2025, source``) and ``action_plan_progress.csv`` (``indicator_en,
indicator_zh, unit, year, value, source`` and optionally ``as_of``, an ISO date, and
``qualifier``, the source's wording of a bound: 超过 more than, 约 about). Every value carries a
source id of ``data/raw/sources.csv``; a figure without a source is an error, not a blank.
An optional ``target_series.csv`` (``indicator_en, series``) declares which data series measures a
target quantity (e.g. a provincial EFLOPS series for 算力规模); a unit alone does not decide it
(mobile traffic in GB is data volume, not storage capacity). The bundled data have none: the
compute and storage pillars use proxies.

For a target $T$ due at the end of year $Y$, the reported figure is the latest one dated on or
before 31 December $Y$ (value $v$ at date $d$). With $t = (\\text{31 Dec } Y - d)/365.25$ years left:

* gap $= T - v$ (percentage points for a target in %);
* growth needed, when $v < T$ and $t > 0$: $(T/v)^{1/t} - 1$ per year for an amount, and
  $(T - v)/t$ percentage points per year for a share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from index import paths
from index.errors import InputError, Problem
from index.etl.catalogue import load_sources
from index.etl.numbers import parse_number, parse_year
from index.etl.read import read_records
from index.etl.units import UnitError, convert, parse_unit
from index.etl.validate import raise_problems

TARGETS_FILE = "action_plan_targets.csv"
PROGRESS_FILE = "action_plan_progress.csv"
SERIES_FILE = "target_series.csv"
TARGET_YEARS = (2023, 2024, 2025)
_TEXT = ("dimension_zh", "dimension_en", "indicator_zh", "indicator_en", "unit", "source")
_PROGRESS_TEXT = ("indicator_en", "indicator_zh", "unit", "source")
MORE_THAN = "超过"  # a qualifier starting with it marks the figure as a lower bound


@dataclass(frozen=True)
class Tracker:
    """The targets (indexed by ``indicator_en``), the reported figures, the sources table and the
    declared series per target (``indicator_en`` → series codes)."""

    targets: pd.DataFrame
    progress: pd.DataFrame
    sources: pd.DataFrame
    series: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def source_label(self, source_id: str) -> str:
        """``"S283 财华社 …"``: the id and its publisher (the id alone if sources.csv lacks it)."""
        if source_id in self.sources.index:
            return f"{source_id} {self.sources.at[source_id, 'publisher']}"
        return source_id


def _records(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(Problem(str(path), None, None, "file not found"))
    frame = read_records(path)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(Problem(path.name, 1, None, f"missing columns: {', '.join(missing)}"))
    return frame


def _number(text: str, problems: list[Problem], where: tuple[str, int, str]) -> float:
    """The number in a cell (NaN when blank); anything else is a Problem at ``where``."""
    try:
        value, inline = parse_number(text)
    except ValueError as exc:
        problems.append(Problem(*where, str(exc)))
        return math.nan
    if inline:
        problems.append(Problem(*where, f"write the number without {inline!r} (unit column)"))
    return math.nan if value is None else value


def _nonempty(
    frame: pd.DataFrame, columns: tuple[str, ...], name: str, problems: list[Problem]
) -> None:
    for col in columns:
        for row in frame.loc[frame[col] == "", "row"]:
            problems.append(Problem(name, int(row), col, "must not be empty"))


def national_dir() -> Path:
    """The bundled national tables, ``<project root>/data/national`` (:mod:`index.paths`)."""
    return paths.root() / "data" / "national"


def load(folder: str | Path | None = None, sources: str | Path | None = None) -> Tracker:
    """Read and check the tables in ``folder`` (default :func:`national_dir`), with the source
    ids resolved from ``sources`` (default the project's ``data/raw/sources.csv``; a missing file
    leaves the ids unresolved); every problem is reported as ``file:row:field: message``."""
    folder = national_dir() if folder is None else Path(folder)
    sources = paths.raw_dir() / "sources.csv" if sources is None else sources
    tpath, ppath = folder / TARGETS_FILE, folder / PROGRESS_FILE
    year_cols = tuple(f"target_{y}" for y in TARGET_YEARS)
    targets = _records(tpath, _TEXT + year_cols)
    progress = _records(ppath, ("year", "value", *_PROGRESS_TEXT))
    problems: list[Problem] = []
    _nonempty(targets, _TEXT, tpath.name, problems)
    _nonempty(progress, _PROGRESS_TEXT, ppath.name, problems)
    for col in year_cols:
        targets[col] = [
            _number(v, problems, (tpath.name, r, col))
            for v, r in zip(targets[col], targets["row"], strict=True)
        ]
    for r in targets.loc[targets["indicator_en"].duplicated(), "row"]:
        problems.append(Problem(tpath.name, int(r), "indicator_en", "duplicate target indicator"))
    units = dict(zip(targets["indicator_en"], targets["unit"], strict=False))
    years, values, dates = [], [], []
    for rec in progress.itertuples():
        try:
            year = parse_year(rec.year)
        except ValueError as exc:
            problems.append(Problem(ppath.name, rec.row, "year", str(exc)))
            year = 0
        years.append(year)
        value = _number(rec.value, problems, (ppath.name, rec.row, "value"))
        if math.isnan(value):
            problems.append(
                Problem(ppath.name, rec.row, "value", "a reported figure needs a value")
            )
        values.append(value)
        dates.append(
            _as_of(getattr(rec, "as_of", ""), year, problems, (ppath.name, rec.row, "as_of"))
        )
        if rec.indicator_en not in units:
            problems.append(
                Problem(
                    ppath.name,
                    rec.row,
                    "indicator_en",
                    f"no target {rec.indicator_en!r} in {TARGETS_FILE}",
                )
            )
        elif rec.unit != units[rec.indicator_en]:
            problems.append(
                Problem(
                    ppath.name,
                    rec.row,
                    "unit",
                    f"{rec.unit!r}, but the target is in {units[rec.indicator_en]!r}",
                )
            )
    progress = progress.assign(year=years, value=values, as_of=dates)
    if "qualifier" not in progress.columns:
        progress["qualifier"] = ""
    for r in progress.loc[progress.duplicated(["indicator_en", "as_of"]), "row"]:
        problems.append(
            Problem(ppath.name, int(r), "as_of", "a second figure for the same indicator and date")
        )
    series = _series(folder / SERIES_FILE, units, problems)
    raise_problems(problems)
    table = (
        load_sources(sources)
        if sources is not None and Path(sources).is_file()
        else pd.DataFrame(columns=["publisher"])
    )
    return Tracker(
        targets.drop(columns="row").set_index("indicator_en"),
        progress.drop(columns="row")
        .sort_values(["indicator_en", "as_of"], kind="stable")
        .reset_index(drop=True),
        table,
        series,
    )


def _series(
    path: Path, units: dict[str, str], problems: list[Problem]
) -> dict[str, tuple[str, ...]]:
    """``target_series.csv`` (optional): target indicator → the data series that measure it."""
    if not path.is_file():
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for rec in _records(path, ("indicator_en", "series")).itertuples():
        if rec.indicator_en not in units:
            problems.append(
                Problem(
                    path.name,
                    rec.row,
                    "indicator_en",
                    f"no target {rec.indicator_en!r} in {TARGETS_FILE}",
                )
            )
        elif is_share(units[rec.indicator_en]):
            problems.append(
                Problem(
                    path.name, rec.row, "indicator_en", "a share target has no provincial shares"
                )
            )
        elif not rec.series:
            problems.append(Problem(path.name, rec.row, "series", "must not be empty"))
        else:
            out[rec.indicator_en] = (*out.get(rec.indicator_en, ()), rec.series)
    return out


def _as_of(text: str, year: int, problems: list[Problem], where: tuple[str, int, str]) -> date:
    """The date a figure refers to: ``as_of`` (ISO, within ``year``), else 31 December of ``year``."""
    if not text:
        return date(max(year, 1), 12, 31)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        problems.append(Problem(*where, f"not an ISO date (YYYY-MM-DD): {text!r}"))
        return date(max(year, 1), 12, 31)
    if day.year != year:
        problems.append(Problem(*where, f"{text} is not in the year {year}"))
    return day


def is_share(unit: str) -> bool:
    """Whether a unit is a ratio (%, ‰): such targets are compared in percentage points."""
    try:
        return parse_unit(unit).dimension == "ratio"
    except UnitError:
        return False


def compare(tracker: Tracker) -> pd.DataFrame:
    """One row per target indicator and target year: target, the latest figure reported by the end
    of that year, gap, years left, growth needed per year and a bilingual status."""
    rows = []
    for code, t in tracker.targets.iterrows():
        share = is_share(t["unit"])
        reported = tracker.progress[tracker.progress["indicator_en"] == code]
        latest_overall = reported["as_of"].max() if len(reported) else None
        for year in TARGET_YEARS:
            target = t[f"target_{year}"]
            if math.isnan(target):
                continue
            due = date(year, 12, 31)
            before = reported[reported["as_of"] <= due]
            row = {
                "dimension_zh": t["dimension_zh"], "dimension_en": t["dimension_en"],
                "indicator_zh": t["indicator_zh"], "indicator_en": code, "unit": t["unit"],
                "year": year, "target": target, "target_source": t["source"],
                "reported": np.nan, "qualifier": "", "as_of": "", "source": "",
                "gap": np.nan, "years_left": np.nan, "needed": np.nan,
            }  # fmt: skip
            if not len(before):
                rows.append(row | {"status": "无报告值 not reported"})
                continue
            last = before.iloc[-1]
            value, left = float(last["value"]), (due - last["as_of"]).days / 365.25
            gap = target - value
            row |= {
                "reported": value, "qualifier": last["qualifier"], "as_of": last["as_of"].isoformat(),
                "source": last["source"], "gap": gap, "years_left": left,
            }  # fmt: skip
            if gap > 0 and left > 0:
                row["needed"] = gap / left if share else (target / value) ** (1 / left) - 1
            rows.append(row | {"status": _status(gap, left, last, latest_overall)})
    return pd.DataFrame(rows)


def _status(gap: float, left: float, last: pd.Series, latest_overall: date | None) -> str:
    """Bilingual status of one target: reached; not reached (a year-end figure below it); for a
    lower bound ("more than …") below it at year end, undetermined; no year-end figure (a later
    figure exists); otherwise in progress."""
    if gap <= 0:
        return "已达成 reached"
    if left == 0:
        bound = str(last["qualifier"]).startswith(MORE_THAN)
        return "未确定 undetermined (lower bound)" if bound else "未达成 not reached"
    if latest_overall is not None and latest_overall > last["as_of"]:
        return "无年末值 no year-end figure"
    return "进行中 in progress"


def province_shares(tracker: Tracker, data: pd.DataFrame) -> pd.DataFrame:
    r"""Each province's share (%) of the national figure, for every series of ``data`` (long:
    year, region_code, region_zh, region_en, indicator, value, unit) that ``target_series.csv``
    declares for an amount target: share $= 100\,x_i f / V$, with $f$ the exact factor from the
    series' unit to the target's and $V$ the national figure of the same year (its latest date).
    A declared series whose unit cannot be converted is an error."""
    frames, problems = [], []
    for code, names in tracker.series.items():
        unit = tracker.targets.at[code, "unit"]
        national = tracker.progress[tracker.progress["indicator_en"] == code]
        national = national.groupby("year")["value"].last()
        for (series, src_unit), rows in data[data["indicator"].isin(names)].groupby(
            ["indicator", "unit"]
        ):
            try:
                values = convert(rows["value"].to_numpy(), src_unit, unit)
            except UnitError as exc:
                problems.append(Problem(SERIES_FILE, None, series, str(exc)))
                continue
            rows = rows.assign(value=values, national=rows["year"].map(national)).dropna(
                subset=["national"]
            )
            frames.append(
                rows.assign(
                    indicator_en=code,
                    series=series,
                    unit=unit,
                    share=100 * rows["value"] / rows["national"],
                )
            )
    raise_problems(problems)
    cols = [
        "indicator_en",
        "series",
        "year",
        "region_code",
        "region_zh",
        "region_en",
        "value",
        "unit",
        "national",
        "share",
    ]
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames)[cols]
    return out.sort_values(["indicator_en", "series", "year", "region_code"]).reset_index(drop=True)
