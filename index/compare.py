"""Side-by-side comparison of rankings built with different configurations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from index.errors import InputError
from index.pipeline import Build

NAMES = ["name_zh", "name_en"]


@dataclass(frozen=True)
class Comparison:
    """Ranks under each configuration, pairwise rank correlations, and shifts vs the first.

    Ranks and shifts are integers (pandas ``Int64``; ``<NA>`` where a unit has no score), rows
    are units (index = unit code) in baseline rank order, with ``name_zh`` and ``name_en`` first.
    """

    ranks: pd.DataFrame  # units × (name_zh, name_en, labels)
    correlations: pd.DataFrame  # one row per pair: a, b, spearman, kendall, max_abs_shift
    shifts: pd.DataFrame  # rank under each alternative minus the baseline rank

    @property
    def labels(self) -> list[str]:
        """The compared builds' labels, baseline first."""
        return [c for c in self.ranks.columns if c not in NAMES]

    def matrix(self, method: str = "spearman") -> pd.DataFrame:
        """The pairwise rank correlations as a square, symmetric table (1 on the diagonal)."""
        labels = self.labels
        out = pd.DataFrame(np.eye(len(labels)), index=labels, columns=labels)
        for _, row in self.correlations.iterrows():
            out.loc[row["a"], row["b"]] = out.loc[row["b"], row["a"]] = row[method]
        return out

    def long(self) -> pd.DataFrame:
        """One row per unit and build: region_code, scheme (the label), rank."""
        return (
            self.ranks[self.labels]
            .rename_axis("region_code")
            .reset_index()
            .melt("region_code", var_name="scheme", value_name="rank")
        )


def compare(builds: Mapping[str, Build], year: int | None = None) -> Comparison:
    """Compare index ranks of several builds of the same units (first = baseline)."""
    labels = list(builds)
    if not labels:
        raise InputError("compare needs at least one build")
    first = builds[labels[0]]
    ranks = first.dataset.units[NAMES].copy()
    for label, b in builds.items():
        ranks[label] = b.ranking(year)["rank"].astype("Int64")
    pairs = []
    for i, a in enumerate(labels):
        for c in labels[i + 1 :]:
            ok = ranks[[a, c]].dropna().astype(float)
            pairs.append(
                {
                    "a": a,
                    "b": c,
                    "spearman": stats.spearmanr(ok[a], ok[c]).statistic,
                    "kendall": stats.kendalltau(ok[a], ok[c]).statistic,
                    "max_abs_shift": float(np.abs(ok[a] - ok[c]).max()),
                }
            )
    shifts = ranks[NAMES].copy()
    for label in labels[1:]:
        shifts[label] = ranks[label] - ranks[labels[0]]
    order = ranks[labels[0]].sort_values().index
    return Comparison(ranks.loc[order], pd.DataFrame(pairs), shifts.loc[order])


def compare_with(
    b: Build,
    others: Build | Mapping[str, Build],
    *,
    year: int | None = None,
    label: str = "baseline",
) -> Comparison:
    """:func:`compare` with ``b`` as the baseline (``label``); ``others`` is one build (labelled
    "alternative") or a mapping label → build."""
    rest = {"alternative": others} if isinstance(others, Build) else dict(others)
    if label in rest:
        raise InputError(f"compare: the label '{label}' is used twice")
    return compare({label: b, **rest}, year)
