"""The long-panel schema (pandera) and the one place where collected problems become an InputError.

Every frame checked here carries ``file`` and ``row`` columns, so a schema failure is reported at
the cell the user typed: ``file:row:field: message``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

import numpy as np
import pandas as pd
import pandera.pandas as pa

from index.errors import InputError, Problem
from index.etl.regions import PROVINCES

PANEL_COLUMNS: Final = (
    "region_code", "region_zh", "region_en", "year", "indicator", "value", "unit", "source_id",
)  # fmt: skip
PANEL_KEY: Final = ["region_code", "year", "indicator"]
_CHECK_NAMES: Final = {"field_uniqueness": "duplicate", "not_nullable": "missing"}
YEARS: Final = (1949, 2100)


def panel_schema(indicators: Sequence[str], years: tuple[int, int] = YEARS) -> pa.DataFrameSchema:
    """Schema of the long panel: known region and indicator, year in range, finite value, unique key."""
    lo, hi = years
    text = pa.Check.str_length(min_value=1, error="must not be empty")
    return pa.DataFrameSchema(
        {
            "region_code": pa.Column(str, pa.Check.isin([p.code for p in PROVINCES])),
            "region_zh": pa.Column(str, text),
            "region_en": pa.Column(str, text),
            "year": pa.Column("int64", pa.Check.in_range(lo, hi, error=f"year outside {lo}–{hi}")),
            "indicator": pa.Column(str, pa.Check.isin(list(indicators))),
            "value": pa.Column(
                "float64", pa.Check(np.isfinite, error="out of range after unit conversion")
            ),
            "unit": pa.Column(str, text),
            "source_id": pa.Column(str, text),
        },
        unique=PANEL_KEY,
        report_duplicates="all",
    )


def _conflicts(frame: pd.DataFrame, index: Iterable[int], keys: list[str]) -> list[Problem]:
    """One problem per row that repeats the ``keys`` of an earlier row (identical repeats of an
    earlier file's row are collapsed before validation; a file repeating its own row is named)."""
    rows = frame.loc[sorted(set(index))]
    named_keys = ["region" if k == "region_code" else k for k in keys]
    problems = []
    for values, group in rows.groupby(keys, sort=True):
        first = group.iloc[0]
        named = {"region_code": first.get("region_zh", first.get("region_code"))}
        what = "/".join(str(named.get(k, v)) for k, v in zip(keys, values, strict=True))
        for _, rec in group.iloc[1:].iterrows():
            differs = ""
            if "value" in rec:
                here, there = float(rec.value), float(first.value)
                differs = (
                    f" with a different value: {here!r} here, {there!r}"
                    if here != there
                    else f" (the same value {here!r} twice)"
                )
            problems.append(
                Problem(rec.file, rec.row, rec.get("field", keys[-1]),
                        f"duplicate {'/'.join(named_keys)} {what}{differs} at {first.file}:{first.row}")
            )  # fmt: skip
    return problems


def schema_problems(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> list[Problem]:
    """Validate ``frame`` lazily; every failure becomes a Problem at its ``file``/``row``."""
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        unique = cases["check"].eq("multiple_fields_uniqueness")
        problems = _conflicts(frame, cases.loc[unique, "index"], list(schema.unique or []))
        for case in cases[~unique].itertuples(index=False):
            if pd.isna(case.index):  # a whole-column failure (e.g. wrong dtype of an empty column)
                problems.append(Problem(str(frame["file"].iloc[0]), None, case.column, case.check))
                continue
            rec = frame.loc[case.index]
            check = _CHECK_NAMES.get(case.check, case.check)
            problems.append(
                Problem(rec.file, rec.row, case.column, f"{check}: {case.failure_case!r}")
            )
        return problems
    return []


def collapse_duplicates(frame: pd.DataFrame, limit: int = 5) -> tuple[pd.DataFrame, list[str]]:
    """Drop rows repeating a region-year-indicator of an earlier *file* with the same value (two
    exports overlapping); one note per file lists the dropped rows (the first ``limit``) and the
    files holding the values kept. A row repeating one of its own file is left in: the
    uniqueness check reports it as a duplicate row (a copy-paste slip, not an overlap)."""
    keys = [*PANEL_KEY, "value"]
    within = frame.duplicated([*keys, "file"], keep="first")  # its own file's row again: kept,
    # so the uniqueness check names it whatever other files hold
    repeat = frame.duplicated(keys, keep="first") & ~within
    first = frame[~repeat].set_index([*PANEL_KEY, "value"])["file"]
    notes = []
    for file, group in frame[repeat].groupby("file", sort=True):
        rows = ", ".join(map(str, group["row"].iloc[:limit])) + (
            ", …" if len(group) > limit else ""
        )
        kept = sorted(set(first.loc[pd.MultiIndex.from_frame(group[[*PANEL_KEY, "value"]])]))
        notes.append(
            f"{file}: dropped {len(group)} row(s) repeating values already read from "
            f"{', '.join(kept)} (rows {rows})"
        )
    return frame[~repeat], notes


def raise_problems(problems: Sequence[Problem], limit: int = 5) -> None:
    """Raise one InputError listing every problem; a message repeated on many rows of the same
    file and field is shown once, with the number and first rows of the repeats."""
    if not problems:
        return
    groups: dict[tuple[str, str | None, str], list[Problem]] = {}
    for p in sorted(problems, key=lambda p: (p.file, p.row if isinstance(p.row, int) else -1)):
        groups.setdefault((p.file, p.field, p.message), []).append(p)
    merged = []
    for (file, fld, message), same in groups.items():
        if len(same) > 1:
            rows = ", ".join(str(p.row) for p in same[1 : limit + 1])
            more = ", …" if len(same) > limit + 1 else ""
            message = f"{message} (also rows {rows}{more}; {len(same)} rows in all)"
        merged.append(Problem(file, same[0].row, fld, message))
    raise InputError(merged)
