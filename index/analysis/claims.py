"""What a ranking can claim, for a build: labelled rank bounds, reversals, dominance, what it takes
to move up, and province profiles.

The arithmetic is in :mod:`index.analysis.bounds` (pure NumPy over arrays and the framework); this
module wires it to a :class:`~index.pipeline.Build` (one year, its normalised data and within-group
weights), verifies every reported weighting by re-running the pipeline's own aggregation
(:func:`~index.pipeline.aggregate_tree`), and returns DataFrames with 中文 / English names beside
the codes. Data-driven weights (entropy, CRITIC, …) are taken as that year's nominal weights and
varied like fixed weights.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

import numpy as np
import pandas as pd

from index.analysis import bounds as bd
from index.analysis.profiles import strengths_weaknesses
from index.analysis.rankstats import rank_stats
from index.analysis.uncertainty import TEMPORAL_IMPUTERS
from index.dataset import Dataset
from index.errors import InputError, Problem
from index.etl import regions
from index.framework import Indicator
from index.methods import IndicatorError
from index.methods import treat as trt
from index.methods.rank import rank_desc
from index.pipeline import (
    Build,
    _imputation_steps,
    _impute,
    _normalise,
    _treat_options,
    aggregate_nodes,
    aggregate_tree,
    aggregation_options,
    config_weigher,
    denominated,
    nominal_weights,
)

MC_RUNS = 1000
MC_SEED = 20240101
VERTEX_RUNS = 2000  # random vertices scored in the non-linear fallback
PILLAR_CAP = 100.0  # largest uniform improvement searched: +10 000 %


@dataclass(frozen=True)
class Settings:
    """The admissible set: ``box`` (±share around the nominal within-group weights), explicit
    ``bounds`` per node code, ``order`` constraints ("compute>=storage"), and the Monte Carlo
    interval (``mc`` runs drawn within the same set, ``seed``)."""

    box: float = 0.5
    order: tuple[str, ...] = ()
    bounds: tuple[tuple[str, float, float], ...] = ()
    mc: int = MC_RUNS
    seed: int = MC_SEED


@dataclass
class Claims:
    """Rank bounds and friends of one build year under one admissible set (computed lazily)."""

    b: Build
    year: int
    settings: Settings = field(default_factory=Settings)

    # -- the year's data and the admissible set --
    @cached_property
    def yi(self) -> int:
        return self.b._year_index(self.year)

    @cached_property
    def adm(self) -> bd.Admissible:
        fw, s = self.b.framework, self.settings
        return bd.admissible(
            fw,
            self.b.weights[self.yi],
            s.box,
            {c: (lo, hi) for c, lo, hi in s.bounds},
            bd.parse_order(fw, s.order),
        )

    @cached_property
    def xn(self) -> np.ndarray:
        return self.b.stages["normalised"][self.yi]

    @cached_property
    def scores(self) -> np.ndarray:
        return self.b.scores[self.yi, :, -1]

    @cached_property
    def ranked(self) -> np.ndarray:
        """Units with an index score this year."""
        return ~np.isnan(self.scores)

    @cached_property
    def tol(self) -> float:
        """Half the tie band, in score points: the tolerance of the verification re-runs."""
        return bd.TAU / 2 * bd._scale(self.xn[self.ranked])

    def scorer(self, weights: np.ndarray) -> np.ndarray:
        """Index scores (B, units) for within-group weights (B, nodes) by the configured
        aggregation (no data-driven weigher: the weights are the ones given)."""
        opts = aggregation_options(self.b.config)
        s, _ = aggregate_tree(self.xn, self.b.framework, weights, **opts)
        return s[..., -1]

    @cached_property
    def nonlinear(self) -> str:
        """Why the exact (linear) method does not apply this year ('' when it does)."""
        cfg, fw = self.b.config, self.b.framework
        levels = sorted({fw.level[fw.codes[p]] for p, _ in fw.groups})
        methods = {cfg.aggregation.method_at(lev) for lev in levels}
        if methods != {"amean"}:
            return f"aggregation {sorted(methods)} is not linear in the weights"
        s = self.b.scores[self.yi][self.ranked]
        for parent, kids in fw.groups:
            gap = np.isnan(s[:, kids]).any(axis=1) & ~np.isnan(s[:, parent])
            if gap.any():
                who = np.array(self.b.dataset.unit_codes)[self.ranked][gap]
                return (
                    f"{', '.join(who)} aggregated over fewer children of '{fw.codes[parent]}' "
                    "(weights re-normalised over the children present: not linear)"
                )
        return ""

    # -- bounds --
    @cached_property
    def bounds(self) -> bd.RankBounds:
        """Exact bounds (linear case: MILP), or else attained bounds over admissible weightings
        (random vertices, the Monte Carlo draws and the MILP weights of a linear surrogate) inside
        certified outer bounds (:func:`~index.analysis.bounds.pair_ranges_outer`); all units
        (NaN for units without a score)."""
        n_units, n_nodes = len(self.scores), len(self.b.framework.codes)
        out = RankArrays(n_units, n_nodes)
        if not self.nonlinear:
            rb = bd.exact_rank_bounds(self.xn[self.ranked], self.adm)
            out.put(self.ranked, rb)
            return out.bounds(rb.method)
        rng = np.random.default_rng(self.settings.seed)
        cands = [
            self.adm.nominal[None],
            bd.vertex_samples(self.adm, VERTEX_RUNS, rng),
            self.mc_weights,
        ]
        if "aggregation" not in self.nonlinear:  # arithmetic means with gaps: a linear surrogate
            sur = bd.exact_rank_bounds(self._filled()[self.ranked], self.adm)
            cands += [sur.best_weights, sur.worst_weights]
        inner = bd.attained_rank_bounds(self.scorer, np.concatenate(cands))
        dmin, dmax = self.pair_ranges
        lo, hi = bd.outer_ranks(dmin, dmax, 2 * self.tol)
        rb = bd.RankBounds(
            inner.best[self.ranked], inner.worst[self.ranked], inner.best_weights[self.ranked],
            inner.worst_weights[self.ranked], lo, hi,
            f"{inner.method} inside certified outer bounds ({self.nonlinear})",
        )  # fmt: skip
        out.put(self.ranked, rb)
        return out.bounds(rb.method)

    def _filled(self) -> np.ndarray:
        """Normalised data with each missing indicator of a unit replaced by the unit's nominal
        score of the nearest scored ancestor: the scores at the nominal weights are unchanged."""
        fw = self.b.framework
        s = self.b.scores[self.yi]
        x = self.xn.copy()
        for u, i in zip(*np.nonzero(np.isnan(x)), strict=True):
            k = int(fw.parent_idx[i])
            while k >= 0 and np.isnan(s[u, k]):
                k = int(fw.parent_idx[k])
            x[u, i] = s[u, k] if k >= 0 else np.nan
        return x

    @cached_property
    def mc_weights(self) -> np.ndarray:
        return bd.sample_admissible(
            self.adm, self.settings.mc, np.random.default_rng(self.settings.seed)
        )

    @cached_property
    def mc_ranks(self) -> np.ndarray:
        """Ranks (runs, units) under Monte Carlo weights within the admissible set."""
        return rank_desc(self.scorer(self.mc_weights), axis=-1)

    @cached_property
    def checked(self) -> tuple[np.ndarray, np.ndarray]:
        """Ranks (with the τ/2 tie band) of every unit under its own best and worst weights,
        re-run through the pipeline's aggregation."""
        rb = self.bounds
        n = len(self.scores)
        best, worst = np.full(n, np.nan), np.full(n, np.nan)
        for u in np.nonzero(self.ranked)[0]:
            best[u] = bd.ranks_tol(self.scorer(rb.best_weights[u]), self.tol)[u]
            worst[u] = bd.ranks_tol(self.scorer(rb.worst_weights[u]), self.tol)[u]
        return best, worst

    def table(self) -> pd.DataFrame:
        """One row per unit (nominal order): names, score, nominal / best / worst rank, Monte Carlo
        5 % and 95 % rank quantiles, whether the bounds are exact and re-run verified (a copy:
        computed once, read by every profile)."""
        return self._table.copy()

    @cached_property
    def _table(self) -> pd.DataFrame:
        rb = self.bounds
        mc = rank_stats(self.mc_ranks)
        best_chk, worst_chk = self.checked
        out = self._units()
        out["score"] = self.scores
        out["rank"] = self.b.ranks[self.yi, :, -1]
        out["best"], out["worst"] = rb.best, rb.worst
        out["mc_q05"], out["mc_q95"] = mc.quantiles[0], mc.quantiles[-1]
        out["mc_min"] = np.nanmin(self.mc_ranks, axis=0)
        out["mc_max"] = np.nanmax(self.mc_ranks, axis=0)
        out["best_outer"], out["worst_outer"] = rb.best_outer, rb.worst_outer
        out["exact"] = rb.exact
        out["verified"] = (best_chk == rb.best) & (worst_chk == rb.worst)
        for c in ("rank", "best", "worst", "best_outer", "worst_outer", "mc_min", "mc_max"):
            out[c] = out[c].astype("Int64")
        out.attrs["method"] = rb.method
        return out.sort_values(["rank", "name_en"], na_position="last").reset_index(drop=True)

    def bound_weights(self) -> pd.DataFrame:
        """Long table of the within-group and effective weights realising every bound:
        region_code, names, bound (best/worst), node code and names, level, weight, eff_weight,
        nominal."""
        fw, rb = self.b.framework, self.bounds
        rows = []
        units = self._units()
        for u in np.nonzero(self.ranked)[0]:
            for kind, w in (("best", rb.best_weights[u]), ("worst", rb.worst_weights[u])):
                eff = bd.effective(fw, w)
                for k, c in enumerate(fw.codes[:-1]):
                    rows.append((*units.iloc[u], kind, c, fw.level[c], w[k], eff[k]))
        cols = [
            "region_code",
            "name_zh",
            "name_en",
            "bound",
            "code",
            "level",
            "weight",
            "eff_weight",
        ]
        out = pd.DataFrame(rows, columns=cols)
        nodes = self._nodes()
        out = out.merge(nodes, on="code", how="left")
        return out

    # -- reversals and dominance --
    @cached_property
    def pair_ranges(self) -> tuple[np.ndarray, np.ndarray]:
        """(dmin, dmax) of $s_r - s_u$ over ranked units, in score points: exact in the linear
        case, certified outer ranges for monotone means with gaps, NaN otherwise."""
        x = self.xn[self.ranked]
        if self.nonlinear:
            opts = aggregation_options(self.b.config)
            return bd.pair_ranges_outer(
                x, self.adm, opts["method"], self.b.config.aggregation.params
            )
        return bd.pair_ranges(x, self.adm)

    def reversals(self, norm: str = "l1") -> pd.DataFrame:
        """Adjacent pairs in the nominal order: the smallest admissible change of the effective
        indicator weights (``norm`` L1 or L∞) that puts the lower unit above the upper one, the
        share of the index weight it moves (L1 / 2), the largest within-group weight changes,
        whether the re-run really swaps them, and the within-group weights doing it (``w:<code>``
        columns, NaN where no admissible weighting does). Linear case only (else an InputError)."""
        if self.nonlinear:
            raise InputError(Problem("bounds", None, "reversals", f"not exact: {self.nonlinear}"))
        fw = self.b.framework
        idx = np.nonzero(self.ranked)[0]
        order = idx[np.lexsort((idx, -self.scores[idx]))]
        x = self.xn
        units = self._units()
        rows = []
        for above, below in zip(order[:-1], order[1:], strict=True):
            rv = bd.reversal(x[self.ranked], self.adm, *np.searchsorted(idx, [above, below]),
                             norm=norm)  # fmt: skip
            swapped, change = False, ""
            realised = dict.fromkeys((f"w:{c}" for c in fw.codes[:-1]), np.nan)
            if rv.weights is not None:
                realised = {f"w:{c}": rv.weights[k] for k, c in enumerate(fw.codes[:-1])}
                s = self.scorer(rv.weights)
                swapped = bool(s[below] > s[above])
                delta = rv.weights - self.adm.nominal
                top = np.argsort(-np.abs(delta[:-1]))[:3]
                change = ", ".join(f"{fw.codes[k]} {delta[k]:+.3f}" for k in top if delta[k])
            rows.append(
                {
                    "rank": int(self.b.ranks[self.yi, above, -1]),
                    "above": units.iloc[above]["region_code"],
                    "above_zh": units.iloc[above]["name_zh"],
                    "above_en": units.iloc[above]["name_en"],
                    "below": units.iloc[below]["region_code"],
                    "below_zh": units.iloc[below]["name_zh"],
                    "below_en": units.iloc[below]["name_en"],
                    "gap": float(self.scores[above] - self.scores[below]),
                    "distance": rv.distance,
                    "norm": norm,
                    "moved_share": rv.distance / 2 if norm == "l1" else np.nan,
                    "change": change,
                    "swapped": swapped,
                    **realised,
                }
            )
        return pd.DataFrame(rows)

    def dominance(self) -> pd.DataFrame:
        """Pairs whose order no admissible weighting changes: ``above`` strictly above ``below``
        under every weighting, with the smallest margin (score points)."""
        dmin, _ = self.pair_ranges
        units = self._units().iloc[np.nonzero(self.ranked)[0]].reset_index(drop=True)
        pairs = bd.dominance(dmin)
        rows = [
            {
                "above": units.at[a, "region_code"],
                "above_zh": units.at[a, "name_zh"],
                "above_en": units.at[a, "name_en"],
                "below": units.at[b, "region_code"],
                "below_zh": units.at[b, "name_zh"],
                "below_en": units.at[b, "name_en"],
                "min_margin": m,
            }
            for a, b, m in pairs
        ]
        cols = ["above", "above_zh", "above_en", "below", "below_zh", "below_en", "min_margin"]
        return pd.DataFrame(rows, columns=cols)

    # -- labels --
    def _units(self) -> pd.DataFrame:
        ds = self.b.dataset
        out = ds.units.loc[list(ds.unit_codes), ["name_zh", "name_en"]].reset_index(drop=True)
        out.insert(0, "region_code", list(ds.unit_codes))
        return out

    def _nodes(self) -> pd.DataFrame:
        fw = self.b.framework
        return pd.DataFrame(
            {
                "code": fw.codes,
                "node_zh": [fw.node(c).name_zh for c in fw.codes],
                "node_en": [fw.node(c).name_en for c in fw.codes],
                "nominal": self.adm.nominal,
                "lo": self.adm.lo,
                "hi": self.adm.hi,
            }
        )


class RankArrays:
    """Full-length (all units) bound arrays filled from the ranked units' results."""

    def __init__(self, n_units: int, n_nodes: int):
        self.best, self.worst = np.full(n_units, np.nan), np.full(n_units, np.nan)
        self.lo, self.hi = np.full(n_units, np.nan), np.full(n_units, np.nan)
        self.wb = np.full((n_units, n_nodes), np.nan)
        self.ww = np.full((n_units, n_nodes), np.nan)

    def put(self, mask: np.ndarray, rb: bd.RankBounds) -> None:
        self.best[mask], self.worst[mask] = rb.best, rb.worst
        self.lo[mask], self.hi[mask] = rb.best_outer, rb.worst_outer
        self.wb[mask], self.ww[mask] = rb.best_weights, rb.worst_weights

    def bounds(self, method: str) -> bd.RankBounds:
        return bd.RankBounds(self.best, self.worst, self.wb, self.ww, self.lo, self.hi, method)


# ---- what it takes to move up ----------------------------------------------------------------------
Trial = dict[tuple[int, int], float]
"""One re-run of what it takes: (unit, indicator) positions → new denominated values of the year."""
_T = TypeVar("_T")
Search = Generator[Trial, "np.ndarray | None", _T]
"""A search of what it takes: yields the trials it needs scored, is sent each one's scores (None
where the pipeline refuses it), returns its answer (:func:`_lockstep` runs many side by side)."""


def unit_position(b: Build, name: str) -> int:
    """Row of a unit named by code, 中文 or English name (regions.resolve for provinces)."""
    codes = list(b.dataset.unit_codes)
    text = str(name).strip()
    if text in codes:
        return codes.index(text)
    code = regions.resolve(text)
    if isinstance(code, str) and code in codes:
        return codes.index(code)
    units = b.dataset.units
    for col in ("name_zh", "name_en"):
        hit = [c for c in codes if str(units.at[c, col]).strip().lower() == text.lower()]
        if hit:
            return codes.index(hit[0])
    raise InputError(
        Problem("region", None, name, "unknown region (give a code, 中文 or English name)")
    )


@dataclass
class Rescorer:
    """Re-runs the pipeline from the denominated stage (impute → treat → normalise → aggregate,
    with the configured weigher) for one year, on the year alone unless a choice reads the panel.

    Treatment is decided year by year, and so are per-year normalisation and the aggregation, so
    when only the imputation reads other years (``latest``, ``linear``) the whole panel of the
    data is imputed (as the build does, :func:`~index.pipeline._impute`) and the rest runs on
    the year's slice alone: the same numbers, at a fraction of the cost (what it takes re-runs
    the pipeline ~60 times per unit).

    A temporal imputer fills a missing cell from the other years of the same unit and indicator
    and never changes an observed value (:mod:`index.methods.impute`), so when a re-run changes
    only observed values of the year, the temporal steps leading the imputation give the year
    the base's fills, with the re-run's observed values: they run once, on the base
    (:attr:`temporal_once`), and each re-run imputes the rest on the year alone."""

    b: Build
    yi: int

    @cached_property
    def panel(self) -> bool:
        """The rest of the pipeline needs every built year (normalisation over the panel)."""
        return self.b.config.normalise.panel != "per_year"

    @cached_property
    def imputes_panel(self) -> bool:
        """The imputation reads other years (or the normalisation does)."""
        step = self.b.config.impute
        return self.panel or bool({step.method, step.fallback} & TEMPORAL_IMPUTERS)

    @cached_property
    def base(self) -> np.ndarray:
        """The denominated values a trial modifies: the year's, the whole panel's (temporal
        imputation, the built years as the build has them) or the build's (panel normalisation)."""
        den = self.b.stages["denominated"]
        if self.panel:
            return den.copy()
        if not self.imputes_panel:
            return den[[self.yi]].copy()
        ds, fw = self.b.dataset, self.b.framework
        whole = ds.whole
        raw = whole.select([i.data_series for i in fw.indicators])
        out = denominated(raw, fw, whole, divide=self.b.config.denominate)
        out[[whole.years.index(y) for y in ds.years]] = den
        return out

    @cached_property
    def data(self):
        """The dataset the imputation reads (matching :attr:`base`)."""
        if self.panel:
            return self.b.dataset
        return self.b.dataset.whole if self.imputes_panel else self.year_data

    @cached_property
    def year_data(self):
        ds = self.b.dataset
        return ds.subset_years([ds.years[self.yi]])

    @cached_property
    def temporal_once(self) -> tuple[np.ndarray, list[tuple[str, dict]]] | None:
        """The year's values after the temporal imputers leading the imputation, run once on
        ``base``, and the imputers left (cross-sectional: per year); None unless the year is
        scored alone after a panel imputation whose temporal steps all come first."""
        if self.panel or not self.imputes_panel:
            return None
        steps = _imputation_steps(self.b.config)
        k = next((j for j, (n, _) in enumerate(steps) if n not in TEMPORAL_IMPUTERS), len(steps))
        if any(name in TEMPORAL_IMPUTERS for name, _ in steps[k:]):
            return None
        cfg, fw = self.b.config, self.b.framework
        once = _impute(self.base, cfg, fw, self.data, track=False, steps=steps[:k])[0]
        return once[self.row()], steps[k:]

    def _imputed(self, den: np.ndarray) -> tuple[np.ndarray, Dataset]:
        """The imputed values (R, years, units, indicators) of R denominated arrays (R,
        *``base``.shape), cut to the year unless the panel is scored, and the dataset the rest of the pipeline reads: by
        :attr:`temporal_once` when each array differs from ``base`` only in observed values of
        the year, else by imputing each array whole."""
        cfg, fw, y = self.b.config, self.b.framework, self.row()
        gaps, other = np.isnan(self.base), np.arange(len(self.base)) != y
        if (
            self.temporal_once is not None
            and (np.isnan(den) == gaps).all()
            and (den[:, other] == self.base[other]).all(where=~gaps[other])
        ):
            once, rest = self.temporal_once
            x = np.where(gaps[y], once, den[:, y])[:, None]
            return _impute(x, cfg, fw, self.year_data, track=False, steps=rest)[0], self.year_data
        x = _impute(den, cfg, fw, self.data, track=False)[0]
        if self.panel:
            return x, self.data
        return x[:, [y]], self.year_data  # the year alone from here on

    def scores(self, den: np.ndarray) -> np.ndarray:
        """Index scores (units,) of the year for a modified denominated array (like ``base``)."""
        return self._batch(den[None])[0]

    def scores_many(self, trials: Sequence[Trial]) -> list[np.ndarray | None]:
        """Index scores (units,) of the year for each trial (the year's denominated values
        changed as the trial says), None where the pipeline refuses a trial's values (e.g. a
        value the treatment cannot handle). The trials are scored as one batch; a batch the
        pipeline refuses is split in halves, down to the refused trials alone, so a refused
        trial takes no other along."""
        den = np.repeat(self.base[None], len(trials), axis=0)
        for r, trial in enumerate(trials):
            for (u, i), v in trial.items():
                den[r, self.row(), u, i] = v
        try:
            return list(self._batch(den))
        except (InputError, IndicatorError):
            if len(trials) == 1:
                return [None]
        half = len(trials) // 2
        return self.scores_many(trials[:half]) + self.scores_many(trials[half:])

    def _batch(self, den: np.ndarray) -> np.ndarray:
        """Index scores (R, units) of the year for R denominated arrays (R, *``base``.shape).

        The trials are a leading axis in front of the years, each scored as if alone: the
        imputation broadcasts over leading axes (a temporal imputer reads each trial's own
        years), treatment and per-year normalisation take each (trial, year) item on its own as
        they take each year, and a panel normalisation is fitted trial by trial. The aggregation
        is called trial by trial, as on its own: its weighted sums are matrix products whose
        rounding depends on the memory layout of the batch (BLAS or not, by strides) and on
        whether any child of the call is missing, so a batch would change the last bits."""
        cfg, fw = self.b.config, self.b.framework
        x, data = self._imputed(den)
        items = x.reshape(-1, *x.shape[-2:])  # (trial · year, units, indicators)
        if (options := _treat_options(cfg, fw)) is not None:
            items = trt.treat(items, **options).x
        x = items.reshape(x.shape)
        if self.panel:
            x = np.stack([_normalise(t, cfg, fw, data) for t in x])
        else:
            x = _normalise(x, cfg, fw, data)
        # optimised weights (weighting=optimise) stay at the build's optimum: re-optimising the
        # tree for every trial improvement would make what-it-takes searches minutes long
        w = self.b.weights[self.yi] if cfg.weighting.joint else nominal_weights(cfg, fw)
        opts, weigher = aggregation_options(cfg), config_weigher(cfg)
        out = np.empty((len(x), x.shape[-2]))
        for r, t in enumerate(x):  # one call per trial: see above
            s, _ = aggregate_nodes(
                t, fw, np.broadcast_to(w, (len(t), len(w))), weigher=weigher, **opts
            )
            out[r] = s[self.yi if self.panel else 0, :, -1]
        return out

    def row(self) -> int:
        """The year's row in :attr:`base`."""
        if self.panel:
            return self.yi
        if not self.imputes_panel:
            return 0
        return self.data.years.index(self.b.years[self.yi])


def _moves_up(s: np.ndarray, u: int, rank: float) -> bool:
    """Unit ``u`` ranks at least one place above ``rank`` under scores ``s``: its rank
    (:func:`~index.methods.rank.rank_desc`, ties at the lowest) is 1 + the number of units scoring
    strictly higher, NaN (never moved up) without a score."""
    return bool(s[u] == s[u] and 1 + np.count_nonzero(s > s[u]) <= rank - 1)


def what_it_takes(b: Build, unit: str | int, year: int | None = None) -> pd.DataFrame:
    """For one unit and the unit above it: the smallest improvement of each single indicator, in
    the indicator's own unit, and the smallest uniform % improvement across each pillar, that
    moves the unit up at least one place.

    First the linear answer: with the other units and the weights fixed, the index score rises by
    $\\partial s_u/\\partial x^{norm}_{ui}$ (from the aggregation) per normalised point, and under
    per-year min-max a normalised point is $(\\max - \\min)/(u - l)$ indicator units. It is exact
    (``method = "exact"``) when the aggregation is linear, the treatment leaves the column alone,
    and the unit neither becomes the column's new maximum nor is its minimum. Every answer is
    re-run through the pipeline (``verified``); when the linear answer is not exact or fails the
    re-run, the smallest improvement is searched (bisection) with the pipeline itself
    (``method = "search"``, to within 1 % of the answer), or reported unreachable (up to the
    headroom of :func:`_headroom`; "at the limit" when there is none, e.g. a designation held).
    Indicators whose values are all whole numbers (counts, 0/1 designations) are rounded up to
    whole units (re-run again). Lower-is-better indicators improve by going down; a pillar's
    uniform improvement q multiplies
    higher-is-better values by 1 + q and divides lower-is-better ones by 1 + q.
    """
    return what_it_takes_many(b, [unit], year)[0]


WHAT_IT_TAKES_COLUMNS = ("kind", "code", "name_zh", "name_en", "unit", "value", "change",
                         "new_value", "change_pct", "method", "verified")  # fmt: skip
"""The columns of a what-it-takes table."""


def what_it_takes_many(
    b: Build, units: Sequence[str | int], year: int | None = None
) -> list[pd.DataFrame]:
    """:func:`what_it_takes` of several units of one year (the same tables as one by one), their
    searches run side by side: each round's re-runs, of every search of every unit, are scored
    as one batch (:func:`_lockstep`)."""
    yi = b._year_index(year)
    rs = Rescorer(b, yi)
    plans = [_searches(b, rs, unit_position(b, u) if isinstance(u, str) else u) for u in units]
    rows = iter(_lockstep([s for searches, _ in plans for s in searches], rs.scores_many))
    tables = []
    for searches, attrs in plans:
        if not searches:  # ranked first, or not ranked
            tables.append(pd.DataFrame(columns=list(WHAT_IT_TAKES_COLUMNS)))
            continue
        out = pd.DataFrame([next(rows) for _ in searches], columns=list(WHAT_IT_TAKES_COLUMNS))
        out.attrs.update(attrs)
        tables.append(out)
    return tables


def _searches(b: Build, rs: Rescorer, u: int) -> tuple[list[Search[dict]], dict]:
    """The searches of :func:`what_it_takes` for unit ``u`` (one per indicator, then one per
    pillar, each returning its table row) and the table's attrs; none for a unit ranked first
    or not ranked."""
    yi = rs.yi
    fw, cfg = b.framework, b.config
    scores = b.scores[yi, :, -1]
    rank = b.ranks[yi, u, -1]
    if np.isnan(rank) or rank == 1:
        return [], {}
    above = np.nonzero(scores > scores[u])[0]
    gap = float(scores[above].min() - scores[u])
    den = rs.base[rs.row()]
    xn = b.stages["normalised"][yi]
    xt = b.stages["treated"][yi] * fw.directions
    weights = b.weights[yi]
    opts = aggregation_options(cfg)
    base_s, _ = aggregate_tree(xn, fw, weights, **opts)
    levels = {fw.level[fw.codes[p]] for p, _ in fw.groups}
    linear = {cfg.aggregation.method_at(lev) for lev in levels} == {"amean"}
    params = cfg.normalise.with_defaults(cfg.normalise.method, cfg.normalise.params)
    minmax = cfg.normalise.method == "minmax" and cfg.normalise.panel == "per_year"
    own_norm = set(getattr(cfg.normalise, "per_indicator", {}) or {})
    l_, u_ = float(params.get("l", 0.0)), float(params.get("u", 100.0))
    treated_same = np.isclose(b.stages["treated"][yi], b.stages["imputed"][yi], equal_nan=True).all(
        axis=0
    )
    need = gap + 2 * bd.TAU * bd._scale(xn[~np.isnan(scores)])

    def up(s: np.ndarray | None) -> bool:
        """A trial's scores move the unit up at least one place."""
        return s is not None and _moves_up(s, u, rank)

    def estimate(step: float, s: np.ndarray | None) -> float:
        """Linear estimate of the change that closes the gap, from the scores of a trial
        (one re-run) at ``step``."""
        gain = np.nan if s is None else float(s[u] - scores[u])
        return step * need / gain if gain > 0 else np.nan

    def slope(i: int) -> float:
        bumped = xn.copy()
        bumped[u, i] += 1.0
        s, _ = aggregate_tree(bumped, fw, weights, **opts)
        return float(s[u, -1] - base_s[u, -1])

    def indicator(i: int, ind: Indicator) -> Search[dict]:
        value = den[u, i]
        row = _row("indicator", ind, value)
        if np.isnan(value) or np.isnan(xn[u, i]):
            return {**row, "method": "missing"}
        d = ind.direction
        column = den[:, i][~np.isnan(den[:, i])]
        cap = _headroom(value, d, column, ind.unit)
        if cap <= 0:
            return {**row, "method": "at the limit"}
        hi_col, lo_col = np.nanmax(xt[:, i]), np.nanmin(xt[:, i])
        est, exact = np.nan, False
        if (
            linear
            and minmax
            and ind.code not in own_norm
            and hi_col > lo_col
            and (k := slope(i)) > 0
        ):
            dn = need / k
            est = d * dn * (hi_col - lo_col) / (u_ - l_)
            new_t = xt[u, i] + dn * (hi_col - lo_col) / (u_ - l_)
            exact = bool(treated_same[i] and new_t <= hi_col and xt[u, i] > lo_col)
        else:
            step = 0.05 * abs(value) or 1.0
            est = d * abs(estimate(step, (yield _moved(value, (u, i), d, step))))
        moved = functools.partial(_moved, value, (u, i), 1.0)
        change, method = yield from _settle(moved, up, est, exact, d, cap)
        found = change == change
        if found and np.all(column == np.round(column)):  # counts, 0/1 designations: whole units
            whole = d * np.ceil(abs(change) - 1e-9)
            if whole != change and up((yield {(u, i): value + whole})):
                change, method = whole, f"{method}, whole units"
        return {
            **row,
            "change": change,
            "new_value": value + change if found else np.nan,
            "change_pct": change / abs(value) * 100 if found and value else np.nan,
            "method": method,
            "verified": found,  # _settle returns only changes that passed the re-run
        }

    def pillar(p: str) -> Search[dict]:
        members = [
            i for i, ind in enumerate(fw.indicators) if fw.ancestor_at(ind.code, fw.level[p]) == p
        ]
        present = [i for i in members if not np.isnan(den[u, i])]
        node = fw.node(p)
        row = {"kind": "pillar", "code": p, "name_zh": node.name_zh, "name_en": node.name_en,
               "unit": "%", "value": np.nan}  # fmt: skip
        if not present:
            return {**row, "method": "missing"}

        def scaled(q: float) -> Trial:
            return {
                (u, i): den[u, i] * (1 + q)
                if fw.indicators[i].direction > 0
                else den[u, i] / (1 + q)
                for i in present
            }

        est = estimate(0.05, (yield scaled(0.05)))
        q, method = yield from _settle(scaled, up, est, False, 1, PILLAR_CAP)
        found = q == q
        pct = q * 100 if found else np.nan
        return {**row, "change": pct, "new_value": np.nan, "change_pct": pct, "method": method,
                "verified": found}  # fmt: skip

    searches = [indicator(i, ind) for i, ind in enumerate(fw.indicators)]
    searches += [pillar(p) for p in fw.children[fw.root.code]]
    attrs = {"unit": b.dataset.unit_codes[u], "rank": int(rank), "gap": gap, "year": b.years[yi]}
    return searches, attrs


def _lockstep(
    searches: Sequence[Search[dict]], score: Callable[[list[Trial]], list[np.ndarray | None]]
) -> list[dict]:
    """Run the searches side by side and return what each returns, in order.

    A search is a generator that yields the trial it needs scored and is sent its scores (None:
    refused), deciding its next trial from them exactly as if it ran alone; each round scores
    the pending trial of every search still running as one batch (``score``). The decisions are
    the searches' own, only the re-runs are pooled (a round costs one pass of the pipeline's
    batched stages, not one per trial)."""
    done: dict[int, dict] = {}
    pending: dict[int, Trial] = {}

    def advance(k: int, result: np.ndarray | None) -> None:
        try:  # a search just started is sent None: its first trial
            pending[k] = searches[k].send(result)
        except StopIteration as stop:
            done[k] = stop.value

    for k in range(len(searches)):
        advance(k, None)
    while pending:
        keys, trials = list(pending), list(pending.values())
        pending.clear()
        for k, result in zip(keys, score(trials), strict=True):
            advance(k, result)
    return [done[k] for k in range(len(searches))]


def _headroom(value: float, direction: int, column: np.ndarray, unit: str) -> float:
    """The largest improvement searched for one indicator: to 1 for a 0/1 designation (unit "1"
    or none, values 0 and 1 only), to 100 for
    a share in %, to zero for a lower-is-better quantity, else 100 × the column's largest value."""
    if direction < 0:
        return abs(value) if value > 0 else 100.0 * max(np.abs(column).max(), abs(value))
    if unit.strip() in ("", "1", "0/1") and np.isin(column, (0.0, 1.0)).all():
        return 1.0 - value
    if unit.strip() == "%":
        return 100.0 - value
    return 100.0 * max(np.abs(column).max(), abs(value))


def _row(kind: str, ind: Indicator, value: float) -> dict:
    return {"kind": kind, "code": ind.code, "name_zh": ind.name_zh, "name_en": ind.name_en,
            "unit": ind.unit, "value": value}  # fmt: skip


def _settle(
    moved: Callable[[float], Trial],
    up: Callable[[np.ndarray | None], bool],
    estimate: float,
    exact: bool,
    direction: int,
    cap: float,
) -> Search[tuple[float, str]]:
    """The smallest improvement c (signed: ``direction`` × magnitude) whose trial ``moved(c)``
    moves the unit up (``up`` of the trial's scores, which the search yields and is sent).

    An ``exact`` linear ``estimate`` that passes is returned as it is. Otherwise a search on the
    magnitude: start at the estimate (or 1 % of ``cap``), grow ×4 until it passes (give up at
    ``cap``: unreachable), check 0.99 × that (one re-run settles a good estimate), then bisect to
    1 % relative. Passing must be monotone in the magnitude (more improvement never hurts).
    Every returned change passed its re-run.
    """
    start = abs(estimate) if estimate == estimate and estimate != 0 else 0.01 * cap
    hi = min(start, cap)
    passed = up((yield moved(direction * hi)))
    if exact and passed:
        return direction * hi, "exact"
    lo = 0.0
    while not passed:
        if hi >= cap:
            return np.nan, "unreachable"
        lo, hi = hi, min(4 * hi, cap)
        passed = up((yield moved(direction * hi)))
    if lo < 0.99 * hi:
        if up((yield moved(direction * 0.99 * hi))):
            hi = 0.99 * hi
        else:
            lo = 0.99 * hi
    while hi - lo > 1e-2 * hi:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if up((yield moved(direction * mid))) else (mid, hi)
    return direction * hi, "search"


# ---- province profiles -------------------------------------------------------------------------------
GROUP_COLUMNS = ("nbs_region", "region_group", "macro_region", "region", "group")
STRENGTHS = 3


def group_column(units: pd.DataFrame) -> str | None:
    """The unit-group column a profile compares with: the first of ``GROUP_COLUMNS`` present,
    else the first column beyond the names (None when the dataset has no groups)."""
    extra = [c for c in units.columns if c not in ("name_zh", "name_en", "short_zh")]
    named = [c for c in GROUP_COLUMNS if c in extra]
    return (named or extra or [None])[0]


@dataclass(frozen=True)
class Profile:
    """Everything the report says about one unit in one year (labelled frames)."""

    code: str
    name_zh: str
    name_en: str
    year: int
    score: float
    rank: float
    n_ranked: int
    group: str | None
    group_label: str | None
    pillars: pd.DataFrame  # code, names, score, rank, median, group_median
    strengths: pd.DataFrame  # best indicators by rank: code, names, unit, value, rank
    weaknesses: pd.DataFrame
    history: pd.DataFrame  # year, score, rank
    bounds: pd.Series  # best, worst, mc_q05, mc_q95, exact …
    what_it_takes: pd.DataFrame


def profile(
    b: Build, unit: str | int, year: int | None = None, claims: Claims | None = None
) -> Profile:
    """A unit's profile: pillar scores against the median of all units and of its group, its
    best and worst indicators by rank (COINr ``get_str_weak`` on the indicator values with their
    directions, :func:`index.analysis.profiles.strengths_weaknesses`), rank history, Monte Carlo interval, exact bounds and what it
    takes to move up (``claims`` reuses computed bounds, default ±50 % box)."""
    return profiles(b, [unit], year, claims)[0]


def profiles(
    b: Build, units: Sequence[str | int], year: int | None = None, claims: Claims | None = None
) -> list[Profile]:
    """:func:`profile` of several units of one year, their what-it-takes searches run side by
    side (:func:`what_it_takes_many`: the same tables, the re-runs of all units pooled)."""
    yi = b._year_index(year)
    claims = claims or Claims(b, b.years[yi])
    positions = [u if isinstance(u, int) else unit_position(b, u) for u in units]
    takes = what_it_takes_many(b, positions, b.years[yi])
    return [_profile(b, u, yi, claims, w) for u, w in zip(positions, takes, strict=True)]


def _profile(b: Build, u: int, yi: int, claims: Claims, takes: pd.DataFrame) -> Profile:
    """:func:`profile` of unit ``u`` with its what-it-takes table."""
    fw, ds = b.framework, b.dataset
    code = ds.unit_codes[u]
    s, r = b.scores[yi], b.ranks[yi]
    pos = {c: k for k, c in enumerate(fw.codes)}
    gcol = group_column(ds.units)
    glabel = ds.units.at[code, gcol] if gcol else None
    same = (
        (ds.units[gcol].to_numpy() == glabel)
        if gcol and isinstance(glabel, str)
        else np.zeros(len(ds.unit_codes), bool)
    )
    pillars = pd.DataFrame(
        [
            {
                "code": p,
                "name_zh": fw.node(p).name_zh,
                "name_en": fw.node(p).name_en,
                "score": s[u, pos[p]],
                "rank": r[u, pos[p]],
                "median": np.nanmedian(s[:, pos[p]]),
                "group_median": np.nanmedian(s[same, pos[p]]) if same.any() else np.nan,
            }
            for p in fw.children[fw.root.code]
        ]
    )
    den = pd.DataFrame(
        b.stages["denominated"][yi], index=list(ds.unit_codes), columns=fw.indicator_codes
    )
    sw = strengths_weaknesses(
        den, code, top=STRENGTHS, bottom=STRENGTHS,
        directions=dict(zip(fw.indicator_codes, fw.directions, strict=True)),
    )  # fmt: skip

    def labelled(df: pd.DataFrame) -> pd.DataFrame:
        meta = {i.code: i for i in fw.indicators}
        return pd.DataFrame(
            {
                "code": df["code"],
                "name_zh": [meta[c].name_zh for c in df["code"]],
                "name_en": [meta[c].name_en for c in df["code"]],
                "unit": [meta[c].unit for c in df["code"]],
                "value": df["value"],
                "rank": df["rank"],
            }
        ).reset_index(drop=True)

    history = pd.DataFrame(
        {"year": list(b.years), "score": b.scores[:, u, -1], "rank": b.ranks[:, u, -1]}
    )
    table = claims.table().set_index("region_code")
    return Profile(
        code, ds.units.at[code, "name_zh"], ds.units.at[code, "name_en"], b.years[yi],
        float(s[u, -1]), float(r[u, -1]), int((~np.isnan(s[:, -1])).sum()), gcol,
        glabel if isinstance(glabel, str) else None, pillars,
        labelled(sw.strengths), labelled(sw.weaknesses.iloc[::-1]), history, table.loc[code],
        takes,
    )  # fmt: skip


def _moved(value: float, cell: tuple[int, int], direction: float, change: float) -> Trial:
    """The one-indicator change tried by "what it takes": the (unit, indicator) cell → its value
    moved by ``direction × change``."""
    return {cell: value + direction * change}
