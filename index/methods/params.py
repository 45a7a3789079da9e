"""Method parameters declared once, in each method's signature, and validated from it.

Every registered method is a plain function ``f(x, [w,] *, p: T = default, ...)``. Its keyword-only
parameters are its settings: their annotations (``float``, ``Literal[...]``,
``Annotated[float, Field(ge=0)]``) are read here into a pydantic model, so a run configuration is
checked — names, types, ranges — before anything runs, and ``compute-index methods`` can list
them. Parameters in :data:`INJECTED` are filled by the pipeline from the framework or the data
(directions, targets, goalposts, scaled bounds, unit groups, the fitting sample), never by the
user.

Cross-parameter rules (``l < u`` for min-max) are declared with :func:`constraint`.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

INJECTED: dict[str, frozenset[str]] = {
    "imputation": frozenset({"groups", "ind_groups", "directions", "times"}),
    "treatment": frozenset(),
    "normalisation": frozenset({"fit_on", "directions", "scaled_bounds"}),
    "weighting": frozenset(),
    "aggregation": frozenset({"w"}),
}
"""Per kind of method, the keywords the pipeline supplies (from the framework, the data or the
hierarchy); the user never sets them."""

SUPPLIED: dict[str, frozenset[str]] = {"normalisation": frozenset({"targets", "lower", "upper"})}
"""Keywords the pipeline supplies from the framework (targets, goalposts) unless the user gives
them, one number per indicator."""


@dataclass(frozen=True)
class Constraint:
    """A rule over several parameters, e.g. ``l < u``; ``check`` gets the validated values."""

    text: str
    check: Callable[[Mapping[str, Any]], bool]


def constraint(text: str, check: Callable[[Mapping[str, Any]], bool]):
    """Decorator: declare a cross-parameter rule of a method (checked with its parameters)."""

    def mark(fn):
        fn.__constraints__ = (*getattr(fn, "__constraints__", ()), Constraint(text, check))
        return fn

    return mark


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, strict=True)


@functools.cache
def parameter_model(
    fn: Callable, injected: frozenset[str] = frozenset(), supplied: frozenset[str] = frozenset()
) -> type[BaseModel]:
    """A pydantic model of ``fn``'s user parameters (keyword-only, not ``injected``; the
    ``supplied`` ones optional lists of numbers)."""
    hints = typing.get_type_hints(fn, include_extras=True)
    fields: dict[str, Any] = {}
    for name, p in inspect.signature(fn).parameters.items():
        if p.kind is not inspect.Parameter.KEYWORD_ONLY or name in injected:
            continue
        if name in supplied:
            fields[name] = (list[float | None] | None, None)
            continue
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[name] = (hints.get(name, Any), default)
    return create_model(f"{fn.__name__}_params", __base__=_Params, **fields)


def parameters(fn: Callable, kind: str) -> dict[str, tuple[str, Any]]:
    """Name → (type as text, default or ``...`` when required) of ``fn``'s user parameters."""
    out = {}
    for name, f in _model(fn, kind).model_fields.items():
        text = _type_text(f.annotation)
        bounds = [f"{k}{v}" for m in f.metadata for k, v in _bounds(m)]
        default = ... if f.is_required() else f.get_default()
        out[name] = (text + (f" ({', '.join(bounds)})" if bounds else ""), default)
    return out


def _model(fn: Callable, kind: str) -> type[BaseModel]:
    return parameter_model(fn, INJECTED.get(kind, frozenset()), SUPPLIED.get(kind, frozenset()))


def _bounds(meta: Any) -> Iterable[tuple[str, Any]]:
    for attr, sym in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
        if getattr(meta, attr, None) is not None:
            yield sym, getattr(meta, attr)


def _type_text(t: Any) -> str:
    if t is None or t is type(None):
        return "None"
    if isinstance(t, type):
        return t.__name__
    return str(t).replace("typing.", "")


def suggest(word: str, choices: Iterable[str]) -> str:
    """ " (did you mean 'x'?)" for a near miss, else ""."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def known(method: object, choices: Iterable[str]) -> bool:
    """``method`` is one of the registered names (a number, list or table never is)."""
    return isinstance(method, str) and method in choices


def unknown_method(kind: str, method: object, choices: Iterable[str]) -> str:
    """The message for a method that is not a registered name (or not a name at all)."""
    names = sorted(choices)
    if not isinstance(method, str):
        return f"{kind} method must be a name, got {method!r}; choose from {names}"
    return f"unknown {kind} method '{method}'{suggest(method, names)}; choose from {names}"


def check(
    kind: str,
    method: str,
    fn: Callable,
    params: Mapping[str, Any],
    *,
    own: Iterable[str] = (),
    per_group: bool = False,
) -> list[str]:
    """Every problem with ``params`` for ``fn`` (empty = valid), each naming the parameter.

    ``own`` are the step's own settings (suggested for near misses too). With ``per_group`` a value
    may be a table keyed by parent code (one value per group), each entry validated alike.
    """
    injected = INJECTED.get(kind, frozenset())
    model = _model(fn, kind)
    accepted = set(model.model_fields)
    problems = []
    values: dict[str, Any] = {}
    for name, value in params.items():
        if name in injected:
            problems.append(f"'{name}' is set by the pipeline (framework/data), not by the user")
        elif name not in accepted:
            takes = f"takes {sorted(accepted)}" if accepted else "takes no parameters"
            hint = suggest(name, [*accepted, *own])
            problems.append(f"unknown parameter '{name}' for {kind} '{method}'{hint}; it {takes}")
        else:
            values[name] = value
    if problems:
        return problems
    tables = {k: v for k, v in values.items() if per_group and isinstance(v, dict)}
    for variant in _variants(values, tables):
        try:
            valid = model.model_validate(variant)
        except ValidationError as exc:
            return [
                f"{kind} '{method}' needs {'.'.join(map(str, e['loc']))} (it has no default)"
                if e["type"] == "missing"
                else _pydantic_message(e)
                for e in exc.errors()
            ]
        for c in getattr(fn, "__constraints__", ()):
            if not c.check(valid.model_dump()):
                problems.append(f"{kind} '{method}' needs {c.text} (given {_given(variant)})")
    return problems


def _variants(values: dict[str, Any], tables: dict[str, dict]) -> list[dict[str, Any]]:
    """The parameter sets a group can see: scalars as given, each table at each group key (a
    group a table does not list gets the table's first entry here; the build leaves it alone)."""
    if not tables:
        return [values]
    keys = dict.fromkeys(k for t in tables.values() for k in t)
    return [
        {**values, **{n: t.get(k, next(iter(t.values()), None)) for n, t in tables.items()}}
        for k in keys
    ]


def _given(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in values.items()) or "defaults"


def _pydantic_message(e: Any) -> str:
    where = ".".join(map(str, e["loc"]))
    value = e.get("input")
    got = "" if e["type"] == "missing" else f" (got {value!r})"
    return f"{where}: {e['msg']}{got}" if where else f"{e['msg']}{got}"
