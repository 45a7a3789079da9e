"""Bare-NumPy kernels: the floor each benchmark workload is measured against.

Each kernel computes the same numbers as the project's code for one workload (the benchmark checks
the agreement and records it), written as directly as NumPy allows and knowing the workload in
advance: no configuration, validation, labels, logs or dispatch, and the data's shape exploited
(complete data → one effective-weights matrix product per variant). They use nothing from
``index``: their inputs are plain arrays extracted before timing.

Formulas (see methodology.md): Winsorisation = COINr's loop (replace the max (skew ≥ 0) or min
by the next value while |skew| ≥ 2 and kurtosis ≥ 3.5 and the count of replaced points is below
winmax) over all columns at once; effective weight of indicator i = product of the within-group
normalised weights on its path to the root; amean score = $\\sum_i \\tilde w_i x_{ui}$, gmean =
$\\exp \\sum_i \\tilde w_i \\ln x_{ui}$ (complete data); ranks 1 = best, ties min.
"""

from __future__ import annotations

import numpy as np


# ---- hierarchy --------------------------------------------------------------------------------
def ancestors(parent: np.ndarray, n_ind: int) -> np.ndarray:
    """(depth, n_ind) node indices on each indicator's path to the root (padded with the root)."""
    root = int(np.nonzero(parent < 0)[0][0])
    paths = []
    for i in range(n_ind):
        path, k = [], i
        while k != root:
            path.append(k)
            k = int(parent[k])
        paths.append(path)
    depth = max(map(len, paths))
    return np.array([p + [root] * (depth - len(p)) for p in paths]).T


def effective(w: np.ndarray, parent: np.ndarray, anc: np.ndarray) -> np.ndarray:
    """Effective indicator weights (runs, n_ind) of raw node weights (runs, nodes)."""
    n = len(parent)
    up = np.where(parent < 0, np.arange(n), parent)
    member = np.zeros((n, n))
    member[np.arange(n), up] = parent >= 0
    sums = w @ member  # (runs, nodes): sum of each parent's children
    wn = w / sums[:, up]
    wn[:, parent < 0] = 1.0
    return wn[:, anc].prod(axis=1)


def tree(
    x: np.ndarray, w: np.ndarray, groups: list[tuple[int, np.ndarray]], n_ind: int, log: bool
) -> np.ndarray:
    """Root scores (runs, units) node by node, skipping NaN children with weights re-normalised
    (amean, or gmean when ``log``); groups bottom-up."""
    runs, units = len(w), x.shape[0]
    aggs = {}
    lx = np.log(x) if log else x
    for parent, kids in groups:
        wk = w[:, kids]
        if kids.max() < n_ind:
            c = lx[:, kids]
            p = ~np.isnan(c)
            num = wk @ np.where(p, c, 0.0).T
            den = wk @ p.T.astype(float)
        else:
            c = np.stack([aggs[k] for k in kids], axis=-1)  # (runs, units, k), in log space
            p = ~np.isnan(c)
            num = np.matmul(np.where(p, c, 0.0), wk[:, :, None])[..., 0]
            den = np.matmul(p.astype(float), wk[:, :, None])[..., 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            aggs[parent] = num / den
    root = groups[-1][0]
    out = aggs[root]
    assert out.shape == (runs, units)
    return np.exp(out) if log else out


# ---- treatment and normalisation ----------------------------------------------------------------
def skew_kurt(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Adjusted skewness and excess kurtosis of every column of complete data (n, k)."""
    n = x.shape[0]
    d = x - x.mean(axis=0)
    d2 = d * d
    m2, m3, m4 = d2.mean(axis=0), (d2 * d).mean(axis=0), (d2 * d2).mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        g1 = np.sqrt(n * (n - 1.0)) / (n - 2.0) * m3 / m2**1.5
        g2 = ((n * n - 1.0) * m4 / m2**2 - 3.0 * (n - 1.0) ** 2) / ((n - 2.0) * (n - 3.0))
    const = m2 <= (np.finfo(float).eps * x.mean(axis=0)) ** 2
    return np.where(const, np.nan, g1), np.where(const, np.nan, g2)


def winsorise(x: np.ndarray, winmax: int, st: float = 2.0, kt: float = 3.5) -> np.ndarray:
    """COINr's Winsorisation of every column of complete data at once; columns that still fail
    take ``log_CT`` of the original values."""
    v = x.copy()
    hi = np.zeros(v.shape, bool)
    lo = np.zeros(v.shape, bool)
    sk, ku = skew_kurt(v)
    active = (np.abs(sk) >= st) & (ku >= kt)
    while active.any():
        cols = np.nonzero(active)[0]
        c = v[:, cols]
        s, _ = skew_kurt(c)
        top = s >= 0
        mx, mn = c.max(axis=0), c.min(axis=0)
        h = top & (c == mx)
        lw = ~top & (c == mn)
        nxt_hi = np.where(h, -np.inf, c).max(axis=0)
        nxt_lo = np.where(lw, np.inf, c).min(axis=0)
        c = np.where(h, nxt_hi, np.where(lw, nxt_lo, c))
        v[:, cols] = c
        hi[:, cols] = np.where(top, h, hi[:, cols])
        lo[:, cols] = np.where(top, lo[:, cols], lw)
        nwin = hi.sum(axis=0) + lo.sum(axis=0)
        sk, ku = skew_kurt(v)
        active = ((np.abs(sk) >= st) & (ku >= kt)) & (nwin < winmax)
    fail = (np.abs(sk) >= st) & (ku >= kt)  # still failing: COINr's log_CT of the original
    lo_, hi_ = x.min(axis=0), x.max(axis=0)
    return np.where(fail, np.log(x - lo_ + 0.01 * (hi_ - lo_)), v)


def minmax(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    mn, mx = x.min(axis=0), x.max(axis=0)
    return (x - mn) / (mx - mn) * (hi - lo) + lo


def zscore(x: np.ndarray, m: float, s: float) -> np.ndarray:
    return (x - x.mean(axis=0)) / x.std(axis=0, ddof=1) * s + m


# ---- ranks and their distribution ---------------------------------------------------------------
def ranks(s: np.ndarray) -> np.ndarray:
    """Ranks (runs, units) of scores, 1 = best, ties min, NaN kept."""
    order = np.argsort(-s, axis=1)
    key = np.take_along_axis(-s, order, axis=1)
    start = np.ones(key.shape, bool)
    start[:, 1:] = key[:, 1:] != key[:, :-1]
    pos = np.maximum.accumulate(np.where(start, np.arange(s.shape[1]), 0), axis=1) + 1.0
    out = np.empty_like(s)
    np.put_along_axis(out, order, pos, axis=1)
    out[np.isnan(s)] = np.nan
    return out


def count_ranks(r: np.ndarray, acc: dict) -> None:
    """Add ranks (runs, units) to the exact rank distribution ``acc``: a dense int32 table
    (units × ranks) when it is small, else sorted (unit · n + rank − 1) keys and their counts
    (memory in the distinct pairs, not units²)."""
    n = r.shape[1]
    ok = ~np.isnan(r)
    keys = (np.arange(n) * n + r - 1)[ok].astype(np.int64)
    if n * n <= 2**22:
        dense = acc.setdefault("dense", np.zeros(n * n, np.int32))
        dense += np.bincount(keys, minlength=n * n).astype(np.int32)
    else:
        acc.setdefault("parts", []).append(np.unique(keys, return_counts=True))


def mean_abs_change(r: np.ndarray, nominal: np.ndarray) -> np.ndarray:
    return np.nanmean(np.abs(r - nominal), axis=1)


# ---- workloads --------------------------------------------------------------------------------
def asem(a: dict) -> np.ndarray:
    """COINr's ASEM 1,000-run replay from the raw data: denominate, impute group means, Winsorise
    (5 limits), normalise (2 methods), aggregate (2 methods) with each run's weight set as one
    effective-weights product, rank, rank distribution and COINr's mean absolute rank change.
    Returns the scores (runs, units)."""
    x = a["raw"].copy()
    cols = a["den_cols"]
    x[:, cols] = a["raw"][:, cols] / a["den"] * a["scale"]
    for g in np.unique(a["groups"]):
        rows = a["groups"] == g
        block = x[rows]
        fill = np.nanmean(block, axis=0)
        x[rows] = np.where(np.isnan(block), fill, block)
    alts, parent, anc = a["alts"], a["parent"], a["anc"]
    eff = effective(a["weights"] * a["multipliers"][alts[:, 2]], parent, anc)
    treated = [winsorise(x, wm) * a["directions"] for wm in a["winmax"]]
    nominal = effective(a["weights"][None], parent, anc) @ minmax(treated[-1], 0, 100).T
    r_nom = ranks(nominal)[0]
    scores = np.empty((len(alts), x.shape[0]))
    code = alts[:, 0] * 4 + alts[:, 1] * 2 + alts[:, 3]
    for t, xt in enumerate(treated):
        for n, xn in enumerate((minmax(xt, 1, 100), zscore(xt, 10, 2))):
            lx = np.log(xn)
            for g, data in enumerate((xn, lx)):
                idx = np.nonzero(code == t * 4 + n * 2 + g)[0]
                s = eff[idx] @ data.T
                scores[idx] = np.exp(s) if g else s
    r = ranks(scores)
    count_ranks(r, {})
    mean_abs_change(r, r_nom)
    return scores


def warm(a: dict, chunk: int = 1024) -> np.ndarray:
    """The per-run work of an analysis whose variants are prepared (normalised data and the
    weights of every indicator group known per variant): each run's weights, its index scores
    (one effective-weights product per variant when the data are complete, else node by node),
    ranks, rank distribution, mean absolute rank change, ``chunk`` runs at a time (in cache).
    Returns the scores (runs, units)."""
    parent, anc, groups, n_ind = a["parent"], a["anc"], a["groups"], a["n_ind"]
    scores = np.empty((len(a["mult"]), a["units"]))
    y = np.empty(len(a["mult"]))
    acc: dict = {}
    for v in a["variants"]:
        xn, log = v["xn"], v["gmean"]
        data = (np.log(xn) if log else xn).T
        for start in range(0, len(v["runs"]), chunk):
            idx = v["runs"][start : start + chunk]
            w = v["weights"] * a["mult"][idx]
            if v["complete"]:
                s = effective(w, parent, anc) @ data
                s = np.exp(s) if log else s
            else:
                s = tree(xn, w, groups, n_ind, log)
            r = ranks(s)
            count_ranks(r, acc)
            y[idx] = mean_abs_change(r, a["nominal_ranks"])
            scores[idx] = s
    return scores
