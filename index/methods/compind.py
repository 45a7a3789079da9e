"""Compind's aggregators (Fusco, Vidoli & Sahoo 2018): benefit of the doubt, mean-min, OWA.

Registered in ``AGGREGATORS`` with the aggregator signature ``f(x, w, **params)`` over
``x (..., n_units, n_children)``. None of them uses importance weights for the children: benefit
of the doubt chooses each unit's own weights and OWA weighs by position, so a group aggregated
by them must have equal child weights (anything else raises: the weights the run reports must
not be contradicted by the scores). Mean-min takes the weighted mean of the children. ``bod_weights`` returns the
per-unit weights benefit of the doubt chose, for reporting.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from index.errors import InputError
from index.methods import IndicatorError
from index.methods.aggregate import AGGREGATORS, _columns, _data, _weighted_mean, _weights

NO_CHILD_WEIGHTS = "does not use child weights"
"""What the refusal of unequal child weights says (a publication recognises it by this)."""


def _equal_child_weights(w, x: np.ndarray, method: str, by: str) -> tuple[int, ...]:
    """Raise unless the child weights are equal; return the batch shape of ``x`` and ``w``."""
    w = _weights(w, x)
    if not np.allclose(w, w[..., :1], rtol=1e-12, atol=0.0):
        raise InputError(
            f"{method} {NO_CHILD_WEIGHTS} (it weighs by {by}); "
            "give the children of this group equal weights"
        )
    return np.broadcast_shapes(x.shape[:-2], w.shape[:-1])


def _batched(out: np.ndarray, lead: tuple[int, ...]) -> np.ndarray:
    """Scores ``(..., n)`` repeated over the batch axes a batch of weight sets adds."""
    return np.broadcast_to(out, (*lead, out.shape[-1])).copy()


def _complete(x: np.ndarray, method: str) -> None:
    missing = np.isnan(x)
    if missing.any():
        raise IndicatorError(_columns(missing), f"{method} needs complete data: impute first")


def bod_weights(x, *, min_share: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0):
    """Benefit-of-the-doubt scores and each unit's own weights (Cherchye et al. 2007).

    For every unit $c$ the linear programme (Compind ``ci_bod``: DEA with one unit input,
    constant returns to scale)
    $$\\max_{w \\ge 0} \\sum_j w_j y_{cj} \\quad \\text{s.t.} \\quad \\sum_j w_j y_{ij} \\le 1 \\;\\forall i,$$
    optionally with the pie-share restriction $w_j y_{cj} \\ge s \\sum_k w_k y_{ck}$ for every $j$
    (``min_share`` $= s$, Cherchye et al. 2007 §4), solved by HiGHS. The score lies in $[0, 1]$;
    1 means no other unit does better under the weights most favourable to $c$. ``x`` must be
    complete and non-negative (normalised data). Returns ``(scores (..., n), weights (..., n, k))``;
    the weights of a unit are one optimal solution (the LP may have several).
    """
    y = _data(x)
    _complete(y, "bod")
    negative = y < 0
    if negative.any():
        raise IndicatorError(_columns(negative), "bod needs non-negative data (normalise first)")
    k = y.shape[-1]
    s = float(min_share)
    if not 0.0 <= s < 1.0 or s * k > 1.0:
        raise InputError(f"bod min_share must lie in [0, 1/{k}] for {k} children, got {s}")
    from scipy.optimize import linprog  # scipy.optimize loads only when BoD is used

    scores = np.empty(y.shape[:-1])
    weights = np.empty(y.shape)
    for idx in np.ndindex(y.shape[:-2]):
        data = y[idx]
        for c, yc in enumerate(data):
            a_ub = data
            b_ub = np.ones(len(data))
            if s > 0:  # s * (y_c . w) - w_j y_cj <= 0 for every j
                a_ub = np.vstack([data, s * np.tile(yc, (k, 1)) - np.diag(yc)])
                b_ub = np.concatenate([b_ub, np.zeros(k)])
            res = linprog(-yc, A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
            if res.status != 0:
                raise InputError(f"bod: the linear programme of unit {c} failed ({res.message})")
            weights[idx + (c,)] = res.x
            scores[idx + (c,)] = float(yc @ res.x)
    return scores, weights


def bod(x, w, *, min_share: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0) -> np.ndarray:
    """Benefit-of-the-doubt scores (``bod_weights``); the child weights ``w`` must be equal."""
    x = _data(x)
    lead = _equal_child_weights(w, x, "bod", "unit")
    return _batched(bod_weights(x, min_share=min_share)[0], lead)


def rbod(x, w, *, m: Annotated[int, Field(ge=1)] = 25) -> np.ndarray:
    """Robust benefit of the doubt (Compind ``ci_rbod``): $1/E[\\lambda_m]$, the order-m output
    efficiency (Cazals, Florens & Simar 2002) with one unit input, as Compind computes it through
    ``nonparaeff::orderm(orientation = 2)``.

    For unit $c$, $r_{ck} = \\min_j y_{kj}/y_{cj}$ says by how much unit $k$ outdoes $c$ on its weakest
    ratio ($y_{cj} = 0$ puts no constraint on $j$); $\\lambda_m$ is the largest $r_{ck}$ among $m$
    units drawn at random with replacement. Compind estimates $E[\\lambda_m]$ by $B$ Monte-Carlo
    draws; we take the exact expectation over the sorted $r_{c(1)} \\le \\dots \\le r_{c(n)}$,
    $E[\\lambda_m] = \\sum_q r_{c(q)} \\big((q/n)^m - ((q-1)/n)^m\\big)$, which is the $B \\to \\infty$
    limit and needs no seed. Scores above 1 mean $c$ beats the expected best of $m$ peers (robust
    to outlying units); as $m \\to \\infty$ the score tends to the FDH score $\\le 1$.
    Complete, non-negative data; child weights must be equal.
    """
    y = _data(x)
    lead = _equal_child_weights(w, y, "rbod", "unit")
    _complete(y, "rbod")
    negative = y < 0
    if negative.any():
        raise IndicatorError(_columns(negative), "rbod needs non-negative data (normalise first)")
    m = int(m)
    if m < 1:
        raise InputError(f"rbod: m must be a positive integer, got {m}")
    yc = y[..., :, None, :]  # unit c
    yk = y[..., None, :, :]  # peer k
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(yc > 0, yk / yc, np.inf).min(axis=-1)  # (..., c, k)
    n = ratio.shape[-1]
    q = np.arange(1, n + 1)
    p = (q / n) ** m - ((q - 1) / n) ** m  # P(the m-draw maximum is the q-th smallest)
    r = np.sort(ratio, axis=-1)
    expected = (r * p).sum(axis=-1)  # every p > 0, so an infinite ratio gives E = inf (score 0)
    with np.errstate(divide="ignore"):
        return _batched(1.0 / expected, lead)


def mean_min(
    x,
    w,
    *,
    alpha: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5,
    beta: Annotated[float, Field(ge=0.0)] = 1.0,
    standardise: bool = True,
) -> np.ndarray:
    """Mean-min function (Casadio Tarabusi & Guarini 2013; Compind ``ci_mean_min``).

    $MMF_i = M_i - \\alpha\\big(\\sqrt{(M_i - m_i)^2 + \\beta^2} - \\beta\\big)$ with $M_i$ the weighted
    mean (``amean``; Compind's equal-weight mean when the weights are equal) and $m_i$ the minimum of unit $i$'s values $z_{ij}$ over the children present. ``standardise``
    (Compind): $z_{ij} = 100 + 10 (x_{ij} - \\bar x_j)/\\mathrm{sd}_j$ (sd with ddof = 1) per child over
    units; otherwise $z = x$. $\\alpha = 0$ gives the mean, $\\alpha = 1, \\beta = 0$ the minimum;
    $\\beta$ sets how quickly the penalty on unbalanced profiles sets in.
    """
    x = _data(x)
    w = _weights(w, x, nonnegative=True)
    alpha, beta = float(alpha), float(beta)
    if not (0.0 <= alpha <= 1.0 and beta >= 0.0):
        raise InputError(f"mean_min needs 0 <= alpha <= 1 and beta >= 0, got {alpha}, {beta}")
    z = x
    if standardise:
        n = (~np.isnan(x)).sum(axis=-2, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            mu = np.nansum(x, axis=-2, keepdims=True) / n
            sd = np.sqrt(np.nansum((x - mu) ** 2, axis=-2, keepdims=True) / (n - 1))
        flat = ~(sd > 0)
        if flat.any():
            raise IndicatorError(
                _columns(flat), "mean_min cannot standardise a child without spread"
            )
        z = 100.0 + 10.0 * (x - mu) / sd
    present = ~np.isnan(z)
    m = _weighted_mean(z, w, present)
    lo = np.fmin.reduce(z, axis=-1)
    return m - alpha * (np.sqrt((m - lo) ** 2 + beta**2) - beta)


def owa(
    x,
    w,
    *,
    order_weights: list[float] | None = None,
    atleast: Annotated[int | None, Field(ge=1)] = None,
    side: Literal["best", "worst"] = "worst",
) -> np.ndarray:
    """Ordered weighted average (Yager 1988): $y_i = \\sum_r v_r\\, x_{i(r)}$, $x_{i(1)} \\ge x_{i(2)} \\ge \\dots$.

    The weights $v$ (normalised to sum 1) belong to positions, not to children. Either give
    ``order_weights`` $v_1..v_k$ (best first), or Compind ``ci_owa``'s ``atleast`` $= j$: the mean
    of the $j$ worst values (``side="worst"``, Compind's ``CI_OWA_n``) or of the $j$ best
    (``"best"``, ``CI_OWA_p``). Needs complete data.
    """
    x = _data(x)
    lead = _equal_child_weights(w, x, "owa", "position")
    _complete(x, "owa")
    k = x.shape[-1]
    if (order_weights is None) == (atleast is None):
        raise InputError("owa needs exactly one of order_weights or atleast")
    if atleast is not None:
        if not 1 <= int(atleast) <= k:
            raise InputError(f"owa atleast must lie in 1..{k}, got {atleast}")
        v = np.zeros(k)
        if side == "best":
            v[: int(atleast)] = 1.0
        elif side == "worst":
            v[k - int(atleast) :] = 1.0
        else:
            raise InputError(f"owa side must be 'best' or 'worst', got {side!r}")
    else:
        v = np.asarray(order_weights, dtype=float)
        if v.shape != (k,) or not np.isfinite(v).all() or (v < 0).any() or v.sum() <= 0:
            raise InputError(f"owa order_weights need {k} non-negative numbers, not all zero")
    ordered = -np.sort(-x, axis=-1)  # best first
    return _batched(ordered @ (v / v.sum()), lead)


# registered here; aggregate.py imports this module, so AGGREGATORS always lists them
AGGREGATORS.update({"bod": bod, "rbod": rbod, "mean_min": mean_min, "owa": owa})
