"""Import COINr's iData/iMeta pair (the JRC's R package format) as a framework and a dataset.

iMeta rows of Type ``Indicator`` and ``Aggregate`` become the hierarchy (Level, Parent, Weight,
Direction, Target, Denominator, the goalposts ``goalpost_lower`` / ``goalpost_upper`` and the
bounds ``scaled_lower`` / ``scaled_upper`` of ``n_scaled``, each pair both or neither); COINr's
per-indicator ``goalpost_scale``, ``goalpost_trunc2posts``, ``scale_factor`` and
``dist2targ_cap_max`` are one setting each here, carried as the framework's recommended
``normalise.method_defaults`` (values that differ between indicators are an error); ``Group``
rows name unit-group columns; ``Denominator`` rows name denominator series; ``Other`` rows are
passed over. iData holds one row per unit (and per numeric ``Time`` for panels);
``uName`` and ``iName`` are optional (default: the code).

Both tables are checked as COINr's ``check_iMeta`` / ``check_iData`` / ``new_coin`` check them,
so what COINr refuses is refused here, with every problem located as ``file:row:column``
(row = the CSV line): the required iMeta columns (Level, iCode, Parent, Direction, Type, Weight),
Type one of the five, unique iCodes, Level 1 for indicators and a Parent exactly one level up,
a Direction of ±1 for every indicator (an aggregate's, which nothing here uses, may be blank;
COINr requires it) and a numeric Weight for every indicator and aggregate, a numeric Target; in
iData a uCode column, an iMeta row for every other column but uName and Time, a whole-number Time, one row per uCode (per uCode and Time in a panel),
a unit's groups the same in every year, a column for every indicator (a group or denominator
column is needed only where it is used), and numbers in the indicator columns (COINr refuses text
such as "n/a" rather than reading it as missing; blank and ``NA`` are missing). An iMeta column
that is a near miss of one read here (``target``, ``Weigth``) is an error, not passed over.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from index.dataset import Dataset
from index.errors import InputError, Problem
from index.etl.read import read_bytes
from index.framework import Aggregate, Framework, Indicator, Root

_META_COLS = {"Level", "iCode", "Direction", "Weight", "Parent", "Type"}
_TYPES = ("Indicator", "Aggregate", "Group", "Denominator", "Other")
_PAIRS = {  # iMeta columns → the framework field of the (lower, upper) pair they give
    "goalposts": ("goalpost_lower", "goalpost_upper"),  # n_goalposts
    "scaled_bounds": ("scaled_lower", "scaled_upper"),  # n_scaled
}
_SETTINGS = {  # iMeta column → (normaliser, its parameter, is a logical): one value for all here
    "goalpost_scale": ("goalposts", "scale", False),
    "goalpost_trunc2posts": ("goalposts", "trunc", True),
    "scale_factor": ("scaled", "scale_factor", False),
    "dist2targ_cap_max": ("dist2targ", "cap", True),
}
_NUMERIC = ("Level", "Direction", "Weight", "Target", *(c for p in _PAIRS.values() for c in p),
            *(c for c, (_, _, flag) in _SETTINGS.items() if not flag))  # fmt: skip
_READ_COLS = _META_COLS | {"iName", "Unit", "Target", "Denominator", *_NUMERIC, *_SETTINGS}


def _read(path: str | Path) -> pd.DataFrame:
    """A COINr CSV; an unreadable, binary or empty file (or one with a header only) is an
    ``InputError`` naming it."""
    path = Path(path)
    try:
        data = read_bytes(path, str(path))
        frame = pd.read_csv(io.BytesIO(data), keep_default_na=False, na_values=["", "NA"])
    except pd.errors.EmptyDataError:
        raise InputError(Problem(str(path), None, None, "empty file: no header, no rows")) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(Problem(str(path), None, None, f"cannot read as CSV: {why}")) from None
    if frame.empty:
        raise InputError(Problem(str(path), 1, None, "header only: no rows"))
    return frame


def framework_from_imeta(imeta: pd.DataFrame, source: str = "iMeta") -> Framework:
    """Build a Framework from an iMeta table. Further columns are passed over, as COINr keeps
    them, but one that differs from a column read here only in case or by a slip (``target``,
    ``Weigth``) is an error: its values would be ignored without a word."""
    out = []
    for col in map(str, imeta.columns):
        if col in _READ_COLS:
            continue
        if same := [k for k in sorted(_READ_COLS) if k.lower() == col.lower()]:
            why = "COINr's iMeta column names are case-sensitive"
        elif same := [k for k in sorted(_READ_COLS) if _one_slip(col, k)]:
            why = "its values would not be read"
        else:  # another column (iName_zh, Description …): passed over, as COINr keeps it
            continue
        out.append(
            Problem(source, 1, col, f"unknown column '{col}' (did you mean '{same[0]}'?): {why}")
        )
    if missing := _META_COLS - set(imeta.columns):
        out.append(Problem(source, None, None, f"missing columns {sorted(missing)}"))
    if out:
        raise InputError(out)
    imeta = imeta.copy()
    if "iName" not in imeta.columns:  # COINr: names default to the codes
        imeta["iName"] = imeta["iCode"]
    _check_imeta(imeta, source)
    rows = imeta[imeta["Type"].isin(["Indicator", "Aggregate"])]
    top = rows["Level"].max()
    roots = rows[rows["Level"] == top]
    if len(roots) != 1:
        raise InputError(Problem(source, None, "Level", f"expected one node at level {top}"))
    r = roots.iloc[0]
    root = Root(code=r["iCode"], name_en=str(r["iName"]), weight=_num(r["Weight"], 1.0))
    aggs, inds = [], []
    for _, row in rows[rows["Level"] < top].iterrows():
        common = {
            "code": row["iCode"],
            "name_en": str(row["iName"]),
            "parent": row["Parent"],
            "weight": _num(row["Weight"], 1.0),
        }
        if row["Type"] == "Aggregate":
            aggs.append(Aggregate(**common))
        else:
            den = row.get("Denominator")
            inds.append(
                Indicator(
                    **common,
                    direction=int(_num(row["Direction"], 1)),  # type: ignore[arg-type]  # ±1 checked by the model
                    unit="" if pd.isna(row.get("Unit")) else str(row.get("Unit")),
                    denominator=None if pd.isna(den) else str(den),
                    target=None if pd.isna(row.get("Target")) else float(row["Target"]),
                    goalposts=_pair(row, _PAIRS["goalposts"], source),
                    scaled_bounds=_pair(row, _PAIRS["scaled_bounds"], source),
                )
            )
    defaults = _same_for_all(rows[rows["Type"] == "Indicator"], source)
    config = {"normalise": {"method_defaults": defaults}} if defaults else None
    return Framework.from_nodes(root, aggs, inds, source, config)


def _line(i: object) -> int:
    """The CSV line of a 0-based data row (line 1 is the header)."""
    return int(i) + 2  # type: ignore[call-overload]


def _numeric(col: pd.Series) -> pd.Series:
    """``col`` as numbers; text that is not a number becomes NaN (callers report it)."""
    return pd.to_numeric(col, errors="coerce")


def _check_imeta(imeta: pd.DataFrame, source: str) -> None:
    """COINr's ``check_iMeta`` rules (module docstring); every violation is a located Problem."""
    out: list[Problem] = []
    typ = imeta["Type"]
    for i in imeta.index[~typ.isin(_TYPES)]:
        out.append(Problem(source, _line(i), "Type", f"{typ[i]!r} is not one of {list(_TYPES)}"))
    code = imeta["iCode"]
    for i in imeta.index[code.isna()]:
        out.append(Problem(source, _line(i), "iCode", "missing code"))
    for i in imeta.index[code.duplicated() & code.notna()]:
        out.append(Problem(source, _line(i), "iCode", f"duplicate code {code[i]!r}"))
    tree = typ.isin(["Indicator", "Aggregate"])
    for col in _NUMERIC:
        if col not in imeta.columns:
            continue
        num = _numeric(imeta[col])
        for i in imeta.index[imeta[col].notna() & num.isna()]:
            out.append(Problem(source, _line(i), col, f"not a number: {imeta[col][i]!r}"))
        if col in ("Level", "Direction", "Weight"):
            need = (typ == "Indicator") if col == "Direction" else tree  # unused for aggregates
            for i in imeta.index[need & imeta[col].isna()]:
                out.append(Problem(source, _line(i), col, f"missing for {typ[i]} {code[i]!r}"))
    level = _numeric(imeta["Level"])
    direction = _numeric(imeta["Direction"])
    for i in imeta.index[direction.notna() & ~direction.isin([1, -1])]:
        out.append(Problem(source, _line(i), "Direction", f"must be 1 or -1, got {direction[i]:g}"))
    for i in imeta.index[(typ == "Indicator") & level.notna() & (level != 1)]:
        out.append(Problem(source, _line(i), "Level", f"indicator {code[i]!r} must be at Level 1"))
    level_of = dict(zip(code, level, strict=True))
    top = level[tree].max()
    for i in imeta.index[tree & level.notna()]:
        parent = imeta["Parent"][i]
        if level[i] == top or pd.isna(parent) or parent not in level_of:
            continue  # the root; a missing or unknown parent is the framework's error
        if level_of[parent] != level[i] + 1:
            out.append(
                Problem(
                    source,
                    _line(i),
                    "Parent",
                    f"{code[i]!r} (Level {level[i]:g}) has parent {parent!r} at Level "
                    f"{level_of[parent]:g}; a parent must be exactly one level up",
                )
            )
    if "iName" in imeta.columns:
        for i in imeta.index[imeta["iName"].isna()]:
            out.append(Problem(source, _line(i), "iName", "missing name (or leave the column out)"))
    if out:
        raise InputError(out)


def _pair(row: pd.Series, cols: tuple[str, str], source: str) -> tuple[float, float] | None:
    """A (lower, upper) pair of iMeta columns read with COINr's ``f_n_para = "use_iMeta"``:
    ``goalpost_lower`` / ``goalpost_upper`` (``n_goalposts``), ``scaled_lower`` /
    ``scaled_upper`` (``n_scaled``). Both or neither."""
    lo, hi = row.get(cols[0]), row.get(cols[1])
    if pd.isna(lo) and pd.isna(hi):
        return None
    if pd.isna(lo) or pd.isna(hi):
        given, blank = cols if pd.isna(hi) else cols[::-1]
        raise InputError(
            Problem(source, _line(row.name), blank, f"give both {cols[0]} and {cols[1]} or "
                    f"neither ({row['iCode']!r} has {given} only)")
        )  # fmt: skip
    return float(lo), float(hi)


def _same_for_all(indicators: pd.DataFrame, source: str) -> dict[str, dict[str, float | bool]]:
    """The per-indicator iMeta parameters that are one setting here (:data:`_SETTINGS`:
    ``goalpost_scale`` → ``normalise.scale`` …), as ``normalise.method_defaults`` (used when the
    run config does not set them). Values that differ between indicators cannot be honoured, so
    they are an error, not ignored; a blank cell among given ones differs too."""
    from index.methods import params as prm
    from index.methods.normalize import NORMALISERS

    out: dict[str, dict[str, float | bool]] = {}
    for col, (method, param, flag) in _SETTINGS.items():
        if col not in indicators.columns or indicators[col].isna().all():
            continue
        cells = indicators[col]
        values = {i: _flag(v, source, _line(i), col) if flag else v for i, v in cells.items()}
        value = values[cells.index[0]]
        for i, v in values.items():
            if not (v == value or (pd.isna(v) and pd.isna(value))):
                raise InputError(
                    Problem(source, _line(i), col, f"{_cell(v)} differs from {_cell(value)} above"
                            f" (line {_line(cells.index[0])}); set one normalise.{param} for all "
                            "instead")
                )  # fmt: skip
        value = bool(value) if flag else float(value)
        if problems := prm.check("normalisation", method, NORMALISERS[method], {param: value}):
            raise InputError(Problem(source, _line(indicators.index[0]), col, problems[0]))
        out.setdefault(method, {})[param] = value
    return out


def _flag(v: object, source: str, line: int, col: str) -> bool | float:
    """An R logical cell: TRUE/FALSE (T/F, true/false); blank stays NaN; anything else is an
    error (COINr would fail on it)."""
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if pd.isna(v):
        return np.nan
    word = {"TRUE": True, "T": True, "FALSE": False, "F": False}.get(str(v).strip().upper())
    if word is None:
        raise InputError(Problem(source, line, col, f"not TRUE or FALSE: {v!r}"))
    return word


def _cell(v: object) -> str:
    """A cell as the user wrote it: blank, TRUE/FALSE, or the number."""
    if isinstance(v, bool):
        return str(v).upper()
    return "a blank" if pd.isna(v) else f"{v:g}"


def _one_slip(a: str, b: str) -> bool:
    """``a`` is ``b`` with one character added, dropped, changed, or two neighbours swapped
    (``Weigth``, ``Units``, ``Levl``); names shorter than four letters are never slips."""
    if a == b or min(len(a), len(b)) < 4 or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [k for k in range(len(a)) if a[k] != b[k]]
        swap = len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
        return len(diff) == 1 or (swap and a[diff[1]] == b[diff[0]])
    short, long = sorted((a, b), key=len)
    return any(long[:k] + long[k + 1 :] == short for k in range(len(long)))


def _num(v, default: float) -> float:
    if pd.isna(v):
        return default
    try:
        return float(v)
    except (TypeError, ValueError):
        raise InputError(Problem("iMeta", None, None, f"not a number: {v!r}")) from None


def dataset_from_idata(idata: pd.DataFrame, imeta: pd.DataFrame, source: str = "iData") -> Dataset:
    """Build a Dataset (units sorted by uCode, as COINr's new_coin does) from iData."""
    if "uCode" not in idata.columns:
        raise InputError(Problem(source, 1, "uCode", "iData without a uCode column"))
    series = imeta.loc[imeta["Type"].isin(["Indicator", "Denominator"]), "iCode"].tolist()
    groups = imeta.loc[imeta["Type"] == "Group", "iCode"].tolist()
    data = idata.copy()
    if "Time" not in data.columns:
        data["Time"] = 0
    _check_idata(data, imeta, source)
    data["Time"] = _numeric(data["Time"]).astype(int)
    present = [s for s in series if s in data.columns]
    long = data.melt(id_vars=["uCode", "Time"], value_vars=present, var_name="indicator")
    long = long.rename(columns={"uCode": "unit", "Time": "year"})
    long["value"] = pd.to_numeric(long["value"], errors="coerce")
    units = (
        data.drop_duplicates("uCode")
        .set_index("uCode")
        .sort_index()
        .rename(columns={"uName": "name_en"})
    )
    if "name_en" not in units.columns:
        units["name_en"] = units.index
    units["name_zh"] = units["name_en"]
    units = units[["name_zh", "name_en", *[g for g in groups if g in units.columns]]]
    units.index = units.index.astype(str)
    units.index.name = "unit"
    ds = Dataset.from_long(long, units, unit_col="unit", source=source)
    # keep every declared series even when all its values are missing
    if len(ds.series) < len(present):
        idx = pd.Index(ds.series)
        vals = np.full((*ds.values.shape[:2], len(present)), np.nan)
        for k, s in enumerate(present):
            if s in idx:
                vals[..., k] = ds.values[..., idx.get_loc(s)]
        ds = Dataset(
            vals, ds.years, ds.unit_codes, tuple(present), units, ds.series_meta, ds.long, source
        )
    return ds


def _check_idata(data: pd.DataFrame, imeta: pd.DataFrame, source: str) -> None:
    """COINr's ``check_iData`` / ``new_coin`` rules on iData (module docstring), located."""
    out: list[Problem] = []
    time = _numeric(data["Time"])
    for i in data.index[time.isna() | (time != time.round())]:
        out.append(Problem(source, _line(i), "Time", f"not a whole number: {data['Time'][i]!r}"))
    unit = data["uCode"]
    for i in data.index[unit.isna()]:
        out.append(Problem(source, _line(i), "uCode", "missing unit code"))
    panel = time.nunique() > 1
    dup = data.duplicated(["uCode", "Time"] if panel else ["uCode"]) & unit.notna()
    for i in data.index[dup]:
        what = f"{unit[i]!r} in Time {data['Time'][i]}" if panel else repr(unit[i])
        out.append(Problem(source, _line(i), "uCode", f"duplicate row for unit {what}"))
    if panel:  # one set of groups per unit: they cannot change between years here (COINr
        # builds each Time on its own and would accept it; documented as a difference)
        for g in imeta.loc[imeta["Type"] == "Group", "iCode"]:
            if g in data.columns:
                first = data.groupby("uCode")[g].transform("first")
                moved = (data[g] != first) & ~(data[g].isna() & first.isna())
                for u, rows in data.index[moved].groupby(unit[moved]).items():
                    i = rows[0]  # the first row where the unit's group differs from its first
                    out.append(
                        Problem(source, _line(i), str(g), f"unit {u!r} changes group over Time "
                                f"({first[i]!r} → {data[g][i]!r} in Time {data['Time'][i]}); "
                                "one group per unit is supported")
                    )  # fmt: skip
    described = set(imeta["iCode"].dropna().astype(str)) | {"uCode", "uName", "Time"}
    for c in data.columns:  # COINr new_coin: every iData column but the special ones has a row
        if str(c) not in described:
            out.append(
                Problem(source, 1, str(c), "column not in iMeta (every iData column but uCode, "
                        "uName and Time needs an iMeta row; Type 'Other' carries one unused)")
            )  # fmt: skip
    needed = imeta.loc[imeta["Type"] == "Indicator", "iCode"].dropna()
    for c in needed[~needed.isin(data.columns)]:  # a Group, Denominator or Other row may lack its
        # column (COINr stops; here it is an error only where a step reads it, e.g. group means)
        out.append(Problem(source, 1, str(c), "an iMeta indicator with no iData column"))
    for c in imeta.loc[imeta["Type"].isin(["Indicator", "Denominator"]), "iCode"]:
        if c not in data.columns:
            continue
        col = data[c]
        bad = col.notna() & _numeric(col).isna()
        for i in data.index[bad][:5]:
            out.append(Problem(source, _line(i), str(c), f"not a number: {col[i]!r}"))
    if out:
        raise InputError(out)


def load_coinr(idata_path: str | Path, imeta_path: str | Path) -> tuple[Framework, Dataset]:
    """Read an iData/iMeta CSV pair into (framework, dataset)."""
    imeta = _read(imeta_path)
    fw = framework_from_imeta(imeta, Path(imeta_path).name)
    ds = dataset_from_idata(_read(idata_path), imeta, Path(idata_path).name)
    return fw, ds
