"""The panel the engine reads: a dense (years, units, series) array with its labels.

Built from the long table the ETL writes (``data/processed/inputs.parquet``) or from any long
DataFrame; units are regions for the Chinese index, but any unit code works (COINr imports).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from index.errors import InputError, Problem


@dataclass(frozen=True)
class Dataset:
    """Values (years, units, series) with NaN for missing, plus labels and unit metadata.

    ``units`` holds one row per unit, indexed by unit code, with at least ``name_zh`` and
    ``name_en``; any further columns are unit groups (for group imputation). ``series_meta``
    holds unit and source per series. ``panel`` is the whole panel a year subset was cut from
    (every year of the data, same units): what the temporal imputers read, so a year's value
    does not depend on which other years a build covers (:attr:`whole`).
    """

    values: np.ndarray
    years: tuple[int, ...]
    unit_codes: tuple[str, ...]
    series: tuple[str, ...]
    units: pd.DataFrame
    series_meta: pd.DataFrame = field(default_factory=pd.DataFrame)
    long: pd.DataFrame = field(default_factory=pd.DataFrame)
    source: str = "<data>"
    panel: Dataset | None = field(default=None, repr=False)

    @property
    def whole(self) -> Dataset:
        """The whole panel this dataset was cut from by :meth:`subset_years` (itself if uncut)."""
        return self if self.panel is None else self.panel

    @classmethod
    def from_long(
        cls,
        long: pd.DataFrame,
        units: pd.DataFrame | None = None,
        *,
        unit_col: str = "region_code",
        source: str = "<data>",
    ) -> Dataset:
        """Pivot a long table (year, unit, indicator, value[, unit, source_id]) into a panel."""
        need = {"year", unit_col, "indicator", "value"}
        if missing := need - set(long.columns):
            raise InputError(Problem(source, None, None, f"missing columns {sorted(missing)}"))
        df = long.dropna(subset=["value"])
        years = tuple(sorted(int(y) for y in df["year"].unique()))
        codes = tuple(sorted(str(u) for u in df[unit_col].unique()))
        if units is not None:
            codes = tuple(str(c) for c in units.index)
        series = tuple(sorted(df["indicator"].unique()))
        arr = np.full((len(years), len(codes), len(series)), np.nan)
        yi = pd.Index(years).get_indexer(df["year"].astype(int))
        ui = pd.Index(codes).get_indexer(df[unit_col].astype(str))
        si = pd.Index(series).get_indexer(df["indicator"])
        keep = ui >= 0
        arr[yi[keep], ui[keep], si[keep]] = df["value"].to_numpy(float)[keep]
        if units is None:
            units = _labels_from_long(df, unit_col, codes)
        meta_cols = [c for c in ("unit", "source_id") if c in df.columns]
        meta = (
            df.groupby("indicator")[meta_cols].agg(lambda s: " | ".join(sorted(set(map(str, s)))))
            if meta_cols
            else pd.DataFrame(index=pd.Index(series, name="indicator"))
        )
        return cls(arr, years, codes, series, units, meta, df.reset_index(drop=True), source)

    @cached_property
    def _position(self) -> dict[str, int]:
        """Series name → its position along the last axis (looked up once per dataset)."""
        return {s: k for k, s in enumerate(self.series)}

    @cached_property
    def series_units(self) -> dict[str, str]:
        """Series name → the one unit its values are in (series given in several units, or with
        none recorded, are left out)."""
        if "unit" not in self.series_meta.columns:
            return {}
        units = self.series_meta["unit"].astype(str)
        return {s: u for s, u in units.items() if u and " | " not in u}

    def select(self, series: list[str]) -> np.ndarray:
        """The (years, units, len(series)) sub-array for the named series."""
        idx = [self._position.get(s, -1) for s in series]
        if min(idx, default=0) < 0:
            missing = [s for s, i in zip(series, idx, strict=True) if i < 0]
            raise InputError(Problem(self.source, None, None, f"series not in data: {missing}"))
        return self.values[..., idx]

    def subset_years(self, years: list[int]) -> Dataset:
        """The same panel restricted to some years (in the given order, which must be sorted);
        it keeps the whole panel it was cut from as ``panel``."""
        missing = sorted(set(years) - set(self.years))
        if missing:
            raise InputError(Problem(self.source, None, "year", f"years not in data: {missing}"))
        if tuple(years) == self.years:  # frozen: the same panel
            return self
        idx = [self.years.index(y) for y in years]
        long = self.long[self.long["year"].isin(years)] if "year" in self.long else self.long
        return replace(
            self, values=self.values[idx], years=tuple(years), long=long, panel=self.whole
        )

    def subset_units(self, codes: list[str]) -> Dataset:
        """The same panel restricted to some units (in the given order)."""
        idx = [self.unit_codes.index(c) for c in codes]
        long = self.long
        if "region_code" in long.columns:
            long = long[long["region_code"].astype(str).isin(codes)]
        return replace(
            self,
            values=self.values[:, idx],
            unit_codes=tuple(codes),
            units=self.units.loc[list(codes)],
            long=long,
            panel=None if self.panel is None else self.panel.subset_units(codes),
        )

    def group_codes(self, column: str) -> np.ndarray:
        """The group label of every unit for a unit-group column (missing labels stay missing);
        read-only, read from the table once per column (the panel is frozen)."""
        if column not in self._groups:
            if column not in self.units.columns:
                problem = f"no unit group column '{column}'"
                raise InputError(Problem(self.source, None, column, problem))
            codes = self.units[column].to_numpy(dtype=object)
            codes.flags.writeable = False
            self._groups[column] = codes
        return self._groups[column]

    @cached_property
    def _groups(self) -> dict[str, np.ndarray]:
        return {}


def _labels_from_long(df: pd.DataFrame, unit_col: str, codes: tuple[str, ...]) -> pd.DataFrame:
    cols = [c for c in ("region_zh", "region_en") if c in df.columns]
    labels = df.drop_duplicates(unit_col).set_index(
        df.drop_duplicates(unit_col)[unit_col].astype(str)
    )
    out = pd.DataFrame(index=pd.Index(codes, name="unit"))
    out["name_zh"] = labels["region_zh"] if "region_zh" in cols else out.index
    out["name_en"] = labels["region_en"] if "region_en" in cols else out.index
    return out


def load_inputs(path: str | Path | None = None) -> Dataset:
    """Read the processed Parquet panel written by ``compute-index ingest``; by default the
    project's ``data/processed/inputs.parquet`` (:mod:`index.paths`: found from any folder of
    the checkout, e.g. a notebook started in ``notebooks/``)."""
    import json

    import pyarrow.parquet as pq

    from index import paths
    from index.etl.groups import METADATA_GROUPS, as_columns

    path = paths.inputs() if path is None else Path(path)
    if not path.is_file():
        raise InputError(
            Problem(str(path), None, None, "not found; run `compute-index ingest` first")
        )
    try:
        long = pd.read_parquet(path)
        meta = pq.read_schema(path).metadata or {}
    except (ValueError, OSError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise InputError(
            Problem(str(path), None, None, f"not a readable Parquet file ({type(exc).__name__})")
        ) from None
    ds = Dataset.from_long(long, source=str(path))
    groups = json.loads(meta.get(METADATA_GROUPS.encode(), b"{}"))
    if not groups:
        return ds
    units = ds.units.join(as_columns(groups, list(ds.unit_codes)))
    return replace(ds, units=units)
