"""Outlier treatment (COIN Tool / COINr ``Treat`` default) with a per-indicator, per-point log.

Default (``method="winsorise"``), per indicator and ignoring NaN:

1. pass test: $|\\mathrm{skew}| < 2$ OR $\\mathrm{kurt} < 3.5$ (adjusted estimators, excess kurtosis);
2. if it fails, Winsorise: while failing and ``nwin < winmax``, replace every value equal to the
   max (skew >= 0) or the min (skew < 0) by the max/min of the remaining values; ``nwin`` = size of
   the last replaced top set + size of the last replaced bottom set (a cumulative count per side,
   since earlier Winsorised points tie with the new extreme);
3. if it still fails, apply ``f2`` (default ``log_CT``) to the ORIGINAL values, whatever its result.

The same names as ``method`` apply a transformation to every indicator unconditionally.
Treatment is a per-column decision, so it loops over columns (and leading batch axes) in Python.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import boxcox as _boxcox

from index.errors import InputError
from index.methods import IndicatorError


def _min(x: np.ndarray) -> np.ndarray:
    return np.fmin.reduce(x, axis=-2, keepdims=True)


def _max(x: np.ndarray) -> np.ndarray:
    return np.fmax.reduce(x, axis=-2, keepdims=True)


def _require(ok: np.ndarray, what: str) -> None:
    bad = ~ok.reshape(-1, ok.shape[-1]).all(axis=0)
    if bad.any():
        raise IndicatorError(np.nonzero(bad)[0], what)


def none(x: np.ndarray) -> np.ndarray:
    """No treatment."""
    return np.asarray(x, dtype=float)


def log_CT(x: np.ndarray) -> np.ndarray:  # noqa: N802 - COINr's name
    """COIN Tool log: $\\ln(x - \\min x + 0.01(\\max x - \\min x))$."""
    x = np.asarray(x, dtype=float)
    lo, hi = _min(x), _max(x)
    with np.errstate(divide="ignore"):
        return np.log(x - lo + 0.01 * (hi - lo))


def log_CT_orig(x: np.ndarray) -> np.ndarray:  # noqa: N802 - COINr's name
    """Original COIN Tool log: $\\ln(x - \\min x + 1)$."""
    x = np.asarray(x, dtype=float)
    return np.log(x - _min(x) + 1.0)


def log(x: np.ndarray) -> np.ndarray:
    """Natural log $\\ln x$; every value must be > 0."""
    x = np.asarray(x, dtype=float)
    _require(np.isnan(x) | (x > 0), "log needs all values > 0 (use log1p or log_CT)")
    return np.log(x)


def log1p(x: np.ndarray) -> np.ndarray:
    """$\\ln(1 + x)$ for non-negative data (counts, shares); every value must be >= 0."""
    x = np.asarray(x, dtype=float)
    _require(np.isnan(x) | (x >= 0), "log1p needs all values >= 0")
    return np.log1p(x)


def boxcox(x: np.ndarray, *, lmbda: float = 0.5) -> np.ndarray:
    """Box-Cox of the shifted data $y = x - \\min x + 1$: $(y^\\lambda - 1)/\\lambda$, $\\ln y$ at 0."""
    x = np.asarray(x, dtype=float)
    return _boxcox(x - _min(x) + 1.0, lmbda)


def log_CT_plus(x: np.ndarray) -> np.ndarray:  # noqa: N802 - COINr's name
    """COINr ``log_CT_plus``: a log that reduces skew in either direction, per indicator.

    With $a = 0.01(\\max x - \\min x)$: $\\ln(x - \\min x + a)$ if the skewness is positive, else
    $-\\ln(\\max x + a - x)$ (the mirror image, which keeps the order of the values). The sign
    of the adjusted skewness is the sign of the third central moment $m_3$.
    """
    x = np.asarray(x, dtype=float)
    lo, hi = _min(x), _max(x)
    a = 0.01 * (hi - lo)
    n = (~np.isnan(x)).sum(axis=-2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        dev = x - np.nansum(x, axis=-2, keepdims=True) / n
        positive = np.nansum(dev**3, axis=-2, keepdims=True) > 0
        return np.where(positive, np.log(x - lo + a), -np.log(hi + a - x))


def log_GII(x: np.ndarray) -> np.ndarray:  # noqa: N802 - COINr's name
    """GII 2020 log (COINr ``log_GII``): $\\ln\\big((\\max x - 1)(x - \\min x)/(\\max x - \\min x) + 1\\big)$.

    Maps $[\\min x, \\max x]$ onto $[0, \\ln \\max x]$; needs $\\max x > 0$, and reverses the order of
    the values when $\\max x < 1$ (COINr's caveat). A constant indicator raises.
    """
    x = np.asarray(x, dtype=float)
    lo, hi = _min(x), _max(x)
    present = ~np.isnan(x)
    _require(~present | (hi > 0), "log_GII needs max x > 0")
    _require(~present | (hi > lo), "log_GII needs max x > min x (the indicator is constant)")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log((hi - 1.0) * (x - lo) / (hi - lo) + 1.0)


TRANSFORMS: dict[str, Callable[..., np.ndarray]] = {
    "none": none,
    "log_CT": log_CT,
    "log_CT_orig": log_CT_orig,
    "log": log,
    "log1p": log1p,
    "boxcox": boxcox,
    "log_CT_plus": log_CT_plus,
    "log_GII": log_GII,
}


def skew_kurt(v: np.ndarray) -> tuple[float, float]:
    """Adjusted skewness and excess kurtosis (e1071 type 2 = pandas); NaN if < 4 values or constant.

    $G_1 = \\sqrt{n(n-1)}/(n-2)\\,m_3/m_2^{3/2}$,
    $G_2 = ((n^2-1)\\,m_4/m_2^2 - 3(n-1)^2)/((n-2)(n-3))$: scipy's ``skew``/``kurtosis(bias=False)``
    arithmetic step for step (bit-identical), without its per-call overhead (the Winsorisation loop
    calls this for every indicator and step, and the uncertainty analysis re-runs it per variant).
    """
    v = v[~np.isnan(v)]
    if v.size < 4 or v.min() == v.max():
        return np.nan, np.nan
    n = v.size
    mean = np.add.reduce(v) / n  # = v.mean() bit for bit, without its wrapper
    d = v - mean
    d2 = d**2
    m2, m3, m4 = np.add.reduce(d2) / n, np.add.reduce(d2 * d) / n, np.add.reduce(d2**2) / n
    if m2 <= (np.finfo(float).eps * mean) ** 2:  # scipy: numerically constant
        return np.nan, np.nan
    g1 = ((n - 1.0) * n) ** 0.5 / (n - 2.0) * m3 / m2**1.5
    g2 = 1.0 / (n - 2) / (n - 3) * ((n**2 - 1.0) * m4 / m2**2.0 - 3 * (n - 1) ** 2.0) + 3.0 - 3.0
    return float(g1), float(g2)


def check_skew_kurt(v: np.ndarray, skew_thresh: float, kurt_thresh: float) -> dict:
    """COINr ``check_SkewKurt``: Pass = |skew| < skew_thresh OR kurt < kurt_thresh (NaN if undefined)."""
    sk, kt = skew_kurt(v)
    ok = np.nan if np.isnan(sk) else bool(abs(sk) < skew_thresh or kt < kurt_thresh)
    return {"Pass": ok, "Skew": sk, "Kurt": kt}


@dataclass(frozen=True)
class Winsorised:
    x: np.ndarray
    nwin: int
    high: np.ndarray  # bool: points in the last replaced top set
    low: np.ndarray  # bool: points in the last replaced bottom set


def winsorise(
    v: np.ndarray,
    *,
    winmax: int | None = 5,
    skew_thresh: float = 2.0,
    kurt_thresh: float = 3.5,
    force_win: bool = False,
) -> Winsorised:
    """COINr ``winsorise`` on a 1-D vector without NaN (loop described in the module docstring).

    ``force_win`` keeps going until ``nwin >= winmax`` whatever the pass test says.
    """
    v = np.array(v, dtype=float)
    high = np.zeros(v.shape, bool)
    low = np.zeros(v.shape, bool)
    nwin = 0
    passing = check_skew_kurt(v, skew_thresh, kurt_thresh)["Pass"] is True
    while (force_win or not passing) and (winmax is None or nwin < winmax):
        sk, _ = skew_kurt(v)
        if np.isnan(sk):  # constant (or < 4 values): nothing left to Winsorise
            break
        if sk >= 0:
            high = v == v.max()
            v[high] = v[~high].max()
        else:
            low = v == v.min()
            v[low] = v[~low].min()
        nwin = int(high.sum() + low.sum())
        passing = check_skew_kurt(v, skew_thresh, kurt_thresh)["Pass"] is True
    return Winsorised(v, nwin, high, low)


# Every name ``treat(method=...)`` accepts: the two-stage COINr procedure (``winsorise``, whose
# entry is the 1-D Winsorisation step) and the transformations applied to every indicator.
TREATMENTS: dict[str, Callable] = {"winsorise": winsorise, **TRANSFORMS}

DETAIL_COLUMNS = (
    "treatment",
    *(f"check_SkewKurt0.{k}" for k in ("Pass", "Skew", "Kurt")),
    "winsorise.nwin",
    *(f"check_SkewKurt1.{k}" for k in ("Pass", "Skew", "Kurt")),
    *(f"check_SkewKurt2.{k}" for k in ("Pass", "Skew", "Kurt")),
)


@dataclass(frozen=True)
class TreatResult:
    """Treated data, one log row per (batch item, indicator), and a flag per point ("" = untouched)."""

    x: np.ndarray
    details: pd.DataFrame
    flags: np.ndarray


def _transform(name: str, v: np.ndarray, lmbda: float) -> np.ndarray:
    col = v[:, None]
    out = boxcox(col, lmbda=lmbda) if name == "boxcox" else TRANSFORMS[name](col)
    return out[:, 0]


def _check(rec: dict, stage: int, v: np.ndarray, spec: dict) -> bool | float:
    res = check_skew_kurt(v, spec["skew_thresh"], spec["kurt_thresh"])
    rec.update({f"check_SkewKurt{stage}.{k}": val for k, val in res.items()})
    return res["Pass"]


def _treat_column(v: np.ndarray, spec: dict) -> tuple[np.ndarray, np.ndarray, dict]:
    """Treat the non-NaN values ``v`` of one indicator; return values, point flags, log record."""
    rec: dict = {"treatment": "none"}
    flags = np.full(v.shape, "", dtype=object)
    method = spec["method"]
    passed = _check(rec, 0, v, spec)
    if method == "none":
        return v, flags, rec
    if method != "winsorise":
        out = _transform(method, v, spec["boxcox_lambda"])
        _check(rec, 1, out, spec)
        rec["treatment"] = method
        flags[:] = method
        return out, flags, rec
    if passed is not False and not spec["force_win"]:  # passes, or undefined (COINr: untreated)
        return v, flags, rec
    win = winsorise(
        v,
        winmax=spec["winmax"],
        skew_thresh=spec["skew_thresh"],
        kurt_thresh=spec["kurt_thresh"],
        force_win=spec["force_win"],
    )
    rec["winsorise.nwin"] = win.nwin
    if win.nwin:
        rec["treatment"] = "winsorise"
    flags[win.high] = "winhi"
    flags[win.low] = "winlo"
    if _check(rec, 1, win.x, spec) is not False or spec["f2"] == "none":
        return win.x, flags, rec
    out = _transform(spec["f2"], v, spec["boxcox_lambda"])  # on the ORIGINAL values
    _check(rec, 2, out, spec)
    rec["treatment"] = spec["f2"]
    flags[:] = spec["f2"]
    return out, flags, rec


def _specs(n_ind: int, defaults: dict, per_indicator: dict[int, dict] | None) -> list[dict]:
    per_indicator = per_indicator or {}
    bad_cols = [
        j for j in per_indicator if not (isinstance(j, int | np.integer) and 0 <= j < n_ind)
    ]
    if bad_cols:
        raise InputError(
            f"treat: per_indicator keys must be column indices 0..{n_ind - 1}: {bad_cols}"
        )
    specs = []
    for j in range(n_ind):
        extra = per_indicator.get(j, {})
        unknown = set(extra) - set(defaults)
        if unknown:
            raise InputError(f"treat: column {j}: unknown option(s) {sorted(unknown)}")
        spec = {**defaults, **extra}
        if spec["method"] not in TREATMENTS:
            raise InputError(
                f"treat: unknown method '{spec['method']}'; choose from {sorted(TREATMENTS)}"
            )
        if spec["f2"] not in TRANSFORMS:
            raise InputError(f"treat: unknown f2 '{spec['f2']}'; choose from {sorted(TRANSFORMS)}")
        if spec["force_win"] and spec["winmax"] is None:
            raise InputError(f"treat: column {j}: force_win needs a finite winmax")
        specs.append(spec)
    return specs


def treat(
    x,
    *,
    method: str = "winsorise",
    winmax: int | None = 5,
    skew_thresh: float = 2.0,
    kurt_thresh: float = 3.5,
    f2: str = "log_CT",
    boxcox_lambda: float = 0.5,
    force_win: bool = False,
    per_indicator: dict[int, dict] | None = None,
) -> TreatResult:
    """Treat every indicator column of ``x`` (..., n_units, n_ind); see the module docstring.

    ``per_indicator`` maps a column index to overrides of any keyword here (e.g.
    ``{3: {"method": "none"}, 7: {"winmax": 2, "force_win": True}}``). ``winmax=None`` = no limit.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim < 2:
        raise InputError(f"treat: x must be (..., n_units, n_ind), got shape {x.shape}")
    defaults = dict(
        method=method,
        winmax=winmax,
        skew_thresh=skew_thresh,
        kurt_thresh=kurt_thresh,
        f2=f2,
        boxcox_lambda=boxcox_lambda,
        force_win=force_win,
    )
    specs = _specs(x.shape[-1], defaults, per_indicator)
    out = x.copy()
    flags = np.full(x.shape, "", dtype=object)
    records = []
    for item in np.ndindex(x.shape[:-2]):
        for j, spec in enumerate(specs):
            col = x[item + (slice(None), j)]
            present = ~np.isnan(col)
            try:
                values, point_flags, rec = _treat_column(col[present], spec)
            except IndicatorError as exc:
                raise IndicatorError([j], exc.reason) from None
            out[item + (present, j)] = values
            flags[item + (present, j)] = point_flags
            records.append({"batch": item, "column": j, **rec} if item else {"column": j, **rec})
    details = pd.DataFrame.from_records(records).reindex(
        columns=[*(["batch"] if x.ndim > 2 else []), "column", *DETAIL_COLUMNS]
    )
    return TreatResult(out, details, flags.astype(str))
