"""Region groups (``data/raw/region_groups.csv``): the unit-group columns group methods read.

Long table ``region, grouping, group_zh, group_en, source``: one row per region and grouping
(``nbs_region`` = NBS 东部/中部/西部/东北; ``hub_node`` = the national compute hub node). Every
grouping must name every region of the panel once; every source id must be in ``sources.csv``.
The groups travel with the ingested panel (Parquet metadata) into ``Dataset.units``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import pandas as pd

from index.errors import InputError, Problem

GROUPS_FILE: Final = "region_groups.csv"
METADATA_GROUPS: Final = "compute_index.unit_groups"  # the groups in the panel's Parquet metadata


def _schema():
    """The file's pandera schema (pandera loads only when a groups file is read)."""
    import pandera.pandas as pa

    nonempty = pa.Check.str_length(min_value=1)
    return pa.DataFrameSchema(
        {
            name: pa.Column(str, nonempty)
            for name in ("region", "grouping", "group_zh", "group_en", "source")
        },
    )


def load_groups(
    path: str | Path, sources: set[str] | None, region_codes: set[str]
) -> dict[str, dict[str, str]]:
    """grouping → {region code → "group_zh group_en"}, every problem located by row and field."""
    from index.etl import regions
    from index.etl.catalogue import _read_table

    path = Path(path)
    frame = _read_table(path, _schema())
    problems: list[Problem] = []
    out: dict[str, dict[str, str]] = {}
    for rec in frame.to_dict("records"):
        row = rec["row"]
        code = regions.resolve(rec["region"])
        if not isinstance(code, str):
            problems.append(
                Problem(path.name, row, "region", f"unknown province '{rec['region']}'")
            )
            continue
        if sources is not None and rec["source"] not in sources:
            problems.append(
                Problem(path.name, row, "source", f"source id '{rec['source']}' not in sources.csv")
            )
        table = out.setdefault(rec["grouping"], {})
        if code in table:
            problems.append(
                Problem(
                    path.name,
                    row,
                    "region",
                    f"'{rec['region']}' appears twice in grouping '{rec['grouping']}'",
                )  # fmt: skip
            )
        table[code] = f"{rec['group_zh']} {rec['group_en']}"
    for grouping, table in out.items():
        if absent := sorted(region_codes - set(table)):
            names = ", ".join(regions.province(c).name_zh for c in absent)
            problems.append(
                Problem(path.name, None, grouping, f"no group for {names}: every region needs one")
            )
    if problems:
        raise InputError(problems)
    return dict(sorted(out.items()))


def as_columns(groups: dict[str, dict[str, str]], codes: list[str]) -> pd.DataFrame:
    """The groups as unit-group columns (index = unit codes)."""
    return pd.DataFrame({g: [t.get(c) for c in codes] for g, t in groups.items()}, index=codes)
