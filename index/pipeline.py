"""The recorded, replayable build: data → denominate → impute → treat → normalise → weight → aggregate.

``build(config, dataset)`` runs every stage over all years at once (arrays (years, units, ·)) and
keeps each stage's output, so a notebook can inspect any stage as a labelled DataFrame and
``Build.rebuild("weighting=entropy")`` regenerates everything downstream of a changed choice.
The weight-dependent tail, :func:`aggregate_tree`, is the vectorised core the uncertainty analysis
calls with thousands of weight sets at once.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from index import config as cfgmod
from index import framework as fwmod
from index.config import Config
from index.dataset import Dataset
from index.errors import InputError, Problem
from index.methods import ConstantIndicatorError, IndicatorError
from index.methods import aggregate as agg
from index.methods import impute as imp
from index.methods import normalize as norm
from index.methods import treat as trt
from index.methods import weights as wts
from index.methods.compind import bod_weights
from index.methods.optimise import optimise_level
from index.methods.rank import rank_desc

if TYPE_CHECKING:
    from index.analysis.audit import Audit
    from index.analysis.sensitivity import LeaveOneOut, SobolAnalysis
    from index.analysis.spec import SpecLike
    from index.analysis.uncertainty import Outcome
    from index.compare import Comparison

STAGES = ("raw", "denominated", "imputed", "treated", "normalised")


# ---- the vectorised core ---------------------------------------------------------------------
Weigher = Callable[[np.ndarray, str, int], np.ndarray | None]


def aggregate_nodes(
    xn: np.ndarray,
    fw: fwmod.Framework,
    weights: np.ndarray,
    method: str | Callable[[int], str] = "amean",
    *,
    dat_thresh: float | Callable[[int], float | None] | None = None,
    weigher: Weigher | None = None,
    method_params: Callable[[str], dict] | None = None,
    **params,
) -> tuple[np.ndarray, np.ndarray]:
    """Aggregate normalised indicators up the hierarchy; scores of the aggregates only.

    ``xn`` is (..., units, indicators); ``weights`` is (..., nodes) in ``fw.codes`` order and
    broadcasts against the leading axes of ``xn`` (a batch of weight sets over one data set, or
    one weight set per year). ``method`` and ``dat_thresh`` are values or functions of the
    parent's level; ``method_params(name)`` gives a method's keywords (else ``params``).
    ``weigher(children_scores, parent_code, parent_level)`` may replace a group's weights.
    Groups of indicators read ``xn`` as it is, never broadcast over the batch, so a batch of B
    weight sets costs one (B, k) × (k, units) product per group.
    Returns the scores (..., units, aggregates) in ``fw.codes[n_indicators:]`` order and the
    weights actually used (..., nodes).
    """
    lead = np.broadcast_shapes(xn.shape[:-2], weights.shape[:-1])
    n_ind, units = fw.n_indicators, xn.shape[-2]
    aggs = np.empty((len(fw.codes) - n_ind, *lead, units))  # node-major: contiguous per node
    used = np.array(np.broadcast_to(weights, (*lead, len(fw.codes))), dtype=float)

    def column(k: int) -> np.ndarray:
        return np.broadcast_to(xn[..., k], (*lead, units)) if k < n_ind else aggs[k - n_ind]

    for parent, kids in fw.groups:  # bottom-up: every aggregate is written before it is read
        level = fw.level[fw.codes[parent]]
        # children that are all indicators are shared by the whole batch: not broadcast
        x = xn[..., kids] if kids.max() < n_ind else np.stack([column(k) for k in kids], axis=-1)
        if weigher is not None and (w_new := weigher(x, fw.codes[parent], level)) is not None:
            used[..., kids] = w_new
        name = method(level) if callable(method) else method
        thresh = dat_thresh(level) if callable(dat_thresh) else dat_thresh
        kw = method_params(name) if method_params is not None else params
        try:
            aggs[parent - n_ind] = agg.aggregate(x, used[..., kids], name, dat_thresh=thresh, **kw)
        except IndicatorError as exc:  # positions within this group → the children's codes
            children = ", ".join(fw.codes[kids[j]] for j in exc.columns)
            raise InputError(
                Problem("config", fw.codes[parent], "aggregation", f"{exc.reason} ({children})")
            ) from None
    return np.moveaxis(aggs, 0, -1), used


def aggregate_tree(
    xn: np.ndarray,
    fw: fwmod.Framework,
    weights: np.ndarray,
    method: str | Callable[[int], str] = "amean",
    **options,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`aggregate_nodes` with the indicator columns in front: scores (..., units, nodes)
    in ``fw.codes`` order, and the weights actually used (..., nodes)."""
    aggs, used = aggregate_nodes(xn, fw, weights, method, **options)
    leaves = np.broadcast_to(xn, (*aggs.shape[:-1], xn.shape[-1]))
    return np.concatenate([leaves, aggs], axis=-1), used


def aggregation_options(config: Config) -> dict:
    """Keyword arguments of :func:`aggregate_nodes` for a config: method per level, data
    threshold and method parameters (the weigher comes from :func:`config_weigher`)."""
    step = config.aggregation
    return {
        "method": step.method_at,
        "dat_thresh": step.threshold,
        "method_params": step.params_for,
    }


def optimise_level_weights(
    xn: np.ndarray,
    fw: fwmod.Framework,
    weights: np.ndarray,
    level: int,
    *,
    optype: str = "infomax",
    targets=None,
    **options,
) -> tuple[np.ndarray, pd.DataFrame]:
    """COINr ``get_opt_weights(Level = level)``: the weights of every node at ``level`` optimised
    jointly against the index (:func:`index.methods.optimise.optimise_level`), re-aggregating the
    whole tree (:func:`aggregate_tree` with ``options``) for each trial.

    ``xn`` is one year's normalised indicators (units, indicators); ``weights`` the nodes' weights
    (``fw.codes`` order). Returns the new weights (within-group normalised at ``level``, the
    others unchanged) and a table: code, parent, weight, corr_with_index, target.
    """
    top = fw.level[fw.root.code]
    if not 1 <= level < top:
        raise InputError(Problem("config", None, "level", f"level must lie in 1..{top - 1}"))
    nodes = np.array([k for k, c in enumerate(fw.codes) if fw.level[c] == level])
    parents = fw.parent_idx[nodes]
    blocks = [np.nonzero(parents == p)[0] for p in dict.fromkeys(parents.tolist())]
    base = np.array(weights, dtype=float)

    def evaluate(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        trial = base.copy()
        trial[nodes] = w
        scores, _ = aggregate_tree(xn, fw, trial, **options)
        return scores[:, nodes], scores[:, -1]

    opt = optimise_level(evaluate, blocks, optype=optype, targets=targets)  # type: ignore[arg-type]
    out = base.copy()
    out[nodes] = opt.weights
    table = pd.DataFrame(
        {
            "code": [fw.codes[k] for k in nodes],
            "parent": [fw.codes[p] for p in parents],
            "weight": opt.weights,
            "corr_with_index": opt.correlations,
            "target": np.nan if targets is None else np.asarray(targets, float) / np.sum(targets),
        }
    )
    return out, table


def joint_weights(
    config: Config, fw: fwmod.Framework, xn: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """``weights`` (nodes,) with, when the config says ``weighting=optimise``, the nodes at
    ``weighting.level`` optimised jointly against the index (:func:`optimise_level_weights`,
    with the config's aggregation) for each leading index of ``xn`` (..., units, indicators),
    e.g. each year; otherwise ``weights`` broadcast over those axes, unchanged."""
    lead = xn.shape[:-2]
    out = np.empty((*lead, len(fw.codes)))
    out[...] = weights
    step = config.weighting
    if not step.joint:
        return out
    p = step.params
    for idx in np.ndindex(lead):
        try:
            out[idx], _ = optimise_level_weights(
                xn[idx], fw, out[idx], int(p["level"]), optype=p.get("optype", "infomax"),
                targets=p.get("targets"), **aggregation_options(config),
            )  # fmt: skip
        except InputError as exc:
            raise InputError(
                [
                    Problem(
                        "config",
                        q.row,
                        f"weighting.{q.field}" if q.field else "weighting",
                        q.message,
                    )
                    for q in exc.problems
                ]
            ) from None
    return out


def bod_unit_weights(b: Build, parent: str, year: int | None = None) -> pd.DataFrame:
    """The benefit-of-the-doubt weights each unit chose for the children of ``parent`` (units ×
    children), the unit's ``bod_score`` and each child's share of it, ``share_<child>`` $=
    w_{ij} y_{ij} / BoD_i$ (Cherchye et al.'s pie shares: the per-unit relative weights), recomputed from the build's children scores by
    :func:`index.methods.compind.bod_weights` with the config's ``min_share``: BoD has one weight
    vector per unit, which the group weights of ``Build.weights`` cannot show."""
    fw = b.framework
    if parent not in fw.children or not fw.children[parent]:
        raise InputError(Problem("config", parent, None, f"'{parent}' is not an aggregate"))
    kids = fw.children[parent]
    scores = b.stage("scores", year)[kids].to_numpy(dtype=float)
    params = {k: v for k, v in b.config.aggregation.params.items() if k == "min_share"}
    bod, w = bod_weights(scores, **params)
    units = pd.Index(b.dataset.unit_codes, name="unit")
    out = pd.DataFrame(w, index=units, columns=kids)
    out["bod_score"] = bod
    with np.errstate(invalid="ignore", divide="ignore"):  # a unit scoring 0 has no shares
        shares = np.where(bod[:, None] > 0, w * scores / bod[:, None], np.nan)
    return out.join(pd.DataFrame(shares, index=units, columns=[f"share_{c}" for c in kids]))


PER_UNIT = {
    "bod": "各地区自选 per unit (BoD: Build.unit_weights)",
    "rbod": "无权重 none (robust BoD: order-m efficiency)",
    "owa": "按名次 by position (OWA order weights)",
}
"""Aggregators whose children have no common weights, and what the weight table says instead."""
VIA = "随上级 via"
"""The basis of a node below such a group: its effective weight is per unit through the group."""


def weight_basis(config: Config, fw: fwmod.Framework) -> dict[str, str]:
    """node code → why its weight is not one common number (absent: it is): its parent group is
    aggregated by a method of :data:`PER_UNIT`, or an ancestor's is (then its effective weight,
    the product of the weights up to the index, is per unit too)."""
    method = config.aggregation.method_at
    out: dict[str, str] = {}
    for code in reversed(fw.codes[:-1]):  # top-down: an ancestor's basis is known first
        parent = str(fw.parent_of(code))
        name = method(fw.level[parent])
        if name in PER_UNIT:
            out[code] = PER_UNIT[name]
        elif parent in out:
            out[code] = f"{VIA} {parent} ({out[parent].split(' (')[0]})"
    return out


def normalise_within_groups(fw: fwmod.Framework, weights: np.ndarray) -> np.ndarray:
    """Weights rescaled to sum to 1 within each parent group (root = 1)."""
    out = np.array(weights, dtype=float)
    for _, kids in fw.groups:
        out[..., kids] = out[..., kids] / out[..., kids].sum(axis=-1, keepdims=True)
    out[..., -1] = 1.0
    return out


# ---- the build -------------------------------------------------------------------------------
@dataclass
class Build:
    """Every stage of one build, with labelled views for notebooks and the CLI."""

    config: Config
    framework: fwmod.Framework
    dataset: Dataset
    stages: dict[str, np.ndarray]
    weights: np.ndarray  # (years, nodes), within-group normalised
    scores: np.ndarray  # (years, units, nodes); level-1 columns = normalised indicators
    treat_log: pd.DataFrame = field(default_factory=pd.DataFrame)
    base_framework: fwmod.Framework | None = None  # before the config's what-ifs (for rebuilds)
    screening: pd.DataFrame | None = None  # per unit, COINr Screen's table (screen step only)
    input_dataset: Dataset | None = None  # as given, before years and screening (for rebuilds)

    @cached_property
    def ranks(self) -> np.ndarray:
        return rank_desc(self.scores, axis=-2)

    @property
    def years(self) -> tuple[int, ...]:
        return self.dataset.years

    def _year_index(self, year: int | None) -> int:
        if year is None:
            return len(self.years) - 1
        if year not in self.years:
            raise InputError(
                Problem("--year", None, None, f"{year} not in data years {list(self.years)}")
            )
        return self.years.index(year)

    def stage(self, name: str, year: int | None = None) -> pd.DataFrame:
        """A stage ('raw', …, 'normalised', 'scores', 'ranks') for one year as units × codes."""
        yi = self._year_index(year)
        if name in ("scores", "ranks"):
            arr, cols = getattr(self, name)[yi], self.framework.codes
        elif name in self.stages:
            arr, cols = self.stages[name][yi], self.framework.indicator_codes
        else:
            raise InputError(f"unknown stage '{name}'; choose from {[*STAGES, 'scores', 'ranks']}")
        return pd.DataFrame(arr, index=pd.Index(self.dataset.unit_codes, name="unit"), columns=cols)

    def ranking(self, year: int | None = None) -> pd.DataFrame:
        """The ranking table of one year: names, index score and rank, and each pillar's."""
        yi = self._year_index(year)
        fw = self.framework
        root = fw.root.code
        pillars = fw.children[root]
        out = self.dataset.units[["name_zh", "name_en"]].copy()
        pos = {c: k for k, c in enumerate(fw.codes)}
        for code in [root, *pillars]:
            out[f"{code}_score"] = self.scores[yi, :, pos[code]]
            out[f"{code}_rank"] = self.ranks[yi, :, pos[code]]
        out = out.rename(columns={f"{root}_score": "score", f"{root}_rank": "rank"})
        return out.sort_values(["rank", "name_en"], na_position="last")

    def ahp_consistency(self) -> pd.DataFrame:
        """Saaty's consistency of every AHP matrix the run used, one row per group it weighs
        (:func:`index.methods.weights.ahp_consistency`: group, n, experts, lambda_max, CI, RI, CR,
        consistent = $CR \\le 0.1$); empty when the weighting is not AHP. A matrix with
        $CR > 0.1$ only builds with ``allow_inconsistent``, and is reported here as inconsistent."""
        step, fw = self.config.weighting, self.framework
        if step.method != "ahp":
            return wts.ahp_consistency({})
        pairwise = step.params["pairwise"]
        groups = [
            fw.codes[p] for p, _ in fw.groups if step.sets(fw.codes[p], fw.level[fw.codes[p]])
        ]
        return wts.ahp_consistency(
            {g: pairwise[g] if isinstance(pairwise, dict) else pairwise for g in groups}
        )

    def plot_framework(self, *, bilingual: bool | None = None):
        """COINr ``plot_framework``: the framework as a sunburst of effective weights (latest
        year), a matplotlib Figure drawn in the publication's style
        (:func:`index.publish.sunburst.framework_sunburst`); ``bilingual`` defaults to whether a
        CJK font is installed. An error when the weights are per unit (BoD, OWA) or negative."""
        from index.publish import figures, sunburst

        with figures.style() as font:
            return sunburst.framework_sunburst(
                self.nodes, bilingual=font is not None if bilingual is None else bilingual
            )

    def weight_table(self) -> pd.DataFrame:
        """Within-group weights of every node, year by year (years × codes): data-driven weights
        are re-estimated each year. Children of a group without common weights (benefit of the
        doubt, robust BoD, OWA: ``nodes.weight_basis``) are NaN; BoD's are ``unit_weights``."""
        fw = self.framework
        basis = weight_basis(self.config, fw)
        own = [k for k, c in enumerate(fw.codes) if c in basis and not basis[c].startswith(VIA)]
        w = self.weights.copy()
        w[:, own] = np.nan
        return pd.DataFrame(w, index=pd.Index(self.years, name="year"), columns=fw.codes)

    def unit_weights(self, year: int | None = None) -> pd.DataFrame:
        """The benefit-of-the-doubt weights every unit chose, for every group the run aggregates
        by ``bod`` (:func:`bod_unit_weights`), long: year, parent, region_code, names, child,
        weight $w_{ij}$, share $w_{ij} y_{ij} / BoD_i$, bod_score; $\\sum_j w_{ij} y_{ij}$ is the
        unit's score. All years by default; empty when no group uses ``bod``."""
        fw = self.framework
        groups = [
            fw.codes[p]
            for p, _ in fw.groups
            if self.config.aggregation.method_at(fw.level[fw.codes[p]]) == "bod"
        ]
        cols = ["year", "parent", "region_code", "region_zh", "region_en", "child"]
        frames = []
        for y in self.years if year is None else [self.years[self._year_index(year)]]:
            for g in groups:
                t = bod_unit_weights(self, g, y)
                kids = fw.children[g]
                long = t[kids].stack().rename("weight").rename_axis(["region_code", "child"])
                share = t[[f"share_{c}" for c in kids]].set_axis(kids, axis=1).stack()
                f = long.reset_index().assign(share=share.to_numpy(), year=y, parent=g)
                f["bod_score"] = f["region_code"].map(t["bod_score"])
                frames.append(f)
        if not frames:
            return pd.DataFrame(columns=[*cols, "weight", "share", "bod_score"])
        out = pd.concat(frames, ignore_index=True)
        out["region_zh"] = out["region_code"].map(self.dataset.units["name_zh"])
        out["region_en"] = out["region_code"].map(self.dataset.units["name_en"])
        return out[[*cols, "weight", "share", "bod_score"]]

    @cached_property
    def nodes(self) -> pd.DataFrame:
        """One row per node: labels, level, parent, nominal and effective weights (latest year).

        ``weight_basis`` says where a weight is not one common number (:func:`weight_basis`:
        children of a BoD, robust-BoD or OWA group, and below them); their ``eff_weight`` is
        NaN, since each unit has its own. ``weight`` stays the input the aggregator was given."""
        fw = self.framework
        w = self.weights[-1]
        eff = fw.effective_weights(w)
        basis = weight_basis(self.config, fw)
        rows = []
        for k, c in enumerate(fw.codes):
            n = fw.node(c)
            ind = n if isinstance(n, fwmod.Indicator) else None
            rows.append(
                {
                    "code": c,
                    "parent": fw.parent_of(c),
                    "level": fw.level[c],
                    "name_zh": n.name_zh,
                    "name_en": n.name_en,
                    "weight": w[k],
                    "eff_weight": np.nan if c in basis else eff[k],
                    "weight_basis": basis.get(c, ""),
                    "direction": float(ind.direction) if ind else np.nan,
                    "unit": ind.unit if ind else "",
                    "proxy": bool(ind.proxy) if ind else False,
                    "note": n.note,
                    "source_ids": self._sources(ind) if ind else "",
                }
            )
        return pd.DataFrame(rows)

    def _sources(self, n: fwmod.Indicator) -> str:
        meta = self.dataset.series_meta
        if "source_id" not in meta.columns:
            return ""
        ids = [meta.at[s, "source_id"] for s in (n.data_series, n.denominator) if s in meta.index]
        return " | ".join(sorted(set(" | ".join(ids).split(" | ")))) if ids else ""

    def unit(self, name: str) -> str:
        """The unit code for a name as a user types it: a code ("44"), a Chinese or English
        name, short or full ("广东", "Guangdong"); an unknown name is a located error."""
        from index.etl import regions
        from index.methods.params import suggest

        codes = self.dataset.unit_codes
        if name in codes:
            return name
        code = regions.resolve(name)
        if isinstance(code, str) and code in codes:
            return code
        labels = [*codes, *self.dataset.units["name_zh"], *self.dataset.units["name_en"]]
        raise InputError(
            Problem("--region", None, name, f"not a unit of this build{suggest(name, labels)}")
        )

    @property
    def flags(self) -> np.ndarray:
        """How each indicator value was obtained (years, units, indicators): "" observed, the
        imputation method that filled it (``latest``, ``worst_grp`` …), "derived" (the framework's
        ``fill_from``), or "missing"."""
        return self.stages.get("flags", np.full(self.stages["raw"].shape, "", dtype="<U16"))

    def imputed_from(self, year: int | None = None) -> pd.DataFrame:
        """The year each panel-imputed value of ``year`` came from (units × indicators; COINr
        ``DataT``): for a cell ``latest`` filled, the year of the observation carried (which
        may lie outside the build's years: imputation reads the whole panel), NaN for every
        other cell (observed, derived, filled cross-sectionally, still missing). ``linear``
        interpolates between two years, so it has no single source year: an error."""
        if self.config.impute.method == "linear":
            raise InputError(
                Problem("imputed_from", None, "impute.method", "'linear' interpolates between "
                        "two years: no single source year (Build.flags shows which cells)")
            )  # fmt: skip
        src = self.stages["imputed_from"][self._year_index(year)]
        units = pd.Index(self.dataset.unit_codes, name="unit")
        return pd.DataFrame(src, index=units, columns=self.framework.indicator_codes)

    def imputed_counts(self) -> np.ndarray:
        """(years, units, nodes): for an indicator 1 where its value is not observed as
        published, for an aggregate the number of such indicators below it."""
        fw = self.framework
        flagged = (self.flags != "").astype(np.int64)
        out = np.zeros(self.scores.shape, dtype=np.int64)
        out[..., : fw.n_indicators] = flagged
        for parent, kids in fw.groups:  # bottom-up
            out[..., parent] = out[..., kids].sum(axis=-1)
        return out

    def treatment_flags(self, year: int | None = None) -> pd.DataFrame:
        """What the outlier treatment did to each value of one year (units × indicators; COINr
        ``Treated_Points``): "winhi" / "winlo" for a Winsorised high / low point, the name of
        the transformation that replaced the value (``log_CT``, ``boxcox`` …), both joined by
        "+" where ``combine_treat`` applied f2 on top of f1 ("winhi+log_CT"), "" untreated
        (also every missing value)."""
        flags = self.stages.get("treat_flags")
        if flags is None:  # a Build assembled by hand, without the treatment stage's flags
            flags = np.full(self.stages["raw"].shape, "", dtype="<U11")
        yi = self._year_index(year)
        return pd.DataFrame(
            flags[yi],
            index=pd.Index(self.dataset.unit_codes, name="unit"),
            columns=pd.Index(self.framework.indicator_codes, name="indicator"),
        )

    def treatment_details(self, year: int | None = None) -> pd.DataFrame:
        """The treatment log of one year, one row per indicator (COINr ``Dets_Table``):
        ``treatment`` applied (``none``, ``winsorise``, a transformation, or ``f1+f2`` such as
        ``winsorise+log_CT`` where ``combine_treat`` applied f2 on top of f1), the skewness /
        kurtosis test before (``check_SkewKurt0.*``), after the first stage (``…1.*``) and after
        ``f2`` (``…2.*``), and ``winsorise.nwin``. Empty (no rows) when nothing is treated."""
        log = self.treat_log
        if log.empty:
            return pd.DataFrame(index=pd.Index([], name="indicator"))
        year = self.years[self._year_index(year)]
        out = log[log["year"] == year].drop(columns=["year", "column"])
        return out.set_index("indicator")

    def results(
        self,
        year: int | None = None,
        *,
        use: Literal["scores", "ranks", "groupranks"] = "scores",
        group: str | None = None,
        order_by: str | None = None,
    ) -> pd.DataFrame:
        """The full results table of one year (COINr ``get_results(tab_type = "Full")``): the
        unit's 中文 / English names, the group column (with ``group``), ``Rank`` (scores only),
        every aggregate from the index down, then every indicator, rows best first by
        ``order_by`` (default the index); ``use`` = scores, ranks or ranks within each unit
        ``group`` (a unit-group column of the data, e.g. ``nbs_region``). See
        :func:`index.analysis.results_table.results_table`."""
        from index.analysis.results_table import results_table

        groups = None
        if group is not None:
            groups = pd.Series(self.dataset.group_codes(group), self.dataset.unit_codes, name=group)
        table = results_table(
            self.stage("scores", year), self.framework, use=use, groups=groups, order_by=order_by
        )
        names = self.dataset.units[["name_zh", "name_en"]]
        return pd.concat([names.reindex(table.index), table], axis=1)

    @cached_property
    def scores_long(self) -> pd.DataFrame:
        """All levels, all years, long: year, region_code, labels, code, level, score, rank, and
        for indicators the value used (after imputation, before treatment) and how it was
        obtained (``imputed``: "" = as published); ``n_imputed`` counts the indicators below a
        node that were not as published."""
        fw, ds = self.framework, self.dataset
        y, u, n = self.scores.shape
        values = np.full((y, u, n), np.nan)
        values[..., : fw.n_indicators] = self.stages["imputed"]
        how = np.full((y, u, n), "", dtype="<U16")
        how[..., : fw.n_indicators] = self.flags
        df = pd.DataFrame(
            {
                "year": np.repeat(np.array(ds.years), u * n),
                "region_code": np.tile(np.repeat(np.array(ds.unit_codes), n), y),
                "code": np.tile(np.array(fw.codes), y * u),
                "score": self.scores.reshape(-1),
                "rank": self.ranks.reshape(-1),
                "value": values.reshape(-1),
                "imputed": how.reshape(-1),
                "n_imputed": self.imputed_counts().reshape(-1),
            }
        )
        df["level"] = df["code"].map(fw.level)
        df["region_zh"] = df["region_code"].map(ds.units["name_zh"])
        df["region_en"] = df["region_code"].map(ds.units["name_en"])
        cols = ["year", "region_code", "region_zh", "region_en", "code", "level", "score", "rank"]
        return df[[*cols, "value", "imputed", "n_imputed"]]

    def rebuild(
        self,
        *overrides: str,
        weights: Mapping[str, float] | None = None,
        exclude: Iterable[str] | None = None,
        **settings: object,
    ) -> Build:
        """Re-run with changed choices; every stage downstream is regenerated.

        ``overrides`` are ``key=value`` strings as on the command line (``"weighting=entropy"``);
        ``settings`` the same as keywords (``rebuild(weighting="entropy")``, or
        ``**{"normalise.u": 1}``); ``weights`` replaces node weights (``{"compute": 0.4}``) and
        ``exclude`` drops indicators or aggregates, exactly as editing the framework would.
        """
        items = [
            *overrides,
            *(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in settings.items()),
        ]
        fw = self.base_framework or self.framework
        mine = self.config.model_dump(mode="json")  # settings still at the framework's value
        inherited = {  # count as inherited: what the overrides make useless is dropped
            k: {n for n, v in rec.items() if (mine.get(k) or {}).get(n) == v}
            for k, rec in fw.config.items()
            if isinstance(rec, dict)
        }
        cfg = self.config.with_overrides(items, inherited) if items else self.config
        cfg = cfg.with_whatif(weights, list(exclude or []))
        if cfg.framework != self.config.framework:  # its settings were laid for this framework
            raise InputError(
                Problem("rebuild", None, "framework", "a rebuild keeps the framework; build the "
                        f"other one anew: index.build(framework={cfg.framework!r})")
            )  # fmt: skip
        return build(cfg, self.input_dataset or self.dataset, self.base_framework or self.framework)

    # ---- analysis: thin delegations to index.analysis and index.compare ----------------------
    def audit(self, year: int | None = None, *, stage: str = "scores", **options: Any) -> Audit:
        """Statistical audit of one year (default: the latest) of ``stage``; ``options``:
        ``methods``, ``collinear``, ``negative`` (:func:`index.analysis.audit.audit_build`)."""
        from index.analysis.audit import audit_build

        return audit_build(self, year, stage=stage, **options)

    def trends(
        self,
        metric: str = "CAGR",
        *,
        stage: str = "raw",
        use_latest: int | None = None,
        adjust_directions: bool = False,
    ) -> pd.DataFrame:
        """Growth of every unit's series over the build's years (COINr ``get_trends``):
        ``metric`` "CAGR" or "prc_change" of each indicator of ``stage`` (default the published
        values, before imputation), or of every indicator and aggregate score with
        ``stage="scores"``; ``use_latest`` = the last n years only; ``adjust_directions``
        multiplies by the indicator's direction (COINr's default: no;
        :func:`index.analysis.trends.trends`)."""
        from index.analysis.trends import trends

        if stage in ("scores", "ranks"):
            panel, codes = self.scores, self.framework.codes
            d = np.array([getattr(self.framework.node(c), "direction", 1) for c in codes])
        elif stage in self.stages:
            panel, codes, d = (
                self.stages[stage],
                self.framework.indicator_codes,
                self.framework.directions,
            )
        else:
            raise InputError(f"unknown stage '{stage}'; choose from {[*STAGES, 'scores']}")
        out = trends(panel, self.years, self.dataset.unit_codes, codes, metric=metric,
                     directions=d if adjust_directions else None, use_latest=use_latest)  # fmt: skip
        return out.rename(columns={"unit": "region_code"})

    def uncertainty(
        self,
        n: int | None = None,
        *,
        spec: SpecLike = "default",
        seed: int | None = None,
        year: int | None = None,
        **options: Any,
    ) -> Outcome:
        """Rank intervals over ``n`` runs of an uncertainty spec ("default", a TOML path, a
        ``Spec`` or plain data); ``options``: ``keep_scores``, ``progress``, ``jobs``,
        ``client`` (:func:`index.analysis.uncertainty.uncertainty`)."""
        from index.analysis.uncertainty import uncertainty

        return uncertainty(self, n, spec=spec, seed=seed, year=year, **options)

    def sensitivity(
        self,
        n: int | None = None,
        *,
        spec: SpecLike = "default",
        seed: int | None = None,
        year: int | None = None,
        **options: Any,
    ) -> SobolAnalysis:
        """Sobol' indices of the spec's factors from a Saltelli design of base size ``n``;
        ``options`` as for :meth:`uncertainty` (:func:`index.analysis.sensitivity.sensitivity`)."""
        from index.analysis.sensitivity import sensitivity

        return sensitivity(self, n, spec=spec, seed=seed, year=year, **options)

    def leave_one_out(
        self, codes: list[str] | None = None, *, year: int | None = None
    ) -> LeaveOneOut:
        """Rank shifts when each element (default: every node below the root) is removed in turn
        (:func:`index.analysis.sensitivity.build_leave_one_out`)."""
        from index.analysis.sensitivity import build_leave_one_out

        return build_leave_one_out(self, codes, year=year)

    def compare(
        self,
        others: Build | Mapping[str, Build],
        *,
        year: int | None = None,
        label: str = "baseline",
    ) -> Comparison:
        """This build's ranks (as ``label``) beside other builds' (:func:`index.compare.compare_with`)."""
        from index.compare import compare_with

        return compare_with(self, others, year=year, label=label)

    # ---- what the ranking can claim (index.analysis.claims; imported lazily: scipy) ----------
    def claims(
        self,
        box: float = 0.5,
        order: list[str] | tuple[str, ...] = (),
        year: int | None = None,
        **settings,
    ):
        """Rank bounds, reversals and dominance of one year over the admissible weights: each
        within-group weight within ±``box`` of its nominal value (or ``bounds=[(code, lo, hi)]``),
        on the simplex, with ``order`` constraints such as "compute>=storage"."""
        from index.analysis import claims

        spec = claims.Settings(box, tuple(order), **settings)
        return claims.Claims(self, self.years[self._year_index(year)], spec)

    def rank_bounds(
        self, box: float = 0.5, order: list[str] | tuple[str, ...] = (), year: int | None = None
    ) -> pd.DataFrame:
        """Nominal, exact best and worst rank, and Monte Carlo 5–95 % interval of every unit."""
        return self.claims(box, order, year).table()

    def what_it_takes(self, unit: str, year: int | None = None) -> pd.DataFrame:
        """The smallest single-indicator and uniform-pillar improvements that move ``unit`` up."""
        from index.analysis import claims

        return claims.what_it_takes(self, unit, year)

    def profile(self, unit: str, year: int | None = None, box: float = 0.5):
        """A unit's profile (pillars vs medians, strengths, history, bounds, what it takes)."""
        from index.analysis import claims

        return claims.profile(self, unit, year, self.claims(box, (), year))


def resolve_framework(config: Config) -> fwmod.Framework:
    """The framework a config names: 'default', a bundled one by name, or a TOML path."""
    return fwmod.load(fwmod.framework_path(config.framework))


def configure(
    config: Config | None = None,
    overrides: Iterable[str] = (),
    *,
    weights: Mapping[str, float] | None = None,
    exclude: Iterable[str] | None = None,
    framework: fwmod.Framework | None = None,
) -> Config:
    """The run configuration a user means: ``config`` (default ``Config()``) with the framework's
    recommended settings under it, then ``key=value`` ``overrides``, ``weights`` and ``exclude``
    — every one validated now (the what-ifs against the framework), so nothing runs, and nothing
    is written, with a setting that is wrong or would change nothing."""
    cfg = config or Config()
    items = list(overrides)
    chosen = [i for i in items if i.partition("=")[0].strip() == "framework"]
    if chosen:
        cfg = cfg.with_overrides(chosen)
        items = [i for i in items if i not in chosen]
    base = framework or resolve_framework(cfg)
    mine = cfg.explicit()
    inherited = {
        k: set(v) - set(mine.get(k) or {}) for k, v in base.config.items() if isinstance(v, dict)
    }
    cfg = cfgmod.effective(cfg, base.config)
    cfg = cfg.with_overrides(items, inherited) if items else cfg
    cfg = cfg.with_whatif(weights, list(exclude or []))
    prepare(cfg, base)  # checks the what-ifs against the framework
    return cfg


def upstream(
    config: Config,
    dataset: Dataset,
    fw: fwmod.Framework,
    cache: dict | None = None,
    *,
    log: bool = True,
) -> tuple[dict[str, np.ndarray], pd.DataFrame | None]:
    """The weight-independent stages (raw → normalised), each (years, units, indicators), the
    imputation ``flags``, the ``treat_flags`` and the treatment log; with ``log=False`` (callers
    that only score) neither flags nor the log are made (the log is None).

    ``cache`` (a dict kept by the caller, one per dataset and framework) stores every stage under
    the settings that feed it, so configs sharing a prefix of choices (same imputation and
    treatment, another normalisation) compute that prefix once; it also keeps the Winsorisation
    walks (:func:`~index.methods.treat.shared_walks`), so treatments differing only in
    ``winmax`` walk the data once.
    """
    cache = {} if cache is None else cache

    def stage(name: str, settings: tuple, compute: Callable[[], object]):
        key = (name, *settings)
        if key not in cache:
            with _named(fw, name, dataset):
                cache[key] = compute()
        return cache[key]

    raw, x = _series(fw, dataset, config.denominate, cache)
    stages = {"raw": raw, "denominated": x}
    keys: tuple = (config.denominate,)
    keys += (config.impute.model_dump_json(),)
    x, how, source = stage("impute", keys, lambda: _impute(x, config, fw, dataset))
    stages["imputed"] = x
    stages["imputed_from"] = source
    if log:  # per cell, how it was obtained (not kept in the cache: a string per cell)
        stages["flags"] = np.where(np.isnan(raw) & ~np.isnan(stages["denominated"]), "derived", how)
    keys += (config.treat.model_dump_json(),)
    with trt.shared_walks(cache.setdefault(("treat walks",), {})):  # one walk for every winmax
        x, treated = stage("treat", keys, lambda: _treat(x, config, fw, dataset))
    stages["treated"] = x
    keys += (config.normalise.model_dump_json(),)
    stages["normalised"] = stage("normalise", keys, lambda: _normalise(x, config, fw, dataset))
    if not log:
        return stages, None
    stages["treat_flags"] = _treat_flags(treated, x.shape)
    return stages, _treat_log(treated, fw, dataset)


def _series(
    fw: fwmod.Framework, dataset: Dataset, denominate: bool, cache: dict
) -> tuple[np.ndarray, np.ndarray]:
    """The stages ``raw`` (the indicators' series) and ``denominate`` of :func:`upstream`, from
    ``cache`` (one per dataset and framework) or computed into it."""
    key = ("raw", denominate)
    if key not in cache:
        fw.check_data(dataset.series, denominators=denominate, units=dataset.series_units)
        cache[key] = dataset.select([i.data_series for i in fw.indicators])
    raw = cache[key]
    if ("denominate", denominate) not in cache:
        cache["denominate", denominate] = denominated(raw, fw, dataset, divide=denominate)
    return raw, cache["denominate", denominate]


def covered_years(
    fw: fwmod.Framework, dataset: Dataset, denominate: bool = True, cache: dict | None = None
) -> list[int]:
    """Years in which every indicator of the framework has data that tells units apart (at least
    two different values): a year in which an indicator is absent, or the same for every unit
    (e.g. a designation before the first one was made), cannot be scored on that indicator.
    Explicit ``years`` in a config bypass this rule (and then fail where a method needs spread).
    ``cache``: :func:`upstream`'s stage cache of ``dataset``, which keeps the values read here."""
    _, x = _series(fw, dataset, denominate, {} if cache is None else cache)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: not covered
        spread = np.nanmax(x, axis=-2) > np.nanmin(x, axis=-2)
    years = [y for y, keep in zip(dataset.years, spread.all(axis=-1), strict=True) if keep]
    if not years:
        raise InputError(
            [
                Problem(
                    dataset.source,
                    code,
                    "year",
                    "no year in which every indicator tells units apart; this one has no data "
                    "or one value for every unit in "
                    + ", ".join(str(y) for y, ok in zip(dataset.years, col, strict=True) if not ok),
                )
                for code, col in zip(fw.indicator_codes, spread.T, strict=True)
                if not col.all()
            ]
        )
    return years


def nominal_weights(config: Config, fw: fwmod.Framework) -> np.ndarray:
    """The starting weights of every node: the framework's, or all ones for 'equal'; then the
    config's ``weights`` (what-ifs), which win over both."""
    w = fw.nominal_weights()
    if config.weighting.method == "equal":
        w = np.ones_like(w)
    for code, value in config.weights.items():
        w[fw.codes.index(code)] = value
    return w


def _without_indicators(cfg: Config, gone: set[str]) -> Config:
    """The config with per-indicator settings of excluded indicators removed (they went with the
    indicators, as they would if the framework file were edited)."""
    data = cfg.model_dump(exclude_unset=True)
    for step in ("treat", "normalise"):
        table = data.get(step, {}).get("per_indicator")
        if table:
            data[step]["per_indicator"] = {k: v for k, v in table.items() if k not in gone}
    return cfgmod.validate(data, "config")


def _check_against(cfg: Config, fw: fwmod.Framework) -> None:
    """Settings that name levels or groups must name ones the framework has, and a data-driven
    weighting must weigh some group: otherwise the setting would silently change nothing."""
    parents = {fw.codes[p]: fw.level[fw.codes[p]] for p, _ in fw.groups}
    levels = sorted(set(parents.values()))
    problems = []
    agg = cfg.aggregation
    tables: dict[str, Mapping[int, object]] = {"aggregation.by_level": agg.by_level}
    if isinstance(agg.dat_thresh, dict):
        tables["aggregation.dat_thresh"] = agg.dat_thresh
    for key, table in tables.items():
        if bad := sorted(int(k) for k in table if int(k) not in levels):
            problems.append(
                Problem(
                    "config",
                    None,
                    key,
                    f"level(s) {bad} aggregate nothing in {fw.source}: parent levels are {levels}",
                )  # fmt: skip
            )
    step = cfg.weighting
    if step.data_driven:
        for name, value in step.params.items():
            if isinstance(value, dict) and (bad := sorted(set(value) - set(parents))):
                problems.append(
                    Problem(
                        "config",
                        None,
                        f"weighting.{name}",
                        f"no group {bad} in {fw.source}; groups are {sorted(parents)}",
                    )  # fmt: skip
                )
        if not problems and not any(step.sets(p, lev) for p, lev in parents.items()):
            problems.append(
                Problem(
                    "config",
                    None,
                    "weighting.level" if step.joint else "weighting.levels",
                    f"'{step.method}' weighs no group "
                    f"here (children levels are {[lev - 1 for lev in levels]})",
                )  # fmt: skip
            )
    if problems:
        raise InputError(problems)


def prepare(
    config: Config, framework: fwmod.Framework | None = None
) -> tuple[Config, fwmod.Framework]:
    """The configuration and framework a build runs: the framework's recommended settings under
    the config's explicit ones (:func:`index.config.effective`), then the what-ifs —
    ``exclude`` drops nodes, ``weights`` replaces node weights exactly as editing the file would.

    A weight that the configured data-driven method would overwrite is an error, not a no-op.
    """
    base = framework or resolve_framework(config)
    cfg = cfgmod.effective(config, base.config)
    fw = base.excluding(cfg.exclude) if cfg.exclude else base
    if gone := set(base.indicator_codes) - set(fw.indicator_codes):
        cfg = _without_indicators(cfg, gone)
    if excluded := [c for c in cfg.weights if c in base.codes and c not in fw.codes]:
        raise InputError(
            [Problem("config", None, f"weights.{c}", f"'{c}' is excluded") for c in excluded]
        )
    if base.root.code in cfg.weights:
        raise InputError(
            Problem(
                "config",
                None,
                f"weights.{base.root.code}",
                "the index itself has no weight; give the weights of its children",
            )  # fmt: skip
        )
    fw = fw.with_weights(cfg.weights) if cfg.weights else fw
    _check_against(cfg, fw)
    step = cfg.weighting
    overwritten = [
        c for c in cfg.weights if step.sets(str(fw.parent_of(c)), fw.level[str(fw.parent_of(c))])
    ]
    if overwritten:
        raise InputError(
            [
                Problem(
                    "config",
                    None,
                    f"weights.{c}",
                    f"has no effect: weighting '{cfg.weighting.method}' sets the weights of the "
                    f"children of '{fw.parent_of(c)}' (level {fw.level[c]}) from the data",
                )
                for c in overwritten
            ]
        )
    return cfg, fw


def build(config: Config, dataset: Dataset, framework: fwmod.Framework | None = None) -> Build:
    """Run the whole pipeline for every year of the dataset."""
    base = framework or resolve_framework(config)
    config, fw = prepare(config, base)
    given = dataset
    dataset = dataset.subset_years(config.years or covered_years(fw, dataset, config.denominate))
    dataset, screening = screened(config, dataset, fw)
    stages, log = upstream(config, dataset, fw)
    start = joint_weights(config, fw, stages["normalised"], nominal_weights(config, fw))
    scores, used = aggregate_tree(
        stages["normalised"],
        fw,
        start,
        weigher=config_weigher(config),
        **aggregation_options(config),
    )
    weights = normalise_within_groups(fw, used)
    return Build(
        config,
        fw,
        dataset,
        stages,
        weights,
        scores,
        log,
        base_framework=base,
        screening=screening,
        input_dataset=given,
    )


def screened(
    config: Config, dataset: Dataset, fw: fwmod.Framework
) -> tuple[Dataset, pd.DataFrame | None]:
    """The dataset without the units the config's screening drops (COINr ``Screen``), and the
    screening table: per unit (region_code) the columns of COINr's ``DataSummary`` —
    ``N_missing``, ``N_zero``, ``N_miss_or_zero``, ``Dat_Avail``, ``Non_Zero`` (over the years
    built: the most missing and zeros, the lowest shares), ``LowData``, ``LowNonZero``,
    ``LowDatOrZeroFlag`` (in any year) —, ``Forced`` and ``Included``."""
    from index.methods import screen as scr

    s = config.screen
    if s.unit_screen == "none":
        return dataset, None
    codes = list(dataset.unit_codes)
    if bad := [u for u in s.force if u not in codes]:
        raise InputError(Problem("config", None, "screen.force", f"unknown unit(s) {bad}"))
    fw.check_data(dataset.series, denominators=config.denominate, units=dataset.series_units)
    x = dataset.select([i.data_series for i in fw.indicators])  # only the stages screened:
    if s.dset != "raw":  # treatment and normalisation belong to the screened units
        with _named(fw, "denominate", dataset):
            x = denominated(x, fw, dataset, divide=config.denominate)
    if s.dset == "imputed":
        with _named(fw, "impute", dataset):
            x = _impute(x, config, fw, dataset, track=False)[0]
    res = scr.screen(
        x,
        unit_screen=s.unit_screen,
        dat_thresh=s.dat_thresh,
        nonzero_thresh=s.nonzero_thresh,
        force={codes.index(u): keep for u, keep in s.force.items()},
    )
    included: np.ndarray = np.asarray(res.keep.reshape(-1, len(codes)).all(axis=0))
    if not included.any():
        raise InputError(Problem("config", None, "screen", "screening removes every unit"))

    def worst(a: np.ndarray, fn: Callable) -> np.ndarray:
        return fn(a.reshape(-1, len(codes)), axis=0)

    table = pd.DataFrame(
        {
            "region_code": codes,
            "N_missing": worst(res.n_missing, np.max),
            "N_zero": worst(res.n_zero, np.max),
            "N_miss_or_zero": worst(res.n_missing + res.n_zero, np.max),
            "Dat_Avail": worst(res.dat_avail, np.min),
            "Non_Zero": worst(res.non_zero, np.min),
            "LowData": worst(res.low_data, np.any),
            "LowNonZero": worst(res.low_nonzero, np.any),
            "LowDatOrZeroFlag": worst(res.low_data | res.low_nonzero, np.any),
            "Forced": [s.force.get(u) for u in codes],
            "Included": included,
        }
    )
    return dataset.subset_units(
        [u for u, k in zip(codes, included.tolist(), strict=True) if k]
    ), table


@contextlib.contextmanager
def _named(fw: fwmod.Framework, step: str, dataset: Dataset) -> Iterator[None]:
    """Re-raise a method's column-position error naming the data, the indicators and the years."""
    try:
        yield
    except IndicatorError as exc:
        years = [dataset.years[k] for k in exc.leading if k < len(dataset.years)]
        when = f" in {', '.join(map(str, years))}" if years else ""
        hint = (
            " (no spread there, e.g. one value in every region or a single region with data): "
            "drop the indicator or the year, or choose another method"
            if isinstance(exc, ConstantIndicatorError)
            else ""
        )
        raise InputError(
            [
                Problem(dataset.source, fw.indicator_codes[j], step, f"{exc.reason}{when}{hint}")
                for j in exc.columns
                if j < fw.n_indicators
            ]
        ) from None


# ---- stages ----------------------------------------------------------------------------------
def denominated(
    raw: np.ndarray, fw: fwmod.Framework, dataset: Dataset, *, divide: bool = True
) -> np.ndarray:
    """The indicator values from their series: gaps derived where the framework says how
    (``fill_from``: series × times × scale, from published related series), then, with
    ``divide`` (config ``denominate``), ``scale × x / denominator`` or, with ``complement``,
    ``scale × (1 − x / denominator)``. A ``complement`` indicator has no meaning undivided (its
    series runs the other way: thermal generation for a green share), so ``divide=False`` with
    one is an error."""
    if not divide and (comp := [i.code for i in fw.indicators if i.complement]):
        raise InputError(
            Problem("config", None, "denominate", f"denominate=false would score {comp} by their "
                    "raw series, which run against the indicator: exclude them first")
        )  # fmt: skip
    out = raw.copy()
    for k, ind in enumerate(fw.indicators):
        if (fill := ind.fill_from) is not None:
            derived = dataset.select([fill.series])[..., 0] * fill.scale
            if fill.times:
                derived = derived * dataset.select([fill.times])[..., 0]
            out[..., k] = np.where(np.isnan(out[..., k]), derived, out[..., k])
    named = [(k, i.denominator) for k, i in enumerate(fw.indicators) if i.denominator and divide]
    dens = dataset.select([d for _, d in named])  # one lookup for all
    for j, (k, _) in enumerate(named):
        den, ind = dens[..., j], fw.indicators[k]
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(den != 0, out[..., k] / den, np.nan)
        out[..., k] = (1.0 - share if ind.complement else share) * ind.scale
    return out


CLIPPED = "iterative, clipped at 0"
"""Flag of a cell whose iterative imputation fell below 0 (observed values all >= 0)."""

IMPUTE_FLAGS = {
    "": "observed",
    "missing": "still missing",
    "derived": "derived (fill_from)",
    CLIPPED: "imputed below 0 by iterative, clipped at 0",
}
"""Flag values of ``Build.stages["flags"]`` other than the imputation method names."""


def _imputation_steps(config: Config) -> list[tuple[str, dict]]:
    """The imputers a config runs, in order (name, parameters): the method, then the fallback."""
    step = config.impute
    named: tuple[tuple[str | None, dict], ...] = ((step.method, step.params), (step.fallback, {}))
    return [(name, params) for name, params in named if name is not None and name != "none"]


def _impute(
    x: np.ndarray,
    config: Config,
    fw: fwmod.Framework,
    ds: Dataset,
    *,
    track: bool = True,
    steps: Sequence[tuple[str, dict]] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Imputed values; per cell how each was obtained ("" observed, the method's name where that
    method filled it, "missing" where still missing); and the year a panel-imputed value came
    from (COINr ``DataT``, NaN elsewhere).

    A temporal method (``latest``, ``linear``) reads the dataset's whole panel (every year of the
    data, :attr:`Dataset.whole`) with ``x`` in place of the built years, then the built years
    are cut: a year's values do not depend on which other years the build covers. ``x`` may carry
    leading axes before the years (a batch of what-it-takes trials), imputed item by item.
    ``track=False``: the values alone, for re-runs that read nothing else (``how`` and ``source``
    come back empty, no bookkeeping done); ``steps``: some of :func:`_imputation_steps` only."""
    how = np.where(np.isnan(x), "missing", "").astype("<U32") if track else np.empty(0, "<U32")
    source = np.full(x.shape if track else 0, np.nan)
    for name, params in _imputation_steps(config) if steps is None else steps:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", imp.ImputationClipWarning)
            if name in imp.TEMPORAL:
                filled, src = _impute_over_panel(name, params, x, config, fw, ds, track)
                if track:
                    source = np.where(np.isnan(x) & ~np.isnan(filled), src, source)
            else:
                filled = imp.impute(x, name, **_impute_params(name, params, config, fw, ds))
        if track:
            how = np.where(np.isnan(x) & ~np.isnan(filled), name, how)
        for w in caught:
            if isinstance(w.message, imp.ImputationClipWarning):
                if track:
                    how = np.where(w.message.cells, CLIPPED, how)
                cells = w.message.cells
                warnings.warn(
                    imp.ImputationClipWarning(_clip_message(cells, fw, ds), cells), stacklevel=2
                )
            else:  # not ours: pass it on unchanged
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        x = filled
    return x, how, source


def _clip_message(cells: np.ndarray, fw: fwmod.Framework, ds: Dataset) -> str:
    """Which indicator values imputation clipped at 0, by name, unit and year (in any item of a
    leading batch axis)."""
    years, units, inds = np.nonzero(cells.reshape(-1, *cells.shape[-3:]).any(axis=0))
    names = ds.units["name_zh"] if "name_zh" in ds.units.columns else pd.Series(dtype=str)
    where = [
        f"{fw.indicator_codes[j]} ({names.get(ds.unit_codes[u], ds.unit_codes[u])}, {ds.years[t]})"
        for t, u, j in zip(years, units, inds, strict=True)
    ]
    shown = ", ".join(where[:10]) + (f" and {len(where) - 10} more" if len(where) > 10 else "")
    return (
        f"impute: iterative imputation gave {len(where)} negative value(s) for indicators observed "
        f">= 0, clipped at 0 (flagged '{CLIPPED}'; impute.negative=\"refuse\" stops instead): "
        + shown
    )


def _impute_over_panel(
    name: str,
    params: dict,
    x: np.ndarray,
    config: Config,
    fw: fwmod.Framework,
    ds: Dataset,
    track: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """A temporal imputer over the whole panel, the built years taken from ``x`` (so a caller's
    modified values count); returns the built years' values and the year each came from (NaN
    where the method names no single year: ``linear`` interpolates between two; not computed,
    all NaN, without ``track``)."""
    whole = ds.whole
    rows = [whole.years.index(y) for y in ds.years]
    if len(rows) == len(whole.years):  # x is the whole panel (what-it-takes re-runs pass it)
        panel = x.copy()
    else:
        raw = whole.select([i.data_series for i in fw.indicators])
        d = denominated(raw, fw, whole, divide=config.denominate)
        panel = np.array(np.broadcast_to(d, (*x.shape[:-3], *d.shape)))
        panel[..., rows, :, :] = x
    params = _impute_params(name, params, config, fw, whole)
    filled = imp.impute(panel, name, **params)[..., rows, :, :]
    if (source_of := imp.SOURCES.get(name)) is None or not track:
        return filled, np.full(x.shape, np.nan)
    pos = source_of(panel, **params)[..., rows, :, :]
    return filled, np.where(pos >= 0, np.asarray(whole.years, float)[np.maximum(pos, 0)], np.nan)


def _impute_params(
    name: str, params: dict, config: Config, fw: fwmod.Framework, ds: Dataset
) -> dict:
    """The configured parameters of imputer ``name`` with what the framework and data supply
    (unit groups, directions, indicator groups, the year values)."""
    from index.methods import keywords

    accepted = keywords(imp.IMPUTERS[name])
    params = dict(params)
    if "groups" in accepted:
        params["groups"] = ds.group_codes(str(config.impute.group))
    if "directions" in accepted:
        params["directions"] = fw.directions
    if "ind_groups" in accepted:
        params["ind_groups"] = np.array([fw.codes.index(i.parent) for i in fw.indicators])
    if "times" in accepted:
        params["times"] = np.array(ds.years, dtype=float)
    return params


def _treat(
    x: np.ndarray, config: Config, fw: fwmod.Framework, ds: Dataset
) -> tuple[np.ndarray, list[trt.TreatResult]]:
    """Treated values and each year's treatment result, whose log and point flags are made
    only when read (:func:`_treat_log`, :func:`_treat_flags`; an uncertainty analysis reads
    neither)."""
    if (options := _treat_options(config, fw)) is None:
        return x, []
    out = np.empty_like(x)
    results = []
    for yi in range(len(ds.years)):  # treatment is a cross-sectional decision, year by year
        try:
            res = trt.treat(x[yi], **options)
        except IndicatorError as exc:
            raise type(exc)(exc.columns, exc.reason, leading=[yi]) from None
        out[yi] = res.x
        results.append(res)
    return out, results


def _treat_options(config: Config, fw: fwmod.Framework) -> dict[str, Any] | None:
    """The keywords of :func:`index.methods.treat.treat` for a config (``per_indicator`` by
    column position), or None when nothing is treated."""
    step = config.treat
    if step.method == "none" and not step.per_indicator:
        return None
    params = step.params
    if step.per_indicator:  # the config names indicators; the method takes positions
        params["per_indicator"] = _by_position(fw, step.per_indicator, "treat.per_indicator")
    return {"method": step.method, **params}


def _treat_flags(results: list[trt.TreatResult], shape: tuple[int, ...]) -> np.ndarray:
    """What the treatment did to each value (years, units, indicators): each year's
    :attr:`~index.methods.treat.TreatResult.flags`, "" everywhere when nothing is treated."""
    if not results:
        return np.full(shape, "", dtype="<U11")
    return np.stack([res.flags for res in results])


def _treat_log(results: list[trt.TreatResult], fw: fwmod.Framework, ds: Dataset) -> pd.DataFrame:
    """The treatment log of every year (year, indicator, then the method's details), labelled
    once: pandas calls cost more than treating."""
    if not results:
        return pd.DataFrame()
    logs = [pd.DataFrame(res.columns) for res in results]
    log = pd.concat(logs, ignore_index=True)
    log.insert(0, "indicator", [c for d in logs for c in fw.indicator_codes[: len(d)]])
    log.insert(0, "year", np.repeat(ds.years, [len(d) for d in logs]))
    return log


def _by_position(fw: fwmod.Framework, table: dict, field: str) -> dict[int, object]:
    """A table keyed by indicator code, re-keyed by the indicator's column position."""
    codes = fw.indicator_codes
    unknown = [k for k in table if k not in codes]
    if unknown:
        raise InputError(Problem("config", None, field, f"unknown indicator(s) {unknown}"))
    return {codes.index(k): v for k, v in table.items()}


def _normalise(x: np.ndarray, config: Config, fw: fwmod.Framework, ds: Dataset) -> np.ndarray:
    """Normalise every indicator by the step's method, and those in ``per_indicator`` by their own
    (each column is normalised on its own, so the result is the same either way)."""
    step = config.normalise
    own = {fw.indicator_codes.index(c): spec for c, spec in _known(fw, step.per_indicator)}
    rest = [j for j in range(fw.n_indicators) if j not in own]
    out = np.full_like(x, np.nan)
    if rest:
        params = step.with_defaults(step.method, step.params)
        out[..., rest] = _normalise_columns(x, rest, step.method, params, step.panel, fw, ds)
    for j, spec in own.items():
        spec = dict(spec)
        method = spec.pop("method", step.method)
        params = step.with_defaults(method, spec)
        out[..., [j]] = _normalise_columns(x, [j], method, params, step.panel, fw, ds)
    return out


def _known(fw: fwmod.Framework, table: Mapping[str, dict]) -> list[tuple[str, dict]]:
    if unknown := [c for c in table if c not in fw.indicator_codes]:
        raise InputError(
            Problem("config", None, "normalise.per_indicator", f"unknown indicator(s) {unknown}")
        )
    return list(table.items())


def _normalise_columns(
    x: np.ndarray,
    cols: list[int],
    method: str,
    params: dict,
    panel: str | int,
    fw: fwmod.Framework,
    ds: Dataset,
) -> np.ndarray:
    """``method`` on the indicator columns ``cols``, with what the framework and data supply."""
    from index.methods import keywords

    accepted = keywords(norm.NORMALISERS[method])
    params = dict(params)
    x = x[..., cols]
    directions = fw.directions[cols]
    if "directions" in accepted:
        params["directions"] = directions
    else:
        x = x * directions  # COINr: directions are applied before normalising
    for name in ("targets", "lower", "upper"):  # given per indicator of the whole framework
        if params.get(name) is not None and np.size(params[name]) == fw.n_indicators:
            params[name] = np.asarray(params[name], dtype=float)[cols]
    from_fw = {"targets", "lower", "scaled_bounds"}
    inds = [fw.indicators[j] for j in cols] if from_fw & accepted else []
    if "targets" in accepted and params.get("targets") is None:
        params["targets"] = np.array([np.nan if i.target is None else i.target for i in inds])
    if "lower" in accepted and params.get("lower") is None:
        posts = [i.goalposts or (np.nan, np.nan) for i in inds]
        params["lower"] = np.array([p[0] for p in posts])
        params["upper"] = np.array([p[1] for p in posts])
    if "scaled_bounds" in accepted:
        params["scaled_bounds"] = np.array([i.scaled_bounds or (np.nan, np.nan) for i in inds])
    if "ref" in params:
        params["ref"] = _unit_position(ds, params["ref"])
    if panel != "per_year":
        if "fit_on" not in accepted:
            raise InputError(
                Problem("config", None, "normalise.panel", f"'{method}' is per-year only")
            )
        if panel == "global":
            params["fit_on"] = x.reshape(1, -1, x.shape[-1])
        else:
            if panel not in ds.years:
                raise InputError(
                    Problem(
                        "config",
                        None,
                        "normalise.panel",
                        f"reference year {panel} is not among the built years {list(ds.years)}",
                    )
                )
            params["fit_on"] = x[[ds.years.index(int(panel))]]
    try:
        return norm.normalise(x, method, **params)
    except IndicatorError as exc:  # positions within these columns → the framework's
        raise type(exc)([cols[j] for j in exc.columns], exc.reason, exc.leading) from None


def _unit_position(ds: Dataset, ref: object) -> int:
    """The row of the reference unit, given by its code ("11", "AUT"); a bare number that is not
    a unit code is read as a row position."""
    if str(ref) in ds.unit_codes:
        return ds.unit_codes.index(str(ref))
    if isinstance(ref, int) and 0 <= ref < len(ds.unit_codes):
        return ref
    raise InputError(Problem("config", None, "normalise.ref", f"unknown unit '{ref}'"))


def config_weigher(config: Config) -> Weigher | None:
    """Data-driven weights for the groups the config selects.

    A parameter given as a table keyed by parent code (e.g. one AHP ``pairwise`` matrix per pillar)
    is looked up per group; groups it does not list keep their fixed weights.
    """
    step = config.weighting
    if not step.data_driven or step.joint:  # optimise: joint_weights, over the whole tree
        return None

    def weigh(children: np.ndarray, parent: str, parent_level: int) -> np.ndarray | None:
        if not step.sets(parent, parent_level):
            return None
        params = {k: v[parent] if isinstance(v, dict) else v for k, v in step.params.items()}
        try:
            w = wts.compute_weights(children, step.method, **params)
        except wts.InconsistentJudgementsError as exc:
            raise InputError(
                Problem("config", parent, "weighting.pairwise", exc.problems[0].message)
            ) from None
        if (np.abs(w.sum(axis=-1)) < np.abs(w).max(axis=-1)).any():
            raise InputError(
                Problem(
                    "config",
                    parent,
                    "weighting",
                    f"{step.method} weights of the children of '{parent}' nearly cancel out "
                    f"({np.round(w.reshape(-1, w.shape[-1])[0], 3).tolist()}): normalised, they "
                    "would blow the scores up; use weighting.variant='oecd' or another method",
                )
            )
        if (w < 0).any():
            warnings.warn(
                f"{step.method} weights of the children of '{parent}' include negative values "
                "(e.g. raw PC1 loadings); consider weighting.variant='oecd' for PCA",
                NegativeWeightWarning,
                stacklevel=2,
            )
        return w

    return weigh


class NegativeWeightWarning(UserWarning):
    """Data-driven weights came out negative: an indicator would count against its group."""
