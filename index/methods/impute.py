"""Imputation of missing indicator values (NaN), cross-sectional and along time.

Cross-sectional methods work on ``(..., n_units, n_ind)`` and broadcast over leading axes; the
panel methods ``latest`` and ``linear`` work along the years axis -3 of
``(..., n_years, n_units, n_ind)``. Observed values are never changed; a value that cannot be
imputed (an all-NaN column for ``mean``, a unit with no data in its group, ...) stays NaN.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from index.errors import InputError
from index.methods import IndicatorError, dispatch


def _f(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _fill(x: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Replace the NaN of ``x`` by the broadcast ``values``; observed values are kept bit for bit."""
    return np.where(np.isnan(x), values, x)


def _nanstat(fn: Callable, x: np.ndarray, axis: int) -> np.ndarray:
    """``np.nanmean``/``np.nanmedian`` with keepdims; an all-NaN slice gives NaN silently."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(x, axis=axis, keepdims=True)


def none(x) -> np.ndarray:
    """No imputation."""
    return _f(x)


def mean(x) -> np.ndarray:
    """Column mean of the observed values: $\\hat x_{ij} = \\operatorname{mean}_k x_{kj}$."""
    x = _f(x)
    return _fill(x, _nanstat(np.nanmean, x, -2))


def median(x) -> np.ndarray:
    """Column median of the observed values."""
    x = _f(x)
    return _fill(x, _nanstat(np.nanmedian, x, -2))


def _by_group(x: np.ndarray, groups, fn: Callable) -> np.ndarray:
    labels = np.asarray(groups)
    if labels.shape != (x.shape[-2],):
        raise InputError(f"groups must have one label per unit ({x.shape[-2]}), got {labels.shape}")
    codes, _ = pd.factorize(labels)  # missing labels -> -1: those units are left as they are
    out = x.copy()
    for g in range(codes.max() + 1):
        rows = codes == g
        out[..., rows, :] = _fill(x[..., rows, :], _nanstat(fn, x[..., rows, :], -2))
    return out


def mean_grp(x, *, groups) -> np.ndarray:
    """Mean of the observed values of the same indicator among units of the same group."""
    return _by_group(_f(x), groups, np.nanmean)


def median_grp(x, *, groups) -> np.ndarray:
    """Median of the observed values of the same indicator among units of the same group."""
    return _by_group(_f(x), groups, np.nanmedian)


def worst_grp(x, *, groups, directions) -> np.ndarray:
    r"""The least favourable value observed in the unit's group: the group minimum of an
    indicator with direction +1, the maximum for −1, $\hat x_{ij} = d_j^{-1}\min_{k \in g(i)}
    d_j x_{kj}$. A conservative rule: a unit with a gap never scores above the weakest peer of
    its group that reports, so a missing value cannot raise its rank over a reporting peer."""
    x = _f(x)
    d = np.broadcast_to(_f(directions), (x.shape[-1],))
    return _by_group(x * d, groups, np.nanmin) * d


def row_mean(x, *, ind_groups, normalise_first: bool = True, directions=None) -> np.ndarray:
    """COINr ``impute_by = "row"``: a unit's mean over the other indicators of the same group.

    With ``normalise_first`` each column is min-maxed onto [0, 1] after multiplying by its
    direction, $z = (dx - \\min dx)/(\\max dx - \\min dx)$; the row mean within the group fills
    $z$, and the result is transformed back, $x = (z(\\max - \\min) + \\min)/d$, so the output is
    on the original scale. A constant column takes its constant.
    """
    x = _f(x)
    groups = np.asarray(ind_groups)
    if groups.shape != (x.shape[-1],):
        raise InputError(f"ind_groups must have one entry per indicator ({x.shape[-1]})")
    d = (
        np.ones(x.shape[-1])
        if directions is None
        else np.broadcast_to(_f(directions), groups.shape)
    )
    if normalise_first:
        lo = np.fmin.reduce(x * d, axis=-2, keepdims=True)
        rng = np.fmax.reduce(x * d, axis=-2, keepdims=True) - lo
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (x * d - lo) / rng
    else:
        z = x.copy()
    for g in pd.unique(groups):
        cols = groups == g
        z[..., cols] = _fill(z[..., cols], _nanstat(np.nanmean, z[..., cols], -1))
    if normalise_first:
        z = (z * rng + lo) * d
    return _fill(x, z)


def _per_item(x: np.ndarray, fit: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Apply a 2-D (units × indicators) imputer to each leading item; all-NaN columns stay NaN."""
    out = x.copy()
    for item in np.ndindex(x.shape[:-2]):
        m = x[item]
        empty = np.isnan(m).all(axis=0)
        if np.isnan(m[:, ~empty]).any():
            filled = fit(m)
            filled[:, empty] = np.nan
            out[item] = _fill(m, filled)
    return out


def knn(
    x,
    *,
    n_neighbors: Annotated[int, Field(ge=1)] = 5,
    weights: Literal["uniform", "distance"] = "uniform",
    standardise: bool = True,
):
    """k-nearest-neighbour imputation (scikit-learn ``KNNImputer``, nan-Euclidean distance).

    With ``standardise`` (default) the columns are z-scored on their observed values before the
    distances are computed, so no indicator dominates by its unit; values are transformed back.
    """

    from sklearn.impute import KNNImputer  # scikit-learn is imported only when it is used

    def fit(m: np.ndarray) -> np.ndarray:
        mu = _nanstat(np.nanmean, m, 0) if standardise else 0.0
        sd = _nanstat(np.nanstd, m, 0) if standardise else 1.0
        sd = np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)
        imp = KNNImputer(n_neighbors=n_neighbors, weights=weights, keep_empty_features=True)
        return imp.fit_transform((m - mu) / sd) * sd + mu

    return _per_item(_f(x), fit)


def iterative(
    x,
    *,
    random_state: int | None = 0,
    max_iter: Annotated[int, Field(ge=1)] = 10,
    sample_posterior: bool = False,
    negative: Literal["clip", "refuse"] = "clip",
):
    """Multivariate imputation by chained equations (scikit-learn ``IterativeImputer``,
    BayesianRidge per column, round-robin); deterministic for a fixed ``random_state``.

    A regression can extrapolate below zero. An indicator whose observed values are all
    non-negative (every count, amount and share of the catalogue: only ``signed`` indicators may
    be negative, and the ETL refuses negatives elsewhere) must not get a negative imputed value:
    ``negative="clip"`` sets such values to 0 and warns (:class:`ImputationClipWarning`, which
    carries the cells; a build flags them "iterative, clipped at 0"), ``"refuse"`` raises an
    error naming the columns.
    """
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401 - enables the next
    from sklearn.impute import IterativeImputer

    def fit(m: np.ndarray) -> np.ndarray:
        imp = IterativeImputer(
            random_state=random_state,
            max_iter=max_iter,
            sample_posterior=sample_posterior,
            keep_empty_features=True,
        )
        return imp.fit_transform(m)

    x = _f(x)
    filled = _per_item(x, fit)
    below = below_sign(x, filled)
    if not below.any():
        return filled
    cols = np.nonzero(below.reshape(-1, below.shape[-1]).any(axis=0))[0].tolist()
    if negative == "refuse":
        raise IndicatorError(
            cols,
            f"iterative imputation gave {int(below.sum())} negative value(s) where every observed "
            'value is >= 0 (impute.negative = "clip" sets them to 0)',
        )
    warnings.warn(
        ImputationClipWarning(
            f"iterative imputation gave {int(below.sum())} negative value(s) in column(s) "
            f"{cols}, whose observed values are all >= 0: clipped at 0",
            below,
        ),
        stacklevel=3,
    )
    return np.where(below, 0.0, filled)


class ImputationClipWarning(UserWarning):
    """Imputed values fell below 0 in columns observed non-negative and were clipped at 0;
    ``cells`` is the boolean mask of those cells (the shape of ``x``)."""

    def __init__(self, message: str, cells: np.ndarray):
        super().__init__(message)
        self.cells = cells


def below_sign(x: np.ndarray, filled: np.ndarray) -> np.ndarray:
    """Cells imputed (NaN in ``x``) below 0 in columns whose observed values are all >= 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        nonneg = np.nanmin(x, axis=-2, keepdims=True) >= 0
    return np.isnan(x) & nonneg & (filled < 0)


def _time_neighbours(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per cell, the year position of the last observation at or before it (-1: none) and of
    the first at or after it (n_years: none), along axis -3."""
    if x.ndim < 3:
        raise InputError(f"panel imputation needs (..., n_years, n_units, n_ind), got {x.shape}")
    n = x.shape[-3]
    t = np.arange(n).reshape(n, 1, 1)
    obs = ~np.isnan(x)
    prev = np.maximum.accumulate(np.where(obs, t, -1), axis=-3)
    nxt = np.flip(np.minimum.accumulate(np.flip(np.where(obs, t, n), axis=-3), axis=-3), axis=-3)
    return prev, nxt


def _times(times, n: int) -> np.ndarray:
    """The year values of the ``n`` positions along axis -3 (default 0, 1, …), strictly increasing."""
    t = np.arange(n, dtype=float) if times is None else _f(times)
    if t.shape != (n,) or np.any(np.diff(t) <= 0):
        raise InputError(f"times must be {n} strictly increasing values")
    return t


def latest_source(
    x, *, backfill: bool = True, max_gap: int | None = None, times=None
) -> np.ndarray:
    """Year position (along axis -3) each ``latest`` value comes from; -1 where still missing
    (COINr's ``DataT`` is ``times`` at these positions).

    ``max_gap`` (COINr ``max_time``): a value is carried at most that many years, $|t - t_s| \\le$
    ``max_gap`` with $t$ the ``times`` (default the positions 0, 1, …, COINr's time points), so
    a year absent from the panel still counts; cells farther from every observation stay missing.
    ``backfill``: a cell with no observation within ``max_gap`` before it (in particular the years
    before a series' first observation) takes the first observation after it, within ``max_gap``
    (the edition's policy: "else the first observed after it, at most two years later"); COINr
    looks back only (``backfill=False``)."""
    x = _f(x)
    prev, nxt = _time_neighbours(x)
    n = x.shape[-3]
    t = _times(times, n)
    if max_gap is not None:
        tt = t.reshape(-1, 1, 1)
        prev = np.where((prev >= 0) & (tt - t[np.maximum(prev, 0)] <= max_gap), prev, -1)
        nxt = np.where((nxt < n) & (t[np.minimum(nxt, n - 1)] - tt <= max_gap), nxt, n)
    if not backfill:
        return prev
    return np.where(prev >= 0, prev, np.where(nxt < n, nxt, -1))


def latest(
    x, *, backfill: bool = True, max_gap: Annotated[int, Field(ge=1)] | None = None, times=None
) -> np.ndarray:
    """Last observation carried forward within unit and indicator; with ``backfill`` the years
    before the first observation take the first observation (COINr leaves them NaN).
    ``max_gap``: carry at most this many years (COINr ``max_time``), counted in ``times`` (the
    year values; default 0, 1, …); farther cells stay NaN."""
    x = _f(x)
    src = latest_source(x, backfill=backfill, max_gap=max_gap, times=times)
    return np.where(src >= 0, np.take_along_axis(x, np.maximum(src, 0), axis=-3), np.nan)


def linear(x, *, times=None) -> np.ndarray:
    """Linear interpolation in time within unit and indicator,
    $x_t = x_p + (x_n - x_p)(t - t_p)/(t_n - t_p)$ between the nearest observed years $p < t < n$;
    before the first / after the last observation the nearest observation is carried (R
    ``approx(rule = 2)``, as COINr). A series with one observation becomes constant; an all-NaN
    series stays NaN. ``times`` gives the year values (default 0, 1, ...) for uneven spacing."""
    x = _f(x)
    prev, nxt = _time_neighbours(x)
    n = x.shape[-3]
    t = _times(times, n)
    has_p, has_n = prev >= 0, nxt < n
    p, q = np.clip(prev, 0, n - 1), np.clip(nxt, 0, n - 1)
    xp, xq = np.take_along_axis(x, p, axis=-3), np.take_along_axis(x, q, axis=-3)
    tt = t.reshape(n, 1, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        inner = xp + (xq - xp) * ((tt - t[p]) / (t[q] - t[p]))
    value = np.where(has_p & has_n, inner, np.where(has_p, xp, xq))
    return _fill(x, value)


IMPUTERS: dict[str, Callable[..., np.ndarray]] = {
    "none": none,
    "mean": mean,
    "median": median,
    "mean_grp": mean_grp,
    "median_grp": median_grp,
    "worst_grp": worst_grp,
    "row_mean": row_mean,
    "knn": knn,
    "iterative": iterative,
    "latest": latest,
    "linear": linear,
}


TEMPORAL = frozenset({"latest", "linear"})
"""The imputers that work along the years axis (they read other years of the panel)."""

SOURCES: dict[str, Callable[..., np.ndarray]] = {"latest": latest_source}
"""Per temporal imputer that takes each value from one year, the function giving that year's
position (same keywords as the imputer); ``linear`` interpolates between two years."""


def impute(x, method: str, **params) -> np.ndarray:
    """Dispatch to ``IMPUTERS[method]``; unknown names or parameters raise InputError."""
    return dispatch(IMPUTERS, "imputation", method, x, params)
