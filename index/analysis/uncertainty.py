"""Uncertainty analysis: evaluate thousands of runs of a design exactly, in batches.

A run is one row of alternative indices (one per factor of a :class:`~index.analysis.spec.Design`).
The runs are grouped by their method choices (a *variant*: imputation, treatment, normalisation,
weighting method, aggregation). Each variant's weight-independent stages are computed once
(``pipeline.upstream`` with a shared stage cache, so variants differing only in normalisation share
the imputed and treated data); then all the variant's runs are aggregated together, in chunks of
bounded size, as one batch of weight sets: weights = nominal weights × the run's rows of the weight
multiplier tables. Every run is computed by the same functions as ``build`` (a variant whose
whole tree is one weighted mean of the indicators, see :func:`_linear_kind`, by the equivalent
single product with the runs' effective weights), so the batch result equals running the
pipeline run by run (the COINr replay test checks that to 1e-9). Per chunk only
the index scores (chunk, units) and their ranks are kept; they stream into an exact rank-count
accumulator and score moments, so memory does not grow with the number of runs (except the
optional per-run arrays that per-region Sobol' indices need).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController
from tqdm.auto import tqdm

from index.analysis import spec as specmod
from index.analysis import workers
from index.analysis.rankstats import RankCounts, RankStats, mean_abs_rank_change, share_within
from index.config import Config
from index.dataset import Dataset
from index.errors import InputError, Problem
from index.framework import Framework
from index.methods.rank import rank_desc
from index.pipeline import (
    Build,
    Weigher,
    aggregate_nodes,
    aggregation_options,
    config_weigher,
    covered_years,
    joint_weights,
    nominal_weights,
    upstream,
)

if TYPE_CHECKING:
    from distributed import Client

TEMPORAL_IMPUTERS = frozenset({"latest", "linear"})  # the imputers that read other years
PANEL_SECTIONS = frozenset({"impute", "normalise"})  # the settings :func:`_needs_panel` reads
MEMORY = 32 * 2**20  # bytes of working memory per chunk of runs (a target, not a hard limit)
MAX_CHUNK = 1024  # runs aggregated in one batch (more gains nothing once the batch is in cache)
POOL = 2**20  # scores (runs × units) pooled before ranking them into the rank counts
MAX_CHOICES = 2**15  # distinct weight choices kept as one effective-weights table (16 MB at 60)
KEEP_SCORES = 2**22  # keep per-run scores (exact score quantiles) up to this many runs × units


# ---- streaming score moments -------------------------------------------------------------------
class ScoreMoments:
    """Per-unit count, mean, sum of squared deviations, min and max of streamed (runs, units)
    chunks, merged exactly with Chan et al.'s update:
    $\\delta = \\bar x_b - \\bar x_a$, $M_2 = M_{2a} + M_{2b} + \\delta^2 n_a n_b / n$. NaN skipped."""

    def __init__(self, n_units: int):
        self.n = np.zeros(n_units)
        self.mean = np.zeros(n_units)
        self.m2 = np.zeros(n_units)
        self.min = np.full(n_units, np.inf)
        self.max = np.full(n_units, -np.inf)

    def update(self, x: np.ndarray) -> None:
        """Add a (runs, units) chunk."""
        self.combine(self.partial(x))

    @staticmethod
    def partial(x: np.ndarray) -> tuple[np.ndarray, ...]:
        """A (runs, units) chunk's own count, mean, M2, min and max (what :meth:`combine` adds):
        a worker returns these per pool, so the parent combines them in the same order as one
        process would, and the moments are the same bits whatever the number of processes."""
        ok = ~np.isnan(x)
        full = bool(ok.all())  # no NaN: the same sums without masking
        nb = np.full(x.shape[1], float(len(x))) if full else ok.sum(axis=0).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            mb = (x if full else np.where(ok, x, 0.0)).sum(axis=0) / nb
            dev2 = (x - mb) ** 2
            m2b = (dev2 if full else np.where(ok, dev2, 0.0)).sum(axis=0)
        return nb, mb, m2b, np.fmin.reduce(x, axis=0), np.fmax.reduce(x, axis=0)

    def combine(self, part: tuple[np.ndarray, ...]) -> None:
        """Add a chunk's :meth:`partial` moments."""
        self._combine(*part)

    def _combine(self, nb, mb, m2b, lo, hi) -> None:
        n = self.n + nb
        with np.errstate(invalid="ignore", divide="ignore"):
            delta = np.where(nb > 0, mb - self.mean, 0.0)
            self.mean = np.where(nb > 0, self.mean + delta * nb / n, self.mean)
            self.m2 = np.where(nb > 0, self.m2 + m2b + delta**2 * self.n * nb / n, self.m2)
        self.n = n
        self.min, self.max = np.fmin(self.min, lo), np.fmax(self.max, hi)

    def frame(self) -> dict[str, np.ndarray]:
        """score_mean, score_sd (ddof 1), score_min, score_max (NaN for units never scored)."""
        none = self.n == 0
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.sqrt(self.m2 / (self.n - 1))
        return {
            "score_mean": np.where(none, np.nan, self.mean),
            "score_sd": np.where(self.n > 1, sd, np.nan),
            "score_min": np.where(none, np.nan, self.min),
            "score_max": np.where(none, np.nan, self.max),
        }


# ---- results -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """The result of evaluating a design for one year.

    ``y`` is COINr's scalar output per run, the mean absolute rank change against the nominal
    ranking; ``ranks``/``scores`` (runs, units) are kept only when asked for.
    """

    year: int
    data: Dataset  # the evaluated panel (its units: ``units``)
    design: specmod.Design
    alternatives: np.ndarray  # (runs, factors)
    nominal_scores: np.ndarray
    nominal_ranks: np.ndarray
    counts: RankCounts
    moments: ScoreMoments
    y: np.ndarray
    ranks: np.ndarray | None = None
    scores: np.ndarray | None = None

    @property
    def n_runs(self) -> int:
        return len(self.y)

    @cached_property
    def units(self) -> pd.DataFrame:
        """index = unit code; name_zh, name_en (labelled when first read)."""
        return _unit_names(self.data)

    @cached_property
    def rank_stats(self) -> RankStats:
        """Nominal, mean, median, Q5, Q95 rank per unit, exact from the rank counts."""
        return self.counts.stats(self.nominal_ranks)

    def table(self) -> pd.DataFrame:
        """One row per unit: names, nominal/mean/median/q05/q95 rank, nominal and summary scores.

        The nominal rank is an integer (``Int64``, ``<NA>`` without a score); the rank statistics
        over the runs are interpolated (floats). Score quantiles (``score_median``, ``score_q05``,
        ``score_q95``) only when scores were kept.
        """
        rs = self.rank_stats.to_frame(list(self.units.index)).reset_index(names="region_code")
        out = pd.concat(
            [rs[["region_code"]], self.units[["name_zh", "name_en"]].reset_index(drop=True)],
            axis=1,
        )
        out = pd.concat([out, rs.drop(columns="region_code")], axis=1)
        out["nominal"] = out["nominal"].astype("Int64")
        out["score_nominal"] = self.nominal_scores
        for key, value in self.moments.frame().items():
            out[key] = value
        if self.scores is not None:
            q = np.nanquantile(self.scores, [0.5, 0.05, 0.95], axis=0)
            out["score_median"], out["score_q05"], out["score_q95"] = q
        return out

    def distribution(self) -> pd.DataFrame:
        """The exact rank distribution: runs in which each unit (rows) had each rank (columns)."""
        cols = pd.Index(np.arange(1, self.counts.n_ranks + 1), name="rank")
        return pd.DataFrame(self.counts.counts, index=self.units.index, columns=cols)

    def within(self, ks=(1, 3, 5)) -> pd.Series:
        """Share of units whose 90 % interval [Q5, Q95] lies within ±k places of the nominal rank."""
        rs = self.rank_stats
        shares = share_within(rs.quantiles[0], rs.quantiles[-1], self.nominal_ranks, list(ks))
        return pd.Series(shares, index=pd.Index(list(ks), name="k"), name="share_within")


# ---- the evaluator -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Variant:
    """One distinct combination of method choices, with everything its runs share: the config,
    the normalised data of the year, the nominal weights, the aggregation options, the config's
    data-driven weigher and the weights it gives groups of indicators (the same for every run)."""

    label: str
    config: Config
    xn: np.ndarray  # (units, indicators)
    weights: np.ndarray  # (nodes,)
    options: dict
    weigher: Weigher | None
    shared: dict = field(default_factory=dict)  # parent code → data-driven weights of indicators
    linear: np.ndarray | None = None  # xn (amean) or ln xn (gmean) when the tree is one product
    log: bool = False  # the linear form is in logs (geometric means): scores = exp(product)


class Evaluator:
    """Batched, exact evaluation of a design's runs for one year of one build configuration.

    ``config`` is the nominal run; ``year`` defaults to the last year the build covers. Upstream
    stages are computed on that year alone unless a choice needs the panel (temporal imputation,
    panel-wide normalisation), in which case on every year the build covers, as ``build`` does.
    """

    def __init__(
        self,
        config: Config,
        dataset: Dataset,
        fw: Framework,
        design: specmod.Design,
        *,
        year: int | None = None,
        memory: int = MEMORY,
    ):
        self.config, self.fw, self.design = config, fw, design
        cache: dict = {}  # the stage cache of ``dataset``
        years = list(config.years or covered_years(fw, dataset, config.denominate, cache))
        self.year = years[-1] if year is None else int(year)
        if self.year not in years:
            raise InputError(
                Problem("--year", None, None, f"{self.year} is not a year the build covers {years}")
            )
        self._cfg_cols = [k for k, f in enumerate(design.factors) if f.stage != "weights"]
        self._tables = [  # (column, weight multiplier table) of every weight factor
            (k, f.multipliers) for k, f in enumerate(design.factors) if f.multipliers is not None
        ]
        self._sections = _sections(design, self._cfg_cols)
        self._alone: dict[tuple[int, int], Config] = {}  # (factor, alternative) → its config
        alternatives = [  # only these sections can make a variant read the whole panel
            self._one(j, a)
            for j, k in enumerate(self._cfg_cols)
            for a, o in enumerate(design.factors[k].overrides)
            if _section(o) in PANEL_SECTIONS
        ]
        panel = any(_needs_panel(c) for c in (config, *alternatives))
        self.data = dataset.subset_years(years if panel else [self.year])
        self._yi = self.data.years.index(self.year)
        self._cache = cache if self.data is dataset else {}
        self._variants: dict[tuple[int, ...], _Variant] = {}
        n_units = len(self.data.unit_codes)
        n_aggs = len(fw.codes) - fw.n_indicators
        widest = max(len(kids) for _, kids in fw.groups)
        per_run = 8 * n_units * (n_aggs + 3 * widest + 4)
        self.chunk = int(np.clip(memory // per_run, 1, MAX_CHUNK))
        # ranking and the rank-count update cost a call per pool, not per chunk
        self.pool = max(self.chunk, min(POOL // n_units, 4 * MAX_CHUNK))
        self._paths = _RootWeights(fw)
        self.nominal = self._prepare(config, "nominal")
        self.nominal_scores = self.scores(np.ones((1, len(fw.codes))), self.nominal)[0]
        self.nominal_ranks = rank_desc(self.nominal_scores)

    @cached_property
    def units(self) -> pd.DataFrame:
        return _unit_names(self.data)

    # -- building blocks --
    def _prepare(self, config: Config, label: str) -> _Variant:
        """Upstream stages of one variant (from the shared stage cache)."""
        with self._named(label):
            stages, _ = upstream(config, self.data, self.fw, self._cache, log=False)
            xn = stages["normalised"][self._yi]
            weights = joint_weights(config, self.fw, xn, nominal_weights(config, self.fw))
            opts = aggregation_options(config)
            weigher = config_weigher(config)
            v = _Variant(label, config, xn, weights, opts, weigher)
            kind = _linear_kind(v, self.fw)
            if kind is None:
                return v
            weights = _shared_weights(v, self.fw)
        data = np.log(xn) if kind == "gmean" else xn
        return _Variant(label, config, xn, weights, opts, weigher, linear=data, log=kind == "gmean")

    @contextlib.contextmanager
    def _named(self, label: str) -> Iterator[None]:
        """Re-raise a user error naming the variant (e.g. a geometric mean of negative values)."""
        try:
            yield
        except InputError as exc:
            raise InputError(
                [
                    Problem(
                        self.design.source, None, f"[{label}] {p.field or ''}".strip(), p.message
                    )
                    for p in exc.problems
                ]
            ) from None

    def variant(self, key: tuple[int, ...]) -> _Variant:
        """The variant for the alternatives ``key`` of the config factors (built once)."""
        if key not in self._variants:
            factors = [self.design.factors[k] for k in self._cfg_cols]
            label = ", ".join(f"{f.name}={f.labels[a]}" for f, a in zip(factors, key, strict=True))
            self._variants[key] = self._prepare(self._config_of(key), label or "nominal")
        return self._variants[key]

    def _one(self, j: int, a: int) -> Config:
        """The nominal config with alternative ``a`` of config factor ``j`` alone (validated
        once per alternative, not once per combination: at the design's resolve when it was
        resolved for this config, :meth:`Factor.config <index.analysis.spec.Factor.config>`)."""
        if (j, a) not in self._alone:
            self._alone[j, a] = self.design.factors[self._cfg_cols[j]].config(self.config, a)
        return self._alone[j, a]

    def _config_of(self, key: tuple[int, ...]) -> Config:
        """The config of a combination of alternatives: ``config.with_overrides`` of the chosen
        overrides, in factor order. When the factors set distinct top-level sections, that is
        the nominal config with each factor's section taken from its alternative validated alone
        (a Config has no rule across sections, an override writes only its own section, and the
        set of given fields is the same), so a combination costs a copy, not a validation."""
        factors = [self.design.factors[k] for k in self._cfg_cols]
        overrides = [f.overrides[a] for f, a in zip(factors, key, strict=True)]
        if not overrides:
            return self.config
        if self._sections is None:  # two factors share a section: the overrides interact
            return self.config.with_overrides(overrides)
        update: dict[str, object] = {
            name: getattr(self._one(j, a), name)
            for j, (name, a) in enumerate(zip(self._sections, key, strict=True))
        }
        update["overrides"] = [*self.config.overrides, *overrides]
        return self.config.model_copy(update=update)

    def multipliers(self, alts: np.ndarray) -> np.ndarray:
        """Weight multipliers (runs, nodes): the product of each weight factor's chosen row."""
        out = np.ones((len(alts), len(self.fw.codes)))
        for k, table in self._tables:
            out *= table[alts[:, k]]
        return out

    def scores(self, multipliers: np.ndarray, variant: _Variant | None = None) -> np.ndarray:
        """Index scores (runs, units) of a variant (default nominal) for weight multipliers
        (runs, nodes): one product with the runs' effective indicator weights when the variant
        is linear (:func:`_linear_kind`), else one batched pass of ``aggregate_nodes``."""
        v = self.nominal if variant is None else variant
        if v.linear is not None:
            eff = self._effective(v.weights * multipliers)
            if eff is not None:  # one product; else the node-by-node pass names the problem
                return _product(eff, v)
        with self._named(v.label):
            aggs, _ = aggregate_nodes(
                v.xn,
                self.fw,
                v.weights * multipliers,
                weigher=_scaled(v, multipliers, self.fw),
                **v.options,
            )
        return aggs[..., -1]

    def _effective(self, w: np.ndarray) -> np.ndarray | None:
        """Effective indicator weights of node weights (runs, nodes), or None when some are not
        finite or some group's weights sum to 0 (the node-by-node pass handles and names those)."""
        return self._paths(w) if np.isfinite(w).all() else None

    # -- the whole design --
    def run(
        self,
        alternatives: np.ndarray,
        *,
        keep_ranks: bool = False,
        keep_scores: bool = False,
        progress: bool | None = None,
        jobs: int = 1,
        client: Client | None = None,
    ) -> Outcome:
        """Evaluate every run (rows of 0-based alternative indices, (runs, factors)).

        ``progress``: a tqdm bar (None = only on a terminal). The chunks are grouped into pools
        (fixed by the design alone, :func:`_pools`) and the pools dealt in turn to the workers of
        a mapper (:func:`index.analysis.workers.mapper`): this process (``jobs=1``), ``jobs``
        joblib (loky) worker processes, or the workers of a Dask cluster (``client``, a
        ``distributed.Client``; then ``jobs`` stays 1). A share's scores are a pure function of
        its pools, the design rows and the prepared variants, which are all a worker receives
        (not the data or the stage cache); each share streams into its own accumulators, merged
        here with the pools' moments combined in pool order, so the rank counts, moments, ranks
        and per-run output are the same bits whoever computed them. Every variant's upstream
        stages are computed here, before any chunk.
        """
        mapper = workers.mapper(jobs, client)
        alts = self._checked(alternatives)
        groups = _groups(alts[:, self._cfg_cols], self.design.n_alts[self._cfg_cols])
        tasks = [
            (self.variant(key), runs[start : start + self.chunk])
            for key, runs in groups
            for start in range(0, len(runs), self.chunk)
        ]
        pools = _pools([len(idx) for _, idx in tasks], self.pool)
        shape = (len(alts), len(self.data.unit_codes), self.nominal_ranks, keep_ranks, keep_scores)
        n = mapper.workers
        shares = [
            [(g, [tasks[t] for t in pools[g]]) for g in range(k, len(pools), n)] for k in range(n)
        ]
        disable = None if progress is None else not progress
        with tqdm(total=len(alts), disable=disable, unit="run", desc="uncertainty") as bar:
            if isinstance(mapper, workers.InProcess):  # straight into the design's rows: no
                # second sink to merge (at 30,000 units its rank counts alone are a gigabyte)
                direct = [(g, [(v, idx, idx) for v, idx in pool]) for g, pool in shares[0]]
                sink = self._evaluate(alts, direct, shape, bar)
            else:
                sink = _Sink(*shape)
                for runs, part in mapper.map(
                    _scored, [s for s in shares if s], worker=_Chunks(self), alts=alts,
                    shape=shape,
                ):  # fmt: skip
                    sink.merge(part, runs)
                    bar.update(len(runs))
            sink.settle()
        return Outcome(
            self.year,
            self.data,
            self.design,
            alts,
            self.nominal_scores,
            self.nominal_ranks,
            sink.counts,
            sink.moments,
            sink.y,
            sink.ranks,
            sink.scores,
        )

    def _evaluate(self, alts: np.ndarray, pools: list, shape: tuple, bar=None) -> _Sink:
        """Score ``pools`` ((pool number, chunks (variant, run indices, their rows in the
        sink))) into a new sink of ``shape``, ranking each pool's scores together."""
        sink = _Sink(*shape)
        choices = _weight_choices(alts, [k for k, _ in self._tables], self.design.n_alts)
        tables: dict[bytes, np.ndarray | None] = {}  # variant weights → effective weights table
        # small matrix products: BLAS threads only add overhead (measured: 10× on 2 cores)
        with _blas().limit(limits=1, user_api="blas"):
            for g, pool in pools:
                for v, idx, rows in pool:
                    eff = None
                    if v.linear is not None and choices is not None:
                        first, which = choices
                        key = v.weights.tobytes()
                        if key not in tables:
                            tables[key] = self._effective(v.weights * self.multipliers(alts[first]))
                        table = tables[key]
                        eff = None if table is None else table[which[idx]]
                    if eff is None:
                        scores = self.scores(self.multipliers(alts[idx]), v)
                    else:
                        scores = _product(eff, v)
                    sink.add(rows, scores)
                    if bar is not None:
                        bar.update(len(idx))
                sink.flush(g)
        return sink

    def _share(self, alts: np.ndarray, pools: list, shape: tuple) -> tuple[np.ndarray, _Sink]:
        """A worker's share of the pools: its runs (in pool order) and a sink whose per-run
        output holds only those runs, in that order (a worker returns its own rows, not the
        design's), with the pools' score moments kept apart (:meth:`_Sink.settle`)."""
        chunks = [c for _, pool in pools for c in pool]
        runs = np.concatenate([idx for _, idx in chunks] or [np.zeros(0, np.int64)])
        position = np.empty(len(alts), dtype=np.int64)
        position[runs] = np.arange(len(runs))
        local = [(g, [(v, idx, position[idx]) for v, idx in pool]) for g, pool in pools]
        return runs, self._evaluate(alts, local, (len(runs), *shape[1:]))

    def _checked(self, alternatives: np.ndarray) -> np.ndarray:
        alts = np.asarray(alternatives)
        d = len(self.design.factors)
        if alts.ndim != 2 or alts.shape[1] != d or not np.issubdtype(alts.dtype, np.integer):
            raise InputError(f"alternatives must be an integer array (runs, {d})")
        bad = (alts < 0) | (alts >= self.design.n_alts)
        if bad.any():
            k = int(np.nonzero(bad.any(axis=0))[0][0])
            raise InputError(
                f"factor '{self.design.factors[k].name}': alternatives are 0..{self.design.n_alts[k] - 1}"
            )
        return alts


def _scored(share: list, *, worker: Evaluator, alts: np.ndarray, shape: tuple):
    """A share of the pools scored by ``worker`` (what a mapper applies: a pure function of its
    arguments, see :meth:`Evaluator.run`)."""
    return worker._share(alts, share, shape)


class _Chunks(Evaluator):
    """What a worker process needs to score chunks: the evaluator without its data, stage cache
    and variant table (each chunk carries its prepared variant), so only the variants' arrays,
    the design and the framework travel."""

    def __init__(self, ev: Evaluator):  # noqa: D107 - a shallow copy, not a new evaluation
        drop = ("data", "_cache", "_variants", "units")  # the chunks carry their variants
        self.__dict__.update({k: v for k, v in vars(ev).items() if k not in drop})


def _pools(sizes: list[int], pool: int) -> list[list[int]]:
    """Consecutive chunks (by their sizes in runs) grouped into pools of at least ``pool`` runs
    (the last may be smaller): the unit of ranking and of the score moments, fixed by the design
    alone so that any number of processes streams the same pools."""
    out: list[list[int]] = [[]]
    n = 0
    for t, size in enumerate(sizes):
        out[-1].append(t)
        n += size
        if n >= pool:
            out.append([])
            n = 0
    return [p for p in out if p]


class _Sink:
    """Collects index scores of evaluated runs and, a pool at a time, ranks them and streams them
    into the rank counts and the per-run output, keeping each pool's score moments apart until
    :meth:`settle` (small variants are pooled so ranking costs one call per pool, not per
    variant)."""

    def __init__(
        self,
        n_runs: int,
        n_units: int,
        nominal: np.ndarray,
        keep_ranks: bool,
        keep_scores: bool,
    ):
        self.nominal = nominal
        self.counts, self.moments = RankCounts(n_units), ScoreMoments(n_units)
        self.y = np.empty(n_runs)
        self.ranks = np.empty((n_runs, n_units)) if keep_ranks else None
        self.scores = np.empty((n_runs, n_units)) if keep_scores else None
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._parts: list[tuple[int, tuple[np.ndarray, ...]]] = []  # (pool, its moments)

    def merge(self, other: _Sink, runs: np.ndarray) -> None:
        """Add a worker's sink: its rank counts (integers: exact in any order), its pools'
        moments (combined by :meth:`settle`), and its per-run output (one row per run of
        ``runs``, in that order) to those runs."""
        self.counts.merge(other.counts)
        self._parts += other._parts
        self.y[runs] = other.y
        for name in ("ranks", "scores"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine is not None:
                mine[runs] = theirs

    def settle(self) -> None:
        """Combine the merged workers' pool moments in pool order: the same operations, in the
        same order, as one process streaming every pool."""
        for _, part in sorted(self._parts, key=lambda p: p[0]):
            self.moments.combine(part)
        self._parts = []

    def add(self, idx: np.ndarray, scores: np.ndarray) -> None:
        self._pending.append((idx, scores))

    def flush(self, pool: int) -> None:
        """Rank the pending scores of pool number ``pool`` together and stream them in."""
        if not self._pending:
            return
        idx = np.concatenate([i for i, _ in self._pending])
        s = np.concatenate([x for _, x in self._pending])
        self._pending = []
        r = rank_desc(s, axis=-1)
        self.counts.update(r)
        self._parts.append((pool, ScoreMoments.partial(s)))
        self.y[idx] = mean_abs_rank_change(r, self.nominal)
        if self.ranks is not None:
            self.ranks[idx] = r
        if self.scores is not None:
            self.scores[idx] = s


@functools.cache
def _blas() -> ThreadpoolController:
    """The BLAS thread pools of the process, inspected once (inspection takes milliseconds)."""
    return ThreadpoolController()


def _section(override: str) -> str:
    """The top-level config section a ``key=value`` override writes (``treat.winmax=2`` → treat)."""
    return override.partition("=")[0].split(".")[0].strip()


def _sections(design: specmod.Design, cols: list[int]) -> list[str] | None:
    """The section each config factor (columns ``cols``) writes, or None when some factor writes
    several or two factors write the same one (then only the whole combination says the config)."""
    names = []
    for k in cols:
        written = {_section(o) for o in design.factors[k].overrides}
        if len(written) != 1:
            return None
        names.append(written.pop())
    return names if len(set(names)) == len(names) else None


def _unit_names(data: Dataset) -> pd.DataFrame:
    """The units of a panel in its order: index = unit code; name_zh, name_en."""
    return data.units.loc[list(data.unit_codes), ["name_zh", "name_en"]]


def _needs_panel(config: Config) -> bool:
    return config.normalise.panel != "per_year" or config.impute.method in TEMPORAL_IMPUTERS


def _groups(cols: np.ndarray, n_alts: np.ndarray) -> list[tuple[tuple[int, ...], np.ndarray]]:
    """Distinct rows of ``cols`` (alternatives of the config factors, each below ``n_alts``) with
    the indices of the runs holding each, in increasing order. Rows are coded as one integer
    (mixed radix), so grouping is a 1-D sort."""
    if cols.shape[1] == 0:
        return [((), np.arange(len(cols)))]
    codes = np.ravel_multi_index(tuple(cols.T), tuple(n_alts))
    if not len(codes):
        return []
    order = np.argsort(codes, kind="stable")  # runs by code, each code's in increasing order
    ordered = codes[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    rows = np.stack(np.unravel_index(ordered[starts], tuple(n_alts)), axis=1)
    return [
        (tuple(int(a) for a in row), runs)
        for row, runs in zip(rows.tolist(), np.split(order, starts[1:]), strict=True)
    ]


def _product(eff: np.ndarray, v: _Variant) -> np.ndarray:
    """Index scores of a linear variant: $\\sum_i \\tilde w_i x_{ui}$, or its exp in logs."""
    assert v.linear is not None  # only linear variants are scored by one product
    s = eff @ v.linear.T
    return np.exp(s) if v.log else s


def _weight_choices(
    alts: np.ndarray, cols: list[int], n_alts: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """The distinct weight choices of the runs (rows of the weight factors' columns ``cols``):
    the first run holding each and, per run, which choice it holds; None unless there are at
    most half as many choices as runs and at most ``MAX_CHOICES`` (and at most 4 possible per
    run, so that counting them costs one ``bincount``). A run's effective weights are
    then read from a table of its variant's choices (computed once per distinct weight vector)
    instead of recomputed per run: the same row computation, so the same bits."""
    size = int(np.prod([int(n) for n in n_alts[cols]], dtype=object)) if cols else 1
    if size > 4 * len(alts) or len(alts) < 2:  # choices mostly distinct: not worth a table
        return None
    codes = (
        np.ravel_multi_index(tuple(alts[:, cols].T), tuple(n_alts[cols]))
        if cols
        else np.zeros(len(alts), dtype=np.intp)
    )
    k = np.count_nonzero(np.bincount(codes, minlength=size))  # counted before any sort
    if 2 * k > len(alts) or k > MAX_CHOICES:
        return None
    _, first, which = np.unique(codes, return_index=True, return_inverse=True)
    return first, which


class _RootWeights:
    """Effective indicator weights in the index for a batch of node weights (runs, nodes):
    $\\tilde w_i = \\prod_{k \\in \\mathrm{path}(i)} w_k / \\sum_{s \\in \\mathrm{sib}(k)} w_s$, the product of
    the within-group normalised weights from indicator i up to the root's children. Group sums
    are one (runs, nodes) × (nodes, nodes) product with the child → parent membership matrix;
    the paths are an index array (depth, indicators), padded with the root (weight 1)."""

    def __init__(self, fw: Framework):
        parent = np.asarray(fw.parent_idx)
        n, child = len(parent), parent >= 0
        self.root = int(np.nonzero(~child)[0][0])
        self.up = np.where(child, parent, self.root)
        self.member = np.zeros((n, n))
        self.member[np.nonzero(child)[0], parent[child]] = 1.0
        self.child = child
        paths = []
        for i in range(fw.n_indicators):
            path, k = [], i
            while k != self.root:
                path.append(k)
                k = int(parent[k])
            paths.append(path)
        depth = max(map(len, paths))
        self.paths = np.array([p + [self.root] * (depth - len(p)) for p in paths]).T

    def __call__(self, w: np.ndarray) -> np.ndarray | None:
        """(runs, indicators), or None when some group's weights sum to 0 (the node-by-node
        pass gives that group NaN and skips it above, which no product reproduces)."""
        den = (w @ self.member)[:, self.up]
        if (den[:, self.child] == 0).any():
            return None
        wn = w / den
        wn[:, self.root] = 1.0
        return wn[:, self.paths].prod(axis=1)


def _linear_kind(v: _Variant, fw: Framework) -> str | None:
    """ "amean" or "gmean" when the variant's whole tree is one weighted sum of the indicators
    (of their logs): complete data, the same arithmetic (geometric) mean at every level, no
    method parameters, and data-driven weights, if any, only for groups of indicators (weights
    that do not depend on a run's scores). Then the index score is
    $\\sum_i \\tilde w_i x_{ui}$ (or $\\exp \\sum_i \\tilde w_i \\ln x_{ui}$) with the effective
    weights $\\tilde w$: a re-normalised weighted mean of weighted means is the mean with the
    products of the normalised weights. A data threshold changes nothing when every child is
    present. Anything else (missing values, whose re-normalisation differs per unit; other
    methods; an invalid threshold, which the node-by-node pass reports) goes node by node."""
    opts = dict(v.options)
    method, thresh = opts.pop("method"), opts.pop("dat_thresh", None)
    params = opts.pop("method_params", None)
    levels = {fw.level[fw.codes[p]] for p, _ in fw.groups}
    names = {method(level) if callable(method) else method for level in levels}
    if opts or len(names) != 1 or not names <= {"amean", "gmean"}:
        return None
    if params is not None and params(next(iter(names))):
        return None
    for t in (thresh(level) if callable(thresh) else thresh for level in levels):
        if t is not None and not 0.0 <= float(t) <= 1.0:
            return None
    if np.isnan(v.xn).any() or (names == {"gmean"} and not (v.xn > 0).all()):
        return None
    if v.weigher is not None:
        chosen = v.config.weighting.levels
        touched = [k for p, k in fw.groups if chosen is None or fw.level[fw.codes[p]] - 1 in chosen]
        if any(k.max() >= fw.n_indicators for k in touched):
            return None
    return names.pop()


def _shared_weights(v: _Variant, fw: Framework) -> np.ndarray:
    """The variant's node weights with its data-driven weights of groups of indicators in place
    (the same for every run; the runs' multipliers scale them as they scale fixed weights)."""
    w = np.array(v.weights, dtype=float)
    if v.weigher is None:
        return w
    for p, kids in fw.groups:
        if kids.max() < fw.n_indicators:
            new = v.weigher(v.xn[..., kids], fw.codes[p], fw.level[fw.codes[p]])
            if new is not None:
                w[kids] = new
    return w


def _scaled(v: _Variant, multipliers: np.ndarray, fw: Framework) -> Weigher | None:
    """The variant's data-driven weigher, its weights multiplied by the runs' weight multipliers.

    Weights of a group of indicators depend on the data only (children not broadcast over runs),
    so they are computed once per variant; weights of higher groups depend on each run's scores.
    """
    weigher = v.weigher
    if weigher is None:
        return None
    kids = {fw.codes[p]: k for p, k in fw.groups}

    def weigh(x: np.ndarray, parent: str, level: int) -> np.ndarray | None:
        if x.ndim > v.xn.ndim:
            w = weigher(x, parent, level)
        else:
            if parent not in v.shared:
                v.shared[parent] = weigher(x, parent, level)
            w = v.shared[parent]
        return None if w is None else w * multipliers[..., kids[parent]]

    return weigh


# ---- entry points --------------------------------------------------------------------------------
def keep_scores_for(runs: int, units: int) -> bool:
    """Whether per-run scores (for exact score quantiles) fit: runs × units ≤ ``KEEP_SCORES``."""
    return runs * units <= KEEP_SCORES


def build_evaluator(
    b: Build, design: specmod.Design | None = None, year: int | None = None
) -> Evaluator:
    """The evaluator of a build's configuration, data and framework for one year (default: the
    latest); without a design, one that varies nothing (the nominal run, e.g. for leave-one-out)."""
    return Evaluator(b.config, b.dataset, b.framework, design or specmod.Design(()), year=year)


def uncertainty(
    b: Build,
    n: int | None = None,
    *,
    spec: specmod.SpecLike = "default",
    seed: int | None = None,
    year: int | None = None,
    keep_scores: bool | None = None,
    progress: bool | None = None,
    jobs: int = 1,
    client: Client | None = None,
) -> Outcome:
    """Uncertainty analysis of a build: ``n`` runs (default: the spec's) of the spec's factors,
    drawn with ``seed`` (default: the spec's), evaluated exactly for ``year``.

    ``keep_scores`` (default: when runs × units ≤ ``KEEP_SCORES``) keeps every run's scores for
    exact score quantiles. ``jobs`` worker processes or a Dask ``client`` (not both) share the
    work, with the same output bits (:meth:`Evaluator.run`). The outcome's ``table()`` has one
    labelled row per region.
    """
    design = specmod.design_for(spec, b.config, b.framework, n=n, seed=seed)
    ev = build_evaluator(b, design, year)
    runs = design.sampling.n
    keep = keep_scores_for(runs, len(ev.units)) if keep_scores is None else keep_scores
    alts = design.alternatives(design.uniform())
    return ev.run(alts, keep_scores=keep, progress=progress, jobs=jobs, client=client)


def publication_intervals(b: Build, settings, year: int) -> pd.DataFrame:
    """Rank intervals of a build for the publication: region_code, nominal, mean, median, q05, q95.

    ``settings`` has ``spec`` ("default" or a TOML path), ``runs`` and ``seed``.
    """
    out = uncertainty(
        b, settings.runs, spec=settings.spec, seed=settings.seed, year=year, keep_scores=False,
        progress=False,
    )  # fmt: skip
    return out.table()[["region_code", "nominal", "mean", "median", "q05", "q95"]]
