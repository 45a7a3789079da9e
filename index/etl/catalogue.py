"""The indicator catalogue (``indicators.csv``) and the sources table (``sources.csv``).

The catalogue declares, per indicator code, its zh/en names, the canonical unit every input is
converted to, the pillar dimension, whether it is a proxy, and the zh aliases under which source
tables (NBS exports) name it. Any of code, names and aliases resolves to the code. The optional
column ``signed`` (true/false; blank or absent = false) says whether the indicator can be
negative (a balance, a growth rate); every bundled indicator is a count, amount, length or share,
so a negative value is rejected as a typo. ``true``/``false`` are read case-insensitively.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pandas as pd
import pandera.pandas as pa

from index.errors import InputError, Problem
from index.etl.read import read_records
from index.etl.text import key
from index.etl.units import UnitError, parse_unit
from index.etl.validate import raise_problems, schema_problems

DIMENSIONS: Final = ("compute", "network", "storage", "environment")
CATALOGUE_FILE: Final = "indicators.csv"
SOURCES_FILE: Final = "sources.csv"


def _is_unit(text: str) -> bool:
    try:
        parse_unit(text)
    except UnitError:
        return False
    return True


_nonempty = pa.Check.str_length(min_value=1, error="must not be empty")
_flag = pa.Check.isin(["true", "false"], error="must be true or false")
CATALOGUE_SCHEMA: Final = pa.DataFrameSchema(
    {
        "code": pa.Column(
            str,
            pa.Check.str_matches(r"^[a-z][a-z0-9_]*$", error="not a snake_case code"),
            unique=True,
        ),
        "name_zh": pa.Column(str, _nonempty),
        "name_en": pa.Column(str, _nonempty),
        "unit": pa.Column(str, pa.Check(_is_unit, element_wise=True, error="unknown unit")),
        "dimension": pa.Column(str, pa.Check.isin(DIMENSIONS, error=f"not one of {DIMENSIONS}")),
        "proxy": pa.Column(str, _flag),
        "signed": pa.Column(
            str,
            pa.Check.isin(["true", "false", ""], error="must be true, false or blank"),
            required=False,
        ),
        "aliases": pa.Column(str),
    },
)
SOURCES_SCHEMA: Final = pa.DataFrameSchema(
    {
        "source_id": pa.Column(str, _nonempty, unique=True),
        "publisher": pa.Column(str, _nonempty),
        "commit": pa.Column(  # where a stored copy sits: a git commit id, or blank (a web page)
            str,
            pa.Check.str_matches(r"^([0-9a-f]{7,64})?$", error="must be a git commit id or blank"),
            required=False,
        ),
    },
)


def _read_table(path: Path, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """Read a small reference CSV as stripped strings plus ``row`` (its line in the file) and
    validate it; the true/false flag columns are lower-cased first."""
    frame = read_records(path)
    missing = [c for c, col in schema.columns.items() if col.required and c not in frame.columns]
    if missing:
        raise InputError(Problem(path.name, 1, None, f"missing columns: {', '.join(missing)}"))
    for flag in {"proxy", "signed"} & set(frame.columns) & set(schema.columns):
        frame[flag] = frame[flag].str.lower()
    raise_problems(schema_problems(schema, frame.assign(file=path.name)))
    return frame


@dataclass(frozen=True)
class Catalogue:
    """Indicator definitions indexed by code, with a lookup from any name or alias to the code."""

    table: pd.DataFrame
    lookup: dict[str, str] = field(repr=False)

    def resolve(self, label: object) -> str | None:
        """Indicator code for a code, zh/en name or alias (case, width and spacing ignored)."""
        return self.lookup.get(key(label))

    def unit(self, code: str) -> str:
        """Canonical unit of an indicator."""
        return str(self.table.at[code, "unit"])


def load_catalogue(path: str | Path) -> Catalogue:
    """Read and check ``indicators.csv``; aliases are separated by ``|``."""
    path = Path(path)
    frame = _read_table(path, CATALOGUE_SCHEMA)
    if "signed" not in frame.columns:
        frame["signed"] = ""
    frame["signed"] = frame["signed"].replace("", "false")
    lookup: dict[str, str] = {}
    problems = []
    for rec in frame.itertuples(index=False):
        names = [rec.code, rec.name_zh, rec.name_en, *rec.aliases.split("|")]
        for name in filter(None, (n.strip() for n in names)):
            other = lookup.setdefault(key(name), rec.code)
            if other != rec.code:
                message = f"{name!r} also names {other!r}"
                problems.append(Problem(path.name, rec.row, "aliases", message))
    raise_problems(problems)
    return Catalogue(frame.drop(columns="row").set_index("code"), lookup)


def load_sources(path: str | Path) -> pd.DataFrame:
    """Read and check ``sources.csv`` (one row per source id), indexed by ``source_id``."""
    path = Path(path)
    return _read_table(path, SOURCES_SCHEMA).drop(columns="row").set_index("source_id")
