"""First-order and total Sobol' indices from the outputs of a Saltelli design.

One estimator, two conventions, any number of outputs at once (``y`` is (runs,) or (runs, *outputs),
e.g. one column per region):

- ``convention="coinr"`` (COINr ``SA_estimate``): $V = \\mathrm{var}(y_A \\cup y_B)$ with ddof = 1,
  y not centred; $S_i = \\overline{y_B (y_{AB_i} - y_A)} / V$ (Saltelli et al. 2010);
  $S_{Ti} = \\sum (y_A - y_{AB_i})^2 / (2NV)$ (Jansen 1999); bootstrap percentile intervals with the
  variance held fixed.
- ``convention="salib"`` (SALib ``analyze.sobol``): y standardised over all runs first, ddof = 0,
  the same two formulas ($S_{Ti} = \\tfrac12\\overline{(y_A - y_{AB_i})^2}/V$); normal-approximation
  intervals $\\pm z\\,\\mathrm{sd}$ of bootstrap estimates with the variance recomputed per resample,
  drawn exactly as SALib does (``default_rng(seed).integers(N, size=(N, n_boot))``), so the same
  Y and seed give SALib's numbers.

Bootstrap resamples are applied as a count matrix C (n_boot, N): a resampled mean is C @ terms / N,
so all variables and outputs are bootstrapped in one matrix product. Zero-variance outputs give NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from index.analysis.sampling import Seed

CONVENTIONS = ("coinr", "salib")


@dataclass(frozen=True)
class SobolResult:
    """Indices (d, *outputs); ``*_ci`` (2, d, *outputs) = lower, upper bound (None without bootstrap)."""

    S1: np.ndarray
    ST: np.ndarray
    variance: np.ndarray  # (*outputs,) output variance V used as the denominator
    S1_ci: np.ndarray | None = None
    ST_ci: np.ndarray | None = None

    def to_frame(self, names: list[str], outputs: list[str] | None = None) -> pd.DataFrame:
        """Long table: output (if any), variable, S1, ST [, S1_lo, S1_hi, ST_lo, ST_hi]."""
        d = self.S1.shape[0]
        s1 = self.S1.reshape(d, -1)
        m = s1.shape[1]
        outs = outputs if outputs is not None else list(range(m))
        cols = {
            "output": np.tile(np.asarray(outs, dtype=object), d),
            "variable": np.repeat(np.asarray(names, dtype=object), m),
            "S1": s1.ravel(),
            "ST": self.ST.reshape(d, -1).ravel(),
        }
        if self.S1_ci is not None and self.ST_ci is not None:
            s1c, stc = self.S1_ci.reshape(2, -1), self.ST_ci.reshape(2, -1)
            cols |= {"S1_lo": s1c[0], "S1_hi": s1c[1], "ST_lo": stc[0], "ST_hi": stc[1]}
        df = pd.DataFrame(cols)
        return df.drop(columns="output") if self.S1.ndim == 1 else df


def split_runs(
    y: np.ndarray, n: int, d: int, layout: str = "coinr", *, second_order: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split outputs of a Saltelli design into y_A (N, …), y_B (N, …) and y_AB (d, N, …).

    ``layout="coinr"``: rows [A; B; AB_1; …; AB_d]. ``"salib"``: per sample A, AB_1…AB_d,
    [BA_1…BA_d if ``second_order``,] B.
    """
    y = np.asarray(y, dtype=float)
    out = y.shape[1:]
    if layout == "coinr":
        if y.shape[0] != n * (d + 2):
            raise ValueError(f"expected N(d+2) = {n * (d + 2)} runs, got {y.shape[0]}")
        return y[:n], y[n : 2 * n], y[2 * n :].reshape(d, n, *out)
    if layout == "salib":
        step = 2 * d + 2 if second_order else d + 2
        if y.shape[0] != n * step:
            raise ValueError(f"expected N·{step} = {n * step} runs, got {y.shape[0]}")
        g = y.reshape(n, step, *out)
        return g[:, 0], g[:, step - 1], np.moveaxis(g[:, 1 : d + 1], 1, 0)
    raise ValueError(f"unknown layout '{layout}'; choose 'coinr' or 'salib'")


def resample_counts(n: int, n_boot: int, seed: Seed = None) -> np.ndarray:
    """(n_boot, n) counts of each sample in each bootstrap resample (with replacement).

    Draws ``default_rng(seed).integers(n, size=(n, n_boot))`` — column k is resample k, as SALib.
    """
    r = np.random.default_rng(seed).integers(n, size=(n, n_boot))
    flat = (r + n * np.arange(n_boot)).ravel()
    return np.bincount(flat, minlength=n * n_boot).reshape(n_boot, n).astype(float)


def _ratio(num: np.ndarray, den: np.ndarray, ok: np.ndarray | bool = True) -> np.ndarray:
    """num / den where ``ok`` and den > 0, else NaN."""
    ok = ok & (den > 0)
    return np.divide(
        num, den, out=np.full(np.broadcast_shapes(num.shape, den.shape), np.nan), where=ok
    )


def sobol_indices(
    y: np.ndarray,
    n: int,
    d: int,
    *,
    layout: str = "coinr",
    convention: str = "coinr",
    n_boot: int = 0,
    conf_level: float | None = None,
    seed: Seed = None,
    second_order: bool = False,
) -> SobolResult:
    """First-order and total Sobol' indices of every output column of ``y``.

    ``conf_level`` defaults to 0.90 for ``coinr`` (the 5 % and 95 % bootstrap percentiles) and to
    0.95 for ``salib`` (SALib's default). ``second_order`` only describes a SALib layout with BA rows
    (second-order indices are not computed).
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown convention '{convention}'; choose from {list(CONVENTIONS)}")
    y = np.asarray(y, dtype=float)
    if convention == "salib":
        with np.errstate(invalid="ignore", divide="ignore"):
            y = (y - y.mean(axis=0)) / y.std(axis=0)
    ya, yb, yab = split_runs(y, n, d, layout, second_order=second_order)
    out = ya.shape[1:]
    ddof = 1 if convention == "coinr" else 0
    y_ab = np.concatenate([ya, yb])
    var = y_ab.var(axis=0, ddof=ddof)
    varies = np.ptp(y_ab, axis=0) > 0  # a constant output has no sensitivity: NaN
    s1_terms = yb * (yab - ya)  # (d, N, ...)
    st_terms = (ya - yab) ** 2
    s1 = _ratio(s1_terms.mean(axis=1), var, varies)
    st = _ratio(st_terms.mean(axis=1), 2.0 * var, varies)
    if n_boot <= 0:
        return SobolResult(s1, st, var)

    c = resample_counts(n, n_boot, seed)  # (B, N)

    def boot_mean(terms: np.ndarray) -> np.ndarray:  # (d, N, *out) -> (B, d, *out)
        t = np.moveaxis(terms, 1, 0).reshape(n, -1)
        return (c @ t / n).reshape(n_boot, d, *out)

    if convention == "coinr":
        level = 0.90 if conf_level is None else conf_level
        s1_b = _ratio(boot_mean(s1_terms), var, varies)
        st_b = _ratio(boot_mean(st_terms), 2.0 * var, varies)
        q = [(1 - level) / 2, 1 - (1 - level) / 2]
        return SobolResult(s1, st, var, np.quantile(s1_b, q, axis=0), np.quantile(st_b, q, axis=0))
    level = 0.95 if conf_level is None else conf_level
    flat_a, flat_b = ya.reshape(n, -1), yb.reshape(n, -1)
    m1 = c @ (flat_a + flat_b) / (2 * n)
    m2 = c @ (flat_a**2 + flat_b**2) / (2 * n)
    var_b = (m2 - m1**2).reshape(n_boot, 1, *out)
    s1_b = _ratio(boot_mean(s1_terms), var_b, varies)
    st_b = _ratio(boot_mean(st_terms), 2.0 * var_b, varies)
    z = norm.ppf(0.5 + level / 2)
    h1, ht = z * s1_b.std(axis=0, ddof=1), z * st_b.std(axis=0, ddof=1)
    return SobolResult(s1, st, var, np.stack([s1 - h1, s1 + h1]), np.stack([st - ht, st + ht]))
