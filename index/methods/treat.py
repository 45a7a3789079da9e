"""Outlier treatment (COIN Tool / COINr ``Treat`` default) with a per-indicator, per-point log.

Default (``method="winsorise"``), per indicator and ignoring NaN:

1. pass test: $|\\mathrm{skew}| < 2$ OR $\\mathrm{kurt} < 3.5$ (adjusted estimators, excess kurtosis);
2. if it fails, Winsorise: while failing and ``nwin < winmax``, replace every value equal to the
   max (skew >= 0) or the min (skew < 0) by the max/min of the remaining values; ``nwin`` = size of
   the last replaced top set + size of the last replaced bottom set (a cumulative count per side,
   since earlier Winsorised points tie with the new extreme);
3. if it still fails, apply ``f2`` (default ``log_CT``) to the ORIGINAL values, whatever its result;
   with ``combine_treat`` (COINr ``Treat(combine_treat = TRUE)``) to step 2's result instead, so
   that the two treatments combine: ``f2(winsorised x)``.

Step 2 is COINr's first stage ``f1``: ``f1 = "winsorise"`` (default) is the loop above; any name of
:data:`TRANSFORMS` (``f1 = "boxcox"``, ``"log_CT"`` …) instead transforms the indicators that fail
the test in step 1, and step 3 still applies ``f2`` to the original values of those that fail
after it (with ``combine_treat``: ``f2(f1(x))``). A transformation's name as ``method``
transforms every indicator, with no test.
Treatment is a per-column decision, taken for every column (and leading batch item) at once:
columns become rows of one array, the pass test is one vectorised skewness/kurtosis, and each
Winsorisation step moves every row still failing, so Python loops over steps, not columns.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

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
    from scipy.special import boxcox as scipy_boxcox  # loaded when used (start-up)

    return scipy_boxcox(x - _min(x) + 1.0, lmbda)


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


_HUGE = 2.0**200  # (2^200)^4 = 2^800: fourth powers of deviations still finite


def skew_kurt_rows(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Adjusted skewness and excess kurtosis of every row of ``v`` (rows, n), NaN = absent
    (e1071 type 2 = pandas); NaN where a row has < 4 values or is constant.

    $G_1 = \\sqrt{n(n-1)}/(n-2)\\,m_3/m_2^{3/2}$,
    $G_2 = ((n^2-1)\\,m_4/m_2^2 - 3(n-1)^2)/((n-2)(n-3))$ with $m_p$ the central moments: scipy's
    ``skew``/``kurtosis(bias=False)`` arithmetic step for step. Sums run along the contiguous
    last axis (NumPy's pairwise summation), so a complete row gives scipy's result bit for bit;
    a row with gaps differs from it by rounding only (the gaps add zeros).

    A row whose fourth powers would overflow (values beyond $2^{200}$) is first scaled by a power
    of two: exact in binary floating point, and the statistics are scale-free, so the result is
    the one an unbounded float would give (where scipy's is NaN or ±inf, with overflow warnings).
    """
    v = np.ascontiguousarray(v, dtype=float)
    with np.errstate(invalid="ignore"):
        big = np.fmax.reduce(np.abs(v), axis=-1, initial=0.0)
    if (big > _HUGE).any():
        shift = np.where(np.isfinite(big) & (big > _HUGE), np.floor(np.log2(big)), 0.0)
        v = np.ldexp(v, -shift.astype(int)[..., None])
    present = ~np.isnan(v)
    full = bool(present.all())  # complete rows: the same sums without masking the gaps
    n = (
        np.full(v.shape[:-1], float(v.shape[-1]))
        if full
        else np.add.reduce(present, axis=-1).astype(float)
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.add.reduce(v if full else np.where(present, v, 0.0), axis=-1) / n
        d = v - mean[..., None] if full else np.where(present, v - mean[..., None], 0.0)
        d2 = d**2
        m2 = np.add.reduce(d2, axis=-1) / n
        m3 = np.add.reduce(d2 * d, axis=-1) / n
        m4 = np.add.reduce(d2**2, axis=-1) / n
        g1 = ((n - 1.0) * n) ** 0.5 / (n - 2.0) * m3 / m2**1.5
        g2 = (
            1.0 / (n - 2) / (n - 3) * ((n**2 - 1.0) * m4 / m2**2.0 - 3 * (n - 1) ** 2.0) + 3.0 - 3.0
        )
    undefined = (
        (n < 4)
        | (np.fmin.reduce(v, axis=-1) == np.fmax.reduce(v, axis=-1))
        | (m2 <= (np.finfo(float).eps * mean) ** 2)  # scipy: numerically constant
    )
    return np.where(undefined, np.nan, g1), np.where(undefined, np.nan, g2)


def skew_kurt(v: np.ndarray) -> tuple[float, float]:
    """Adjusted skewness and excess kurtosis of a vector (NaN skipped): :func:`skew_kurt_rows`
    of one row, bit-identical to scipy's."""
    v = np.asarray(v, dtype=float)
    sk, kt = skew_kurt_rows(v[~np.isnan(v)][None])
    return float(sk[0]), float(kt[0])


def _passes(sk: np.ndarray, kt: np.ndarray, skew_thresh, kurt_thresh) -> np.ndarray:
    """Pass test per row as objects: True/False, NaN where undefined."""
    ok = (np.abs(sk) < skew_thresh) | (kt < kurt_thresh)
    return np.where(np.isnan(sk), np.nan, ok.astype(object))


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


@dataclass(frozen=True)
class _Walk:
    """The Winsorisation loop run on many rows at once (one row = one indicator's values), with
    the pass-test statistics of the data (``start``) and of the result (``skew``, ``kurt``)."""

    x: np.ndarray  # (rows, n), NaN kept
    nwin: np.ndarray  # (rows,)
    high: np.ndarray  # (rows, n)
    low: np.ndarray
    skew: np.ndarray  # (rows,)
    kurt: np.ndarray
    start: tuple[np.ndarray, np.ndarray]  # skewness and kurtosis of the untreated rows


class _Path:
    """COINr's Winsorisation loop (module docstring) on every row of ``v`` (rows, n) at once,
    kept step by step so that every limit is read from one walk.

    Each step moves every row still failing (or forced) and below the limit: the loop runs
    max(steps) times over arrays, not steps × rows times in Python. A row's states do not depend
    on ``winmax``, only the step where it stops does (the first state that passes, is constant,
    or has ``nwin >= winmax``), so the walk to the largest limit asked so far serves every
    smaller one, and a larger one continues it. Only the rows that fail the test at the start
    (or are forced) are walked; every state keeps its skewness and kurtosis, so the pass tests
    before and after Winsorisation are read from the walk, not recomputed.
    """

    def __init__(self, v: np.ndarray, skew_thresh: float, kurt_thresh: float, force_win: bool):
        v = np.array(v, dtype=float)
        sk, kt = skew_kurt_rows(v)
        self.thresh, self.force = (skew_thresh, kurt_thresh), force_win
        self.start = v, sk, kt
        self.rows = np.nonzero(self._can(sk, kt))[0]  # the rows that move at all
        w = v[self.rows]
        zero = np.zeros(w.shape, bool)
        # per step, for the walked rows: values, last top set, last bottom set, nwin, skew, kurt
        self.steps: list[tuple[np.ndarray, ...]] = [
            (w, zero, zero, np.zeros(len(w), dtype=np.int64), sk[self.rows], kt[self.rows])
        ]
        self._stacked: tuple[np.ndarray, ...] | None = None  # the steps' arrays, stacked

    def _can(self, sk: np.ndarray, kt: np.ndarray) -> np.ndarray:
        """Rows that may take a step (the limit aside): failing or forced, and not constant (a
        NaN skewness: nothing left to Winsorise)."""
        passing = (np.abs(sk) < self.thresh[0]) | (kt < self.thresh[1])
        return ~np.isnan(sk) & (self.force | ~passing)

    def _extend(self, limit: float) -> None:
        while True:
            v, high, low, nwin, sk, kt = self.steps[-1]
            moving = self._can(sk, kt) & (nwin < limit)
            if not moving.any():
                return
            v, high, low, nwin, sk, kt = (a.copy() for a in self.steps[-1])
            a = np.nonzero(moving)[0]
            va = v[a]
            top = (sk[a] >= 0)[:, None]
            hi_set = top & (va == np.fmax.reduce(va, axis=1, keepdims=True))
            lo_set = ~top & (va == np.fmin.reduce(va, axis=1, keepdims=True))
            next_hi = np.fmax.reduce(np.where(hi_set, -np.inf, va), axis=1, keepdims=True)
            next_lo = np.fmin.reduce(np.where(lo_set, np.inf, va), axis=1, keepdims=True)
            va = np.where(hi_set, next_hi, np.where(lo_set, next_lo, va))
            v[a] = va
            high[a] = np.where(top, hi_set, high[a])
            low[a] = np.where(top, low[a], lo_set)
            nwin[a] = high[a].sum(axis=1) + low[a].sum(axis=1)
            sk[a], kt[a] = skew_kurt_rows(va)
            self.steps.append((v, high, low, nwin, sk, kt))

    def at(self, limit: float | np.ndarray) -> _Walk:
        """The result of the loop with ``winmax`` = ``limit`` (inf = none) for every row."""
        self._extend(np.max(limit))
        stacked = self._stacked
        if stacked is None or len(stacked[0]) != len(self.steps):
            stacked = tuple(np.stack([s[k] for s in self.steps]) for k in range(6))
            stacked += (self._can(stacked[4], stacked[5]),)
            # kept for the next limit only when small: a large panel's walk is not doubled
            self._stacked = stacked if sum(a.nbytes for a in stacked) <= _STACK_KEPT else None
        values, tops, bottoms, counts, skews, kurts, can = stacked
        # the first state where a row stops (the last one stops every row: extended above)
        stop = np.argmin(can & (counts < limit), axis=0)
        walked = np.arange(len(self.rows))
        v, sk0, kt0 = self.start
        x, sk, kt = v.copy(), sk0.copy(), kt0.copy()
        high, low = np.zeros(v.shape, bool), np.zeros(v.shape, bool)
        nwin = np.zeros(len(v), dtype=np.int64)
        for out, states in ((x, values), (high, tops), (low, bottoms), (nwin, counts)):
            out[self.rows] = states[stop, walked]
        sk[self.rows], kt[self.rows] = skews[stop, walked], kurts[stop, walked]
        return _Walk(x, nwin, high, low, sk, kt, (sk0, kt0))


_STACK_KEPT = 2**20  # bytes: a walk's stacked states are kept up to this size
_WALKS: ContextVar[dict[tuple, _Path] | None] = ContextVar("treat_walks", default=None)


@contextlib.contextmanager
def shared_walks(store: dict[tuple, _Path]) -> Iterator[dict[tuple, _Path]]:
    """Within the block, walks of the Winsorisation path are kept in ``store`` (a dict the
    caller keeps, e.g. beside its stage cache) by a digest of the data and the thresholds, so
    treatments that differ only in ``winmax`` (an uncertainty analysis varying it) read one walk
    and each limit costs a lookup. Outside such a block every call walks afresh: nothing is
    kept between unrelated calls."""
    token = _WALKS.set(store)
    try:
        yield store
    finally:
        _WALKS.reset(token)


def _walk(
    v: np.ndarray, winmax: float | np.ndarray, skew_thresh: float, kurt_thresh: float, force_win
) -> _Walk:
    """:meth:`_Path.at` of the walk of ``v`` (rows, n): the walk kept by :func:`shared_walks`
    for the same data and thresholds, else a new one (kept there when inside the block)."""
    store = _WALKS.get()
    if store is None:
        return _Path(v, skew_thresh, kurt_thresh, force_win).at(winmax)
    key = (
        hashlib.blake2b(np.ascontiguousarray(v).tobytes(), digest_size=16).digest(),
        v.shape,
        float(skew_thresh),
        float(kurt_thresh),
        bool(force_win),
    )
    if key not in store:
        store[key] = _Path(v, skew_thresh, kurt_thresh, force_win)
    return store[key].at(winmax)


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
    limit = np.array([np.inf if winmax is None else winmax])
    w = _walk(np.asarray(v, dtype=float)[None], limit, skew_thresh, kurt_thresh, force_win)
    return Winsorised(w.x[0], int(w.nwin[0]), w.high[0], w.low[0])


# Every name ``treat(method=...)`` accepts: the two-stage COINr procedure (``winsorise``, whose
# entry is the 1-D Winsorisation step) and the transformations applied to every indicator.
TREATMENTS: dict[str, Callable] = {"winsorise": winsorise, **TRANSFORMS}

if TYPE_CHECKING:  # the choices are built from the registries: a plain name to the checker
    FirstStage = str
    SecondStage = str
else:
    FirstStage = Literal[tuple(TREATMENTS)]
    """The names ``f1`` takes (COINr ``Treat(f1 = ...)``): ``winsorise`` or a transformation."""
    SecondStage = Literal[tuple(TRANSFORMS)]
    """The names ``f2`` takes: a transformation (``none`` = keep the first stage's result)."""


def used_options(spec: Mapping[str, object]) -> set[str]:
    """The options of :func:`treat` that can change the result under ``spec`` (its ``method``,
    ``f1``, ``f2``): the pass test, ``f1`` and ``f2`` only with the two-stage ``winsorise``;
    ``winmax`` and ``force_win`` only when ``f1`` Winsorises; ``boxcox_lambda`` only where Box-Cox
    is applied; ``combine_treat`` only when there is an ``f2`` and ``f1`` can change the values it
    is applied to (not ``f1 = "none"``, nor a Winsorisation with ``winmax = 0``); neither ``f2``
    nor ``combine_treat`` under ``winmax = None`` (no limit: an indicator is Winsorised until it
    passes, or is constant and untestable, so no fallback runs). Setting any other option is a
    mistake a config reports (it would change nothing)."""
    method = spec.get("method", "winsorise")
    if method != "winsorise":
        return {"boxcox_lambda"} if method == "boxcox" else set()
    f1, f2 = spec.get("f1", "winsorise"), spec.get("f2", "log_CT")
    used = {"f1", "f2", "skew_thresh", "kurt_thresh"}
    if f1 == "winsorise":
        used |= {"winmax", "force_win"}
    if f2 != "none" and f1 != "none" and not (f1 == "winsorise" and spec.get("winmax", 5) == 0):
        used.add("combine_treat")
    if f1 == "winsorise" and spec.get("winmax", 5) is None:  # Winsorised until it passes or is
        used -= {"f2", "combine_treat"}  # constant (then untested): no fallback ever runs
    if f1 == "boxcox" or (f2 == "boxcox" and "f2" in used):
        used.add("boxcox_lambda")
    return used


def unused_settings(
    top: Mapping[str, Any], table: Mapping[Any, Mapping[str, Any]], *, rest: bool = True
) -> list[tuple[object, str, str]]:
    """Every option given that changes nothing (:func:`used_options`): (entry key or None for
    the top level, option, why).

    A top-level option in ``top`` (``method`` and the shared settings) counts when it differs from
    its default and no spec that inherits it uses it: the top-level spec itself when ``rest`` (some
    indicators have no entry in ``table``) and every entry of ``table`` that does not override it.
    An entry's own option counts when its merged spec does not use it."""
    out: list[tuple[object, str, str]] = []
    merged = {key: {**top, **entry} for key, entry in table.items()}
    for name, value in top.items():
        if name == "method" or value == TREAT_DEFAULTS.get(name, value):
            continue
        heirs = [dict(top)] if rest else []
        heirs += [m for key, m in merged.items() if name not in table[key]]
        if not any(name in used_options(m) for m in heirs):
            out.append((None, name, _why_unused(name, heirs[0] if heirs else top)))
    for key, entry in table.items():
        out += [
            (key, name, _why_unused(name, merged[key]))
            for name in entry
            if name != "method" and name not in used_options(merged[key])
        ]
    return out


def _why_unused(name: str, spec: Mapping[str, object]) -> str:
    """Why option ``name`` changes nothing under ``spec``, with the setting that would use it."""
    method, f1 = spec.get("method", "winsorise"), spec.get("f1", "winsorise")
    if method != "winsorise":
        hint = f"method '{method}' " + (
            "treats nothing"
            if method == "none"
            else f"transforms every indicator without the skewness/kurtosis test (did you mean "
            f"f1 = '{method}'? it transforms only the indicators that fail the test)"
        )
    elif name in ("winmax", "force_win"):
        hint = f"f1 = '{f1}' does not Winsorise (did you mean f1 = 'winsorise'?)"
    elif f1 == "winsorise" and "winmax" in spec and spec["winmax"] is None:
        hint = (
            "winmax = None Winsorises an indicator until it passes (or is constant and cannot be "
            "tested): no fallback f2 ever runs (give winmax a number)"
        )
    elif name == "combine_treat":
        hint = (
            "f2 = 'none' applies no second stage to combine with f1"
            if spec.get("f2", "log_CT") == "none"
            else "f1 = 'none' leaves the values as they are, so f2 already applies to them"
            if f1 == "none"
            else "winmax = 0 Winsorises nothing, so f2 already applies to the original values"
        )
    else:
        hint = "neither f1 nor f2 is 'boxcox'"
    return f"changes nothing: {hint}"


def method_summary(name: str) -> str:
    """One line on what ``treat(method=name)`` does (``compute-index methods``)."""
    if name == "winsorise":
        return (
            "COINr Treat: indicators failing the test (pass: |skew| < skew_thresh or kurt < kurt_thresh) get f1 "
            "(default Winsorisation up to winmax points); those still failing get f2 of their "
            "original values (combine_treat: f2 of f1's result)"
        )
    doc = (TREATMENTS[name].__doc__ or "").strip().splitlines()[0]
    if name == "none":
        return doc
    return f"{doc} Every indicator, no test (f1 = '{name}': only the failing ones)."


DETAIL_COLUMNS = (
    "treatment",
    *(f"check_SkewKurt0.{k}" for k in ("Pass", "Skew", "Kurt")),
    "winsorise.nwin",
    *(f"check_SkewKurt1.{k}" for k in ("Pass", "Skew", "Kurt")),
    *(f"check_SkewKurt2.{k}" for k in ("Pass", "Skew", "Kurt")),
)


def _transform(name: str, rows: np.ndarray, lmbda: float) -> np.ndarray:
    """A transformation of every row (rows = indicators); NaN stay NaN."""
    cols = rows.T
    out = boxcox(cols, lmbda=lmbda) if name == "boxcox" else TRANSFORMS[name](cols)
    return out.T


def _transform_some(name: str, v: np.ndarray, rows: np.ndarray, lmbda: float) -> np.ndarray:
    """:func:`_transform` of rows ``rows`` of ``v`` (the ORIGINAL values); a domain error names
    positions among ``v``'s rows."""
    try:
        return _transform(name, v[rows], lmbda)
    except IndicatorError as exc:  # positions among the chosen rows → among v's rows
        raise IndicatorError(rows[list(exc.columns)], exc.reason) from None


class _Log:
    """What the treatment did to a set of rows (rows, n): per row the treatment applied and the
    pass tests (one stage at a time), per point whether it was in the last Winsorised top or
    bottom set. Checks that only the log shows (after a transformation, after ``f2``) are
    computed when the log is first read, as are its columns and the point flags."""

    def __init__(self, v: np.ndarray):
        self.rows = len(v)
        self.cols: dict[str, np.ndarray] = {"treatment": np.full(self.rows, "none", dtype=object)}
        self.present = ~np.isnan(v)
        self.high = np.zeros(v.shape, dtype=bool)
        self.low = np.zeros(v.shape, dtype=bool)
        self._later: list[tuple[int, np.ndarray, np.ndarray, dict]] = []

    def column(self, name: str, dtype: type) -> np.ndarray:
        return self.cols.setdefault(name, np.full(self.rows, np.nan, dtype=dtype))

    def record(self, stage: int, at: np.ndarray, sk: np.ndarray, kt: np.ndarray, spec: dict):
        """Record check ``stage`` (skewness ``sk``, kurtosis ``kt``) for rows ``at``; return
        which fail it (False where the test is undefined: COINr leaves those untreated)."""
        ok = _passes(sk, kt, spec["skew_thresh"], spec["kurt_thresh"])
        self.column(f"check_SkewKurt{stage}.Pass", object)[at] = ok
        self.column(f"check_SkewKurt{stage}.Skew", float)[at] = sk
        self.column(f"check_SkewKurt{stage}.Kurt", float)[at] = kt
        return ok == False  # noqa: E712 - NaN (undefined) is not False

    def check(self, stage: int, x: np.ndarray, at: np.ndarray, spec: dict) -> np.ndarray:
        """:meth:`record` of the test of values ``x`` (len(at), n)."""
        return self.record(stage, at, *skew_kurt_rows(x), spec)

    def later(self, stage: int, x: np.ndarray, at: np.ndarray, spec: dict) -> None:
        """:meth:`check` when the log is read (the result does not depend on this test)."""
        self._later.append((stage, x, at, spec))

    def frame(self) -> dict[str, np.ndarray]:
        """The columns with the dtypes a table of records would get: a Pass column is bool when
        filled on every row, float when empty, else object; nwin is int when filled, else float."""
        for stage, x, at, spec in self._later:
            self.check(stage, x, at, spec)
        self._later = []
        out = {}
        for name in DETAIL_COLUMNS:
            col = self.cols.get(name)
            if col is None:
                continue
            if name.endswith(".Pass") or name == "winsorise.nwin":
                gaps = pd.isna(col)
                if not gaps.any():
                    col = col.astype(bool if name.endswith(".Pass") else np.int64)
                elif gaps.all() or name == "winsorise.nwin":
                    col = col.astype(float)
            out[name] = col
        return out

    def flags(self) -> np.ndarray:
        """A flag per point (rows, n): "winhi" / "winlo" in a row Winsorised (its last replaced
        top / bottom set), the transformation's name on every present point of a transformed row
        (its last treatment), "" elsewhere. A row treated ``f1+f2`` (``combine_treat``) gets
        f1's flag, then "+f2" on every present point: "winhi+log_CT" on a Winsorised point,
        "log_CT" on the others (COINr's ``Treated_Points`` of a combined treatment)."""
        parts = np.char.partition(self.cols["treatment"].astype(str), "+")  # (rows, 3)
        name, second = parts[:, :1], parts[:, 2]
        marks = np.where(self.high, "winhi", np.where(self.low, "winlo", ""))
        kept = (name == "none") | (name == "winsorise")
        out = np.where(kept, marks, np.where(self.present, name, "")).astype("<U11")
        if not (second != "").any():
            return out
        on_top = self.present & (second != "")[:, None]
        joined = np.char.add(np.where(out == "", "", np.char.add(out, "+")), second[:, None])
        return np.where(on_top, joined, out)


@dataclass(frozen=True)
class TreatResult:
    """Treated data (as the input), one log row per (batch item, indicator) (``details``, its
    ``columns``), and a flag per point (``flags``, "" = untouched); the log and the flags are
    made when first read (an analysis that only scores reads neither)."""

    x: np.ndarray
    log: _Log = field(repr=False)

    @cached_property
    def columns(self) -> dict[str, object]:
        """The log's columns: ``batch`` (with leading axes), ``column``, then :data:`DETAIL_COLUMNS`."""
        lead, k = self.x.shape[:-2], self.x.shape[-1]
        out: dict[str, object] = {}
        if lead:
            out["batch"] = [item for item in np.ndindex(lead) for _ in range(k)]
        out["column"] = np.tile(np.arange(k), self.log.rows // k if k else 0)
        logged = self.log.frame()
        empty = np.full(self.log.rows, np.nan)
        return out | {name: logged.get(name, empty) for name in DETAIL_COLUMNS}

    @cached_property
    def details(self) -> pd.DataFrame:
        return pd.DataFrame(self.columns)

    @cached_property
    def flags(self) -> np.ndarray:
        return _back(self.log.flags(), self.x.shape)


def _back(rows: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Rows (batch · k, n) back to the layout (..., n, k) of :func:`treat`'s input."""
    *lead, n, k = shape
    return np.moveaxis(rows.reshape(*lead, k, n), -1, -2)


def _treat_rows(v: np.ndarray, spec: dict, log: _Log, at: np.ndarray) -> np.ndarray:
    """Treat rows ``v`` (indicators × units, NaN = absent) sharing one spec; log into rows ``at``
    of ``log``. With ``f1 = "winsorise"`` every row is walked (rows that pass never move), and
    the pass tests before and after are the walk's."""
    method = spec["method"]
    walks = method == "winsorise" and spec["f1"] == "winsorise"
    if walks:
        limit = np.inf if spec["winmax"] is None else spec["winmax"]
        win = _walk(v, limit, spec["skew_thresh"], spec["kurt_thresh"], spec["force_win"])
        fails = log.record(0, at, *win.start, spec)
    else:
        fails = log.check(0, v, at, spec)
    if method == "none":
        return v
    if method != "winsorise":
        out = _transform(method, v, spec["boxcox_lambda"])
        log.later(1, out, at, spec)
        log.cols["treatment"][at] = method
        return out
    # fails the test (an undefined test leaves it untreated, as COINr), or forced
    need = np.nonzero(fails | spec["force_win"])[0]
    out = v.copy()
    if not len(need):
        return out
    if walks:
        nwin = win.nwin[need]
        log.column("winsorise.nwin", object)[at[need]] = nwin
        log.cols["treatment"][at[need[nwin > 0]]] = "winsorise"
        out[need] = win.x[need]
        log.high[at[need]], log.low[at[need]] = win.high[need], win.low[need]
        fails = log.record(1, at[need], win.skew[need], win.kurt[need], spec)
    else:
        if spec["f1"] != "none":  # COINr f1 = a transformation, of the failing rows only
            out[need] = _transform_some(spec["f1"], v, need, spec["boxcox_lambda"])
            log.cols["treatment"][at[need]] = spec["f1"]
        fails = log.check(1, out[need], at[need], spec)
    fallback = need[fails]
    if len(fallback) and spec["f2"] != "none":
        # COINr: f2 of the original values, or of f1's result with combine_treat (f2 ∘ f1)
        base = out if spec["combine_treat"] else v
        out[fallback] = _transform_some(spec["f2"], base, fallback, spec["boxcox_lambda"])
        log.later(2, out[fallback], at[fallback], spec)
        first = log.cols["treatment"][at[fallback]]
        combined = spec["combine_treat"] & (first != "none")
        log.cols["treatment"][at[fallback]] = np.where(
            combined, first + "+" + spec["f2"], spec["f2"]
        )
    return out


def _specs(
    n_ind: int, defaults: dict, per_indicator: dict[int, dict] | None
) -> list[tuple[dict, list[int]]]:
    """The distinct specs of the columns, each with the columns it treats: the defaults for the
    columns without an entry in ``per_indicator``, defaults and entry merged for the others.
    Each distinct spec is checked once, in column order (the first bad column is reported)."""
    per_indicator = per_indicator or {}
    bad_cols = [
        j for j in per_indicator if not (isinstance(j, int | np.integer) and 0 <= j < n_ind)
    ]
    if bad_cols:
        raise InputError(
            f"treat: per_indicator keys must be column indices 0..{n_ind - 1}: {bad_cols}"
        )
    rest = [j for j in range(n_ind) if j not in per_indicator]
    groups: dict[tuple, tuple[dict, list[int]]] = {}
    for j in sorted({*per_indicator, *rest[:1]}):
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
        if spec["f1"] not in TREATMENTS:
            raise InputError(f"treat: unknown f1 '{spec['f1']}'; choose from {sorted(TREATMENTS)}")
        for name in ("force_win", "combine_treat"):  # a truthy "no" would silently switch it on
            if not isinstance(spec[name], bool | np.bool_):
                raise InputError(
                    f"treat: column {j}: {name} must be true or false, got {spec[name]!r}"
                )
        if spec["force_win"] and spec["winmax"] is None:
            raise InputError(f"treat: column {j}: force_win needs a finite winmax")
        cols = groups.setdefault(tuple(spec.items()), (spec, []))[1]
        cols += rest if j not in per_indicator else [j]
    if unused := unused_settings(defaults, per_indicator, rest=bool(rest)):
        key, name, why = unused[0]
        raise InputError(f"treat: {'' if key is None else f'column {key}: '}{name} {why}")
    return list(groups.values())


def treat(
    x,
    *,
    method: str = "winsorise",
    winmax: int | None = 5,
    skew_thresh: float = 2.0,
    kurt_thresh: float = 3.5,
    f2: SecondStage = "log_CT",
    boxcox_lambda: float = 0.5,
    force_win: bool = False,
    per_indicator: dict[int, dict] | None = None,
    f1: FirstStage = "winsorise",
    combine_treat: bool = False,
) -> TreatResult:
    """Treat every indicator column of ``x`` (..., n_units, n_ind); see the module docstring.

    ``f1`` is the first stage of ``method="winsorise"`` (COINr ``Treat(f1 = ...)``), applied to
    the indicators that fail the test; ``combine_treat`` applies ``f2`` to ``f1``'s result
    rather than to the original values (COINr ``Treat(combine_treat = TRUE)``). An option that
    changes nothing under the chosen ``method``/``f1``/``f2`` (:func:`used_options`) and differs
    from its default is an error.
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
        f1=f1,
        combine_treat=combine_treat,
    )
    specs = _specs(x.shape[-1], defaults, per_indicator)  # indicators sharing a spec go together
    n, k = x.shape[-2:]
    rows = np.ascontiguousarray(np.moveaxis(x, -1, -2).reshape(-1, n))  # (batch · k, n)
    out = np.empty_like(rows)
    log = _Log(rows)
    column = np.tile(np.arange(k), len(rows) // k if k else 0)
    for spec, cols in specs:
        at = np.nonzero(np.isin(column, cols))[0] if len(specs) > 1 else np.arange(len(rows))
        try:
            out[at] = _treat_rows(rows[at], spec, log, at)
        except IndicatorError as exc:  # positions among these rows → indicator columns
            raise IndicatorError(column[at[list(exc.columns)]], exc.reason) from None
    return TreatResult(_back(out, x.shape), log)


TREAT_DEFAULTS: dict[str, object] = {
    k: p.default
    for k, p in inspect.signature(treat).parameters.items()
    if p.kind is inspect.Parameter.KEYWORD_ONLY and k != "per_indicator"
}
"""Every option of :func:`treat` with its default (what "changed from the default" compares to)."""
