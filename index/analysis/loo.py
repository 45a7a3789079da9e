"""Leave-one-out: how far ranks move when one indicator (or one aggregate) is removed.

COINr ``remove_elements`` semantics: removing = giving the element zero weight and re-aggregating;
the shift of unit u is $\\Delta_u = r_u^{nom} - r_u^{(-j)}$ (positive = the unit moves up), and the
summary per removed element is the mean absolute shift over units (NaN skipped).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from index.analysis.rankstats import mean_abs_rank_change


@dataclass(frozen=True)
class RankShift:
    """Ranks of each variant (variants, units) against the nominal ranks (units,)."""

    nominal: np.ndarray
    ranks: np.ndarray

    @property
    def shift(self) -> np.ndarray:
        """$r^{nom} - r^{variant}$, (variants, units)."""
        return self.nominal - self.ranks

    @property
    def mean_abs(self) -> np.ndarray:
        """Mean absolute rank change per variant, (variants,)."""
        return mean_abs_rank_change(self.ranks, self.nominal)

    def summary(self, variants: Sequence[str]) -> pd.DataFrame:
        """One row per variant: mean and maximum absolute shift."""
        with np.errstate(invalid="ignore"):
            worst = np.nanmax(np.abs(self.shift), axis=1, initial=0.0)
        return pd.DataFrame(
            {"removed": list(variants), "mean_abs_shift": self.mean_abs, "max_abs_shift": worst}
        )

    def table(self, variants: Sequence[str], units: Sequence[str]) -> pd.DataFrame:
        """The full rank-shift table, long: removed, unit, nominal, rank, shift."""
        v, u = self.ranks.shape
        return pd.DataFrame(
            {
                "removed": np.repeat(np.asarray(variants, dtype=object), u),
                "unit": np.tile(np.asarray(units, dtype=object), v),
                "nominal": np.tile(self.nominal, v),
                "rank": self.ranks.ravel(),
                "shift": self.shift.ravel(),
            }
        )


def rank_shifts(variant_ranks: np.ndarray, nominal: np.ndarray) -> RankShift:
    """Wrap (variants, units) ranks and the nominal ranks (units,) for shift tables."""
    ranks = np.atleast_2d(np.asarray(variant_ranks, dtype=float))
    nominal = np.asarray(nominal, dtype=float)
    if ranks.shape[1:] != nominal.shape:
        raise ValueError(f"ranks {ranks.shape} do not match nominal {nominal.shape}")
    return RankShift(nominal, ranks)


def leave_one_out(rank_fn: Callable[[np.ndarray], np.ndarray], n_items: int) -> RankShift:
    """Call ``rank_fn(masks)`` once with all n_items leave-one-out masks, plus the full mask.

    ``rank_fn`` maps a boolean (variants, n_items) inclusion mask to (variants, units) ranks — in
    the pipeline: zero the weights of excluded elements, aggregate in one batch, rank.
    """
    masks = np.vstack([np.ones((1, n_items), dtype=bool), ~np.eye(n_items, dtype=bool)])
    ranks = np.asarray(rank_fn(masks), dtype=float)
    return rank_shifts(ranks[1:], ranks[0])
