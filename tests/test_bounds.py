"""Exact rank bounds (index.analysis.bounds) against independent brute force, and on the real data.

Brute force, written here without the module's polytope, vertices or MILP: for a two-level
framework, the admissible set in the variables (w_p, z_pi) of the linearisation
(lo_pi w_p <= z_pi <= hi_pi w_p, sum_i z_pi = w_p, lo_p <= w_p <= hi_p, sum_p w_p = 1), and the best
(worst) rank of u as the smallest (largest) set of rivals S for which an LP finds weights with every
rival outside S not above u (every rival in S at least tau above u). Its LP solutions, plus a dense
grid of admissible weights, are then scored by the pipeline's own aggregate_tree.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from index import framework as fwmod
from index.analysis import bounds as bd
from index.errors import InputError
from index.pipeline import aggregate_tree, normalise_within_groups


def two_level(sizes: list[int], weights: list[float]) -> fwmod.Framework:
    aggs = [{"code": f"P{p}", "parent": "r", "weight": 1.0} for p in range(len(sizes))]
    inds, k = [], 0
    for p, n in enumerate(sizes):
        for i in range(n):
            inds.append({"code": f"x{p}_{i}", "parent": f"P{p}", "weight": weights[k]})
            k += 1
    return fwmod.from_dict({"index": {"code": "r"}, "aggregate": aggs, "indicator": inds})


def rank_of(scores: np.ndarray, u: int, tol: float = 1e-9) -> np.ndarray:
    """1 + number of units strictly above u (beyond a rounding tolerance), per row."""
    return 1 + (scores > scores[..., [u]] + tol).sum(axis=-1)


class Brute:
    """The admissible set of a two-level framework in (w, z), built from scratch."""

    def __init__(self, fw: fwmod.Framework, adm: bd.Admissible, order: list[tuple[int, int]]):
        self.fw, self.adm = fw, adm
        self.pillars = [int(p) for p, kids in fw.groups[:-1]]
        self.kids = {int(p): [int(k) for k in kids] for p, kids in fw.groups[:-1]}
        n_ind, n_p = fw.n_indicators, len(self.pillars)
        self.nv = n_ind + n_p  # z (one per indicator), then w (one per pillar)
        eq, ub = [], []
        for j, p in enumerate(self.pillars):
            row = np.zeros(self.nv)
            row[self.kids[p]] = 1.0
            row[n_ind + j] = -1.0
            eq.append(row)
            for i in self.kids[p]:
                up, dn = np.zeros(self.nv), np.zeros(self.nv)
                up[i], up[n_ind + j] = 1.0, -adm.hi[i]
                dn[i], dn[n_ind + j] = -1.0, adm.lo[i]
                ub += [up, dn]
        top = np.zeros(self.nv)
        top[n_ind:] = 1.0
        eq.append(top)
        for a, b in order:  # pillar positions → w columns
            row = np.zeros(self.nv)
            row[n_ind + self.pillars.index(b)], row[n_ind + self.pillars.index(a)] = 1.0, -1.0
            ub.append(row)
        self.a_eq, self.b_eq = np.array(eq), np.r_[np.zeros(len(eq) - 1), 1.0]
        self.a_ub, self.b_ub = np.array(ub), np.zeros(len(ub))
        lo_w = [adm.lo[p] for p in self.pillars]
        hi_w = [adm.hi[p] for p in self.pillars]
        self.bounds = [(0, 1)] * n_ind + list(zip(lo_w, hi_w, strict=True))

    def feasible(self, rows: np.ndarray, rhs: np.ndarray) -> np.ndarray | None:
        """A point with rows @ z <= rhs (z = effective indicator weights) in the set, or None."""
        a = np.zeros((len(rows), self.nv))
        a[:, : self.fw.n_indicators] = rows
        res = linprog(
            np.zeros(self.nv),
            A_ub=np.vstack([self.a_ub, a]) if len(a) else self.a_ub,
            b_ub=np.r_[self.b_ub, rhs],
            A_eq=self.a_eq,
            b_eq=self.b_eq,
            bounds=self.bounds,
            method="highs",
        )
        return res.x if res.status == 0 else None

    def within(self, sol: np.ndarray) -> np.ndarray:
        """(w, z) → within-group weights in fw.codes order."""
        v = np.ones(len(self.fw.codes))
        n_ind = self.fw.n_indicators
        for j, p in enumerate(self.pillars):
            w = sol[n_ind + j]
            v[p] = w
            z = sol[self.kids[p]]
            v[self.kids[p]] = z / w if w > 1e-12 else self.adm.nominal[self.kids[p]]
        return v

    def grid(self, steps: int) -> np.ndarray:
        """Every admissible within-group weighting on a grid of step 1/steps, per group."""
        per_group = []
        for parent, kids in self.fw.groups:
            pts = [
                np.array(c) / steps
                for c in itertools.product(range(steps + 1), repeat=len(kids))
                if sum(c) == steps
            ]
            pts = np.array(pts) if pts else np.empty((0, len(kids)))
            ok = ((pts >= self.adm.lo[kids] - 1e-12) & (pts <= self.adm.hi[kids] + 1e-12)).all(1)
            ok &= np.array(
                [all(p[a] >= p[b] for a, b in self.adm.group_order[parent]) for p in pts]
            )
            per_group.append((kids, pts[ok]))
        combos = itertools.product(*[range(len(p)) for _, p in per_group])
        out = []
        for combo in itertools.islice(combos, 20000):
            v = np.ones(len(self.fw.codes))
            for (kids, pts), c in zip(per_group, combo, strict=True):
                v[kids] = pts[c]
            out.append(v)
        return np.array(out).reshape(-1, len(self.fw.codes))


def brute_bounds(x, fw, adm, order, tau):
    """Best and worst rank per unit by enumerating rival sets (smallest / largest feasible)."""
    br = Brute(fw, adm, order)
    n = len(x)
    best, worst, points = np.zeros(n), np.zeros(n), []
    for u in range(n):
        rivals = [r for r in range(n) if r != u]
        for size in range(len(rivals) + 1):  # best: smallest S beating u
            hits = []
            for s in itertools.combinations(rivals, size):
                rest = [r for r in rivals if r not in s]
                sol = br.feasible(x[rest] - x[u], np.zeros(len(rest)))
                if sol is not None:
                    hits.append(br.within(sol))
                    break
            if hits:
                best[u] = 1 + size
                points += hits
                break
        for size in range(len(rivals), -1, -1):  # worst: largest S at least tau above u
            hits = []
            for s in itertools.combinations(rivals, size):
                sol = (
                    br.feasible(x[u] - x[list(s)], np.full(size, -tau))
                    if size
                    else br.feasible(np.empty((0, x.shape[1])), np.empty(0))
                )
                if sol is not None:
                    hits.append(br.within(sol))
                    break
            if hits:
                worst[u] = 1 + size
                points += hits
                break
    return best, worst, np.array(points), br


@st.composite
def problems(draw):
    n_p = draw(st.integers(1, 3))
    sizes = [draw(st.integers(1, 2 if n_p == 3 else 3)) for _ in range(n_p)]
    sizes = sizes if sum(sizes) <= 5 else sizes[:2]
    n_ind = sum(sizes)
    weights = draw(st.lists(st.integers(1, 4), min_size=n_ind, max_size=n_ind))
    n = draw(st.integers(2, 8))
    x = np.array(
        draw(st.lists(st.integers(0, 100), min_size=n * n_ind, max_size=n * n_ind)), dtype=float
    ).reshape(n, n_ind)
    box = draw(st.sampled_from([0.1, 0.3, 0.5, 0.8, 1.0]))
    order = draw(st.booleans()) and n_p >= 2
    return sizes, [float(w) for w in weights], x, box, order


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_exact_bounds_equal_brute_force(problem):
    sizes, weights, x, box, with_order = problem
    fw = two_level(sizes, weights)
    nominal = normalise_within_groups(fw, fw.nominal_weights())
    order = [(fw.codes.index("P1"), fw.codes.index("P0"))] if with_order else []  # P1 >= P0
    try:
        adm = bd.admissible(fw, nominal, box, order=order)
    except InputError:
        return  # order constraint incompatible with the box: nothing to bound
    rb = bd.exact_rank_bounds(x, adm)
    tau = bd.TAU * bd._scale(x)
    best, worst, points, br = brute_bounds(x, fw, adm, order, tau)
    np.testing.assert_array_equal(rb.best, best)
    np.testing.assert_array_equal(rb.worst, worst)
    # the brute-force LP solutions and a dense grid, scored by the pipeline's aggregation
    cands = np.concatenate([points, br.grid(12)])
    s, _ = aggregate_tree(x, fw, cands)
    for u in range(len(x)):
        r = rank_of(s[..., -1], u)
        assert r.min() == rb.best[u]
        assert r.max() <= rb.worst[u]
        # the weights reported for each bound realise it
        sb, _ = aggregate_tree(x, fw, rb.best_weights[u])
        sw, _ = aggregate_tree(x, fw, rb.worst_weights[u])
        assert rank_of(sb[:, -1], u, tau / 2) == rb.best[u]
        assert rank_of(sw[:, -1], u, tau / 2) == rb.worst[u]


@settings(max_examples=30, deadline=None)
@given(problems(), st.sampled_from(["l1", "linf"]))
def test_reversal_weights_swap_and_nothing_closer_does(problem, norm):
    sizes, weights, x, box, _ = problem
    fw = two_level(sizes, weights)
    adm = bd.admissible(fw, normalise_within_groups(fw, fw.nominal_weights()), box)
    s0, _ = aggregate_tree(x, fw, adm.nominal)
    order = np.argsort(-s0[:, -1], kind="stable")
    a, b = int(order[0]), int(order[1])
    if s0[a, -1] == s0[b, -1]:
        return
    dmin, _ = bd.pair_ranges(x / bd._scale(x), adm)
    rv = bd.reversal(x, adm, a, b, norm=norm)
    if np.isnan(rv.distance):
        assert dmin[a, b] > -bd.TAU  # no admissible weighting puts b TAU above a
        return
    s, _ = aggregate_tree(x, fw, rv.weights)
    assert s[b, -1] > s[a, -1]
    y0 = bd.effective(fw, adm.nominal)[: fw.n_indicators]
    y = bd.effective(fw, rv.weights)[: fw.n_indicators]
    size = (lambda d: np.abs(d).sum(axis=-1)) if norm == "l1" else (lambda d: np.abs(d).max(-1))
    assert size(y - y0) == pytest.approx(rv.distance, abs=1e-7)
    draws = bd.sample_admissible(adm, 2000, np.random.default_rng(0))
    sd, _ = aggregate_tree(x, fw, draws)
    swapped = sd[:, b, -1] - sd[:, a, -1] >= bd.TAU * bd._scale(x)
    dist = size(bd.effective(fw, draws)[:, : fw.n_indicators] - y0)
    assert (dist[swapped] >= rv.distance - 1e-7).all()


def test_group_vertices_match_linprog():
    rng = np.random.default_rng(4)
    lo, hi = np.array([0.1, 0.2, 0.0, 0.15]), np.array([0.5, 0.4, 0.6, 0.3])
    for order in ([], [(0, 1)], [(2, 0), (1, 3)]):
        verts = bd.group_vertices(lo, hi, order)
        ub = [np.eye(4)[b] - np.eye(4)[a] for a, b in order]
        for c in rng.normal(size=(50, 4)):
            res = linprog(
                -c, A_ub=np.array(ub) if ub else None, b_ub=np.zeros(len(ub)) if ub else None,
                A_eq=np.ones((1, 4)), b_eq=[1.0], bounds=list(zip(lo, hi, strict=True)),
                method="highs",
            )  # fmt: skip
            assert (verts @ c).max() == pytest.approx(-res.fun, abs=1e-9)


def test_parse_order_names_and_errors():
    fw = fwmod.load(fwmod.DEFAULT_FRAMEWORK)
    pillars = fw.children[fw.root.code]
    a, b = pillars[0], pillars[1]
    zh = fw.node(a).name_zh
    assert bd.parse_order(fw, [f"{a}>={b}"]) == [(fw.codes.index(a), fw.codes.index(b))]
    assert bd.parse_order(fw, [f"{zh} <= {b}"]) == [(fw.codes.index(b), fw.codes.index(a))]
    with pytest.raises(InputError, match="unknown node"):
        bd.parse_order(fw, [f"{a}>=nonsense"])
    leaf = fw.children[b][0]
    with pytest.raises(InputError, match="not siblings"):
        bd.parse_order(fw, [f"{a}>={leaf}"])


def test_empty_admissible_set_is_an_error():
    fw = two_level([2], [1.0, 3.0])
    nominal = normalise_within_groups(fw, fw.nominal_weights())  # x0_0 = 0.25, x0_1 = 0.75
    with pytest.raises(InputError, match="no admissible weights"):
        bd.admissible(fw, nominal, 0.1, order=[(0, 1)])  # x0_0 >= x0_1 impossible within ±10 %


@pytest.mark.parametrize("method", ["amean", "gmean", "hmean"])
def test_outer_ranges_contain_every_sampled_difference_with_gaps(method):
    fw = two_level([3, 2], [1.0, 2.0, 1.0, 1.0, 3.0])
    rng = np.random.default_rng(7)
    x = rng.uniform(1, 100, (7, 5))
    x[0, 1], x[3, 4] = np.nan, np.nan
    adm = bd.admissible(fw, normalise_within_groups(fw, fw.nominal_weights()), 0.6)
    w = np.concatenate([bd.sample_admissible(adm, 5000, rng), bd.vertex_samples(adm, 2000, rng)])
    s, _ = aggregate_tree(x, fw, w, method)
    d = s[:, :, None, -1] - s[:, None, :, -1]
    dmin, dmax = bd.pair_ranges_outer(x, adm, lambda level: method)
    assert (d >= dmin - 1e-9).all() and (d <= dmax + 1e-9).all()
    lo, hi = bd.score_ranges(x, adm, lambda level: method)  # exact: attained at vertices
    np.testing.assert_allclose(lo[:, -1], s[..., -1].min(axis=0), atol=1e-9)
    np.testing.assert_allclose(hi[:, -1], s[..., -1].max(axis=0), atol=1e-9)


def test_outer_ranges_equal_exact_ranges_without_gaps():
    fw = two_level([2, 3], [1.0, 1.0, 2.0, 1.0, 1.0])
    x = np.random.default_rng(2).uniform(0, 100, (6, 5))
    adm = bd.admissible(fw, normalise_within_groups(fw, fw.nominal_weights()), 0.5)
    lo, hi = bd.pair_ranges_outer(x, adm, lambda level: "amean")
    elo, ehi = bd.pair_ranges(x, adm)
    np.testing.assert_allclose(lo, elo, atol=1e-12)
    np.testing.assert_allclose(hi, ehi, atol=1e-12)
