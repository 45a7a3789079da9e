"""Significance of correlations and indicator-denominator correlations (COINr ``get_pvals``,
``get_denom_corr``).

Correlations are pairwise-complete, as everywhere in the audit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from index.analysis.audit import _check_method, correlation_matrix
from index.errors import InputError


def _pvalue(a: np.ndarray, b: np.ndarray, method: str) -> float:
    ok = ~np.isnan(a) & ~np.isnan(b)
    a, b = a[ok], b[ok]
    n = a.size
    if n < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    if method == "kendall":
        return float(stats.kendalltau(a, b).pvalue)
    if method == "spearman":
        a, b = stats.rankdata(a), stats.rankdata(b)
    r = float(np.clip(np.corrcoef(a, b)[0, 1], -1.0, 1.0))
    if abs(r) == 1.0:
        return 0.0
    t = r * np.sqrt((n - 2) / (1.0 - r * r))
    return float(2.0 * stats.t.sf(abs(t), n - 2))


def correlation_pvalues(values: pd.DataFrame, method: str = "pearson") -> pd.DataFrame:
    """Two-sided p-value of every pairwise correlation (codes × codes; diagonal 0, as COINr).

    Pearson: R ``cor.test``'s $t = r\\sqrt{(n-2)/(1-r^2)}$ on $n - 2$ degrees of freedom, $n$ = the
    pair's complete cases. Spearman: the same $t$ on the ranks (R ``cor.test(exact = FALSE)``; R's
    default is an exact test for small $n$ without ties). Kendall: scipy ``kendalltau`` (tau-b;
    exact for small samples without ties, else the normal approximation). Fewer than 3 complete
    cases or a constant column: NaN.
    """
    _check_method(method)
    x = values.to_numpy(dtype=float)
    k = x.shape[1]
    p = np.zeros((k, k))
    for i in range(k):
        for j in range(i + 1, k):
            p[i, j] = p[j, i] = _pvalue(x[:, i], x[:, j], method)
    return pd.DataFrame(p, index=values.columns, columns=values.columns)


def significant_correlations(
    values: pd.DataFrame, method: str = "pearson", *, pval: float = 0.05
) -> pd.DataFrame:
    """COINr ``get_corr(pval = 0.05)``: the correlation matrix with every coefficient whose
    p-value (``correlation_pvalues``) exceeds ``pval`` set to NaN; ``pval = 0`` keeps all."""
    if not 0.0 <= pval <= 1.0:
        raise InputError(f"pval must lie in [0, 1], got {pval}")
    corr = correlation_matrix(values, method)
    if pval == 0:
        return corr
    return corr.mask(correlation_pvalues(values, method) > pval)


def denominator_correlations(
    indicators: pd.DataFrame,
    denominators: pd.DataFrame,
    *,
    threshold: float = 0.6,
    method: str = "pearson",
) -> pd.DataFrame:
    """COINr ``get_denom_corr``: indicator-denominator pairs with $|r| >$ ``threshold``, which
    suggest dividing the indicator by that denominator (e.g. a size effect). Columns: indicator,
    denominator, r (unrounded), sorted by indicator then denominator. Same units (rows) in both."""
    _check_method(method)
    corr = correlation_matrix(indicators, method, denominators)
    long = corr.stack().rename("r").reset_index()
    long.columns = ["indicator", "denominator", "r"]
    long = long[long["indicator"] != long["denominator"]].dropna(subset=["r"])
    out = long[long["r"].abs() > threshold]
    return out.sort_values(["indicator", "denominator"], kind="stable").reset_index(drop=True)
