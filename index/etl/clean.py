"""Raw long frame (text) → typed long panel in catalogue units, with every problem located.

Per row: the region resolves to a GB/T 2260 code (totals, HK, Macao, Taiwan are dropped with a
note, or rejected when ``drop_non_provinces`` is off); the indicator label resolves through the
catalogue; the year parses; the value parses (missing marks are counted per indicator and the row
is dropped; an indicator with no value at all in a file gets a note); the declared unit — or an
inline ``%`` on the cell — converts to the catalogue unit (a missing cell needs no unit); a value
is negative only if the catalogue marks the indicator ``signed``.
Each rule runs once per distinct input, not once per row.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from index.errors import Problem
from index.etl import regions
from index.etl.catalogue import Catalogue
from index.etl.numbers import footnote, parse_decimal, parse_year
from index.etl.read import LABEL_UNIT
from index.etl.text import clean as clean_text
from index.etl.units import UnitError, convert, factor, parse_unit
from index.etl.validate import YEARS

LOCATED_COLUMNS = ("file", "row", "field", "region_code", "region_zh", "region_en", "year",
                   "indicator", "value", "unit", "source_id")  # fmt: skip


@dataclass(frozen=True)
class Cleaned:
    """Typed rows (``LOCATED_COLUMNS``), missing-cell counts per indicator, notes and problems."""

    frame: pd.DataFrame
    missing: pd.Series
    notes: list[str]
    problems: list[Problem]


def _each(func: Callable[..., Any], *columns: pd.Series) -> pd.Series:
    """``func`` of each row's cells, called once per distinct tuple of the columns (object dtype).

    The columns are read as object arrays: iterating a pyarrow-backed string column cell by cell
    costs more than the work on its few distinct values."""
    keys = list(zip(*(c.to_numpy(dtype=object) for c in columns), strict=True))
    results = {k: func(*k) for k in dict.fromkeys(keys)}
    name = columns[0].name if len(columns) == 1 else None
    return pd.Series([results[k] for k in keys], index=columns[0].index, dtype=object, name=name)


def _apply(func: Callable[..., Any], *columns: pd.Series) -> tuple[pd.Series, pd.Series]:
    """:func:`_each` of ``func`` → (results, error messages; '' if none): a ``ValueError`` is
    the cell's error (None its result)."""

    def attempt(*cells: Any) -> tuple[Any, str]:
        try:
            return func(*cells), ""
        except ValueError as exc:  # includes UnitError
            return None, str(exc)

    both = _each(attempt, *columns)
    results, errors = zip(*both, strict=True) if len(both) else ((), ())
    return (
        pd.Series(results, index=both.index, dtype=object),
        pd.Series(errors, index=both.index, dtype=object),
    )


def _region(name: str) -> str | object:
    code = regions.resolve(name)
    if code is None:
        raise ValueError(f"unknown region {name!r}" if name.strip() else "no region given")
    return code


def _unknown_indicator(label: str, catalogue: Catalogue) -> str:
    """Why ``label`` names no indicator: empty, a known name with an unknown ``(unit)``, or unknown."""
    m = LABEL_UNIT.fullmatch(clean_text(label))
    if m and catalogue.resolve(m.group(1)):
        return f"unknown unit {m.group(2)!r} in the label {label!r}"
    return f"unknown indicator {label!r}" if label.strip() else "no indicator given"


def _year(text: str, years: tuple[int, int]) -> int:
    year = parse_year(text)
    if not years[0] <= year <= years[1]:
        raise ValueError(f"year {year} outside {years[0]}–{years[1]}")
    return year


def _unit(declared: str, parsed: tuple[float | None, str] | None, target: object) -> str:
    """The unit the cell is in — its inline ``%``/``‰`` if any, else the declared unit — checked
    to be known and convertible to the catalogue unit ``target``; only a value of a known
    indicator must have one (a missing or unreadable cell, or an unknown indicator, need not)."""
    inline = parsed[1] if parsed else ""
    declared = declared.strip()
    if inline and declared and parse_unit(declared).dimension != parse_unit(inline).dimension:
        raise UnitError(f"cell is written in {inline!r} but the series unit is {declared!r}")
    unit = inline or declared
    if not unit:
        if isinstance(target, str) and parsed is not None and parsed[0] is not None:
            raise UnitError("no unit declared (add a unit column, a '(unit)' label or unit = … )")
        return ""
    if not isinstance(target, str):  # unknown indicator: the unit can only be checked to exist
        parse_unit(unit)
    else:
        factor(unit, target)
    return unit


def clean(
    raw: pd.DataFrame,
    catalogue: Catalogue,
    *,
    sources: Collection[str] | None = None,
    drop_non_provinces: bool = True,
    years: tuple[int, int] = YEARS,
) -> Cleaned:
    """Resolve, parse and convert the raw long frame; ``sources`` (if given) are the valid ids and
    ``years`` the accepted (first, last) year."""
    code, region_err = _apply(_region, raw["region"])
    indicator = _each(catalogue.resolve, raw["indicator"])
    known = indicator.notna()
    year, year_err = _apply(lambda text: _year(text, years), raw["year"])
    parsed, value_err = _apply(parse_decimal, raw["value"])
    target = indicator.map(catalogue.table["unit"]).astype(object)
    unit, unit_err = _apply(_unit, raw["unit"], parsed, target)
    dropped = code.map(lambda c: c is regions.DROP)
    is_missing = parsed.map(lambda p: p is not None and p[0] is None)
    counted = known & ~dropped  # rows whose value enters the panel or the missing counts
    signed = indicator.map(catalogue.table["signed"]).eq("true")
    negative = parsed.map(lambda p: p is not None and p[0] is not None and p[0] < 0)
    unknown = {i: _unknown_indicator(i, catalogue) for i in raw.loc[~known, "indicator"].unique()}

    checks: list[tuple[pd.Series, str | pd.Series, pd.Series | str]] = [
        (region_err != "", "region", region_err),
        (~known, "indicator", raw["indicator"].map(unknown)),
        (year_err != "", "year", year_err),
        (value_err != "", raw["field"], value_err),
        (unit_err != "", "unit", unit_err),
        (
            counted & negative & ~signed,
            raw["field"],
            "negative value " + raw["value"].map(repr) + " for " + indicator.astype(str)
            + " (allowed only if indicators.csv marks it signed = true)",
        ),
    ]  # fmt: skip
    if sources is not None:
        bad = ~raw["source"].isin(set(sources))
        checks.append((bad, "source", "unknown source id " + raw["source"].map(repr)))
    if not drop_non_provinces:
        msg = "not one of the 31 provinces: " + raw["region"].map(repr)
        checks.append((dropped, "region", msg))
    files, rows = raw["file"].to_numpy(dtype=object), raw["row"].to_numpy()
    problems = [
        Problem(files[k], int(rows[k]), str(fields[k]), str(messages[k]))
        for bad, field, message in checks
        for fields, messages in [(_per_row(field, len(raw)), _per_row(message, len(raw)))]
        for k in np.flatnonzero(bad.to_numpy(dtype=bool))
    ]
    notes = [
        f"{file}: dropped {len(g)} row(s) for {name!r} (not one of the 31 provinces)"
        for (file, name), g in raw[dropped].groupby(["file", "region"], sort=True)
    ]
    every = (
        is_missing[counted].groupby([raw["file"][counted], indicator[counted]]).agg(["all", "size"])
    )
    notes += [
        f"{file}: no value for {code} (all {n} cell(s) missing)"
        for (file, code), (all_missing, n) in every.iterrows()
        if all_missing
    ]
    notes += _footnote_notes(raw)
    failed = pd.concat([c[0] for c in checks], axis=1).any(axis=1)
    missing = indicator[is_missing & counted].value_counts().sort_index()
    keep = ~(failed | dropped | is_missing)
    return Cleaned(
        _typed(raw[keep], code, indicator, year, parsed, unit, target), missing, notes, problems
    )


def _footnote_notes(raw: pd.DataFrame, limit: int = 5) -> list[str]:
    """One note per file whose value cells carried footnote marks (``123.4①``), which were
    stripped: the marks and the first rows, so the user can check the footnotes."""
    marks = _each(footnote, raw["value"])
    notes = []
    for file, group in raw[marks != ""].groupby("file", sort=True):
        rows = ", ".join(map(str, group["row"].iloc[:limit])) + (
            ", …" if len(group) > limit else ""
        )
        seen = " ".join(dict.fromkeys(marks[group.index]))
        notes.append(
            f"{file}: footnote marks {seen} stripped from {len(group)} value cell(s) (rows {rows});"
            " the value is the number before the mark"
        )
    return notes


def _per_row(item: str | pd.Series, n: int) -> np.ndarray | list[str]:
    """A check's field or message by row position: one text for every row, or one per row."""
    return [item] * n if isinstance(item, str) else item.to_numpy(dtype=object)


def _typed(
    rows: pd.DataFrame,
    code: pd.Series,
    indicator: pd.Series,
    year: pd.Series,
    parsed: pd.Series,
    unit: pd.Series,
    target: pd.Series,
) -> pd.DataFrame:
    """Typed, converted rows: each value is the cell's exact decimal times the exact factor from its
    unit to the catalogue unit, rounded to a double once (per (source unit, catalogue unit) group)."""
    idx = rows.index
    out = pd.DataFrame(
        {
            "file": rows["file"],
            "row": rows["row"].astype("int64"),
            "field": rows["field"],
            "region_code": code[idx].astype(str),
            "year": year[idx].astype("int64"),
            "indicator": indicator[idx].astype(str),
            "value": pd.Series([p[0] for p in parsed[idx]], index=idx, dtype=object),
            "unit": target[idx].astype(str),
            "source_id": rows["source"],
        },
        index=idx,
    )
    values = np.full(len(out), np.nan)
    pos = pd.Series(np.arange(len(out)), index=idx)
    for (src, dst), group in out.groupby([unit[idx], out["unit"]], sort=True):
        values[pos[group.index].to_numpy()] = convert(group["value"].to_numpy(), src, dst)
    out["value"] = values
    labels = regions.labels()
    out["region_zh"] = out["region_code"].map(labels["name_zh"])
    out["region_en"] = out["region_code"].map(labels["name_en"])
    return out[list(LOCATED_COLUMNS)].astype(
        {c: str for c in LOCATED_COLUMNS if c not in ("row", "year", "value")}
    )
