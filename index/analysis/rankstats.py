"""Rank statistics over simulated indices: per-unit mean, median and type-7 quantiles of the rank,
computed from a (runs, units) array or exactly from streamed rank counts.

Ranks are integers 1..n_ranks (COINr ``rank(-score, ties = "min")``), NaN = unit not ranked in
that run; every statistic skips NaN (R ``na.rm = TRUE``). The counts (units × ranks) are sufficient
statistics: the sorted sample of a unit is its ranks repeated by their counts, so mean, median and
any quantile from counts equal NumPy's on the full array, bit for bit, with memory independent of
the number of runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

PROBS = (0.05, 0.95)


@dataclass(frozen=True)
class RankStats:
    """Per-unit rank summary; ``quantiles`` is (len(probs), units)."""

    mean: np.ndarray
    median: np.ndarray
    quantiles: np.ndarray
    probs: tuple[float, ...] = PROBS
    nominal: np.ndarray | None = None

    def to_frame(self, units: Sequence[str] | None = None) -> pd.DataFrame:
        """Table with columns nominal, mean, median, q05, q95 (… one per prob), index = units."""
        cols: dict[str, np.ndarray] = {}
        if self.nominal is not None:
            cols["nominal"] = self.nominal
        cols |= {"mean": self.mean, "median": self.median}
        cols |= {
            f"q{round(100 * p):02d}": q for p, q in zip(self.probs, self.quantiles, strict=True)
        }
        return pd.DataFrame(cols, index=None if units is None else pd.Index(units, name="unit"))


def rank_stats(
    ranks: np.ndarray, nominal: np.ndarray | None = None, probs: Sequence[float] = PROBS
) -> RankStats:
    """Summary of a (runs, units) array: nanmean, nanmedian, nanquantile (linear = R type 7)."""
    r = np.asarray(ranks, dtype=float)
    return RankStats(
        mean=np.nanmean(r, axis=0),
        median=np.nanmedian(r, axis=0),
        quantiles=np.nanquantile(r, list(probs), axis=0),
        probs=tuple(probs),
        nominal=None if nominal is None else np.asarray(nominal, dtype=float),
    )


class RankCounts:
    """Exact streaming accumulator of the rank distribution: ``counts[u, r-1]`` = runs in which
    unit u had rank r. Feed it (runs, units) chunks with :meth:`update`; merge partial
    accumulators (e.g. one per worker) with :meth:`merge`."""

    def __init__(self, n_units: int, n_ranks: int | None = None):
        self.n_units = n_units
        self.n_ranks = n_units if n_ranks is None else n_ranks
        self.counts = np.zeros((n_units, self.n_ranks), dtype=np.int64)
        self.n_missing = np.zeros(n_units, dtype=np.int64)

    @property
    def n(self) -> np.ndarray:
        """Number of runs with a rank, per unit."""
        return self.counts.sum(axis=1)

    def update(self, ranks: np.ndarray) -> RankCounts:
        """Add a (runs, units) chunk of integer ranks (NaN allowed)."""
        r = np.asarray(ranks, dtype=float).reshape(-1, self.n_units)
        miss = np.isnan(r)
        n_miss = miss.sum(axis=0)
        filled = np.where(miss, 0.0, r) if n_miss.any() else r  # bin 0 of each unit = NaN
        idx = filled.astype(np.int64)
        bad = ValueError(f"ranks must be integers in 1..{self.n_ranks} (or NaN)")
        if r.size and (idx.min() < 0 or idx.max() > self.n_ranks or np.any(idx != filled)):
            raise bad
        width = self.n_ranks + 1
        binned = np.bincount(
            (idx + width * np.arange(self.n_units)).ravel(), minlength=self.n_units * width
        ).reshape(self.n_units, width)
        if np.any(binned[:, 0] != n_miss):  # a literal rank 0
            raise bad
        self.counts += binned[:, 1:]
        self.n_missing += n_miss
        return self

    def merge(self, other: RankCounts) -> RankCounts:
        """Add another accumulator's counts (same units and ranks)."""
        if other.counts.shape != self.counts.shape:
            raise ValueError("cannot merge rank counts of different shapes")
        self.counts += other.counts
        self.n_missing += other.n_missing
        return self

    def mean(self) -> np.ndarray:
        """$\\bar r_u = \\sum_r r\\,c_{ur} / n_u$ (NaN when a unit was never ranked)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return (self.counts @ np.arange(1, self.n_ranks + 1)) / self.n

    def order_statistic(self, k: np.ndarray) -> np.ndarray:
        """The k-th smallest rank of each unit (0-based k, one per unit; k < n)."""
        cum = np.cumsum(self.counts, axis=1)
        return (cum <= np.asarray(k)[:, None]).sum(axis=1) + 1.0

    def quantile(self, p: float) -> np.ndarray:
        """Type-7 quantile per unit, with NumPy's arithmetic: $h = (n-1)p$, $a = x_{(\\lfloor h\\rfloor)}$,
        $b = x_{(\\lfloor h\\rfloor + 1)}$, $g = h - \\lfloor h\\rfloor$, $q = a + g(b-a)$ if $g < 1/2$
        else $b - (1-g)(b-a)$."""
        n = self.n.astype(float)
        valid = n > 0
        h = (n - 1) * p
        lo = np.floor(h)
        last = np.maximum(n - 1, 0)
        a = self.order_statistic(np.where(valid, np.minimum(lo, last), 0))
        b = self.order_statistic(np.where(valid, np.minimum(lo + 1, last), 0))
        g = h - lo
        diff = b - a
        q = np.where(g >= 0.5, b - diff * (1 - g), a + diff * g)
        q = np.where(h >= n - 1, b, q)  # NumPy takes the maximum at or beyond the last index
        return np.where(valid, q, np.nan)

    def median(self) -> np.ndarray:
        """Median per unit: mean of the two middle order statistics (as ``numpy.median``)."""
        n = self.n
        valid = n > 0
        a = self.order_statistic(np.where(valid, (n - 1) // 2, 0))
        b = self.order_statistic(np.where(valid, n // 2, 0))
        return np.where(valid, (a + b) / 2, np.nan)

    def stats(self, nominal: np.ndarray | None = None, probs: Sequence[float] = PROBS) -> RankStats:
        """The same summary as :func:`rank_stats`, from the counts."""
        return RankStats(
            mean=self.mean(),
            median=self.median(),
            quantiles=np.stack([self.quantile(p) for p in probs]),
            probs=tuple(probs),
            nominal=None if nominal is None else np.asarray(nominal, dtype=float),
        )


def accumulate_ranks(
    chunks: Iterable[np.ndarray],
    n_units: int,
    *,
    n_ranks: int | None = None,
    total: int | None = None,
    progress: bool = False,
) -> RankCounts:
    """Stream (runs, units) rank chunks into a :class:`RankCounts` (tqdm bar if ``progress``)."""
    acc = RankCounts(n_units, n_ranks)
    for chunk in tqdm(chunks, total=total, disable=not progress, desc="ranks", unit="chunk"):
        acc.update(chunk)
    return acc


def mean_abs_rank_change(ranks: np.ndarray, nominal: np.ndarray) -> np.ndarray:
    """COINr's scalar SA output per run: $y = \\mathrm{mean}_u |r_u - r_u^{nom}|$ (NaN skipped).

    ``ranks`` (…, units) → (…,).
    """
    diff = np.abs(np.asarray(ranks, dtype=float) - np.asarray(nominal, dtype=float))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nansum(diff, axis=-1) / (~np.isnan(diff)).sum(axis=-1)


def share_within(
    q_lo: np.ndarray, q_hi: np.ndarray, nominal: np.ndarray, k: int | Sequence[int]
) -> np.ndarray | float:
    """Share of units whose interval [q_lo, q_hi] lies within ±k places of the nominal rank.

    ``k`` scalar → float; sequence → array, one share per k. Units with NaN count as not within.
    """
    ks = np.atleast_1d(np.asarray(k, dtype=float))[:, None]
    lo, hi, nom = (np.asarray(v, dtype=float) for v in (q_lo, q_hi, nominal))
    inside = (lo >= nom - ks) & (hi <= nom + ks)
    share = inside.mean(axis=1)
    return float(share[0]) if np.ndim(k) == 0 else share
