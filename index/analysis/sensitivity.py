"""Sensitivity analysis on the batched evaluator: Sobol' indices and leave-one-out.

- :func:`sobol_analysis` samples a Saltelli design of the spec's factors (N(d+2) runs), evaluates
  it with :class:`~index.analysis.uncertainty.Evaluator` keeping the per-run ranks, and estimates
  first-order and total indices (:func:`index.analysis.sobol.sobol_indices`) for COINr's scalar
  output, the mean absolute rank change against the nominal ranking, and for the rank of every
  region (which assumption moves this region).
- :func:`leave_one_out` removes each element (weight 0, siblings re-normalised) in one batch.

:func:`sensitivity` and :func:`build_leave_one_out` run them on a build (``Build.sensitivity``,
``Build.leave_one_out``); :func:`write_results` writes the tables with their provenance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from index.analysis import loo
from index.analysis import spec as specmod
from index.analysis.sobol import SobolResult, sobol_indices
from index.analysis.uncertainty import Evaluator, Outcome, build_evaluator, keep_scores_for
from index.config import Config
from index.io import write_parquet
from index.methods.rank import rank_desc

if TYPE_CHECKING:
    from distributed import Client

    from index.pipeline import Build

SCALAR = "mean_abs_rank_change"
WITHIN = (1, 3, 5)  # the ±k places of the recorded shares within the nominal rank


@dataclass(frozen=True)
class SobolAnalysis:
    """Sobol' indices of the scalar output and of each region's rank, with the runs' outcome."""

    outcome: Outcome
    scalar: SobolResult  # (d,)
    regional: SobolResult  # (d, units)
    names: list[str]
    n: int

    def table(self) -> pd.DataFrame:
        """Long table: output (``mean_abs_rank_change`` or a region code), variable, S1, ST and
        their interval bounds (when bootstrapped)."""
        scalar = self.scalar.to_frame(self.names)
        scalar.insert(0, "output", SCALAR)
        regional = self.regional.to_frame(self.names, list(self.outcome.units.index))
        return pd.concat([scalar, regional], ignore_index=True)

    def overall(self) -> pd.DataFrame:
        """Indices of the scalar output (mean absolute rank change), one row per factor (index =
        variable): S1, ST and their interval bounds when bootstrapped."""
        return self.scalar.to_frame(self.names).set_index("variable")

    def plot(self, *, bilingual: bool | None = None):
        """First-order and total indices of the scalar output per factor as a matplotlib Figure
        in the publication's style (:func:`index.publish.sobol_chart.sobol_chart`); ``bilingual``
        defaults to whether a CJK font is installed."""
        from index.publish import figures, sobol_chart

        with figures.style() as font:
            return sobol_chart.sobol_chart(
                self.overall(), bilingual=font is not None if bilingual is None else bilingual
            )

    def regional_total(self) -> pd.DataFrame:
        """Total indices per region (rows) and factor (columns): which choice moves each rank."""
        return pd.DataFrame(
            self.regional.ST.T, index=self.outcome.units.index, columns=pd.Index(self.names)
        )


def sobol_analysis(
    ev: Evaluator,
    *,
    n: int | None = None,
    seed: int | None = None,
    keep_scores: bool = False,
    progress: bool | None = None,
    jobs: int = 1,
    client: Client | None = None,
) -> SobolAnalysis:
    """Sample the Saltelli design (base size ``n``, default the spec's), evaluate, estimate.

    Layout, estimator convention, bootstrap size and confidence level come from ``[sobol]`` of
    the spec; the bootstrap uses ``seed`` too. The rank statistics of the outcome are over all
    N(d+2) runs (each row of A, B and AB_i is a draw from the same input distribution).
    """
    design = ev.design
    n = design.sampling.n if n is None else n
    seed = design.sampling.seed if seed is None else seed
    alts = design.alternatives(design.saltelli(n, seed))
    out = ev.run(
        alts, keep_ranks=True, keep_scores=keep_scores, progress=progress, jobs=jobs, client=client
    )
    s, d = design.sobol, len(design.factors)
    if out.ranks is None:  # keep_ranks=True above: the evaluator always keeps them then
        raise RuntimeError("the evaluator did not keep the per-run ranks")

    def indices(y: np.ndarray) -> SobolResult:
        return sobol_indices(
            y, n, d, layout=s.layout, convention=s.convention, n_boot=s.n_boot,
            conf_level=s.conf_level, seed=seed,
        )  # fmt: skip

    return SobolAnalysis(out, indices(out.y), indices(out.ranks), design.names, n)


def sensitivity(
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
) -> SobolAnalysis:
    """Sobol' analysis of a build: a Saltelli design of base size ``n`` (default: the spec's;
    N(d+2) runs) of the spec's factors for ``year``; ``keep_scores``, ``jobs`` and ``client`` as
    in :func:`index.analysis.uncertainty.uncertainty` (``keep_scores`` counted over all N(d+2)
    runs)."""
    design = specmod.design_for(spec, b.config, b.framework, n=n, seed=seed)
    ev = build_evaluator(b, design, year)
    runs = design.sampling.n * (len(design.factors) + 2)
    keep = keep_scores_for(runs, len(ev.units)) if keep_scores is None else keep_scores
    return sobol_analysis(ev, keep_scores=keep, progress=progress, jobs=jobs, client=client)


@dataclass(frozen=True)
class LeaveOneOut:
    """Rank shifts when each element is removed in turn (``removed`` codes, their levels and
    names; ``units``: the regions' names)."""

    shifts: loo.RankShift
    removed: list[str]
    levels: list[int]
    units: pd.DataFrame
    names: pd.DataFrame  # index = removed codes; name_zh, name_en

    def summary(self) -> pd.DataFrame:
        """One row per removed element: level, name_zh, name_en, mean and maximum (an integer)
        absolute rank shift."""
        out = self.shifts.summary(self.removed)
        out.insert(1, "level", self.levels)
        out.insert(2, "name_zh", self.names["name_zh"].to_numpy())
        out.insert(3, "name_en", self.names["name_en"].to_numpy())
        return out.astype({"max_abs_shift": "Int64"})

    def table(self) -> pd.DataFrame:
        """The full rank-shift table, long: removed, region_code, name_zh, name_en, and the
        integer ranks nominal, rank, shift."""
        out = self.shifts.table(self.removed, list(self.units.index))
        out = out.rename(columns={"unit": "region_code"})
        names = self.units.loc[out["region_code"], ["name_zh", "name_en"]].reset_index(drop=True)
        out = pd.concat(
            [out[["removed", "region_code"]], names, out.drop(columns=["removed", "region_code"])],
            axis=1,
        )
        return out.astype(dict.fromkeys(("nominal", "rank", "shift"), "Int64"))


def leave_one_out(ev: Evaluator, codes: list[str] | None = None) -> LeaveOneOut:
    """Remove each of ``codes`` (default: every indicator and aggregate below the root) from the
    nominal run, one at a time, as one batch of weight multipliers (0 for the removed element).

    With data-driven weighting the remaining siblings keep the weights computed with all
    children present, re-normalised: exact for entropy weights (each depends on its own child
    only), an approximation for CRITIC and PCA.
    """
    fw = ev.fw
    codes = list(fw.codes[:-1]) if codes is None else list(codes)
    pos = [fw.codes.index(c) for c in codes]

    def ranks(masks: np.ndarray) -> np.ndarray:
        mult = np.ones((len(masks), len(fw.codes)))
        mult[:, pos] = masks
        return rank_desc(ev.scores(mult), axis=-1)

    shifts = loo.leave_one_out(ranks, len(codes))
    names = pd.DataFrame(
        [(fw.node(c).name_zh, fw.node(c).name_en) for c in codes],
        index=pd.Index(codes, name="code"),
        columns=["name_zh", "name_en"],
    )
    return LeaveOneOut(shifts, codes, [fw.level[c] for c in codes], ev.units, names)


def build_leave_one_out(
    b: Build, codes: list[str] | None = None, *, year: int | None = None
) -> LeaveOneOut:
    """:func:`leave_one_out` of a build's nominal run in ``year`` (default: the latest)."""
    return leave_one_out(build_evaluator(b, year=year), codes)


def write_results(
    path: str | Path,
    outcome: Outcome,
    config: Config,
    *,
    sobol: SobolAnalysis | None = None,
    loo: LeaveOneOut | None = None,
) -> list[Path]:
    """Write the per-region intervals (with each region's rank counts) to ``path``, and beside it
    ``sensitivity.parquet`` (Sobol' indices) and ``leave_one_out.parquet`` when given. Every file
    records the run (config, spec, year, runs, seed, shares within ±k) in its metadata."""
    path = Path(path)
    design = outcome.design
    meta = {
        "config": config.model_dump(mode="json"),
        "spec": None if design.spec is None else design.spec.model_dump(mode="json"),
        "spec_source": design.source,
        "year": outcome.year,
        "runs": outcome.n_runs,
        "seed": design.sampling.seed,
        "sobol": sobol is not None,
        "share_within": {str(k): v for k, v in outcome.within(WITHIN).items()},
    }
    metadata = {"uncertainty": json.dumps(meta, sort_keys=True, ensure_ascii=False)}
    table = outcome.table()
    table["rank_counts"] = list(outcome.counts.counts)
    frames = {path: table}
    if sobol is not None:
        frames[path.with_name("sensitivity.parquet")] = sobol.table()
    if loo is not None:
        frames[path.with_name("leave_one_out.parquet")] = loo.table()
    return [write_parquet(df, p, metadata) for p, df in frames.items()]
