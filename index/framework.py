"""The index definition: a hierarchy of indicators and aggregates, loaded from TOML and validated.

A framework file has one ``[index]`` table (the root), ``[[aggregate]]`` tables (pillars, sub-pillars,
any depth) and ``[[indicator]]`` tables (the leaves). Every node but the root names its ``parent``.
Levels are derived: indicators are level 1, an aggregate is one above its highest child, so the
root is the top level (COINr numbering).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from index.errors import InputError, Problem


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.\-]*$")
    name_zh: str = ""
    name_en: str = ""
    weight: float = Field(default=1.0, ge=0.0)
    note: str = ""

    @field_validator("weight")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not np.isfinite(v):
            raise ValueError("weight must be a finite number")
        return v


class Root(_Node):
    """The top node: the composite index itself."""

    edition: str = ""


class Aggregate(_Node):
    """A pillar or sub-pillar: aggregates its children."""

    parent: str


class Indicator(_Node):
    """A leaf: one data series, optionally divided by a denominator series."""

    parent: str
    direction: Literal[1, -1] = 1
    unit: str = ""
    series: str | None = None
    denominator: str | None = None
    scale: float = 1.0
    target: float | None = None
    goalposts: tuple[float, float] | None = None
    proxy: bool = False

    @property
    def data_series(self) -> str:
        """The series code in the data panel (defaults to the indicator code)."""
        return self.series or self.code


class FrameworkFile(BaseModel):
    """Raw TOML content, validated field by field before the structure checks."""

    model_config = ConfigDict(extra="forbid")

    index: Root
    aggregate: list[Aggregate] = []
    indicator: list[Indicator] = Field(min_length=1)


@dataclass(frozen=True)
class Framework:
    """A validated hierarchy with array views for the vectorised core.

    ``codes`` lists indicators first (file order), then aggregates bottom-up by level, root last.
    ``parent_idx[i]`` is the position of node i's parent (-1 for the root).
    """

    root: Root
    aggregates: tuple[Aggregate, ...]
    indicators: tuple[Indicator, ...]
    source: str = "<framework>"

    @classmethod
    def from_nodes(
        cls,
        root: Root,
        aggregates: Iterable[Aggregate],
        indicators: Iterable[Indicator],
        source: str = "<framework>",
    ) -> Framework:
        fw = cls(root, tuple(aggregates), tuple(indicators), source)
        fw._check()
        return fw

    # ---- structure -------------------------------------------------------------------------
    @cached_property
    def _by_code(self) -> dict[str, _Node]:
        return {n.code: n for n in (self.root, *self.aggregates, *self.indicators)}

    @cached_property
    def children(self) -> dict[str, list[str]]:
        """Parent code → child codes in file order."""
        out: dict[str, list[str]] = {n.code: [] for n in (self.root, *self.aggregates)}
        for n in (*self.aggregates, *self.indicators):
            out.setdefault(n.parent, []).append(n.code)
        return out

    @cached_property
    def level(self) -> dict[str, int]:
        """Node code → level (1 = indicator; parent = 1 + max child level)."""
        lev: dict[str, int] = {i.code: 1 for i in self.indicators}

        def visit(code: str) -> int:
            if code not in lev:
                lev[code] = 1 + max(visit(c) for c in self.children[code])
            return lev[code]

        visit(self.root.code)
        return lev

    @cached_property
    def codes(self) -> list[str]:
        """All node codes: indicators, then aggregates ordered by level (stable), root last."""
        aggs = sorted(
            (a.code for a in self.aggregates), key=lambda c: self.level[c]
        )  # sorted() is stable: file order within a level
        return [i.code for i in self.indicators] + aggs + [self.root.code]

    @property
    def indicator_codes(self) -> list[str]:
        return [i.code for i in self.indicators]

    @property
    def n_indicators(self) -> int:
        return len(self.indicators)

    @cached_property
    def parent_idx(self) -> np.ndarray:
        pos = {c: k for k, c in enumerate(self.codes)}
        return np.array(
            [pos[self.parent_of(c)] if self.parent_of(c) else -1 for c in self.codes], dtype=int
        )

    @cached_property
    def groups(self) -> list[tuple[int, np.ndarray]]:
        """Aggregation plan: (parent position, child positions) for every aggregate, bottom-up."""
        pos = {c: k for k, c in enumerate(self.codes)}
        return [
            (pos[c], np.array([pos[ch] for ch in self.children[c]], dtype=int))
            for c in self.codes[self.n_indicators :]
        ]

    def node(self, code: str) -> _Node:
        return self._by_code[code]

    def parent_of(self, code: str) -> str | None:
        return getattr(self._by_code[code], "parent", None)

    def nominal_weights(self) -> np.ndarray:
        """Weight of every node in ``codes`` order, as written in the file (root = 1)."""
        return np.array([self._by_code[c].weight for c in self.codes], dtype=float)

    @property
    def directions(self) -> np.ndarray:
        return np.array([i.direction for i in self.indicators], dtype=float)

    @property
    def data_series(self) -> list[str]:
        """Every series the framework reads: indicator series and their denominators."""
        seen: dict[str, None] = {}
        for i in self.indicators:
            seen[i.data_series] = None
            if i.denominator:
                seen[i.denominator] = None
        return list(seen)

    def ancestor_at(self, code: str, level: int) -> str | None:
        """The ancestor of ``code`` at ``level`` (itself if already there)."""
        cur: str | None = code
        while cur is not None and self.level[cur] < level:
            cur = self.parent_of(cur)
        return cur if cur is not None and self.level[cur] == level else None

    # ---- validation ------------------------------------------------------------------------
    def _check(self) -> None:
        problems: list[Problem] = []

        def err(code: str | None, field: str | None, msg: str) -> None:
            problems.append(Problem(self.source, code, field, msg))

        seen: set[str] = set()
        for n in (self.root, *self.aggregates, *self.indicators):
            if n.code in seen:
                err(n.code, "code", f"duplicate code '{n.code}'")
            seen.add(n.code)
        agg_codes = {self.root.code} | {a.code for a in self.aggregates}
        for n in (*self.aggregates, *self.indicators):
            if n.parent not in agg_codes:
                what = "an indicator" if n.parent in seen else "missing"
                err(n.code, "parent", f"parent '{n.parent}' is {what}; it must be an aggregate")
        if problems:
            raise InputError(problems)
        kids = self.children
        for code in agg_codes:
            if not kids.get(code):
                err(code, None, f"aggregate '{code}' has no children")
        for a in self.aggregates:  # cycles: walking up must reach the root
            path, cur = [a.code], a.parent
            while cur != self.root.code:
                if cur in path:
                    err(a.code, "parent", "cycle: " + " → ".join([*path, cur]))
                    break
                path.append(cur)
                cur = self.parent_of(cur)  # type: ignore[assignment]
        if problems:
            raise InputError(problems)
        for parent, members in kids.items():
            if members and sum(self._by_code[c].weight for c in members) <= 0:
                err(parent, "weight", f"the weights of the children of '{parent}' are all zero")
        for i in self.indicators:
            if i.goalposts is not None and i.goalposts[0] == i.goalposts[1]:
                err(i.code, "goalposts", "lower and upper goalposts are equal")
        if problems:
            raise InputError(problems)

    def check_data(self, available: Iterable[str], *, denominators: bool = True) -> None:
        """Raise if a series the framework reads (with or without denominators) is absent."""
        have = set(available)
        problems = [
            Problem(self.source, i.code, field, f"series '{s}' is not in the data")
            for i in self.indicators
            for field, s in (("series", i.data_series), ("denominator", i.denominator))
            if s and s not in have and (denominators or field == "series")
        ]
        if problems:
            raise InputError(problems)

    # ---- io --------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain-data form (TOML/JSON-ready) for manifests and round trips."""
        return {
            "index": self.root.model_dump(exclude_defaults=True),
            "aggregate": [a.model_dump(exclude_defaults=True) for a in self.aggregates],
            "indicator": [i.model_dump(exclude_defaults=True) for i in self.indicators],
        }

    def with_weights(self, weights: dict[str, float]) -> Framework:
        """A copy with some node weights replaced (code → weight)."""
        unknown = set(weights) - set(self.codes)
        if unknown:
            raise InputError(f"unknown node code(s) in weights: {', '.join(sorted(unknown))}")

        def upd(n):
            return n.model_copy(update={"weight": weights[n.code]}) if n.code in weights else n

        return Framework.from_nodes(
            upd(self.root),
            map(upd, self.aggregates),
            map(upd, self.indicators),
            self.source,
        )


def from_dict(data: dict, source: str = "<framework>") -> Framework:
    """Validate a framework given as plain data (parsed TOML)."""
    try:
        f = FrameworkFile.model_validate(data)
    except ValidationError as exc:
        raise InputError(
            [
                Problem(source, _loc_row(data, e["loc"]), ".".join(map(str, e["loc"])), e["msg"])
                for e in exc.errors()
            ]
        ) from None
    return Framework.from_nodes(f.index, f.aggregate, f.indicator, source)


def _loc_row(data: dict, loc: tuple) -> str | None:
    """The code of the node a pydantic error points at, for a readable location."""
    if len(loc) >= 2 and isinstance(loc[1], int):
        try:
            return str(data[loc[0]][loc[1]].get("code", f"{loc[0]}[{loc[1]}]"))
        except (KeyError, IndexError, AttributeError, TypeError):
            return None
    return None


def load(path: str | Path) -> Framework:
    """Load and validate a framework TOML file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(Problem(str(path), None, None, "framework file not found"))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(Problem(str(path), None, None, f"not valid TOML: {exc}")) from None
    return from_dict(data, source=path.name)


DEFAULT_FRAMEWORK = Path(__file__).parent / "frameworks" / "cci_public.toml"
