"""Unit screening by data availability and zeros (COINr ``Screen``, ``get_data_avail``).

Per unit (row) of ``x (..., n_units, n_ind)``, over its indicators:

* $n^{NA}_i$ = missing values, $n^0_i$ = zeros among the values present;
* data availability $a_i = 1 - n^{NA}_i / k$; non-zero share $z_i = 1 - n^0_i / (k - n^{NA}_i)$
  (NaN when the unit has no data; such a unit fails every screen).

``unit_screen`` chooses the rule: ``byNA`` keeps $a_i \\ge$ ``dat_thresh``; ``byzeros`` keeps
$z_i \\ge$ ``nonzero_thresh``; ``byNAandzeros`` keeps units passing both. ``force`` overrides
the rule for given rows (True = include, False = exclude), as COINr's ``Force`` table does.
COINr's defaults: ``dat_thresh`` = 2/3, ``nonzero_thresh`` = 0.05. A unit screened out of any
year is screened out (``keep`` has the leading axes; the caller drops rows where needed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from index.errors import InputError

Share = Annotated[float, Field(ge=0.0, le=1.0)]
SCREEN_RULES = ("byNA", "byzeros", "byNAandzeros")


@dataclass(frozen=True)
class ScreenResult:
    """Per unit (shape ``(..., n_units)``): counts, shares, COINr's flags and the decision."""

    n_missing: np.ndarray
    n_zero: np.ndarray
    dat_avail: np.ndarray
    non_zero: np.ndarray
    low_data: np.ndarray
    low_nonzero: np.ndarray
    keep: np.ndarray

    @property
    def removed(self) -> np.ndarray:
        """Positions of the units screened out (in any leading index)."""
        return np.nonzero(~self.keep.reshape(-1, self.keep.shape[-1]).all(axis=0))[0]


def data_availability(x) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """COINr ``get_data_avail``: per unit ``N_missing``, ``N_zero``, ``Dat_Avail``, ``Non_Zero``."""
    x = np.asarray(x, dtype=float)
    if x.ndim < 2 or x.shape[-1] == 0:
        raise InputError(f"screening needs x of shape (..., n_units, n_ind), got {x.shape}")
    missing = np.isnan(x).sum(axis=-1)
    zero = (x == 0).sum(axis=-1)
    k = x.shape[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        non_zero = 1.0 - zero / (k - missing)
    return missing, zero, 1.0 - missing / k, non_zero


def screen(
    x,
    *,
    unit_screen: Literal["byNA", "byzeros", "byNAandzeros"] = "byNA",
    dat_thresh: Share = 2 / 3,
    nonzero_thresh: Share = 0.05,
    force: Mapping[int, bool] | None = None,
) -> ScreenResult:
    """Screen the units of ``x (..., n_units, n_ind)`` (rule in the module docstring).

    ``force`` maps a unit's row position to True (always keep) or False (always drop).
    """
    if unit_screen not in SCREEN_RULES:
        raise InputError(f"unit_screen must be one of {list(SCREEN_RULES)}, got {unit_screen!r}")
    for name, t in (("dat_thresh", dat_thresh), ("nonzero_thresh", nonzero_thresh)):
        if not 0.0 <= float(t) <= 1.0:
            raise InputError(f"{name} must lie in [0, 1], got {t}")
    missing, zero, avail, non_zero = data_availability(x)
    low_data = avail < dat_thresh
    low_nonzero = ~(non_zero >= nonzero_thresh)  # a unit without data has no non-zero value
    drop = {"byNA": low_data, "byzeros": low_nonzero, "byNAandzeros": low_data | low_nonzero}
    keep = ~drop[unit_screen]
    n_units = keep.shape[-1]
    for row, include in (force or {}).items():
        if not (isinstance(row, int | np.integer) and 0 <= row < n_units):
            raise InputError(f"screen force: unknown unit row {row!r} (0..{n_units - 1})")
        if not isinstance(include, bool | np.bool_):
            raise InputError(f"screen force: unit row {row}: Include must be true or false")
        keep[..., row] = bool(include)
    return ScreenResult(missing, zero, avail, non_zero, low_data, low_nonzero, keep)
