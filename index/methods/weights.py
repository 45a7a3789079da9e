"""Weights of the children of one parent: fixed, expert (AHP) and data-driven (entropy, CRITIC, PCA, balance).

Data-driven weighters take the (normalised) children ``x (..., n_units, n_children)`` and return
``(..., n_children)``, summing to 1 over the last axis (except the raw COINr PCA loadings). Statistics
that need every child at once (correlations, PCA) use the units with data in every child.
Each element's weight in the whole index is ``Framework.effective_weights``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from index.errors import InputError
from index.methods import ConstantIndicatorError, IndicatorError, dispatch
from index.methods.aggregate import _columns, amean

# Saaty's random consistency index RI_n for n = 1..15: the mean CI of random reciprocal matrices
# on the 1/9..9 scale (Saaty 1980, Table 1.3, for n <= 10; n = 11..15 continue the table as it is
# commonly tabulated in the AHP literature).
SAATY_RI = (0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49, 1.51, 1.48, 1.56, 1.57, 1.59)
CR_LIMIT = 0.1  # Saaty's rule: revise the judgements when CR > 0.1


class InconsistentJudgementsError(InputError):
    """An AHP matrix has a consistency ratio above ``CR_LIMIT`` (and it was not allowed)."""


@dataclass(frozen=True)
class AHPResult:
    """Principal-eigenvector AHP weights with Saaty's consistency measures."""

    weights: np.ndarray
    lambda_max: float
    ci: float
    cr: float
    n_experts: int = 1

    @property
    def ri(self) -> float:
        """Saaty's random index for this matrix size."""
        return SAATY_RI[self.weights.size - 1]

    @property
    def consistent(self) -> bool:
        """Saaty's rule $CR \\le 0.1$."""
        return self.cr <= CR_LIMIT


def _data(x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim < 2:
        raise InputError(f"weighting needs x of shape (..., n_units, n_children), got {x.shape}")
    return x


def equal(x) -> np.ndarray:
    """Equal weights $w_j = 1/k$."""
    x = _data(x)
    return np.full(x.shape[:-2] + x.shape[-1:], 1.0 / x.shape[-1])


def fixed(x, *, weights) -> np.ndarray:
    """User (expert) weights, non-negative, rescaled to sum to 1: $w_j / \\sum_k w_k$."""
    x = _data(x)
    w = np.asarray(weights, dtype=float)
    if w.ndim == 0 or w.shape[-1] != x.shape[-1]:
        raise InputError(f"fixed weights need {x.shape[-1]} values, got shape {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise InputError("fixed weights must be finite and non-negative")
    total = w.sum(axis=-1, keepdims=True)
    if (total <= 0).any():
        raise InputError("fixed weights must not all be zero")
    shape = np.broadcast_shapes(x.shape[:-2], w.shape[:-1]) + x.shape[-1:]
    return np.broadcast_to(w / total, shape).copy()


def _reciprocal(a: np.ndarray) -> np.ndarray:
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise InputError(f"AHP needs a square pairwise-comparison matrix, got shape {a.shape}")
    if a.shape[0] > len(SAATY_RI):
        raise InputError(
            f"AHP supports at most {len(SAATY_RI)} elements per group, got {a.shape[0]}"
        )
    if not (np.isfinite(a).all() and (a > 0).all()):
        raise InputError("AHP pairwise comparisons must be positive numbers")
    if not (np.allclose(np.diag(a), 1.0) and np.allclose(a * a.T, 1.0, rtol=0, atol=1e-2)):
        raise InputError(
            "AHP matrix must have a unit diagonal and be reciprocal: a[j, i] = 1 / a[i, j]"
        )
    return a


def ahp_group(pairwise) -> np.ndarray:
    """Group judgement of several experts (Aczél & Saaty 1983): the element-wise geometric mean
    $\\bar a_{ij} = (\\prod_{e=1}^m a^{(e)}_{ij})^{1/m}$ of ``pairwise (m, n, n)``.

    It is the only synthesis that keeps the result reciprocal for any judgements
    ($\\bar a_{ji} = 1/\\bar a_{ij}$) and respects unanimity; consistent experts with priority
    vectors $w^{(e)}$ give the consistent matrix of $\\prod_e (w^{(e)})^{1/m}$. A 2-D matrix is one expert.
    """
    a = np.asarray(pairwise, dtype=float)
    if a.ndim == 2:
        return _reciprocal(a)
    if a.ndim != 3 or a.shape[0] == 0:
        raise InputError(f"group AHP needs matrices of shape (experts, n, n), got shape {a.shape}")
    for e, m in enumerate(a):
        try:
            _reciprocal(m)
        except InputError as exc:
            raise InputError(f"AHP expert {e + 1}: {exc}") from None
    return np.exp(np.log(a).mean(axis=0))


def ahp(pairwise) -> AHPResult:
    """AHP (Saaty 1980): weights = principal right eigenvector of the reciprocal matrix, summing to 1.

    $CI = (\\lambda_{max} - n)/(n - 1)$, $CR = CI/RI_n$ (``SAATY_RI``; $CR = 0$ for $n \\le 2$).
    ``pairwise[i, j]`` = importance of i relative to j, ``pairwise[j, i] = 1/pairwise[i, j]``; a stack
    ``(experts, n, n)`` is first combined by ``ahp_group``. Never raises on CR: ``ahp_weights`` does.
    """
    raw = np.asarray(pairwise, dtype=float)
    a = ahp_group(raw)
    n = a.shape[0]
    values, vectors = np.linalg.eig(a)
    top = int(np.argmax(values.real))
    lam = float(values[top].real)
    v = np.abs(vectors[:, top].real)
    ci = (lam - n) / (n - 1) if n > 1 else 0.0
    cr = ci / SAATY_RI[n - 1] if SAATY_RI[n - 1] > 0 else 0.0
    experts = raw.shape[0] if raw.ndim == 3 else 1
    return AHPResult(weights=v / v.sum(), lambda_max=lam, ci=ci, cr=cr, n_experts=experts)


def ahp_weights(
    x,
    *,
    pairwise: list[list[float]] | list[list[list[float]]],
    allow_inconsistent: bool = False,
) -> np.ndarray:
    """``ahp(pairwise).weights`` broadcast to ``x``'s batch shape (the registry form of AHP).

    ``pairwise`` is one matrix, or several experts' matrices (combined by ``ahp_group``). Raises
    ``InconsistentJudgementsError`` when $CR > 0.1$ unless ``allow_inconsistent``.
    """
    x = _data(x)
    res = ahp(pairwise)
    w = res.weights
    if w.shape[-1] != x.shape[-1]:
        raise InputError(
            f"AHP matrix is {w.size}x{w.size} but the group has {x.shape[-1]} children"
        )
    if not res.consistent and not allow_inconsistent:
        raise InconsistentJudgementsError(
            f"AHP consistency ratio CR = {res.cr:.3f} > {CR_LIMIT} (lambda_max = "
            f"{res.lambda_max:.3f}, RI_{w.size} = {res.ri}): revise the pairwise judgements, "
            "or set allow_inconsistent = true"
        )
    return np.broadcast_to(w, x.shape[:-2] + w.shape).copy()


def ahp_consistency(pairwise: Mapping[str, object]) -> pd.DataFrame:
    """Saaty's consistency measures of every group's AHP matrix (one row per group), for the run
    output: group, n, experts, lambda_max, CI, RI, CR, consistent ($CR \\le 0.1$)."""
    rows = []
    for group, matrix in pairwise.items():
        try:
            r = ahp(matrix)
        except InputError as exc:
            raise InputError(f"AHP matrix of '{group}': {exc}") from None
        rows.append(
            (group, r.weights.size, r.n_experts, r.lambda_max, r.ci, r.ri, r.cr, r.consistent)
        )
    cols = ["group", "n", "experts", "lambda_max", "CI", "RI", "CR", "consistent"]
    return pd.DataFrame(rows, columns=cols)


def entropy(x) -> np.ndarray:
    """Entropy weights (熵权法): $w_j = d_j / \\sum_k d_k$, $d_j = 1 - e_j$.

    $p_{ij} = x_{ij} / \\sum_i x_{ij}$, $e_j = -\\frac{1}{\\ln n_j} \\sum_i p_{ij} \\ln p_{ij}$ with
    $0 \\ln 0 = 0$ and $n_j$ the number of units with data for child j (NaN units are dropped per
    child). Needs non-negative data (e.g. min-max normalised); negative values raise, no shift is applied.
    """
    x = _data(x)
    present = ~np.isnan(x)
    negative = present & (x < 0)
    if negative.any():
        raise IndicatorError(
            _columns(negative),
            "entropy weights need non-negative data (normalise with minmax first)",
        )
    n = present.sum(axis=-2)
    if (n < 2).any():
        raise IndicatorError(_columns(n < 2), "entropy weights need at least 2 units with data")
    x0 = np.where(present, x, 0.0)
    zero = x0.sum(axis=-2) <= 0
    if zero.any():
        raise ConstantIndicatorError(_columns(zero), "all values are zero; entropy undefined")
    from scipy.special import entr  # -p ln p, 0 at p = 0 (scipy.stats would cost 0.5–1 s to load)

    p = x0 / x0.sum(axis=-2, keepdims=True)
    d = np.clip(1.0 - entr(p).sum(axis=-2) / np.log(n), 0.0, None)
    total = d.sum(axis=-1, keepdims=True)
    if (total <= 0).any():
        raise InputError("entropy weights undefined: no child varies across units")
    return d / total


def _complete_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Correlation matrix, sd (ddof = 1) and range of each child over units with data in every child."""
    complete = ~np.isnan(x).any(axis=-1, keepdims=True)
    n = complete.sum(axis=-2)
    if (n < 3).any():
        raise InputError(
            "need at least 3 units with data in every child for correlation-based weights"
        )
    xc = np.where(complete, x, np.nan)
    span = np.fmax.reduce(xc, axis=-2) - np.fmin.reduce(xc, axis=-2)
    if (span == 0).any():
        raise ConstantIndicatorError(_columns(span == 0), "no spread across units")
    dev = np.where(complete, x - np.nansum(xc, axis=-2, keepdims=True) / n[..., None], 0.0)
    cov = np.einsum("...ij,...ik->...jk", dev, dev) / (n[..., None] - 1)
    sd = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))
    return cov / (sd[..., :, None] * sd[..., None, :]), sd, span


def critic(x) -> np.ndarray:
    """CRITIC (Diakoulaki et al. 1995): $C_j = \\sigma_j \\sum_k (1 - r_{jk})$, $w = C/\\sum C$.

    $\\sigma_j$: sample sd (ddof = 1) of child j min-max normalised onto [0, 1] (= sd / range, so the
    result is invariant to affine rescaling); $r_{jk}$: Pearson correlation. Units with data in every
    child only.
    """
    corr, sd, span = _complete_stats(_data(x))
    c = sd / span * (1.0 - corr).sum(axis=-1)
    return c / c.sum(axis=-1, keepdims=True)


def pca_components(x) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending, ``(..., k)``) and eigenvectors (columns, ``(..., k, k)``) of the
    correlation matrix of the units with data in every child = ``prcomp(center, scale)`` (sdev²,
    rotation) up to the sign of each vector."""
    corr, _, _ = _complete_stats(_data(x))
    values, vectors = np.linalg.eigh(corr)
    return values[..., ::-1], vectors[..., :, ::-1]


def pca_loadings(x) -> tuple[np.ndarray, np.ndarray]:
    """Raw PC1 loadings ``(..., k)`` and PC1 share of variance ``(...)`` (COINr ``get_PCA``).

    Sign convention (LAPACK's is arbitrary): loadings sum to a positive number; if the sum is 0,
    the first of the largest-magnitude loadings is positive. "0" and "largest" are judged within
    1e-9, so that rounding noise (e.g. from reordering units) cannot flip the sign.
    """
    values, vectors = pca_components(x)
    v = vectors[..., :, 0]
    total = v.sum(axis=-1)
    sign = np.where(np.abs(total) < 1e-9, 0.0, np.sign(total))
    mag = np.abs(v)
    first_max = np.argmax(mag >= mag.max(axis=-1, keepdims=True) - 1e-9, axis=-1)
    biggest = np.take_along_axis(v, first_max[..., None], axis=-1)[..., 0]
    sign = np.where(sign == 0, np.sign(biggest), sign)
    return v * sign[..., None], values[..., 0] / values.shape[-1]


def varimax(loadings, *, tol: float = 1e-13, max_iter: int = 10_000) -> np.ndarray:
    """Varimax rotation with Kaiser row normalisation (Kaiser 1958; R ``stats::varimax`` algorithm).

    Rows are scaled to unit length, the orthogonal rotation $T$ maximising the variance of squared
    loadings is found by the SVD iteration $T = UV^\\top$ of $A^\\top(Z^3 - Z\\,\\mathrm{diag}(\\bar{Z^2}))$,
    $Z = AT$, until $T$ changes by less than ``tol``, and the rows are scaled back. (R stops when
    the criterion gains less than ``eps``; the criterion is flat at the optimum, so that stops
    earlier, with the rotation correct to only about the square root of ``eps``.)
    """
    a = np.asarray(loadings, dtype=float)
    p, m = a.shape
    if m < 2:
        return a.copy()
    h = np.sqrt((a**2).sum(axis=1, keepdims=True))
    h = np.where(h > 0, h, 1.0)
    a = a / h
    rot = np.eye(m)
    for _ in range(max_iter):
        z = a @ rot
        u, _, vt = np.linalg.svd(a.T @ (z**3 - z * (z**2).sum(axis=0) / p))
        rot, previous = u @ vt, rot
        if np.abs(rot - previous).max() < tol:
            break
    return a @ rot * h


def _oecd(values: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """OECD/JRC Handbook (2008) factor weights for one data set (steps in the methodology)."""
    k = values.size
    share = values / k
    n_keep = max(1, int(np.sum((values > 1) & (share > 0.10))))
    n_keep = max(n_keep, int(np.argmax(np.cumsum(share) >= 0.6)) + 1)
    sq = varimax(vectors[:, :n_keep] * np.sqrt(np.clip(values[:n_keep], 0, None))) ** 2
    # factor share EV_f / sum(EV) times scaled squared loading sq_jf / EV_f = sq_jf / sum(EV)
    w = sq[np.arange(k), np.argmax(sq, axis=1)] / sq.sum()
    return w / w.sum()


def pca(x, *, variant: Literal["coinr", "oecd"] = "coinr") -> np.ndarray:
    """PCA weights. ``"coinr"``: raw PC1 loadings (``pca_loadings``; not normalised, may be negative
    — aggregators divide by their sum). ``"oecd"``: rotated-factor weights of the OECD/JRC Handbook,
    summing to 1 (computed per leading index: the number of factors can differ between replicates)."""
    x = _data(x)
    if variant == "coinr":
        return pca_loadings(x)[0]
    if variant != "oecd":
        raise InputError(f"pca variant must be 'coinr' or 'oecd', got {variant!r}")
    values, vectors = pca_components(x)
    out = np.empty(values.shape)
    for idx in np.ndindex(values.shape[:-1]):
        out[idx] = _oecd(values[idx], vectors[idx])
    return out


def _corr_with(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation of each column of ``a (n, k)`` with ``y (n,)``, pairwise-complete."""
    m = ~np.isnan(a) & ~np.isnan(y)[:, None]
    cnt = m.sum(axis=0)
    da = np.where(m, a - np.where(m, a, 0).sum(axis=0) / cnt, 0.0)
    yy = np.where(m, y[:, None], 0.0)
    dy = np.where(m, y[:, None] - yy.sum(axis=0) / cnt, 0.0)
    return (da * dy).sum(axis=0) / np.sqrt((da**2).sum(axis=0) * (dy**2).sum(axis=0))


def simplex_optimum(
    objective: Callable[[np.ndarray], float], start: np.ndarray, blocks: Sequence[np.ndarray]
) -> np.ndarray:
    """Minimise ``objective(w)`` over $w \\ge 0$ with the weights of each block (index arrays that
    partition ``w``) summing to 1: SciPy SLSQP from ``start``, ``ftol`` $10^{-15}$."""
    constraints = [{"type": "eq", "fun": lambda w, b=b: w[b].sum() - 1.0} for b in blocks]
    from scipy.optimize import minimize

    res = minimize(
        objective,
        start,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * start.size,
        constraints=constraints,
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    if not res.success:
        warnings.warn(f"weight optimisation did not converge ({res.message})", stacklevel=3)
    w = np.clip(res.x, 0.0, None)
    for b in blocks:
        w[b] = w[b] / w[b].sum()
    return w


def balance_objective(c: np.ndarray, target: np.ndarray) -> float:
    """$\\sum_j (c_j/\\sum_k c_k - t_j)^2$: how far the correlations are from the target shares."""
    return float(np.sum((c / c.sum() - target) ** 2))


def infomax_objective(c: np.ndarray) -> float:
    """$-\\sum_j c_j$: minus the total correlation of the children with their aggregate."""
    return -float(np.sum(c))


def _group_optimum(x: np.ndarray, objective: Callable[[np.ndarray], float], start: np.ndarray):
    whole = [np.arange(start.size)]
    return simplex_optimum(lambda w: objective(_corr_with(x, amean(x, w))), start, whole)


def balance(x, *, targets: list[float] | None = None) -> np.ndarray:
    """COINr ``get_opt_weights(optype = "balance")``: weights on the simplex minimising
    $\\sum_j (c_j/\\sum_k c_k - t_j)^2$, $c_j$ = Pearson correlation of child j with the parent
    ``amean(x, w)``, $t$ = normalised target importances (default equal). SLSQP from $w = t$."""
    x = _data(x)
    k = x.shape[-1]
    t = np.ones(k) if targets is None else np.asarray(targets, dtype=float)
    if t.shape != (k,) or not np.isfinite(t).all() or (t < 0).any() or t.sum() <= 0:
        raise InputError(f"balance targets need {k} non-negative numbers, not all zero")
    t = t / t.sum()
    out = np.empty(x.shape[:-2] + (k,))
    for idx in np.ndindex(x.shape[:-2]):
        out[idx] = _group_optimum(x[idx], lambda c: balance_objective(c, t), t)
    return out


def infomax(x) -> np.ndarray:
    """COINr ``get_opt_weights(optype = "infomax")`` within one group: weights on the simplex
    maximising $\\sum_j c_j$, $c_j$ = Pearson correlation (pairwise-complete) of child j with the
    parent ``amean(x, w)``: the aggregate that carries most of its children's information.
    SLSQP from equal weights (COINr's Nelder-Mead stops after its first simplex at its default
    tolerance, oracle README)."""
    x = _data(x)
    k = x.shape[-1]
    out = np.empty(x.shape[:-2] + (k,))
    for idx in np.ndindex(x.shape[:-2]):
        out[idx] = _group_optimum(x[idx], infomax_objective, np.full(k, 1.0 / k))
    return out


WEIGHTERS: dict[str, Callable[..., np.ndarray]] = {
    "equal": equal,
    "fixed": fixed,
    "ahp": ahp_weights,
    "entropy": entropy,
    "critic": critic,
    "pca": pca,
    "balance": balance,
    "infomax": infomax,
}


def compute_weights(x, method: str, **params) -> np.ndarray:
    """Weights of the children in ``x`` by the registered ``method`` (``WEIGHTERS``)."""
    return dispatch(WEIGHTERS, "weighting", method, x, params)


import index.methods.optimise  # noqa: E402, F401  (registers the joint level optimisation)
