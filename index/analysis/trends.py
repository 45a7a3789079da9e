"""Growth over a panel (COINr ``CAGR``, ``prc_change``, ``get_trends``).

Each function takes one series ``y`` indexed by years ``t`` (NaN in ``y`` = not observed; the
observed points are used in time order). Fewer than two observations give NaN.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from index.errors import InputError


def _observed(y, t) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float)
    t = np.asarray(t, dtype=float)
    if y.shape != t.shape or y.ndim != 1:
        raise InputError(f"a trend needs y and t of the same 1-D shape, got {y.shape}, {t.shape}")
    if np.isnan(t).any():
        raise InputError("trend: the time points must not be missing")
    ok = ~np.isnan(y)
    order = np.argsort(t[ok], kind="stable")
    return y[ok][order], t[ok][order]


def cagr(y, t) -> float:
    """Compound annual growth rate $(y_{last}/y_{first})^{1/(t_{last} - t_{first})} - 1$ between
    the first and the latest observation; 0 when they are equal (COINr: also when both are 0);
    $+\\infty$ from a first value of 0 and NaN when the two values differ in sign (as R computes
    them)."""
    y, t = _observed(y, t)
    if y.size < 2:
        return float("nan")
    if y[-1] == y[0]:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return float((y[-1] / y[0]) ** (1.0 / (t[-1] - t[0])) - 1.0)


def prc_change(y, t, per: float = 1.0) -> float:
    """Percentage change per ``per`` time units (COINr ``prc_change``).

    Two observations: $100\\,(y_{last} - y_{first})/y_{first} \\cdot per/(t_{last} - t_{first})$.
    Three or more: from the least-squares line $y = a + b t$,
    $100\\, b\\, per / (a + b\\, t_{first})$ (the slope relative to the fitted first value).
    A constant series gives 0.
    """
    y, t = _observed(y, t)
    if y.size < 2:
        return float("nan")
    if np.all(y == y[0]):
        return 0.0
    if y.size == 2:
        return float((y[-1] - y[0]) * 100.0 / y[0] * (per / (t[-1] - t[0])))
    slope, intercept = np.polyfit(t, y, 1)
    return float(slope * per / (intercept + slope * t[0]) * 100.0)


TRENDS: dict[str, Callable[..., float]] = {"CAGR": cagr, "prc_change": prc_change}


def trends(
    panel: np.ndarray,
    years: Sequence[int],
    units: Sequence[str],
    codes: Sequence[str],
    *,
    metric: str = "CAGR",
    directions: Sequence[float] | np.ndarray | None = None,
    use_latest: int | None = None,
) -> pd.DataFrame:
    """COINr ``get_trends``: ``metric`` of every (unit, code) series of ``panel (years, units, codes)``.

    The metric is multiplied by the direction (a falling negative indicator is an improvement).
    ``use_latest`` = n keeps the n time points ending at the series' latest observation (NaN if the
    panel does not reach that far back; COINr also gives NaN when it reaches exactly the first
    year, an off-by-one in its ``i_first > 1`` test). Columns: unit, code, metric, avail (share of the years
    observed), t_first, t_latest.
    """
    if metric not in TRENDS:
        raise InputError(f"unknown trend metric '{metric}'; choose from {sorted(TRENDS)}")
    x = np.asarray(panel, dtype=float)
    t = np.asarray(years, dtype=float)
    if x.shape != (len(years), len(units), len(codes)):
        raise InputError(f"panel shape {x.shape} does not match years × units × codes")
    d = np.ones(len(codes)) if directions is None else np.asarray(directions, dtype=float)
    order = np.argsort(t, kind="stable")
    x, t = x[order], t[order]
    rows = []
    for i, u in enumerate(units):
        for j, c in enumerate(codes):
            y = x[:, i, j]
            seen = np.nonzero(~np.isnan(y))[0]
            value = float("nan")
            first = 0 if use_latest is None or not seen.size else seen[-1] - int(use_latest) + 1
            if seen.size >= 2 and first >= 0:
                value = TRENDS[metric](y[first : seen[-1] + 1], t[first : seen[-1] + 1]) * d[j]
            rows.append(
                (
                    u,
                    c,
                    value,
                    seen.size / len(t),
                    t[seen[0]] if seen.size > 1 else np.nan,
                    t[seen[-1]] if seen.size > 1 else np.nan,
                )
            )
    return pd.DataFrame(rows, columns=["unit", "code", metric, "avail", "t_first", "t_latest"])
