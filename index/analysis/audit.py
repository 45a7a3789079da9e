"""Statistical audit of a composite indicator (JRC/OECD style; COINr-compatible definitions).

Input everywhere: a wide DataFrame ``values`` (units × codes, NaN = missing) holding indicators
and aggregates of one build, plus ``parent`` (code → parent code, ``None`` for the root). Levels
are derived from the tree: leaves are level 1, a parent is one above its highest child.
Correlations and covariances are pairwise-complete (R ``use = "pairwise.complete.obs"``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from index.errors import InputError, Problem
from index.methods.screen import data_availability

CORR_METHODS = ("pearson", "spearman", "kendall")


# ---- hierarchy -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Hierarchy:
    """The index tree as a parent mapping, with derived levels, children and ancestors."""

    parent: Mapping[str, str | None]

    @classmethod
    def from_parent(cls, parent: Mapping[str, str | None]) -> Hierarchy:
        """Build from code → parent; codes named only as parents become nodes (the root)."""
        full: dict[str, str | None] = dict(parent)
        for p in list(full.values()):
            if p is not None and p not in full:
                full[p] = None
        h = cls(full)
        _ = h.level  # validates (cycles)
        return h

    @cached_property
    def children(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {c: [] for c in self.parent}
        for c, p in self.parent.items():
            if p is not None:
                out[p].append(c)
        return out

    @cached_property
    def level(self) -> dict[str, int]:
        """Level of each node: 1 for leaves, else 1 + the highest child level."""
        out: dict[str, int] = {}

        def visit(code: str, path: tuple[str, ...]) -> int:
            if code in path:
                cycle = " → ".join((*path, code))
                raise InputError(Problem("framework", None, code, f"cycle in hierarchy: {cycle}"))
            if code not in out:
                kids = self.children[code]
                out[code] = 1 + max((visit(k, (*path, code)) for k in kids), default=0)
            return out[code]

        for c in self.parent:
            visit(c, ())
        return out

    def ancestors(self, code: str) -> list[str]:
        """Parent, grandparent, … up to the root."""
        out, p = [], self.parent[code]
        while p is not None:
            out.append(p)
            p = self.parent[p]
        return out

    def codes_at(self, level: int, present: Iterable[str] | None = None) -> list[str]:
        """Codes at ``level`` (in ``present`` order when given, else mapping order)."""
        pool = self.parent if present is None else present
        return [c for c in pool if self.level.get(c) == level]


def _hierarchy(parent: Mapping[str, str | None] | Hierarchy) -> Hierarchy:
    return parent if isinstance(parent, Hierarchy) else Hierarchy.from_parent(parent)


def _check_method(method: str) -> None:
    if method not in CORR_METHODS:
        raise InputError(f"unknown correlation method '{method}'; choose from {list(CORR_METHODS)}")


# ---- correlations ----------------------------------------------------------------------------
def correlation_matrix(
    values: pd.DataFrame, method: str = "pearson", other: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Pairwise-complete correlation matrix (``values`` columns × ``other`` columns, default itself).

    Pearson, Spearman (ranks of each pair's complete cases) or Kendall tau-b, as R ``cor``.
    """
    _check_method(method)
    if other is None:
        return values.corr(method=method)
    both = pd.concat([values, other.loc[:, ~other.columns.isin(values.columns)]], axis=1)
    return both.corr(method=method).loc[values.columns, other.columns]


def level_correlations(
    values: pd.DataFrame,
    parent: Mapping[str, str | None] | Hierarchy,
    level_a: int,
    level_b: int,
    method: str = "pearson",
) -> pd.DataFrame:
    """Correlations between every code at ``level_a`` (rows) and every code at ``level_b``."""
    h = _hierarchy(parent)
    a = h.codes_at(level_a, values.columns)
    b = h.codes_at(level_b, values.columns)
    return correlation_matrix(values[a], method, None if a == b else values[b])


def within_group_correlations(
    values: pd.DataFrame, parent: Mapping[str, str | None] | Hierarchy, method: str = "pearson"
) -> pd.DataFrame:
    """Correlation of every pair of siblings (same parent), each pair once.

    Columns: level, group, code_1, code_2, r.
    """
    h = _hierarchy(parent)
    corr = correlation_matrix(values, method)
    rows = []
    for group, kids in h.children.items():
        kids = [k for k in kids if k in values.columns]
        for i, a in enumerate(kids):
            for b in kids[i + 1 :]:
                rows.append((h.level[a], group, a, b, corr.at[a, b]))
    return pd.DataFrame(rows, columns=["level", "group", "code_1", "code_2", "r"])


def parent_correlations(
    values: pd.DataFrame,
    parent: Mapping[str, str | None] | Hierarchy,
    method: str = "pearson",
    *,
    family: bool = False,
) -> pd.DataFrame:
    """Correlation of each element with its parent (``family=True``: with every ancestor).

    Columns: level, code, ancestor, ancestor_level, r. This is COINr's
    ``get_corr(Levels = c(1, 2), withparent = TRUE)`` (``"family"`` for all ancestors).
    """
    h = _hierarchy(parent)
    corr = correlation_matrix(values, method)
    rows = []
    for code in values.columns:
        if code not in h.parent:
            continue
        ups = h.ancestors(code)
        for anc in ups if family else ups[:1]:
            if anc in values.columns:
                rows.append((h.level[code], code, anc, h.level[anc], corr.at[code, anc]))
    return pd.DataFrame(rows, columns=["level", "code", "ancestor", "ancestor_level", "r"])


def correlation_flags(
    within: pd.DataFrame,
    with_parent: pd.DataFrame,
    *,
    collinear: float = 0.9,
    negative: float = -0.4,
) -> pd.DataFrame:
    """Flag sibling pairs with r > ``collinear`` (double counting) or r < ``negative`` (trade-off),
    and elements whose correlation with their parent is below ``negative``.

    Columns: kind ('collinear' | 'negative' | 'negative_with_parent'), level, group, code_1, code_2, r.
    """
    cols = ["kind", "level", "group", "code_1", "code_2", "r"]
    hi = within[within["r"] > collinear].assign(kind="collinear")
    lo = within[within["r"] < negative].assign(kind="negative")
    par = with_parent[with_parent["r"] < negative]
    par = pd.DataFrame(
        {
            "kind": "negative_with_parent",
            "level": par["level"],
            "group": par["ancestor"],
            "code_1": par["code"],
            "code_2": par["ancestor"],
            "r": par["r"],
        }
    )
    parts = [p[cols] for p in (hi, lo, par) if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)


# ---- reliability and dimensionality ------------------------------------------------------------
def cronbach_alpha(x: pd.DataFrame | np.ndarray) -> float:
    """Cronbach's alpha (Cronbach 1951) of the columns of ``x`` (units × k), COINr's formula.

    $\\alpha = k^2\\,\\bar\\sigma_{ij} / \\sum_{i,j}\\sigma_{ij}$ with $\\bar\\sigma_{ij}$ the mean
    off-diagonal covariance; covariances pairwise-complete with ddof = 1. NaN when k < 2.
    """
    cov = pd.DataFrame(x).cov().to_numpy()
    k = cov.shape[0]
    if k < 2:
        return float("nan")
    total = np.nansum(cov)
    mean_off = (total - np.nansum(np.diag(cov))) / (k * (k - 1))
    return float(k * k * mean_off / total) if total != 0 else float("nan")


def cronbach_by_group(
    values: pd.DataFrame, parent: Mapping[str, str | None] | Hierarchy
) -> pd.DataFrame:
    """Alpha of the children of every parent, then of all codes at each level below the root.

    Columns: group (parent code, or ``ALL_L<level>``), level (of the items), k, alpha.
    """
    h = _hierarchy(parent)
    rows = []
    for group, kids in h.children.items():
        kids = [k for k in kids if k in values.columns]
        if kids:
            rows.append((group, h.level[kids[0]], len(kids), cronbach_alpha(values[kids])))
    top = max(h.level[c] for c in values.columns if c in h.level)
    for lev in range(1, top):
        codes = h.codes_at(lev, values.columns)
        if len(codes) > 1:
            rows.append((f"ALL_L{lev}", lev, len(codes), cronbach_alpha(values[codes])))
    return pd.DataFrame(rows, columns=["group", "level", "k", "alpha"])


@dataclass(frozen=True)
class PCASummary:
    """Principal components of the standardised columns (correlation matrix), complete rows only."""

    eigenvalues: np.ndarray  # (k,), descending
    loadings: np.ndarray  # (k, k): column j = unit eigenvector of PC j (sum of entries >= 0)
    n_rows: int

    @property
    def var_explained(self) -> np.ndarray:
        """Share of total variance per component, $\\lambda_j / k$."""
        return self.eigenvalues / self.eigenvalues.size

    @property
    def n_eigen_gt1(self) -> int:
        """Kaiser criterion: number of components with eigenvalue > 1."""
        return int(np.sum(self.eigenvalues > 1.0))


def pca_summary(x: pd.DataFrame | np.ndarray) -> PCASummary:
    """PCA as R ``prcomp(center = TRUE, scale. = TRUE)`` on the rows without NaN.

    Eigen-decomposition of the correlation matrix; loadings are normalised so each PC's loadings
    sum to a non-negative number (LAPACK's sign is arbitrary). NaN when < 2 rows or a constant column.
    """
    a = np.asarray(x, dtype=float)
    a = a[~np.isnan(a).any(axis=1)]
    k = a.shape[1]
    sd = a.std(axis=0, ddof=1) if a.shape[0] > 1 else np.zeros(k)
    if a.shape[0] < 2 or np.any(sd == 0):
        return PCASummary(np.full(k, np.nan), np.full((k, k), np.nan), a.shape[0])
    vals, vecs = np.linalg.eigh(np.corrcoef(a, rowvar=False).reshape(k, k))
    vals, vecs = vals[::-1], vecs[:, ::-1]
    vecs = vecs * np.where(vecs.sum(axis=0) < 0, -1.0, 1.0)
    return PCASummary(vals, vecs, a.shape[0])


def pca_by_group(
    values: pd.DataFrame, parent: Mapping[str, str | None] | Hierarchy
) -> pd.DataFrame:
    """PCA of the children of every parent (COINr ``get_PCA(by_groups = TRUE)``).

    Columns: group, level, k, n_rows, pc1_var_explained, n_eigen_gt1, eigenvalues (tuple).
    """
    h = _hierarchy(parent)
    rows = []
    for group, kids in h.children.items():
        kids = [k for k in kids if k in values.columns]
        if len(kids) < 2:
            continue
        s = pca_summary(values[kids])
        rows.append(
            (
                group,
                h.level[kids[0]],
                len(kids),
                s.n_rows,
                s.var_explained[0],
                s.n_eigen_gt1,
                tuple(s.eigenvalues),
            )
        )
    cols = ["group", "level", "k", "n_rows", "pc1_var_explained", "n_eigen_gt1", "eigenvalues"]
    return pd.DataFrame(rows, columns=cols)


# ---- descriptive statistics and availability ------------------------------------------------------
def indicator_stats(
    values: pd.DataFrame,
    *,
    t_skew: float = 2.0,
    t_kurt: float = 3.5,
    t_avail: float = 0.65,
    t_zero: float = 0.5,
    t_unq: float = 0.5,
) -> pd.DataFrame:
    """Per-column statistics and flags, COINr ``get_stats`` (one row per code).

    Skew and kurtosis are the adjusted (bias-corrected, excess) estimators = pandas ``skew``/``kurt``.
    ``n_same`` is the size of the largest group of equal values; ``n_zero`` counts exact zeros
    (COINr's ``N_zero``, by indicator). Fractions ``frc_*`` are over the
    available values; the flags follow COINr: ``flag_avail`` LOW if n_avail/n < t_avail,
    ``flag_nonzero`` LOW if n_nonzero/n < t_zero, ``flag_unique`` LOW if n_unique/n < t_unq (n = all
    units), ``flag_skewkurt`` OUT if |skew| > t_skew AND kurt > t_kurt.
    """
    n = len(values)
    n_avail = values.count()
    n_nonzero = (values.ne(0) & values.notna()).sum()
    n_zero = values.eq(0).sum()
    n_unique = values.nunique()
    n_same = values.apply(lambda s: s.value_counts().max() if s.notna().any() else 0)
    skew, kurt = values.skew(), values.kurt()
    out = pd.DataFrame(
        {
            "min": values.min(),
            "max": values.max(),
            "mean": values.mean(),
            "median": values.median(),
            "std": values.std(ddof=1),
            "skew": skew,
            "kurt": kurt,
            "n_avail": n_avail,
            "n_nonzero": n_nonzero,
            "n_zero": n_zero,
            "n_unique": n_unique,
            "n_same": n_same,
            "frc_avail": n_avail / n,
            "frc_nonzero": n_nonzero / n_avail,
            "frc_unique": n_unique / n_avail,
            "frc_same": n_same / n_avail,
            "flag_avail": np.where(n_avail / n >= t_avail, "ok", "LOW"),
            "flag_nonzero": np.where(n_nonzero / n >= t_zero, "ok", "LOW"),
            "flag_unique": np.where(n_unique / n >= t_unq, "ok", "LOW"),
            "flag_skewkurt": np.where((skew.abs() > t_skew) & (kurt > t_kurt), "OUT", "ok"),
        }
    )
    out.index.name = "code"
    return out


def unit_availability(
    values: pd.DataFrame, parent: Mapping[str, str | None] | Hierarchy
) -> pd.DataFrame:
    """Share of level-1 codes with data, per unit: overall (``all``) and within each parent group.

    Also COINr ``get_data_avail``'s counts over the level-1 codes: ``N_missing``, ``N_zero`` (zeros
    among the values present) and ``Non_Zero`` $= 1 - N_{zero}/(k - N_{missing})$ (what
    ``screen(unit_screen="byzeros")`` tests).
    """
    h = _hierarchy(parent)
    inds = h.codes_at(1, values.columns)
    have = values[inds].notna()
    missing, zero, _, non_zero = data_availability(values[inds].to_numpy(dtype=float))
    out = {"N_missing": missing, "N_zero": zero, "Non_Zero": non_zero, "all": have.mean(axis=1)}
    for group, kids in h.children.items():
        kids = [k for k in kids if k in inds]
        if kids:
            out[group] = have[kids].mean(axis=1)
    return pd.DataFrame(out)


# ---- the whole audit ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Audit:
    """Every audit table of one data set (see :func:`audit`)."""

    stats: pd.DataFrame
    availability: pd.DataFrame
    correlations: dict[str, pd.DataFrame]  # method -> codes × codes
    within_group: pd.DataFrame  # + column 'method'
    with_parent: pd.DataFrame  # + column 'method'; family (all ancestors)
    flags: pd.DataFrame  # + column 'method'
    cronbach: pd.DataFrame
    pca: pd.DataFrame


def audit(
    values: pd.DataFrame,
    parent: Mapping[str, str | None] | Hierarchy,
    *,
    methods: Iterable[str] = CORR_METHODS,
    collinear: float = 0.9,
    negative: float = -0.4,
) -> Audit:
    """Run the statistical audit on one data set (units × codes of all levels)."""
    h = _hierarchy(parent)
    unknown = [c for c in values.columns if c not in h.parent]
    if unknown:
        raise InputError(f"codes not in the hierarchy: {unknown}")
    methods = list(methods)
    for m in methods:
        _check_method(m)
    corrs, within, fam, flags = {}, [], [], []
    for m in methods:
        corrs[m] = correlation_matrix(values, m)
        w = within_group_correlations(values, h, m)
        p = parent_correlations(values, h, m, family=True)
        direct = p[p["ancestor"] == p["code"].map(h.parent)]
        flags.append(
            correlation_flags(w, direct, collinear=collinear, negative=negative).assign(method=m)
        )
        within.append(w.assign(method=m))
        fam.append(p.assign(method=m))
    stats = indicator_stats(values)
    stats.insert(0, "level", [h.level[c] for c in stats.index])
    return Audit(
        stats=stats,
        availability=unit_availability(values, h),
        correlations=corrs,
        within_group=pd.concat(within, ignore_index=True),
        with_parent=pd.concat(fam, ignore_index=True),
        flags=pd.concat(flags, ignore_index=True),
        cronbach=cronbach_by_group(values, h),
        pca=pca_by_group(values, h),
    )
