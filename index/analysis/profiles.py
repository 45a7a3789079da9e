"""A unit's strongest and weakest indicators by rank (COINr ``get_str_weak``).

Ranks are COINr's ``rank_df`` (1 = best, ties share the lowest rank, NaN stays NaN) of each
indicator over units, on direction-adjusted values when ``directions`` are given (as COINr does
for the Raw data set; normalised data already carry the directions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from index.errors import InputError
from index.methods.rank import rank_desc


@dataclass(frozen=True)
class StrengthsWeaknesses:
    """Tables with columns code, group, rank, value (best first / worst last, as COINr)."""

    strengths: pd.DataFrame
    weaknesses: pd.DataFrame


def strengths_weaknesses(
    values: pd.DataFrame,
    unit: str,
    *,
    top: int = 5,
    bottom: int = 5,
    directions: Mapping[str, float] | None = None,
    groups: Mapping[str, str] | None = None,
    unq_discard: float | None = None,
    min_discard: bool = True,
    unit_groups: pd.Series | None = None,
) -> StrengthsWeaknesses:
    """COINr ``get_str_weak`` for one unit of ``values`` (units × indicators).

    1. rank every indicator over the units (on $d_j x_{ij}$ if ``directions``);
    2. optionally drop indicators whose share of distinct values is $\\le$ ``unq_discard``
       (binary yes/no indicators), the unit's missing ones, and (``min_discard``) those where the
       unit holds the worst rank of the indicator;
    3. sort the rest by the unit's rank (stable: ties keep column order). Strengths are the first
       ``top``, weaknesses the last ``bottom``.

    ``groups`` (code → e.g. pillar) adds a ``group`` column. ``unit_groups`` (unit → group, COINr
    ``use_group``) ranks the unit among the units of its own group only. Values are reported as given.
    """
    if unit not in values.index:
        raise InputError(f"strengths/weaknesses: unknown unit '{unit}'")
    if unit_groups is not None:
        mine = unit_groups.reindex(values.index)
        if pd.isna(mine.get(unit)):
            raise InputError(f"strengths/weaknesses: unit '{unit}' has no group")
        values = values[mine == mine[unit]]
    codes = list(values.columns)
    if not (1 <= top <= len(codes) and 1 <= bottom <= len(codes)):
        raise InputError(f"top and bottom must lie in 1..{len(codes)}")
    x = values.to_numpy(dtype=float)
    if directions is not None:
        unknown = [c for c in codes if c not in directions]
        if unknown:
            raise InputError(f"strengths/weaknesses: no direction for {unknown}")
        x = x * np.array([directions[c] for c in codes], dtype=float)
    ranks = rank_desc(x, axis=0)
    row = values.index.get_loc(unit)
    keep = ~np.isnan(ranks[row])
    if unq_discard is not None:
        if not 0.0 <= unq_discard <= 1.0:
            raise InputError(f"unq_discard must lie in [0, 1], got {unq_discard}")
        keep &= (values.nunique(dropna=False) / len(values)).to_numpy() > unq_discard
    if min_discard:
        keep &= ranks[row] != np.nanmax(ranks, axis=0, initial=-np.inf, where=~np.isnan(ranks))
    kept = np.nonzero(keep)[0]
    order = kept[np.argsort(ranks[row, kept], kind="stable")]

    def table(cols: np.ndarray) -> pd.DataFrame:
        out = pd.DataFrame(
            {
                "code": [codes[j] for j in cols],
                "rank": ranks[row, cols],
                "value": values.to_numpy(dtype=float)[row, cols],
            }
        )
        if groups is not None:
            out.insert(1, "group", [groups.get(codes[j]) for j in cols])
        return out

    return StrengthsWeaknesses(table(order[:top]), table(order[max(len(order) - bottom, 0) :]))
