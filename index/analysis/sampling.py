"""Designs for uncertainty and sensitivity analysis: uniform draws in [0, 1)^d and their mapping
to discrete alternatives, continuous ranges and perturbed weight sets.

Every uncertain input is one column of a uniform design. Discrete inputs (imputation, Winsorisation
limit, normaliser, aggregator, a weight *set*) are mapped to an alternative index; weights are
perturbed through a table of pre-drawn weight sets, so a run's weights are a deterministic function
of its design value (needed for Sobol' designs, where rows A and AB_i must share inputs).
Seeds: an ``int`` or a ``numpy.random.Generator``; the same seed gives the same design.
"""

from __future__ import annotations

import numpy as np

Seed = int | np.random.Generator | None


def _rng(seed: Seed) -> np.random.Generator:
    return np.random.default_rng(seed)


# ---- base designs ----------------------------------------------------------------------------
def monte_carlo(n: int, d: int, seed: Seed = None) -> np.ndarray:
    """Plain Monte Carlo: (n, d) i.i.d. U[0, 1) from ``numpy.random.default_rng(seed)``."""
    return _rng(seed).random((n, d))


def sobol_qmc(n: int, d: int, seed: Seed = None, *, scramble: bool = True) -> np.ndarray:
    """Scrambled Sobol' sequence, (n, d), via ``scipy.stats.qmc.Sobol`` (balance needs n = 2^m).

    The seed is turned into a Generator first, so ``seed=s`` here equals SALib's
    ``sample(..., seed=np.random.default_rng(s))``. scipy.stats loads here, only for Sobol'
    designs (a second of start-up otherwise paid by every user of this module).
    """
    from scipy.stats import qmc

    return qmc.Sobol(d, scramble=scramble, rng=_rng(seed)).random(n)


def base_design(n: int, d: int, method: str = "mc", seed: Seed = None) -> np.ndarray:
    """(n, d) uniform design by name: ``"mc"`` (:func:`monte_carlo`) or ``"sobol"`` (:func:`sobol_qmc`)."""
    if method == "mc":
        return monte_carlo(n, d, seed)
    if method == "sobol":
        return sobol_qmc(n, d, seed)
    raise ValueError(f"unknown sampling method '{method}'; choose 'mc' or 'sobol'")


# ---- Saltelli designs for Sobol' indices -------------------------------------------------------
def _split_base(base: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    base = np.asarray(base, dtype=float)
    if base.ndim != 2 or base.shape[1] % 2:
        raise ValueError("base must be (N, 2d): A = first d columns, B = last d")
    d = base.shape[1] // 2
    return base[:, :d], base[:, d:], d


def saltelli_blocks(base: np.ndarray) -> np.ndarray:
    """COINr ``SA_sample`` layout, (N(d+2), d): rows ``[A; B; AB_1; …; AB_d]`` block-stacked.

    ``base`` is (N, 2d) (COINr: ``matrix(runif(2Nd), N, 2d)``); AB_i is A with column i from B.
    """
    a, b, d = _split_base(base)
    ab = np.repeat(a[None], d, axis=0)  # (d, N, d)
    idx = np.arange(d)
    ab[idx, :, idx] = b.T
    return np.concatenate([a, b, ab.reshape(-1, d)])


def saltelli_interleaved(base: np.ndarray, *, second_order: bool = False) -> np.ndarray:
    """SALib ``sample.sobol`` layout: per base row, A, AB_1…AB_d, [BA_1…BA_d,] B.

    Gives (N(d+2), d) rows, or (N(2d+2), d) with ``second_order`` (BA_i = B with column i from A).
    """
    a, b, d = _split_base(base)
    n = a.shape[0]
    idx = np.arange(d)
    ab = np.repeat(a[:, None], d, axis=1)  # (N, d, d)
    ab[:, idx, idx] = b
    parts = [a[:, None], ab]
    if second_order:
        ba = np.repeat(b[:, None], d, axis=1)
        ba[:, idx, idx] = a
        parts.append(ba)
    parts.append(b[:, None])
    return np.concatenate(parts, axis=1).reshape(-1, d) if n else np.empty((0, d))


def blocks_to_interleaved(n: int, d: int) -> np.ndarray:
    """Row permutation p with ``saltelli_interleaved(base) == saltelli_blocks(base)[p]``."""
    s = np.arange(n)[:, None]
    cols = [s, *(s + (2 + i) * n for i in range(d)), s + n]
    return np.concatenate(cols, axis=1).reshape(-1)


def sa_design(
    n: int, d: int, *, method: str = "mc", layout: str = "coinr", seed: Seed = None
) -> np.ndarray:
    """A Saltelli design of N(d+2) runs from an (N, 2d) base drawn with ``method``.

    ``layout="coinr"`` block-stacks (COINr), ``"salib"`` interleaves (SALib, first order only).
    """
    base = base_design(n, 2 * d, method, seed)
    if layout == "coinr":
        return saltelli_blocks(base)
    if layout == "salib":
        return saltelli_interleaved(base)
    raise ValueError(f"unknown layout '{layout}'; choose 'coinr' or 'salib'")


# ---- mapping uniform draws to inputs ---------------------------------------------------------------
def discrete_floor(u: np.ndarray, n_alt: int | np.ndarray) -> np.ndarray:
    """Alternative index $\\min(\\lfloor u\\,n \\rfloor, n-1)$ (0-based), column-wise ``n_alt``.

    Equal-probability bins over [0, 1): the mapping to use with Sobol' or any design in [0, 1).
    """
    n = np.asarray(n_alt)
    return np.minimum(np.floor(np.asarray(u) * n), n - 1).astype(np.intp)


def _r_cut_breaks(lo: float, hi: float, n: int) -> np.ndarray:
    """R ``cut(x, n)`` breaks: n+1 equally spaced points over [lo, hi], the ends pushed out by
    range/1000 (for a zero range: by |lo|/1000, or 1/1000 when lo = 0)."""
    dx = hi - lo
    if dx == 0:
        dx = abs(lo) if lo != 0 else 1.0
        lo, hi = lo - dx / 1000, hi + dx / 1000
        dx = hi - lo
        breaks = lo + np.arange(n + 1) * (dx / n)
        breaks[-1] = hi
        return breaks
    breaks = lo + np.arange(n + 1) * (dx / n)
    breaks[0], breaks[-1] = lo - dx / 1000, hi + dx / 1000
    return breaks


def discrete_cut(u: np.ndarray, n_alt: int | np.ndarray) -> np.ndarray:
    """COINr's mapping ``cut(u, n_alt)`` (0-based): equal-width bins over the **observed range**
    of each column of ``u`` (runs, d), right-closed $(b_k, b_{k+1}]$ as R's ``.bincode``.

    With n_alt = 1 every run gets alternative 0 (R's ``cut`` refuses one interval).
    """
    u = np.asarray(u, dtype=float)
    flat = u.ndim == 1
    u2 = u[:, None] if flat else u
    n = np.broadcast_to(np.asarray(n_alt), (u2.shape[1],))
    out = np.zeros(u2.shape, dtype=np.intp)
    for j in range(u2.shape[1]):  # one column per uncertain input: a handful
        if n[j] > 1 and u2.shape[0]:
            br = _r_cut_breaks(u2[:, j].min(), u2[:, j].max(), int(n[j]))
            out[:, j] = np.searchsorted(br, u2[:, j], side="left") - 1
    return out[:, 0] if flat else out


def to_alternatives(u: np.ndarray, n_alt: int | np.ndarray, mapping: str = "floor") -> np.ndarray:
    """Map uniform draws to 0-based alternative indices: ``"floor"`` or ``"cut"`` (COINr)."""
    if mapping == "floor":
        return discrete_floor(u, n_alt)
    if mapping == "cut":
        return discrete_cut(u, n_alt)
    raise ValueError(f"unknown mapping '{mapping}'; choose 'floor' or 'cut'")


def to_continuous(u: np.ndarray, low: float | np.ndarray, high: float | np.ndarray) -> np.ndarray:
    """Continuous uniform input on [low, high]: $x = \\text{low} + u(\\text{high} - \\text{low})$."""
    low = np.asarray(low, dtype=float)
    return low + np.asarray(u) * (np.asarray(high, dtype=float) - low)


# ---- weight perturbations --------------------------------------------------------------------
def noisy_weights(
    weights: np.ndarray, noise: float | np.ndarray, n_sets: int, seed: Seed = None
) -> np.ndarray:
    """COINr ``get_noisy_weights``: (n_sets, k) sets $w' = w + (2U - 1)\\,f\\,w$, U ~ U[0,1) per weight.

    ``noise`` is the NoiseFactor f per weight (broadcast to ``weights``); put 0 where a level is
    not perturbed (see :func:`noise_by_level`).
    """
    w = np.asarray(weights, dtype=float)
    f = np.broadcast_to(np.asarray(noise, dtype=float), w.shape)
    u = _rng(seed).random((n_sets, w.size))
    return w + (2.0 * u - 1.0) * f * w


def noise_by_level(levels: np.ndarray, factors: dict[int, float]) -> np.ndarray:
    """Per-weight NoiseFactor from a {level: factor} map (0 for unlisted levels)."""
    levels = np.asarray(levels)
    return np.array([factors.get(int(lev), 0.0) for lev in levels], dtype=float)


def dirichlet_weights(
    weights: np.ndarray,
    concentration: float,
    n_sets: int,
    seed: Seed = None,
    *,
    groups: np.ndarray | None = None,
    perturb: np.ndarray | None = None,
) -> np.ndarray:
    """(n_sets, k) weight sets drawn from a Dirichlet centred on the nominal weights, per group.

    Within each sibling group g with nominal weights $w_i$ and $p_i = w_i / \\sum_g w$, draw
    $q \\sim \\mathrm{Dir}(c\\,p)$ and return $q_i \\sum_g w$: the mean is the nominal weight and
    $\\mathrm{Var}(q_i) = p_i(1 - p_i)/(c + 1)$, so larger c = less noise. ``groups`` (k,) labels
    the sibling group of each weight (default: one group); ``perturb`` (k,) bool leaves the other
    weights at their nominal value (a group is perturbed if any of its members is).
    """
    w = np.asarray(weights, dtype=float)
    if concentration <= 0:
        raise ValueError("Dirichlet concentration must be > 0")
    g = (
        np.zeros(w.size, dtype=np.intp)
        if groups is None
        else np.unique(groups, return_inverse=True)[1]
    )
    onehot = np.eye(g.max() + 1)[g]  # (k, n_groups)
    total = w @ onehot  # nominal group sums
    p = w / total[g]
    gam = _rng(seed).gamma(concentration * p, size=(n_sets, w.size))
    q = gam / (gam @ onehot)[:, g]
    out = q * total[g]
    if perturb is not None:
        keep = ~(np.asarray(perturb, dtype=bool) @ onehot > 0)[g]
        out[:, keep] = w[keep]
    return out
