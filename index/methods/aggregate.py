"""Aggregation of the children of one parent into the parent's score (COINr ``a_*`` semantics).

Every function maps ``x`` of shape ``(..., n_units, n_children)`` and weights ``w`` broadcastable to
``(..., n_children)`` onto parent scores ``(..., n_units)``. Leading axes broadcast, so a batch of
weight sets ``w (B, k)`` against one data set ``x (n, k)`` gives ``(B, n)`` in one matrix product
(the uncertainty-analysis hot path).

Missing children (NaN) are skipped and the weights re-normalised over the children present, as
COINr's ``a_amean`` does; a unit with no child present gets NaN. ``aggregate(..., dat_thresh=t)``
additionally makes the parent NaN when the share of children present is below ``t`` (a share equal
to ``t`` is kept). Copeland follows COINr instead: weights normalised over all children.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

from index.errors import InputError
from index.methods import ConstantIndicatorError, IndicatorError, dispatch

POLARITIES = {"positive": -1.0, "negative": 1.0}  # Mazziotta-Pareto: sign of the penalty term


def _data(x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim < 2:
        raise InputError(f"aggregation needs x of shape (..., n_units, n_children), got {x.shape}")
    return x


def _weights(w, x: np.ndarray, *, nonnegative: bool = False) -> np.ndarray:
    w = np.asarray(w, dtype=float)
    if w.ndim == 0 or w.shape[-1] != x.shape[-1]:
        raise InputError(f"weights need a last axis of length {x.shape[-1]}, got shape {w.shape}")
    if not np.isfinite(w).all():
        raise InputError("weights must be finite numbers")
    if nonnegative and (w < 0).any():
        raise InputError("this aggregation method needs non-negative weights")
    return w


def _wsum(values: np.ndarray, w: np.ndarray) -> np.ndarray:
    """$\\sum_j w_j v_{ij}$ over the last axis: ``(..., n, k), (..., k) -> (..., n)`` as one matmul."""
    if values.ndim == 2:
        return w @ values.T
    return np.matmul(values, w[..., None])[..., 0]


def _weighted_mean(values: np.ndarray, w: np.ndarray, present: np.ndarray) -> np.ndarray:
    """$\\sum_j w_j v_{ij} / \\sum_{j\\,\\mathrm{present}} w_j$ with absent children skipped; none present -> NaN."""
    if present.all():
        den = w.sum(axis=-1)[..., None]
        num = _wsum(values, w)
    else:
        den = _wsum(present.astype(float), w)
        num = _wsum(np.where(present, values, 0.0), w)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    if (den == 0).any():  # no weight on the children present (or none present)
        out = np.where(den != 0, out, np.nan)
    return out


def _columns(mask: np.ndarray) -> np.ndarray:
    """Positions along the last axis where ``mask`` is true for any leading index."""
    return np.nonzero(mask.reshape(-1, mask.shape[-1]).any(axis=0))[0]


def _require_positive(x: np.ndarray, present: np.ndarray, strict: bool, method: str) -> None:
    bad = present & ((x <= 0) if strict else (x < 0))
    if bad.any():
        what = "zero or negative" if strict else "negative"
        raise IndicatorError(
            _columns(bad),
            f"{what} values cannot be aggregated with {method}; normalise onto a positive range",
        )


def amean(x, w) -> np.ndarray:
    """Weighted arithmetic mean $\\sum_j w_j x_{ij} / \\sum_j w_j$ over present children."""
    x = _data(x)
    present = ~np.isnan(x)
    return _weighted_mean(x, _weights(w, x), present)


def gmean(x, w) -> np.ndarray:
    """Weighted geometric mean $\\exp(\\sum_j w_j \\ln x_{ij} / \\sum_j w_j)$; values <= 0 raise."""
    x = _data(x)
    present = ~np.isnan(x)
    _require_positive(x, present, True, "the geometric mean")
    with np.errstate(invalid="ignore", divide="ignore"):
        logs = np.log(x)
    return np.exp(_weighted_mean(logs, _weights(w, x), present))


def hmean(x, w) -> np.ndarray:
    """Weighted harmonic mean $\\sum_j w_j / \\sum_j (w_j / x_{ij})$; values <= 0 raise."""
    x = _data(x)
    present = ~np.isnan(x)
    _require_positive(x, present, True, "the harmonic mean")
    return 1.0 / _weighted_mean(1.0 / x, _weights(w, x), present)


def genmean(x, w, *, p: float) -> np.ndarray:
    """Weighted generalised (power) mean $(\\sum_j w_j x_{ij}^p / \\sum_j w_j)^{1/p}$; $p = 0$ is gmean.

    NaN children are skipped with weights re-normalised, like ``amean``. (COINr's ``a_genmean``
    returns NA for the parent as soon as one child is NA, contrary to its own documentation.)
    Needs $x > 0$ for $p \\le 0$ and $x \\ge 0$ for $p > 0$.
    """
    p = float(p)
    if not np.isfinite(p):
        raise InputError(f"genmean: p must be finite, got {p}")
    if p == 0:
        return gmean(x, w)
    x = _data(x)
    present = ~np.isnan(x)
    _require_positive(x, present, p < 0, f"the generalised mean with p = {p:g}")
    return _weighted_mean(x**p, _weights(w, x), present) ** (1.0 / p)


def copeland(x, w) -> np.ndarray:
    """Copeland score: $\\sum_{q \\ne p} \\mathrm{sign}(o_{pq} - 1/2)$ (COINr ``a_copeland``).

    $o_{pq} = \\sum_j w_j [x_{pj} > x_{qj}] + \\tfrac12 \\sum_j w_j [x_{pj} = x_{qj}]$ with weights
    normalised over all children; comparisons with NaN count 0. As in COINr only $p < q$ is
    computed and $o_{qp} = 1 - o_{pq}$, so pair scores are antisymmetric; $|o_{pq} - 1/2| \\le 10^{-12}$
    counts as a tie, so that rounding in the weight sums cannot depend on the order of the units.
    Units with no child present take no part in any comparison and score NaN.
    """
    x = _data(x)
    w = _weights(w, x)
    wn = w / w.sum(axis=-1, keepdims=True)
    wins = ties = np.zeros(())  # accumulated child by child: memory (..., n, n), not (..., n, n, k)
    for j in range(x.shape[-1]):
        xp, xq, wj = x[..., :, None, j], x[..., None, :, j], wn[..., j, None, None]
        wins = wins + wj * (xp > xq)
        ties = ties + wj * (xp == xq)
    margin = wins + ties / 2 - 0.5
    margin[np.abs(margin) <= 1e-12] = 0.0  # a tie up to rounding: unit order must not break it
    upper = np.triu(np.sign(margin), k=1)
    pair = upper - np.swapaxes(upper, -1, -2)
    has_data = ~np.isnan(x).all(axis=-1)
    pair = pair * (has_data[..., :, None] & has_data[..., None, :])
    return np.where(has_data, pair.sum(axis=-1), np.nan)


def _mazziotta_pareto(
    z: np.ndarray, w: np.ndarray, present: np.ndarray, polarity: str
) -> np.ndarray:
    """$M_i \\pm S_i\\,cv_i$ with $M_i$, $S_i$ the weighted mean and population sd of $z_{i\\cdot}$, $cv_i = S_i/M_i$."""
    if polarity not in POLARITIES:
        raise InputError(f"polarity must be one of {sorted(POLARITIES)}, got {polarity!r}")
    m = _weighted_mean(z, w, present)
    s = np.sqrt(_weighted_mean((z - m[..., None]) ** 2, w, present))
    return m + POLARITIES[polarity] * s * (s / m)


def mpi(x, w, *, polarity: Literal["positive", "negative"] = "positive") -> np.ndarray:
    """Mazziotta-Pareto Index: $MPI^{\\mp}_i = M_{z_i} \\mp S_{z_i}\\,cv_{z_i}$ on $z_{ij} = 100 + 10\\,(x_{ij} - \\mu_j)/\\sigma_j$.

    $\\mu_j$, $\\sigma_j$: mean and population sd (ddof = 0) of child j over units present; a child
    without spread gets $z = 100$. ``polarity="positive"`` (higher = better, the case after
    directions are applied) subtracts the penalty ($MPI^-$); ``"negative"`` adds it ($MPI^+$).
    """
    x = _data(x)
    w = _weights(w, x, nonnegative=True)
    present = ~np.isnan(x)
    n = present.sum(axis=-2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.nansum(x, axis=-2, keepdims=True) / n
        sd = np.sqrt(np.nansum((x - mu) ** 2, axis=-2, keepdims=True) / n)
        z = 100.0 + 10.0 * np.where(sd > 0, (x - mu) / sd, 0.0)
    return _mazziotta_pareto(z, w, present, polarity)


def ampi(
    x,
    w,
    *,
    lower: float | list[float] | None = None,
    upper: float | list[float] | None = None,
    polarity: Literal["positive", "negative"] = "positive",
) -> np.ndarray:
    """Adjusted MPI: $AMPI^{\\mp}_i = M_{r_i} \\mp S_{r_i}\\,cv_{r_i}$ on $r_{ij} = 70 + 60\\,(x_{ij} - L_j)/(U_j - L_j)$.

    Goalposts $L_j$, $U_j$ (shape ``(..., n_children)``) default to the minimum and maximum of child
    j over units; values outside them are not truncated. Mazziotta & Pareto's choice
    $L, U = \\mathrm{Ref} \\mp (\\max - \\min)/2$ makes the reference value map to 100.
    """
    x = _data(x)
    w = _weights(w, x, nonnegative=True)
    present = ~np.isnan(x)
    lo = np.fmin.reduce(x, axis=-2) if lower is None else np.asarray(lower, dtype=float)
    hi = np.fmax.reduce(x, axis=-2) if upper is None else np.asarray(upper, dtype=float)
    span = hi - lo
    bad = present.any(axis=-2) & ~(span > 0)
    if bad.any():
        raise ConstantIndicatorError(_columns(bad), "ampi needs upper goalpost > lower goalpost")
    r = 70.0 + 60.0 * (x - lo[..., None, :]) / span[..., None, :]
    return _mazziotta_pareto(r, w, present, polarity)


def topsis(x, w) -> np.ndarray:
    """TOPSIS closeness $C_i = D_i^- / (D_i^+ + D_i^-)$ (Hwang & Yoon 1981), all children benefit-type.

    $r_{ij} = x_{ij} / \\sqrt{\\sum_i x_{ij}^2}$; ideal $r_j^+ = \\max_i r_{ij}$, anti-ideal
    $r_j^- = \\min_i r_{ij}$; $D_i^\\pm = \\sqrt{\\sum_j (w_{ij}(r_{ij} - r_j^\\pm))^2}$ with the weights
    normalised over the children present for unit i. $D^+ + D^- = 0$ (no spread) gives NaN.
    """
    x = _data(x)
    w = _weights(w, x, nonnegative=True)
    present = ~np.isnan(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = x / np.sqrt(np.nansum(x**2, axis=-2, keepdims=True))
        best = np.fmax.reduce(r, axis=-2, keepdims=True)
        worst = np.fmin.reduce(r, axis=-2, keepdims=True)
        wsum = _wsum(present.astype(float), w)
        d_best = np.sqrt(_wsum(np.where(present, (r - best) ** 2, 0.0), w**2)) / wsum
        d_worst = np.sqrt(_wsum(np.where(present, (r - worst) ** 2, 0.0), w**2)) / wsum
        c = d_worst / (d_best + d_worst)
    return np.where(np.broadcast_to(present.any(axis=-1), c.shape), c, np.nan)


AGGREGATORS: dict[str, Callable[..., np.ndarray]] = {
    "amean": amean,
    "gmean": gmean,
    "hmean": hmean,
    "genmean": genmean,
    "copeland": copeland,
    "mpi": mpi,
    "ampi": ampi,
    "topsis": topsis,
}

# Compind's aggregators (bod, mean_min, owa) live in their own module, which registers them here.
import index.methods.compind  # noqa: E402, F401


def aggregate(x, w, method: str, *, dat_thresh: float | None = None, **params) -> np.ndarray:
    """Aggregate ``x (..., n_units, n_children)`` with weights ``w`` by the registered ``method``.

    ``dat_thresh``: units whose share of children present, $n_\\mathrm{present}/n_\\mathrm{children}$,
    is below it get NaN (their children are blanked before aggregating, so they also drop out of
    cross-unit statistics of ``copeland``, ``mpi``, ``ampi`` and ``topsis``).
    """
    x = _data(x)
    if dat_thresh is not None:
        if not 0.0 <= float(dat_thresh) <= 1.0:
            raise InputError(f"dat_thresh must lie in [0, 1], got {dat_thresh}")
        share = (~np.isnan(x)).sum(axis=-1) / x.shape[-1]
        x = np.where((share < dat_thresh)[..., None], np.nan, x)
    return dispatch(AGGREGATORS, "aggregation", method, x, {"w": w, **params})
