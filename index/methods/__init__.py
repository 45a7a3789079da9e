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


_signature = functools.cache(inspect.signature)  # dispatch sits in the uncertainty hot path


def dispatch(registry: Mapping[str, Callable], kind: str, method: str, x, params: dict):
    """Call ``registry[method](x, **params)``; unknown names or parameters raise InputError."""
    if method not in registry:
        raise InputError(f"unknown {kind} method '{method}'; choose from {sorted(registry)}")
    fn = registry[method]
    try:
        _signature(fn).bind(x, **params)
    except TypeError as exc:
        raise InputError(f"{kind} method '{method}': {exc} (given {sorted(params)})") from None
    return fn(x, **params)
