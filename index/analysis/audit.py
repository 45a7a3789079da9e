"""Statistical audit of a composite indicator (JRC/OECD style; COINr-compatible definitions).

Input everywhere: a wide DataFrame ``values`` (units × codes, NaN = missing) holding indicators
and aggregates of one build, plus the :class:`~index.framework.Framework` they belong to (levels,
children and ancestors come from it). Correlations and covariances are pairwise-complete (R
``use = "pairwise.complete.obs"``). :func:`audit_build` audits one year of a build.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from index.errors import InputError
from index.framework import Framework
from index.io import atomic_path, escaped
from index.methods import weights as wts
from index.methods.screen import data_availability

if TYPE_CHECKING:
    from index.pipeline import Build

CORR_METHODS = ("pearson", "spearman", "kendall")


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
    fw: Framework,
    level_a: int,
    level_b: int,
    method: str = "pearson",
) -> pd.DataFrame:
    """Correlations between every code at ``level_a`` (rows) and every code at ``level_b``."""
    a = fw.codes_at(level_a, values.columns)
    b = fw.codes_at(level_b, values.columns)
    return correlation_matrix(values[a], method, None if a == b else values[b])


def within_group_correlations(
    values: pd.DataFrame, fw: Framework, method: str = "pearson"
) -> pd.DataFrame:
    """Correlation of every pair of siblings (same parent), each pair once.

    Columns: level, group, code_1, code_2, r.
    """
    corr = correlation_matrix(values, method)
    rows = []
    for group, kids in fw.children.items():
        kids = [k for k in kids if k in values.columns]
        for i, a in enumerate(kids):
            for b in kids[i + 1 :]:
                rows.append((fw.level[a], group, a, b, corr.at[a, b]))
    return pd.DataFrame(rows, columns=["level", "group", "code_1", "code_2", "r"])


def parent_correlations(
    values: pd.DataFrame,
    fw: Framework,
    method: str = "pearson",
    *,
    family: bool = False,
) -> pd.DataFrame:
    """Correlation of each element with its parent (``family=True``: with every ancestor).

    Columns: level, code, ancestor, ancestor_level, r. This is COINr's
    ``get_corr(Levels = c(1, 2), withparent = TRUE)`` (``"family"`` for all ancestors).
    """
    corr = correlation_matrix(values, method)
    rows = []
    for code in values.columns:
        if code not in fw.level:
            continue
        ups = fw.ancestors(code)
        for anc in ups if family else ups[:1]:
            if anc in values.columns:
                rows.append((fw.level[code], code, anc, fw.level[anc], corr.at[code, anc]))
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


def cronbach_by_group(values: pd.DataFrame, fw: Framework) -> pd.DataFrame:
    """Alpha of the children of every parent, then of all codes at each level below the root.

    Columns: group (parent code, or ``ALL_L<level>``), level (of the items), k, alpha.
    """
    rows = []
    for group, kids in fw.children.items():
        kids = [k for k in kids if k in values.columns]
        if kids:
            rows.append((group, fw.level[kids[0]], len(kids), cronbach_alpha(values[kids])))
    top = max(fw.level[c] for c in values.columns if c in fw.level)
    for lev in range(1, top):
        codes = fw.codes_at(lev, values.columns)
        if len(codes) > 1:
            rows.append((f"ALL_L{lev}", lev, len(codes), cronbach_alpha(values[codes])))
    return pd.DataFrame(rows, columns=["group", "level", "k", "alpha"])


@dataclass(frozen=True)
class PCASummary:
    """Principal components of the standardised columns (correlation matrix), complete rows only."""

    eigenvalues: np.ndarray  # (k,), descending
    loadings: np.ndarray  # (k,): PC1, oriented by the sign rule of weights.pca_loadings
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
    """PCA as R ``prcomp(center = TRUE, scale. = TRUE)`` on the rows without NaN: the PCA of
    :mod:`index.methods.weights` (``pca_components``, ``pca_loadings`` and its sign rule).

    NaN when that PCA is undefined (fewer than 3 complete rows, or a constant column).
    """
    a = np.asarray(x, dtype=float)
    k, n_rows = a.shape[1], int((~np.isnan(a).any(axis=1)).sum())
    try:
        eigenvalues, _ = wts.pca_components(a)
        loadings, _ = wts.pca_loadings(a)
    except InputError:
        return PCASummary(np.full(k, np.nan), np.full(k, np.nan), n_rows)
    return PCASummary(eigenvalues, loadings, n_rows)


def pca_by_group(values: pd.DataFrame, fw: Framework) -> pd.DataFrame:
    """PCA of the children of every parent (COINr ``get_PCA(by_groups = TRUE)``).

    Columns: group, level, k, n_rows, pc1_var_explained, n_eigen_gt1, eigenvalues (tuple).
    """
    rows = []
    for group, kids in fw.children.items():
        kids = [k for k in kids if k in values.columns]
        if len(kids) < 2:
            continue
        s = pca_summary(values[kids])
        rows.append(
            (
                group,
                fw.level[kids[0]],
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


def unit_availability(values: pd.DataFrame, fw: Framework) -> pd.DataFrame:
    """Share of level-1 codes with data, per unit: overall (``all``) and within each parent group.

    Also COINr ``get_data_avail``'s counts over the level-1 codes: ``N_missing``, ``N_zero`` (zeros
    among the values present) and ``Non_Zero`` $= 1 - N_{zero}/(k - N_{missing})$ (what
    ``screen(unit_screen="byzeros")`` tests).
    """
    inds = fw.codes_at(1, values.columns)
    have = values[inds].notna()
    missing, zero, _, non_zero = data_availability(values[inds].to_numpy(dtype=float))
    out = {"N_missing": missing, "N_zero": zero, "Non_Zero": non_zero, "all": have.mean(axis=1)}
    for group, kids in fw.children.items():
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
    pvalues: dict[str, pd.DataFrame] = field(default_factory=dict)  # method -> codes × codes
    denominator_corr: pd.DataFrame | None = None  # COINr get_denom_corr (audit_build)
    trends: pd.DataFrame | None = None  # COINr get_trends over the build's years (audit_build)

    def sheets(self) -> dict[str, pd.DataFrame]:
        """Every table by sheet name, flat for spreadsheets (eigenvalues as text)."""
        eig = [", ".join(f"{v:.4g}" for v in e) for e in self.pca["eigenvalues"]]
        out = {
            "flags": self.flags,
            "cronbach": self.cronbach,
            "pca": self.pca.assign(eigenvalues=eig),
            "stats": self.stats.reset_index(),
            "availability": self.availability.reset_index(),
            "within_group": self.within_group,
            "with_parent": self.with_parent,
        }
        for method, corr in self.correlations.items():
            out[f"corr_{method}"] = corr.rename_axis("code").reset_index()
        for method, p in self.pvalues.items():
            out[f"pvalue_{method}"] = p.rename_axis("code").reset_index()
        for name in ("denominator_corr", "trends"):
            if (table := getattr(self, name)) is not None:
                out[name] = table
        return out

    def to_excel(self, path: str | Path) -> Path:
        """All tables in one workbook (one sheet each), written atomically."""
        with atomic_path(path) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as xl:
            for name, df in self.sheets().items():
                escaped(df).to_excel(xl, sheet_name=name, index=False)  # no live formulas
        return Path(path)


def audit(
    values: pd.DataFrame,
    fw: Framework,
    *,
    methods: Iterable[str] = CORR_METHODS,
    collinear: float = 0.9,
    negative: float = -0.4,
) -> Audit:
    """Run the statistical audit on one data set (units × codes of any levels of ``fw``)."""
    unknown = [c for c in values.columns if c not in fw.level]
    if unknown:
        raise InputError(f"codes not in the framework: {unknown}")
    from index.analysis.significance import correlation_pvalues  # it imports this module

    methods = list(methods)
    for m in methods:
        _check_method(m)
    corrs, within, fam, flags = {}, [], [], []
    for m in methods:
        corrs[m] = correlation_matrix(values, m)
        w = within_group_correlations(values, fw, m)
        p = parent_correlations(values, fw, m, family=True)
        direct = p[p["ancestor"] == p["code"].map(fw.parent_of)]
        flags.append(
            correlation_flags(w, direct, collinear=collinear, negative=negative).assign(method=m)
        )
        within.append(w.assign(method=m))
        fam.append(p.assign(method=m))
    stats = indicator_stats(values)
    stats.insert(0, "level", [fw.level[c] for c in stats.index])
    return Audit(
        stats=stats,
        availability=unit_availability(values, fw),
        correlations=corrs,
        within_group=pd.concat(within, ignore_index=True),
        with_parent=pd.concat(fam, ignore_index=True),
        flags=pd.concat(flags, ignore_index=True),
        cronbach=cronbach_by_group(values, fw),
        pca=pca_by_group(values, fw),
        pvalues={m: correlation_pvalues(values, m) for m in methods},
    )


SIZE_SERIES = ("gdp", "population_year_end")
"""Size series of the bundled catalogue that ``audit_build`` correlates with the raw indicators
(COINr ``get_denom_corr``), besides the framework's own denominators."""


def audit_build(
    b: Build,
    year: int | None = None,
    *,
    stage: str = "scores",
    methods: Iterable[str] = CORR_METHODS,
    collinear: float = 0.9,
    negative: float = -0.4,
) -> Audit:
    """Audit one year (default: the latest) of a build, labelled for reading.

    ``stage="scores"`` audits the normalised indicators and every aggregate, as COINr audits its
    aggregated data set; a stage before aggregation (``"raw"`` … ``"normalised"``) audits the
    indicators at that point (e.g. ``"denominated"``: missing values before imputation, skew
    before treatment). The statistics, Cronbach and PCA tables get ``name_zh``/``name_en`` of the
    code or group beside it; the units of ``availability`` are region codes.
    """
    from index.analysis.significance import denominator_correlations

    fw = b.framework
    a = audit(b.stage(stage, year), fw, methods=methods, collinear=collinear, negative=negative)
    zh = {c: fw.node(c).name_zh for c in fw.codes}
    en = {c: fw.node(c).name_en for c in fw.codes}

    def named(df: pd.DataFrame, key: pd.Index | pd.Series) -> pd.DataFrame:
        out = df.copy()
        out.insert(1, "name_zh", [zh.get(c, "") for c in key])
        out.insert(2, "name_en", [en.get(c, "") for c in key])
        return out

    stats = a.stats.reset_index()
    dens = [
        s
        for s in dict.fromkeys([*(i.denominator for i in fw.indicators), *SIZE_SERIES])
        if s is not None and s in b.dataset.series
    ]
    yi = b.years.index(b.years[-1] if year is None else year)
    raw = b.stage("raw", year)
    den_values = pd.DataFrame(
        b.dataset.select(dens)[b.dataset.years.index(b.years[yi])]
        if dens
        else np.empty((len(raw), 0)),
        index=raw.index,
        columns=dens,
    )
    return Audit(
        stats=named(stats, stats["code"]).set_index("code"),
        availability=a.availability,
        correlations=a.correlations,
        within_group=a.within_group,
        with_parent=a.with_parent,
        flags=a.flags,
        cronbach=named(a.cronbach, a.cronbach["group"]),
        pca=named(a.pca, a.pca["group"]),
        pvalues=a.pvalues,
        denominator_corr=denominator_correlations(raw, den_values) if dens else None,
        trends=b.trends() if len(b.years) > 1 else None,
    )
