"""Normalisation of indicators onto comparable scales, column by column (COINr ``n_*`` semantics).

Arrays are ``(..., n_units, n_ind)``; statistics are taken along axis -2 ignoring NaN, and NaN
stays NaN. Directions are applied by the caller (``x * direction``) before every method except
``goalposts``, ``dist2targ`` and ``target``, which take the original ``x`` and ``directions``
explicitly (COINr's ``Normalise`` applies directions the same way: its ``f_n`` gets ``d·x``).

``fit_on`` (where accepted) is an array with the same last axis from which the statistics (min,
max, mean, sd) are computed instead of ``x``; its leading axes broadcast against ``x``. Pass all
years stacked, ``x.reshape(1, -1, n_ind)``, or one reference year, ``x[[k]]``, for
panel-comparable scores.

A statistic that would be divided by zero (max == min, sd == 0, a single observation, ...)
raises :class:`~index.methods.ConstantIndicatorError` naming the column positions; all-NaN
columns are left NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from index.errors import InputError
from index.methods import ConstantIndicatorError, dispatch
from index.methods.params import constraint


def _source(x: np.ndarray, fit_on: np.ndarray | None) -> np.ndarray:
    src = x if fit_on is None else np.asarray(fit_on, dtype=float)
    if src.ndim < 2 or src.shape[-1] != x.shape[-1]:
        raise InputError(f"fit_on must have shape (..., n, {x.shape[-1]}), got {src.shape}")
    return src


def _min(a: np.ndarray) -> np.ndarray:
    return np.fmin.reduce(a, axis=-2, keepdims=True)  # fmin ignores NaN, all-NaN -> NaN


def _max(a: np.ndarray) -> np.ndarray:
    return np.fmax.reduce(a, axis=-2, keepdims=True)


def _count(a: np.ndarray) -> np.ndarray:
    return np.sum(~np.isnan(a), axis=-2, keepdims=True)


def _mean_sd(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample sd (ddof = 1) along axis -2, ignoring NaN, without empty-slice warnings."""
    present = ~np.isnan(a)
    n = np.sum(present, axis=-2, keepdims=True)
    total = np.sum if present.all() else np.nansum  # complete: the same sums, no NaN replaced
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total(a, axis=-2, keepdims=True) / n
        var = total((a - mean) ** 2, axis=-2, keepdims=True) / (n - 1)
    return mean, np.sqrt(np.where(n > 1, var, np.nan))


def _spread(denominator: np.ndarray, present: np.ndarray, what: str) -> np.ndarray:
    """Raise when a column with data has a zero or undefined divisor; otherwise return it."""
    bad = present & ~(np.isfinite(denominator) & (denominator != 0))
    if bad.any():
        cols = np.nonzero(bad.reshape(-1, bad.shape[-1]).any(axis=0))[0]
        lead = np.nonzero(bad.reshape(bad.shape[0], -1).any(axis=1))[0] if bad.ndim > 2 else ()
        raise ConstantIndicatorError(
            cols, f"{what} is zero or undefined; cannot normalise", leading=lead
        )
    return denominator


def _f(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=float)


@constraint("l < u (l = u ties every unit, l > u reverses the ranking)", lambda p: p["l"] < p["u"])
def minmax(x, *, l: float = 0.0, u: float = 100.0, fit_on=None) -> np.ndarray:  # noqa: E741
    """Min-max onto [l, u]: $(x - \\min)/(\\max - \\min)\\,(u - l) + l$."""
    x = _f(x)
    src = _source(x, fit_on)
    lo, hi = _min(src), _max(src)
    rng = _spread(hi - lo, _count(src) > 0, "max - min")
    return (x - lo) / rng * (u - l) + l


def zscore(x, *, m: float = 0.0, s: Annotated[float, Field(gt=0)] = 1.0, fit_on=None) -> np.ndarray:
    """Z-score with mean m and sd s: $(x - \\bar x)/\\mathrm{sd}(x)\\,s + m$, sd with ddof = 1."""
    x = _f(x)
    src = _source(x, fit_on)
    mean, sd = _mean_sd(src)
    sd = _spread(sd, _count(src) > 0, "standard deviation")
    return (x - mean) / sd * s + m


def rank(x) -> np.ndarray:
    """Rank, smallest = 1, ties take the lowest rank (R ``ties.method = "min"``), NaN kept."""
    from scipy.stats import rankdata  # scipy.stats costs ~1 s to import: only when ranking

    return rankdata(_f(x), method="min", axis=-2, nan_policy="omit")


def borda(x) -> np.ndarray:
    """Borda score $\\mathrm{rank}(x) - 1$ (ties "min", NaN kept)."""
    return rank(x) - 1.0


def prank(x) -> np.ndarray:
    """Percentile rank $(\\mathrm{rank}(x) - 1)/(n_{\\text{non-NaN}} - 1)$ (ties "min")."""
    x = _f(x)
    n = _count(x)
    return borda(x) / _spread(n - 1.0, n > 0, "number of observations - 1")


def dist2max(x, *, fit_on=None) -> np.ndarray:
    """Distance to the maximum: $1 - (\\max - x)/(\\max - \\min)$."""
    x = _f(x)
    src = _source(x, fit_on)
    lo, hi = _min(src), _max(src)
    return 1.0 - (hi - x) / _spread(hi - lo, _count(src) > 0, "max - min")


def fracmax(x, *, fit_on=None) -> np.ndarray:
    """Fraction of the maximum: $x/\\max$."""
    x = _f(x)
    src = _source(x, fit_on)
    return x / _spread(_max(src), _count(src) > 0, "max")


def dist2ref(x, *, ref: int | str) -> np.ndarray:
    """Distance to a reference unit (row ``ref``): $1 - (x_{ref} - x)/(x_{ref} - \\min)$."""
    x = _f(x)
    if not -x.shape[-2] <= int(ref) < x.shape[-2]:
        raise InputError(f"dist2ref: reference unit index {ref} out of range 0..{x.shape[-2] - 1}")
    xref = x[..., [int(ref)], :]
    return 1.0 - (xref - x) / _spread(xref - _min(x), _count(x) > 0, "x_ref - min")


def _directions(directions, n_ind: int) -> np.ndarray:
    d = np.broadcast_to(_f(directions), (n_ind,))
    if not np.isin(d, (-1.0, 1.0)).all():
        raise InputError("directions must be +1 or -1")
    return d


def dist2targ(x, *, targets, directions, fit_on=None, cap: bool = False) -> np.ndarray:
    """Distance to target (COINr): with $d$ the direction, $(dx - \\min dx)/(d\\,t - \\min dx)$.

    ``x`` is on its original scale; it and the targets are multiplied by the direction here.
    No cap by default (values beyond the target exceed 1); ``cap=True`` clips at 1.
    """
    x = _f(x)
    d = _directions(directions, x.shape[-1])
    t = np.broadcast_to(_f(targets), (x.shape[-1],)) * d
    if np.isnan(t).any():
        raise InputError(f"dist2targ: missing target for column(s) {np.nonzero(np.isnan(t))[0]}")
    src = _source(x, fit_on)
    lo = _min(src * d)
    y = (x * d - lo) / _spread(t - lo, _count(src) > 0, "target - min")
    return np.minimum(y, 1.0) if cap else y


def goalposts(
    x, *, lower, upper, directions, scale: Annotated[float, Field(gt=0)] = 100.0, trunc: bool = True
):
    """Goalposts: $(x - l)/(u - l)$ for direction +1, $(x - u)/(l - u)$ for -1, clipped to [0, 1]
    when ``trunc``, times ``scale``. ``x``, ``lower`` and ``upper`` are on the original scale."""
    x = _f(x)
    n = x.shape[-1]
    d = _directions(directions, n)
    lo, hi = np.broadcast_to(_f(lower), (n,)), np.broadcast_to(_f(upper), (n,))
    bad = ~(np.isfinite(lo) & np.isfinite(hi) & (lo != hi))
    if bad.any():
        raise InputError(f"goalposts: missing or equal posts for column(s) {np.nonzero(bad)[0]}")
    y = np.where(d > 0, (x - lo) / (hi - lo), (x - hi) / (lo - hi))
    return (np.clip(y, 0.0, 1.0) if trunc else y) * scale


@constraint("u != l (u = l divides by zero)", lambda p: p["u"] != p["l"])
def scaled(
    x,
    *,
    l: float = 0.0,  # noqa: E741
    u: float = 100.0,
    scale_factor: Annotated[float, Field(gt=0)] = 100.0,
    scaled_bounds=None,
) -> np.ndarray:
    """Scaled (COINr n_scaled, GII 2020): $(x - l)/(u - l)\\,f$, f the scale_factor, on d·x.

    A fixed linear map, not min-max: $l$ and $u$ are given, not the data's minimum and maximum,
    so values outside $[l, u]$ fall outside $[0, f]$. ``x`` is the directed value $d\\,x$ (the
    caller multiplies by the direction, as COINr's ``Normalise`` does before ``n_scaled``), so for
    a direction −1 indicator $l, u$ are on the negated scale. ``scaled_bounds`` (one $(l, u)$ row
    per column, NaN where the framework gives none; from iMeta's ``scaled_lower`` /
    ``scaled_upper``) override ``l`` and ``u`` column by column.
    """
    x = _f(x)
    n = x.shape[-1]
    given = np.full((n, 2), np.nan) if scaled_bounds is None else _f(scaled_bounds)
    given = np.broadcast_to(given, (n, 2))
    if (half := np.isnan(given).sum(axis=1) == 1).any():
        raise InputError(f"scaled: give both bounds or neither, column(s) {np.nonzero(half)[0]}")
    lo = np.where(np.isnan(given[:, 0]), l, given[:, 0])
    hi = np.where(np.isnan(given[:, 1]), u, given[:, 1])
    if (bad := ~(np.isfinite(lo) & np.isfinite(hi) & (lo != hi))).any():
        raise InputError(f"scaled: infinite or equal bounds for column(s) {np.nonzero(bad)[0]}")
    return (x - lo) / (hi - lo) * scale_factor


def target(
    x,
    *,
    targets=None,
    directions,
    basis: Literal["framework", "leader"] = "framework",
    growth: Annotated[float, Field(gt=0)] = 1.0,
    cap: bool = False,
    scale: Annotated[float, Field(gt=0)] = 100.0,
    fit_on=None,
) -> np.ndarray:
    r"""Target ratio (CAICT's 中国算力发展指数 method): $y = s\,x/t$ — the share of a fixed target
    value, so the best unit scores below $s$ when the target is ambitious; with ``cap`` values
    beyond the target score $s$.

    ``basis = "framework"``: $t$ = each indicator's ``target`` in the framework file.
    ``basis = "leader"``: $t = g \max_u x_u$, the leader times the growth factor $g$
    (``growth``), taken in the year that ``normalise.panel`` names (``fit_on``), or in each year
    when fitted per year. Only for indicators where more is better (direction +1) and $x \ge 0$:
    a ratio has no meaning otherwise.
    """
    x = _f(x)
    d = _directions(directions, x.shape[-1])
    if (d < 0).any():
        raise InputError(
            f"target: direction −1 in column(s) {np.nonzero(d < 0)[0].tolist()}: a target ratio "
            "needs more-is-better indicators (use goalposts for the others)"
        )
    if basis == "leader":
        t = growth * _spread(_max(_source(x, fit_on)), _count(_source(x, fit_on)) > 0, "leader")
    else:
        given = np.full(x.shape[-1], np.nan) if targets is None else _f(targets)
        t = np.broadcast_to(given, (x.shape[-1],))
        if np.isnan(t).any():
            cols = np.nonzero(np.isnan(t))[0].tolist()
            raise InputError(f"target: no target in the framework for column(s) {cols}")
        t = _spread(t, np.ones_like(t, dtype=bool), "target")
    if (np.nan_to_num(x) < 0).any():
        raise InputError("target: negative values have no share of a target")
    y = x / t * scale
    return np.minimum(y, scale) if cap else y


NORMALISERS: dict[str, Callable[..., np.ndarray]] = {
    "minmax": minmax,
    "zscore": zscore,
    "rank": rank,
    "prank": prank,
    "borda": borda,
    "dist2max": dist2max,
    "dist2ref": dist2ref,
    "dist2targ": dist2targ,
    "fracmax": fracmax,
    "goalposts": goalposts,
    "scaled": scaled,
    "target": target,
}


def normalise(x, method: str, **params) -> np.ndarray:
    """Dispatch to ``NORMALISERS[method]``; unknown names or parameters raise InputError."""
    return dispatch(NORMALISERS, "normalisation", method, x, params)
