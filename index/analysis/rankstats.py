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
    """Exact streaming accumulator of the rank distribution: the number of runs in which unit u
    had rank r, for every (u, r) that occurred. Feed it (runs, units) chunks with :meth:`update`;
    merge partial accumulators (e.g. one per worker) with :meth:`merge`.

    Memory is linear in the units: the counts are int32 (int64 once a total could overflow) and,
    beyond ``DENSE`` cells, kept only for the pairs that occurred, as sorted keys
    $u \\cdot n_\\mathrm{ranks} + r - 1$ with their counts; an update adds the new pairs' counts
    where they already exist and inserts the others. (A dense units × ranks table would need
    3.6 GB of int32 for 30,000 units.) :attr:`counts` gives the dense table when asked for.
    """

    DENSE = 2**22  # cells up to which a dense table (16 MiB of int32) is cheaper than keys

    def __init__(self, n_units: int, n_ranks: int | None = None):
        self.n_units = n_units
        self.n_ranks = n_units if n_ranks is None else n_ranks
        cells = self.n_units * self.n_ranks
        self._dense = np.zeros(cells, dtype=np.int32) if cells <= self.DENSE else None
        self._keys = np.zeros(0, dtype=np.int64)  # sparse form: sorted keys and their counts
        self._values = np.zeros(0, dtype=np.int32)
        self._total = 0
        self.n_missing = np.zeros(n_units, dtype=np.int64)

    def _grow(self, added: int) -> None:
        """Widen the counts to int64 before a total of runs could overflow int32."""
        self._total += added
        if self._total > np.iinfo(np.int32).max:
            if self._dense is not None:
                self._dense = self._dense.astype(np.int64, copy=False)
            self._values = self._values.astype(np.int64, copy=False)

    def _add(self, keys: np.ndarray, values: np.ndarray) -> None:
        """Add counts ``values`` at distinct sorted ``keys``."""
        if self._dense is not None:
            self._dense[keys] += values.astype(self._dense.dtype, copy=False)
            return
        pos = np.searchsorted(self._keys, keys)
        hit = pos < len(self._keys)
        hit[hit] = self._keys[pos[hit]] == keys[hit]
        self._values[pos[hit]] += values[hit].astype(self._values.dtype, copy=False)
        new = ~hit
        if new.any():
            self._keys = np.insert(self._keys, pos[new], keys[new])
            self._values = np.insert(self._values, pos[new], values[new])

    def _pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(unit, rank, count) of every pair that occurred, sorted by unit then rank."""
        if self._dense is not None:
            keys = np.nonzero(self._dense)[0]
            values = self._dense[keys]
        else:
            keys, values = self._keys, self._values
        unit, rank0 = np.divmod(keys, self.n_ranks)
        return unit, rank0 + 1, values.astype(np.int64)

    @property
    def counts(self) -> np.ndarray:
        """The dense table ``counts[u, r-1]`` (units × ranks, int64)."""
        out = np.zeros((self.n_units, self.n_ranks), dtype=np.int64)
        unit, rank, count = self._pairs()
        out[unit, rank - 1] = count
        return out

    @property
    def n(self) -> np.ndarray:
        """Number of runs with a rank, per unit."""
        unit, _, count = self._pairs()
        return np.bincount(unit, weights=count, minlength=self.n_units).astype(np.int64)

    def update(self, ranks: np.ndarray) -> RankCounts:
        """Add a (runs, units) chunk of integer ranks (NaN allowed)."""
        r = np.asarray(ranks, dtype=float).reshape(-1, self.n_units)
        miss = np.isnan(r)
        full = not miss.any()  # every unit ranked: no selection (the same keys, in order)
        values = r.ravel() if full else r[~miss]
        bad = ValueError(f"ranks must be integers in 1..{self.n_ranks} (or NaN)")
        if values.size and (
            values.min() < 1 or values.max() > self.n_ranks or np.any(values != np.floor(values))
        ):
            raise bad
        keys = np.arange(self.n_units) * self.n_ranks + (r - 1.0)
        keys = (keys.ravel() if full else keys[~miss]).astype(np.int64)
        self._grow(len(r))
        if self._dense is not None:
            self._dense += np.bincount(keys, minlength=len(self._dense)).astype(self._dense.dtype)
        else:
            self._add(*np.unique(keys, return_counts=True))
        self.n_missing += miss.sum(axis=0)
        return self

    def merge(self, other: RankCounts) -> RankCounts:
        """Add another accumulator's counts (same units and ranks)."""
        if (other.n_units, other.n_ranks) != (self.n_units, self.n_ranks):
            raise ValueError("cannot merge rank counts of different shapes")
        self._grow(other._total)
        unit, rank, count = other._pairs()
        self._add(unit * self.n_ranks + rank - 1, count)
        self.n_missing += other.n_missing
        return self

    def mean(self) -> np.ndarray:
        """$\\bar r_u = \\sum_r r\\,c_{ur} / n_u$ (NaN when a unit was never ranked)."""
        unit, rank, count = self._pairs()
        total = np.bincount(unit, weights=rank * count, minlength=self.n_units)
        with np.errstate(invalid="ignore", divide="ignore"):
            return total / self.n

    def order_statistic(self, k: np.ndarray) -> np.ndarray:
        """The k-th smallest rank of each unit (0-based k, one per unit; k < n): the rank at
        which the unit's cumulative count first exceeds k."""
        unit, rank, count = self._pairs()
        if not len(rank):
            return np.ones(self.n_units)
        cum = np.cumsum(count)
        before = np.concatenate([[0], np.cumsum(self.n)[:-1]])  # runs counted for lower units
        pos = np.searchsorted(cum, before + np.asarray(k), side="right")
        return rank[np.minimum(pos, len(rank) - 1)].astype(float)

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
    gaps = np.isnan(diff)
    with np.errstate(invalid="ignore", divide="ignore"):
        if not gaps.any():  # the same sums and counts, without replacing NaN
            return diff.sum(axis=-1) / diff.shape[-1]
        return np.nansum(diff, axis=-1) / (~gaps).sum(axis=-1)


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
