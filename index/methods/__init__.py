"""Composite-indicator methods as pure functions over NumPy arrays.

Array convention: every method takes float64 arrays whose LAST TWO axes are (units, indicators)
and broadcasts over any leading axes (replicates, years); NaN means missing. A single run is a
batch of one. Submodules (``normalize``, ``impute``, ``treat``, ``weights``, ``aggregate``,
``rank``) are imported explicitly by callers; only the shared exceptions live here.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping

from index.errors import InputError


class IndicatorError(InputError, ValueError):
    """A method cannot be applied to some indicator columns (it knows positions, not names).

    ``columns`` are positions along the last (indicator) axis, so the pipeline can re-raise an
    ``InputError`` naming the indicators, e.g. ``[names[j] for j in err.columns]``; ``leading``
    are the positions along the first leading axis (years, in a build) where it happened.
    """

    def __init__(self, columns: Iterable[int], reason: str, leading: Iterable[int] = ()):
        self.columns: tuple[int, ...] = tuple(sorted({int(j) for j in columns}))
        self.leading: tuple[int, ...] = tuple(sorted({int(k) for k in leading}))
        self.reason = reason
        super().__init__(f"indicator column(s) {', '.join(map(str, self.columns))}: {reason}")


class ConstantIndicatorError(IndicatorError):
    """An indicator has no spread (e.g. max == min) where a method divides by it."""


@functools.cache
def keywords(fn: Callable) -> frozenset[str]:
    """Every keyword ``fn`` accepts (user parameters and injected ones)."""
    return frozenset(
        name
        for name, p in inspect.signature(fn).parameters.items()
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    )


@functools.cache
def required(fn: Callable) -> frozenset[str]:
    """The keyword-only parameters of ``fn`` without a default."""
    return frozenset(
        name
        for name, p in inspect.signature(fn).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty
    )


def dispatch(registry: Mapping[str, Callable], kind: str, method: str, x, params: dict):
    """Call ``registry[method](x, **params)``; unknown names or parameters raise InputError.

    Types and ranges are validated once, when a run configuration is built
    (:mod:`index.methods.params`); here only names are checked (a set lookup: this sits in the
    uncertainty hot path).
    """
    from index.methods.params import suggest, unknown_method

    fn = registry.get(method)
    if fn is None:
        raise InputError(unknown_method(kind, method, registry))
    if extra := set(params) - keywords(fn):
        name = sorted(extra)[0]
        raise InputError(
            f"unknown parameter '{name}' for {kind} '{method}'{suggest(name, keywords(fn))} "
            f"(given {sorted(params)})"
        )
    if missing := required(fn) - set(params):
        raise InputError(f"{kind} method '{method}' needs {sorted(missing)}")
    return fn(x, **params)
