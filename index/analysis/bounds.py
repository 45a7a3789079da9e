"""What a ranking can and cannot claim: exact rank bounds over an admissible set of weights.

Setting. Normalised indicator scores $x_{ui}$ are fixed; every aggregate is the weighted arithmetic
mean of its children, with within-group weights $v_c$ (children of one parent sum to 1). The
admissible set $\\mathcal V$ holds every weighting with $lo_c \\le v_c \\le hi_c$ (a box around the
nominal weights, $lo = (1 - b)\\hat v$, $hi = (1 + b)\\hat v$, or bounds per node), on the simplex of
each group, and with optional order constraints between siblings ($v_a \\ge v_b$).

Linearisation. The index is $s_u = \\sum_i y_i x_{ui}$ with $y_i$ the *effective* weight of indicator
i, the product of the within-group weights on its path to the root. Give every node its effective
weight $y_n$ ($y_{root} = 1$). Then $v \\in \\mathcal V$ if and only if $y$ lies in the polytope
$\\mathcal Y$: for every parent $n$ with children $C(n)$, $\\sum_{c \\in C(n)} y_c = y_n$,
$lo_c\\, y_n \\le y_c \\le hi_c\\, y_n$, and $y_a \\ge y_b$ for each order constraint ($v_c = y_c / y_n$
maps back; a node with $y_n = 0$ carries no weight, any admissible $v$ below it gives the same
scores). Scores are linear in $y$, so:

- the range of $s_r - s_u$ over $\\mathcal V$ is two linear programmes; over a product of
  group polytopes (order constraints are within groups) they are solved exactly by nested
  maximisation, group by group bottom-up, each group at a vertex of its own polytope
  (:func:`extreme`);
- the best rank of $u$ is $1 + \\min_{y \\in \\mathcal Y} \\#\\{r : s_r > s_u\\}$, a mixed-integer
  linear programme with one binary per rival (:func:`exact_rank_bounds`); rivals whose sign of
  $s_r - s_u$ is the same over all of $\\mathcal Y$ are decided by the two LPs and get no binary;
- the smallest change of weights that swaps two units is an LP in $y$ (:func:`reversal`).

Ties follow the project's ``rank_desc`` (equal scores share the better rank): the best rank counts
rivals strictly above $u$; the worst rank counts rivals that can be at least $\\tau$ above $u$
($\\tau = 10^{-5}$ of the range of the normalised scores), so a rival that can only ever exceed
$u$ by less than $\\tau$ counts as tied. See methodology.md § "Exact rank bounds" for the proof
sketch, complexity and references.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from index.errors import InputError, Problem
from index.framework import Framework

TAU = 1e-5  # tie band, as a share of the range of the normalised scores (10 × HiGHS' MIP tolerance)
ROUNDING = 1e-12  # pair ranges within this of zero are rounding, not a strict order
_ORDER = re.compile(r"\s*(>=|≥|<=|≤)\s*")


# ---- the admissible set ------------------------------------------------------------------------
@dataclass(frozen=True)
class Admissible:
    """Admissible within-group weights: ``lo <= v <= hi`` per node (``fw.codes`` order), every
    group on its simplex, and ``v[a] >= v[b]`` for each ``(a, b)`` in ``order`` (siblings)."""

    fw: Framework
    nominal: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    order: tuple[tuple[int, int], ...] = ()

    @cached_property
    def group_order(self) -> dict[int, list[tuple[int, int]]]:
        """Order constraints of each group, as positions within the group's children."""
        out: dict[int, list[tuple[int, int]]] = {}
        for parent, kids in self.fw.groups:
            pos = {int(k): j for j, k in enumerate(kids)}
            out[parent] = [(pos[a], pos[b]) for a, b in self.order if a in pos and b in pos]
        return out

    @cached_property
    def vertices(self) -> dict[int, np.ndarray]:
        """Vertices (m, k) of every group's polytope, keyed by the parent's position."""
        out = {}
        for parent, kids in self.fw.groups:
            v = group_vertices(self.lo[kids], self.hi[kids], self.group_order[parent])
            if len(v) == 0:
                raise InputError(
                    Problem(
                        "bounds",
                        self.fw.codes[parent],
                        "weights",
                        "no admissible weights for the children of this node (bounds and order "
                        "constraints contradict each other)",
                    )
                )
            out[parent] = v
        return out


def admissible(
    fw: Framework,
    nominal: np.ndarray,
    box: float = 0.5,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    order: Sequence[tuple[int, int]] = (),
) -> Admissible:
    """The admissible set around ``nominal`` within-group weights (``fw.codes`` order).

    $lo_c = \\max(0, (1 - b)\\hat v_c)$, $hi_c = \\min(1, (1 + b)\\hat v_c)$ for ``box`` = b ≥ 0;
    ``bounds`` replaces them for given node codes (within-group weights in [0, 1]).
    """
    if not (np.isfinite(box) and box >= 0):
        raise InputError(Problem("bounds", None, "box", f"must be a number >= 0, got {box}"))
    w = np.asarray(nominal, dtype=float)
    if (w < 0).any():
        neg = [fw.codes[k] for k in np.nonzero(w < 0)[0]]
        raise InputError(
            Problem("bounds", None, "weights", f"negative weights ({', '.join(neg)}): rank "
                    "bounds need non-negative weights (the linearisation multiplies by them)")
        )  # fmt: skip
    lo, hi = np.maximum(0.0, (1 - box) * w), np.minimum(1.0, (1 + box) * w)
    for code, (a, b) in (bounds or {}).items():
        if code not in fw.codes[:-1]:
            raise InputError(Problem("bounds", code, "bounds", "not a node with a parent"))
        if not 0 <= a <= b <= 1:
            raise InputError(Problem("bounds", code, "bounds", f"need 0 <= lo <= hi <= 1: {a, b}"))
        k = fw.codes.index(code)
        lo[k], hi[k] = a, b
    lo[-1] = hi[-1] = 1.0
    adm = Admissible(fw, w, lo, hi, tuple((int(a), int(b)) for a, b in order))
    _ = adm.vertices  # fail early on an empty set
    return adm


def parse_order(fw: Framework, items: Iterable[str]) -> list[tuple[int, int]]:
    """Order constraints ``"compute>=storage"`` (codes, 中文 or English names; chains
    ``a>=b>=c``; ``<=`` too) → pairs (a, b) of node positions meaning $v_a \\ge v_b$. The two
    nodes must be siblings: only then is the constraint linear in the effective weights."""
    names: dict[str, int] = {}
    for k, c in enumerate(fw.codes[:-1]):
        n = fw.node(c)
        for label in (c, n.name_zh, n.name_en):
            if label:
                names[label.strip().lower()] = k
    pairs = []
    for item in items:
        parts = _ORDER.split(item.strip())
        terms, ops = parts[::2], parts[1::2]
        if len(terms) < 2:
            raise InputError(Problem("--order", None, item, "expected e.g. 'compute>=storage'"))
        pos = []
        for t in terms:
            if t.strip().lower() not in names:
                raise InputError(Problem("--order", None, item, f"unknown node '{t}'"))
            pos.append(names[t.strip().lower()])
        for (a, b), op in zip(itertools.pairwise(pos), ops, strict=True):
            a, b = (a, b) if op in (">=", "≥") else (b, a)
            if fw.parent_idx[a] != fw.parent_idx[b] or a == b:
                raise InputError(
                    Problem(
                        "--order",
                        None,
                        item,
                        f"'{fw.codes[a]}' and '{fw.codes[b]}' are not siblings: order constraints "
                        "compare weights within one group",
                    )
                )
            pairs.append((a, b))
    return pairs


def group_vertices(
    lo: np.ndarray, hi: np.ndarray, order: Sequence[tuple[int, int]] = ()
) -> np.ndarray:
    """Vertices (m, k) of $\\{v : lo \\le v \\le hi,\\ \\sum v = 1,\\ v_a \\ge v_b\\}$.

    A vertex has k − 1 linearly independent active inequalities besides the equality. Without
    order constraints every vertex has all coordinates but at most one at a bound (k·2^(k−1)
    candidates); with them, every choice of k − 1 active inequalities is solved (active-set
    enumeration). Candidates that violate a constraint are dropped; duplicates merged.
    """
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    k = lo.size
    if k == 1:
        return np.ones((1, 1)) if lo[0] <= 1 + 1e-12 and hi[0] >= 1 - 1e-12 else np.empty((0, 1))
    if not order:
        if k > 20:
            raise InputError(f"a group of {k} children is too wide for vertex enumeration")
        at_hi = (np.arange(2 ** (k - 1))[:, None] >> np.arange(k - 1)) & 1
        cands = []
        for f in range(k):
            others = np.delete(np.arange(k), f)
            v = np.empty((len(at_hi), k))
            v[:, others] = np.where(at_hi, hi[others], lo[others])
            v[:, f] = 1.0 - v[:, others].sum(axis=1)
            cands.append(v)
        v = np.concatenate(cands)
    else:
        g = np.concatenate([-np.eye(k), np.eye(k)])
        h = np.concatenate([-lo, hi])
        rows = [np.eye(k)[b] - np.eye(k)[a] for a, b in order]
        g, h = np.vstack([g, *rows]) if rows else g, np.concatenate([h, np.zeros(len(rows))])
        combos = np.array(list(itertools.combinations(range(len(g)), k - 1)))
        if len(combos) > 500_000:
            raise InputError(f"a group of {k} children with order constraints is too wide")
        a = np.concatenate([np.ones((len(combos), 1, k)), g[combos]], axis=1)
        rhs = np.concatenate([np.ones((len(combos), 1)), h[combos]], axis=1)
        ok = np.abs(np.linalg.det(a)) > 1e-12
        v = np.linalg.solve(a[ok], rhs[ok][..., None])[..., 0]
        v = v[(v @ g.T <= h + 1e-10).all(axis=1)]
    tol = 1e-10
    v = v[((v >= lo - tol) & (v <= hi + tol)).all(axis=1)]
    for big, small in order:
        v = v[v[:, big] >= v[:, small] - tol]
    return np.unique(np.round(v, 12), axis=0) if len(v) else v


# ---- nested linear programmes over the admissible set -------------------------------------------
def effective(fw: Framework, within: np.ndarray) -> np.ndarray:
    """Effective weights (..., nodes) from within-group weights: products along the path."""
    out = np.array(within, dtype=float)
    out[..., -1] = 1.0
    for parent, kids in reversed(fw.groups):  # top-down: the parent is final before its children
        out[..., kids] = out[..., kids] * out[..., parent, None]
    return out


def extreme(
    adm: Admissible, c: np.ndarray, *, maximise: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Max (or min) of $c \\cdot y_{leaves}$ over the admissible set, for a batch c (P, indicators).

    Nested: the value of a leaf is $c_i$; the value of a parent is the best over its group's
    vertices of $\\sum_c v_c\\,\\mathrm{value}_c$ (exact because the admissible set is a product of
    group polytopes and $v \\ge 0$, and a linear function attains its optimum at a vertex).
    Returns the optimal values (P,) and within-group weights attaining them (P, nodes).
    """
    fw = adm.fw
    sign = 1.0 if maximise else -1.0
    c = sign * np.atleast_2d(np.asarray(c, dtype=float))
    value = np.empty((len(c), len(fw.codes)))
    value[:, : fw.n_indicators] = c
    weights = np.broadcast_to(adm.nominal, value.shape).copy()
    for parent, kids in fw.groups:
        verts = adm.vertices[parent]
        cand = value[:, kids] @ verts.T
        best = cand.argmax(axis=1)
        value[:, parent] = cand[np.arange(len(c)), best]
        weights[:, kids] = verts[best]
    return sign * value[:, -1], weights


def pair_ranges(x: np.ndarray, adm: Admissible) -> tuple[np.ndarray, np.ndarray]:
    """(dmin, dmax), each (units, units): range of $s_r - s_u$ (row r, column u) over the set."""
    n = len(x)
    d = (x[:, None, :] - x[None, :, :]).reshape(n * n, -1)
    hi, _ = extreme(adm, d, maximise=True)
    hi = hi.reshape(n, n)
    return -hi.T, hi  # min (s_r - s_u) = -max (s_u - s_r)


# ---- certified ranges when the aggregation is not linear ---------------------------------------
# Monotone means: parent = φ⁻¹(Σ v φ(x) / Σ_present v) with φ increasing (+1) or decreasing (−1).
MEANS: dict[
    str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray], int]
] = {
    "amean": (lambda a: a, lambda a: a, 1),
    "gmean": (np.log, np.exp, 1),
    "hmean": (lambda a: 1.0 / a, lambda a: 1.0 / a, -1),
}


def _mean_of(method: str, p: float | None = None):
    if method == "genmean" and p is not None and p != 0:
        return (lambda a: a**p, lambda a: a ** (1.0 / p), 1 if p > 0 else -1)
    if method == "genmean":
        return MEANS["gmean"]
    return MEANS.get(method)


def _group_range(
    adm: Admissible, parent: int, kids: np.ndarray, lo: np.ndarray, hi: np.ndarray, mean
) -> tuple[np.ndarray, np.ndarray]:
    """Range of a monotone weighted mean of children with values in [lo, hi] (…, k; NaN =
    absent, weights re-normalised over the children present) over the group's polytope: a
    linear-fractional function of v attains its extremes at vertices, and the mean is monotone
    in every child, so children at their own extremes give the parent's."""
    phi, inv, sign = mean
    verts = adm.vertices[parent]  # (m, k)
    present = ~np.isnan(hi)
    den = present.astype(float) @ verts.T
    with np.errstate(invalid="ignore", divide="ignore"):
        up = np.where(present, phi(hi if sign > 0 else lo), 0.0) @ verts.T / den
        down = np.where(present, phi(lo if sign > 0 else hi), 0.0) @ verts.T / den
    up = np.where(den > 0, up, -np.inf).max(axis=-1)
    down = np.where(den > 0, down, np.inf).min(axis=-1)
    top, bottom = (inv(up), inv(down)) if sign > 0 else (inv(down), inv(up))
    dead = ~present.any(axis=-1)
    return np.where(dead, np.nan, bottom), np.where(dead, np.nan, top)


def score_ranges(
    x: np.ndarray, adm: Admissible, method: Callable[[int], str], params: Mapping | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (min, max) of every unit's score at every node (units, nodes) over the admissible set,
    for monotone means (amean, gmean, hmean, genmean) with missing children skipped; NaN where a
    method has no such range (copeland, mpi, ampi, topsis)."""
    fw = adm.fw
    n = len(x)
    lo, hi = np.full((n, len(fw.codes)), np.nan), np.full((n, len(fw.codes)), np.nan)
    lo[:, : fw.n_indicators] = hi[:, : fw.n_indicators] = x
    for parent, kids in fw.groups:
        mean = _mean_of(method(fw.level[fw.codes[parent]]), (params or {}).get("p"))
        if mean is None:
            return np.full_like(lo, np.nan), np.full_like(hi, np.nan)
        lo[:, parent], hi[:, parent] = _group_range(
            adm, parent, kids, lo[:, kids], hi[:, kids], mean
        )
    return lo, hi


def pair_ranges_outer(
    x: np.ndarray, adm: Admissible, method: Callable[[int], str], params: Mapping | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Certified (dmin, dmax) of $s_r - s_u$ (units, units) for monotone means and missing data.

    Nested over the hierarchy on the pair difference: where both units have every child of an
    arithmetic-mean group, the difference is linear and its range over the group's vertices is
    exact given the children's ranges; elsewhere (a gap or a non-linear mean) the two scores are
    decoupled, $[\\min s_r - \\max s_u, \\max s_r - \\min s_u]$, a sound but wider range.
    """
    fw = adm.fw
    slo, shi = score_ranges(x, adm, method, params)
    n = len(x)
    dlo = np.full((n, n, len(fw.codes)), np.nan)
    dhi = np.full_like(dlo, np.nan)
    diff = x[:, None, :] - x[None, :, :]
    dlo[..., : fw.n_indicators] = dhi[..., : fw.n_indicators] = diff
    for parent, kids in fw.groups:
        verts = adm.vertices[parent]
        decoupled_lo = slo[:, None, parent] - shi[None, :, parent]
        decoupled_hi = shi[:, None, parent] - slo[None, :, parent]
        if method(fw.level[fw.codes[parent]]) == "amean":
            present = ~np.isnan(slo[:, kids])
            both = present.all(axis=1)[:, None] & present.all(axis=1)[None, :]
            lin_hi = np.nan_to_num(dhi[..., kids]) @ verts.T
            lin_lo = np.nan_to_num(dlo[..., kids]) @ verts.T
            dhi[..., parent] = np.where(both, lin_hi.max(axis=-1), decoupled_hi)
            dlo[..., parent] = np.where(both, lin_lo.min(axis=-1), decoupled_lo)
        else:
            dhi[..., parent], dlo[..., parent] = decoupled_hi, decoupled_lo
    return dlo[..., -1], dhi[..., -1]


# ---- the polytope in effective weights, for scipy's LP / MILP ------------------------------------
def _polytope(adm: Admissible) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(A_eq, b_eq, A_ub, b_ub) of $\\mathcal Y$ over y (all nodes, root fixed at 1 by A_eq)."""
    fw, n = adm.fw, len(adm.fw.codes)
    eq, ub = [], []
    root = np.zeros(n)
    root[-1] = 1.0
    eq.append(root)
    for parent, kids in fw.groups:
        row = np.zeros(n)
        row[kids], row[parent] = 1.0, -1.0
        eq.append(row)
        for k in kids:
            up, down = np.zeros(n), np.zeros(n)
            up[k], up[parent] = 1.0, -adm.hi[k]  # y_k <= hi_k y_parent
            down[k], down[parent] = -1.0, adm.lo[k]  # lo_k y_parent <= y_k
            ub += [up, down]
    for a, b in adm.order:
        row = np.zeros(n)
        row[b], row[a] = 1.0, -1.0
        ub.append(row)
    b_eq = np.zeros(len(eq))
    b_eq[0] = 1.0
    return np.array(eq), b_eq, np.array(ub), np.zeros(len(ub))


def within_group(adm: Admissible, y: np.ndarray) -> np.ndarray:
    """Within-group weights from effective weights; a group whose parent carries no weight
    takes its first admissible vertex (it does not change any score)."""
    fw = adm.fw
    v = np.array(adm.nominal, dtype=float)
    for parent, kids in fw.groups:
        if y[parent] > 1e-12:
            v[kids] = np.clip(y[kids] / y[parent], 0.0, None)
            v[kids] /= v[kids].sum()
        else:
            v[kids] = adm.vertices[parent][0]
    v[-1] = 1.0
    return v


# ---- exact best and worst ranks --------------------------------------------------------------------
@dataclass(frozen=True)
class RankBounds:
    """Best and worst rank per unit (NaN: unit not ranked) with within-group weights (units, nodes)
    realising each, and certified outer bounds: no admissible weighting ranks a unit better than
    ``best_outer`` or worse than ``worst_outer``. Where they agree with the attained ranks, the
    bounds are exact (always, in the linear case)."""

    best: np.ndarray
    worst: np.ndarray
    best_weights: np.ndarray
    worst_weights: np.ndarray
    best_outer: np.ndarray
    worst_outer: np.ndarray
    method: str

    @property
    def exact(self) -> np.ndarray:
        """Per unit: attained bounds equal the certified ones."""
        return (self.best == self.best_outer) & (self.worst == self.worst_outer)


def outer_ranks(dmin: np.ndarray, dmax: np.ndarray, tau: float) -> tuple[np.ndarray, np.ndarray]:
    """Certified rank bounds from pair ranges (units, units), d[r, u] = s_r − s_u:
    best ≥ 1 + #{r : min d > 0} (rivals above under every weighting, beyond rounding) and
    worst ≤ 1 + #{r : max d ≥ τ} (rivals that can be above at all). NaN ranges give NaN."""
    off = ~np.eye(len(dmin), dtype=bool)
    noise = ROUNDING * max(1.0, float(np.nanmax(np.abs(dmin), initial=0.0)))
    with np.errstate(invalid="ignore"):
        best = 1.0 + ((dmin > noise) & off).sum(axis=0)
        worst = 1.0 + ((dmax >= tau) & off).sum(axis=0)
    unknown = np.isnan(dmin).all(axis=0) & (len(dmin) > 1)
    return np.where(unknown, np.nan, best), np.where(unknown, np.nan, worst)


def _scale(x: np.ndarray) -> float:
    span = float(np.nanmax(x) - np.nanmin(x))
    return span if span > 0 else 1.0


def exact_rank_bounds(x: np.ndarray, adm: Admissible, *, tau: float = TAU) -> RankBounds:
    """Exact best and worst rank of every unit for complete normalised data x (units, indicators).

    Rival r of unit u is decided by the two LPs when $\\min (s_r - s_u) > 0$ (always above: counts
    for the best rank) or $\\max (s_r - s_u) \\le 0$ (never above); otherwise it gets a binary
    $\\delta_r$ in a MILP over (y, δ): best: min Σδ s.t. $d_r \\cdot y \\le M_r \\delta_r$,
    $M_r = \\max d_r$; worst: max Σδ s.t. $d_r \\cdot y \\ge \\tau - (\\tau - m_r)(1 - \\delta_r)$,
    $m_r = \\min d_r$. Scores are divided by the range of x first, so τ is relative.
    """
    x = np.asarray(x, dtype=float) / _scale(x)
    n, n_nodes = len(x), len(adm.fw.codes)
    dmin, dmax = pair_ranges(x, adm)
    a_eq, b_eq, a_ub, b_ub = _polytope(adm)
    lead = np.zeros((n, n_nodes))
    lead[:, : x.shape[1]] = x  # s_u = lead[u] @ y
    best, worst = np.empty(n), np.empty(n)
    wb, ww = np.empty((n, n_nodes)), np.empty((n, n_nodes))
    for u in range(n):
        rivals = np.arange(n) != u
        for kind in ("best", "worst"):
            if kind == "best":
                fixed = rivals & (dmin[:, u] > ROUNDING)
                open_ = rivals & ~fixed & (dmax[:, u] > ROUNDING)
            else:
                fixed = rivals & (dmin[:, u] >= tau)
                open_ = rivals & ~fixed & (dmax[:, u] >= tau)
            idx = np.nonzero(open_)[0]
            count, y = _milp(kind, lead, u, idx, dmin, dmax, (a_eq, b_eq, a_ub, b_ub), tau)
            y = _milp_y(y, adm)
            rank = 1 + int(fixed.sum()) + count
            if kind == "best":
                best[u], wb[u] = rank, within_group(adm, y)
            else:
                worst[u], ww[u] = rank, within_group(adm, y)
    return RankBounds(best, worst, wb, ww, best, worst, "exact (MILP over effective weights)")


def _milp_y(y: np.ndarray | None, adm: Admissible) -> np.ndarray:
    """Effective weights of a MILP solution, or of the nominal weights when no MILP was needed."""
    return effective(adm.fw, _feasible_nominal(adm)) if y is None else y


def _feasible_nominal(adm: Admissible) -> np.ndarray:
    """The nominal weights where admissible; a group whose nominal weights violate its order
    constraints takes the centroid of its vertices (inside its polytope) instead."""
    v = np.array(adm.nominal, dtype=float)
    for parent, kids in adm.fw.groups:
        ok = (v[kids] >= adm.lo[kids] - 1e-12).all() and (v[kids] <= adm.hi[kids] + 1e-12).all()
        ok = ok and all(v[kids][a] >= v[kids][b] - 1e-12 for a, b in adm.group_order[parent])
        if not ok:
            v[kids] = adm.vertices[parent].mean(axis=0)
    return v


def _milp(
    kind: str,
    lead: np.ndarray,
    u: int,
    idx: np.ndarray,
    dmin: np.ndarray,
    dmax: np.ndarray,
    poly: tuple[np.ndarray, ...],
    tau: float,
) -> tuple[int, np.ndarray | None]:
    """Solve one best/worst MILP for unit u over the undecided rivals ``idx``; returns the count
    of rivals above and the effective weights y (None when nothing was undecided)."""
    if len(idx) == 0:
        return 0, None
    from scipy.optimize import Bounds, LinearConstraint, milp

    a_eq, b_eq, a_ub, b_ub = poly
    n_y, m = a_eq.shape[1], len(idx)
    d = lead[idx] - lead[u]  # (m, n_y): s_r - s_u = d_r @ y
    if kind == "best":  # d_r y - M_r δ_r <= 0
        rows = np.hstack([d, -np.diag(dmax[idx, u])])
        lb, ub = np.full(m, -np.inf), np.zeros(m)
        c = np.concatenate([np.zeros(n_y), np.ones(m)])
    else:  # -d_r y + (τ - m_r) δ_r <= -m_r
        low = dmin[idx, u]
        rows = np.hstack([-d, np.diag(tau - low)])
        lb, ub = np.full(m, -np.inf), -low
        c = np.concatenate([np.zeros(n_y), -np.ones(m)])
    pad = np.zeros((len(a_eq), m)), np.zeros((len(a_ub), m))
    cons = [
        LinearConstraint(np.hstack([a_eq, pad[0]]), b_eq, b_eq),
        LinearConstraint(np.hstack([a_ub, pad[1]]), -np.inf, b_ub),
        LinearConstraint(rows, lb, ub),
    ]
    integrality = np.concatenate([np.zeros(n_y), np.ones(m)])
    bounds = Bounds(np.zeros(n_y + m), np.ones(n_y + m))
    with _quiet_stdout():
        res = milp(c, constraints=cons, integrality=integrality, bounds=bounds,
                   options={"mip_rel_gap": 0.0})  # fmt: skip
    if res.status != 0 or res.x is None:
        raise RuntimeError(f"MILP for unit {u} ({kind}) failed: {res.message}")
    return int(round(res.x[n_y:].sum())), res.x[:n_y]


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence the C-level stdout: HiGHS (scipy 1.17) prints MIP diagnostics even with disp off."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


# ---- sampled and attained bounds (any aggregation) -----------------------------------------------
def sample_admissible(adm: Admissible, n: int, rng: np.random.Generator) -> np.ndarray:
    """n admissible within-group weight sets (n, nodes): per group, each weight drawn uniformly
    in its box $[lo_c, hi_c]$, rescaled to sum to 1, kept if still in the box and in order
    (rejection). A group whose admissible set is too thin for that (e.g. order constraints that
    force equal weights) gets random convex combinations of its vertices (Dirichlet(1) mixing
    weights) instead. Not uniform on the polytope, but every draw is admissible."""
    fw = adm.fw
    out = np.broadcast_to(adm.nominal, (n, len(fw.codes))).copy()
    for parent, kids in fw.groups:
        lo, hi = adm.lo[kids], adm.hi[kids]
        got: list[np.ndarray] = []
        need = n
        for _ in range(20):
            if need == 0:
                break
            draw = rng.uniform(lo, hi, size=(4 * need + 16, len(kids)))
            total = draw.sum(axis=1, keepdims=True)
            draw = np.divide(draw, total, out=np.zeros_like(draw), where=total > 0)
            ok = ((draw >= lo - 1e-12) & (draw <= hi + 1e-12)).all(axis=1) & (total[:, 0] > 0)
            for a, b in adm.group_order[parent]:
                ok &= draw[:, a] >= draw[:, b]
            got.append(draw[ok][:need])
            need -= len(got[-1])
        if need:
            verts = adm.vertices[parent]
            got.append(rng.dirichlet(np.ones(len(verts)), size=need) @ verts)
        out[:, kids] = np.concatenate(got)
    return out


def vertex_samples(adm: Admissible, n: int, rng: np.random.Generator) -> np.ndarray:
    """n random vertices of the admissible set (n, nodes): one random vertex per group (every
    product of group vertices is a vertex of the product polytope)."""
    out = np.broadcast_to(adm.nominal, (n, len(adm.fw.codes))).copy()
    for parent, kids in adm.fw.groups:
        verts = adm.vertices[parent]
        out[:, kids] = verts[rng.integers(len(verts), size=n)]
    return out


def ranks_tol(scores: np.ndarray, tol: float) -> np.ndarray:
    """Rank (1 = best) with a tie band: 1 + #{r : s_r > s_u + tol} along the last axis; NaN
    scores get NaN and beat nobody."""
    s = np.asarray(scores, dtype=float)
    above = (s[..., :, None] > s[..., None, :] + tol).sum(axis=-2).astype(float)
    return np.where(np.isnan(s), np.nan, 1.0 + above)


def attained_rank_bounds(
    scorer: Callable[[np.ndarray], np.ndarray], candidates: np.ndarray
) -> RankBounds:
    """Best and worst rank attained over candidate weight sets (B, nodes), scored by the real
    aggregation ``scorer`` → (B, units). An inner bound: the true best rank is at most, the true
    worst rank at least, what is reported."""
    scores = scorer(candidates)
    r = ranks_tol(scores, 0.0)
    r = np.where(np.isnan(r), np.inf, r)
    bi, wi = r.argmin(axis=0), np.where(np.isinf(r), -np.inf, r).argmax(axis=0)
    cols = np.arange(r.shape[1])
    best, worst = r[bi, cols], r[wi, cols]
    unranked = np.isinf(best)
    best[unranked] = np.nan
    worst[unranked] = np.nan
    method = f"attained over {len(candidates)} admissible weightings"
    none = np.full_like(best, np.nan)
    return RankBounds(best, worst, candidates[bi], candidates[wi], none, none, method)


# ---- reversals and dominance ---------------------------------------------------------------------
@dataclass(frozen=True)
class Reversal:
    """The smallest admissible change of effective indicator weights that puts ``below`` at least
    τ above ``above``: ``distance`` in the stated norm (NaN = no admissible weighting does)."""

    above: int
    below: int
    distance: float
    weights: np.ndarray | None
    norm: str


def reversal(
    x: np.ndarray, adm: Admissible, above: int, below: int, *, norm: str = "l1", tau: float = TAU
) -> Reversal:
    """LP: min $\\lVert y_{ind} - \\hat y_{ind} \\rVert$ (L1: $\\sum_i t_i$; L∞: t) subject to
    $|y_i - \\hat y_i| \\le t_i$ (or t), $(x_{below} - x_{above}) \\cdot y \\ge \\tau$, $y \\in \\mathcal Y$,
    over the effective weights of the indicators (half the L1 distance is the share of the
    index's weight moved between indicators)."""
    from scipy.optimize import linprog

    if norm not in ("l1", "linf"):
        raise InputError(Problem("bounds", None, "norm", f"'{norm}': choose l1 or linf"))
    x = np.asarray(x, dtype=float) / _scale(x)
    a_eq, b_eq, a_ub, b_ub = _polytope(adm)
    n_y, n_ind = a_eq.shape[1], x.shape[1]
    y0 = effective(adm.fw, adm.nominal)[:n_ind]
    n_t = n_ind if norm == "l1" else 1
    t_of = np.eye(n_ind) if norm == "l1" else np.ones((n_ind, 1))
    eye = np.zeros((n_ind, n_y))
    eye[:, :n_ind] = np.eye(n_ind)
    d = np.zeros(n_y)
    d[:n_ind] = x[above] - x[below]  # (x_above - x_below) y <= -τ
    ub = np.vstack(
        [
            np.hstack([a_ub, np.zeros((len(a_ub), n_t))]),
            np.hstack([eye, -t_of]),  # y - t <= y0
            np.hstack([-eye, -t_of]),  # -y - t <= -y0
            np.concatenate([d, np.zeros(n_t)])[None],
        ]
    )
    rhs = np.concatenate([b_ub, y0, -y0, [-tau]])
    c = np.concatenate([np.zeros(n_y), np.ones(n_t)])
    res = linprog(
        c, A_ub=ub, b_ub=rhs, A_eq=np.hstack([a_eq, np.zeros((len(a_eq), n_t))]), b_eq=b_eq,
        bounds=[(0, 1)] * n_y + [(0, None)] * n_t, method="highs",
    )  # fmt: skip
    if res.status == 2:
        return Reversal(above, below, np.nan, None, norm)
    if res.status != 0:
        raise RuntimeError(f"reversal LP failed: {res.message}")
    return Reversal(above, below, float(res.fun), within_group(adm, res.x[:n_y]), norm)


def dominance(dmin: np.ndarray) -> list[tuple[int, int, float]]:
    """Pairs (a, b, margin) where a is strictly above b under every admissible weighting:
    $\\min (s_a - s_b) > 0$ (margin in the units of ``dmin``)."""
    a, b = np.nonzero(dmin > ROUNDING * np.nanmax(np.abs(dmin), initial=1.0))
    return [(int(i), int(j), float(dmin[i, j])) for i, j in zip(a, b, strict=True)]
