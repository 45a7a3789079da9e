"""Side-by-side comparison of rankings built with different configurations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from index.pipeline import Build


@dataclass(frozen=True)
class Comparison:
    """Ranks under each configuration, pairwise rank correlations, and shifts vs the first."""

    ranks: pd.DataFrame  # units × labels, plus name_zh / name_en
    correlations: pd.DataFrame  # one row per pair: spearman, kendall
    shifts: pd.DataFrame  # rank under each alternative minus the baseline rank

    def matrix(self, method: str = "spearman") -> pd.DataFrame:
        """The pairwise rank correlations as a square, symmetric table (1 on the diagonal)."""
        labels = [c for c in self.ranks.columns if c not in ("name_zh", "name_en")]
        out = pd.DataFrame(np.eye(len(labels)), index=labels, columns=labels)
        for _, row in self.correlations.iterrows():
            out.loc[row["a"], row["b"]] = out.loc[row["b"], row["a"]] = row[method]
        return out


def compare(builds: dict[str, Build], year: int | None = None) -> Comparison:
    """Compare index ranks of several builds of the same units (first = baseline)."""
    labels = list(builds)
    first = builds[labels[0]]
    ranks = first.dataset.units[["name_zh", "name_en"]].copy()
    for label, b in builds.items():
        ranks[label] = b.ranking(year)["rank"]
    pairs = []
    for i, a in enumerate(labels):
        for c in labels[i + 1 :]:
            ok = ranks[[a, c]].dropna()
            pairs.append(
                {
                    "a": a,
                    "b": c,
                    "spearman": stats.spearmanr(ok[a], ok[c]).statistic,
                    "kendall": stats.kendalltau(ok[a], ok[c]).statistic,
                    "max_abs_shift": float(np.abs(ok[a] - ok[c]).max()),
                }
            )
    shifts = ranks[["name_zh", "name_en"]].copy()
    for label in labels[1:]:
        shifts[label] = ranks[label] - ranks[labels[0]]
    order = ranks[labels[0]].sort_values().index
    return Comparison(ranks.loc[order], pd.DataFrame(pairs), shifts.loc[order])
