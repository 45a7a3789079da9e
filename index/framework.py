"""The index definition: a hierarchy of indicators and aggregates, loaded from TOML and validated.

A framework file has one ``[index]`` table (the root), ``[[aggregate]]`` tables (pillars, sub-pillars,
any depth) and ``[[indicator]]`` tables (the leaves). Every node but the root names its ``parent``.
Levels are derived: indicators are level 1, an aggregate is one above its highest child, so the
root is the top level (COINr numbering).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from index.errors import InputError, Problem
from index.io import parse_toml

#: Largest node weight. Weights are relative within a parent, so any meaningful ratio fits far
#: below it, while a weight near the float range (1e308) would overflow to inf in a weighted sum
#: and tie every region; such a weight is refused, not published.
MAX_WEIGHT = 1e12


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    code: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.\-]*$")
    name_zh: str = ""
    name_en: str = ""
    weight: float = Field(
        default=1.0, allow_inf_nan=False
    )  # >= 0 unless the root allows negative weights (checked in Framework)
    note: str = ""

    @field_validator("weight")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not np.isfinite(v):
            raise ValueError("weight must be a finite number")
        if abs(v) > MAX_WEIGHT:
            raise ValueError(
                f"weight {v:g} is over the limit of ±{MAX_WEIGHT:g} (weights are relative)"
            )
        return v


class Root(_Node):
    """The top node: the composite index itself."""

    edition: str = ""
    allow_negative_weights: bool = Field(
        default=False,
        description="accept negative node weights (e.g. PCA loadings or optimised weights)",
    )


class Aggregate(_Node):
    """A pillar or sub-pillar: aggregates its children."""

    parent: str


class FillFrom(BaseModel):
    """Where the series is missing, derive it from published related series:
    ``value = series × times × scale`` (e.g. R&D expenditure = R&D intensity (%) × GDP × 0.01).
    Derived cells are flagged ``derived`` in the build; nothing is estimated beyond that product."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    series: str
    times: str | None = None
    scale: float = 1.0


class Indicator(_Node):
    """A leaf: one data series, optionally divided by a denominator series.

    ``value = scale × series / denominator``, or with ``complement`` the share's complement
    ``scale × (1 − series / denominator)`` (e.g. non-thermal generation share =
    1 − thermal / total generation)."""

    parent: str
    direction: Literal[1, -1] = 1
    unit: str = ""
    series: str | None = None
    denominator: str | None = None
    complement: bool = False
    scale: float = 1.0
    fill_from: FillFrom | None = None
    target: float | None = None
    goalposts: tuple[float, float] | None = Field(None, strict=False)  # TOML gives a list
    scaled_bounds: tuple[float, float] | None = Field(None, strict=False)  # normalise = "scaled"
    proxy: bool = False

    @field_validator("scale", "target", "goalposts", "scaled_bounds")
    @classmethod
    def _finite_numbers(cls, v: object) -> object:
        values = v if isinstance(v, tuple) else (v,)
        if any(x is not None and not np.isfinite(x) for x in values):  # TOML has nan and inf
            raise ValueError("must be finite numbers (not nan or inf)")
        return v

    @property
    def data_series(self) -> str:
        """The series code in the data panel (defaults to the indicator code)."""
        return self.series or self.code


class FrameworkFile(BaseModel):
    """Raw TOML content, validated field by field before the structure checks."""

    model_config = ConfigDict(extra="forbid", strict=True)

    index: Root
    aggregate: list[Aggregate] = []
    indicator: list[Indicator] = Field(min_length=1)
    config: dict[str, Any] = Field(
        default_factory=dict, description="recommended run settings (index.config.effective)"
    )


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
    config: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_nodes(
        cls,
        root: Root,
        aggregates: Iterable[Aggregate],
        indicators: Iterable[Indicator],
        source: str = "<framework>",
        config: Mapping[str, Any] | None = None,
    ) -> Framework:
        fw = cls(root, tuple(aggregates), tuple(indicators), source, dict(config or {}))
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
        for n in self._members:
            out.setdefault(n.parent, []).append(n.code)
        return out

    @property
    def _members(self) -> list[Aggregate | Indicator]:
        """Every node but the root (each has a parent), aggregates first, in file order."""
        return [*self.aggregates, *self.indicators]

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
            [-1 if (p := self.parent_of(c)) is None else pos[p] for c in self.codes], dtype=int
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
        """Weight of every node in ``codes`` order, as written in the file (root = 1); a fresh
        array (callers edit it)."""
        return self._weights.copy()

    @cached_property
    def _weights(self) -> np.ndarray:
        return np.array([self._by_code[c].weight for c in self.codes], dtype=float)

    @property
    def directions(self) -> np.ndarray:
        """Direction of every indicator (+1 / -1); a fresh array."""
        return self._directions.copy()

    @cached_property
    def _directions(self) -> np.ndarray:
        return np.array([i.direction for i in self.indicators], dtype=float)

    @property
    def data_series(self) -> list[str]:
        """Every series the framework reads: indicator series and their denominators."""
        seen: dict[str, None] = {}
        for i in self.indicators:
            fill = i.fill_from
            for s in (i.data_series, i.denominator, fill and fill.series, fill and fill.times):
                if s:
                    seen[s] = None
        return list(seen)

    def ancestor_at(self, code: str, level: int) -> str | None:
        """The ancestor of ``code`` at ``level`` (itself if already there)."""
        cur: str | None = code
        while cur is not None and self.level[cur] < level:
            cur = self.parent_of(cur)
        return cur if cur is not None and self.level[cur] == level else None

    def ancestors(self, code: str) -> list[str]:
        """Parent, grandparent, … up to the root (empty for the root)."""
        out: list[str] = []
        cur = self.parent_of(code)
        while cur is not None:
            out.append(cur)
            cur = self.parent_of(cur)
        return out

    def codes_at(self, level: int, present: Iterable[str] | None = None) -> list[str]:
        """Codes at ``level``, in ``present`` order when given (codes not in the framework are
        skipped), else in ``codes`` order."""
        pool = self.codes if present is None else present
        return [c for c in pool if self.level.get(c) == level]

    @property
    def pillars(self) -> list[str]:
        """The root's children (the pillars), in file order."""
        return self.children[self.root.code]

    def pillar_of(self, code: str) -> str | None:
        """The pillar (root child) ``code`` belongs to: itself for a pillar, None for the root."""
        chain = [code, *self.ancestors(code)]
        return chain[-2] if len(chain) > 1 else None

    def depth_first(self) -> list[str]:
        """Every code in depth-first order from the root, children in file order (the order of a
        printed tree: index, pillar, its indicators, next pillar, …)."""
        order, stack = [], [self.root.code]
        while stack:
            code = stack.pop()
            order.append(code)
            stack.extend(reversed(self.children.get(code, [])))
        return order

    def effective_weights(self, weights: np.ndarray | None = None) -> np.ndarray:
        """Weight of every node in the whole index, in ``codes`` order (default: the file's).

        $\\tilde w_i = \\frac{w_i}{\\sum_{s \\in \\mathrm{sib}(i)} w_s}\\,\\tilde w_{\\mathrm{parent}(i)}$,
        root = 1 (COINr ``get_eff_weights``). ``weights`` (..., nodes) may carry leading axes (a
        batch of weight sets, one set per year); a group whose weights sum to 0 is an error.
        """
        w = self.nominal_weights() if weights is None else np.asarray(weights, dtype=float)
        if w.ndim == 0 or w.shape[-1] != len(self.codes):
            raise InputError(f"effective weights need {len(self.codes)} weights, got {w.shape}")
        eff = np.empty_like(w)
        eff[..., -1] = 1.0
        for parent, kids in reversed(self.groups):  # top-down: a parent before its children
            total = w[..., kids].sum(axis=-1, keepdims=True)
            if (total == 0).any():
                code = self.codes[parent]
                raise InputError(f"the weights of the children of '{code}' sum to 0")
            eff[..., kids] = w[..., kids] / total * eff[..., parent, None]
        return eff

    # ---- validation ------------------------------------------------------------------------
    def _check(self) -> None:
        problems: list[Problem] = []

        def err(code: str | None, field: str | None, msg: str) -> None:
            problems.append(Problem(self.source, code, field, msg))

        seen: set[str] = set()
        for n in (self.root, *self.aggregates, *self.indicators):
            if not abs(n.weight) <= MAX_WEIGHT:  # also weights set after validation (with_weights)
                err(
                    n.code,
                    "weight",
                    f"weight {n.weight:g} is beyond ±{MAX_WEIGHT:g} (or not finite)",
                )
            if n.code in seen:
                err(n.code, "code", f"duplicate code '{n.code}'")
            seen.add(n.code)
            if n.weight < 0 and not self.root.allow_negative_weights:
                err(
                    n.code,
                    "weight",
                    "weight must be greater than or equal to 0 (negative weights need "
                    "allow_negative_weights = true in [index])",
                )
        agg_codes = {self.root.code} | {a.code for a in self.aggregates}
        for n in self._members:
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
                err(
                    parent,
                    "weight",
                    f"the weights of the children of '{parent}' are all zero or sum to <= 0",
                )
        for i in self.indicators:
            if i.goalposts is not None and i.goalposts[0] == i.goalposts[1]:
                err(i.code, "goalposts", "lower and upper goalposts are equal")
            if i.scaled_bounds is not None and i.scaled_bounds[0] == i.scaled_bounds[1]:
                err(i.code, "scaled_bounds", "lower and upper bounds are equal")
        if problems:
            raise InputError(problems)

    def check_data(
        self,
        available: Iterable[str],
        *,
        denominators: bool = True,
        units: Mapping[str, str] | None = None,
    ) -> None:
        """Raise if a series the framework reads (with or without denominators) is absent, or if
        an indicator scored as its series itself (no denominator, scale 1, no complement) labels
        it with a unit of another magnitude than the data's (``units``: series → unit): its values
        are in the data's unit, so ``unit = "个"`` over data in 万个 would mislabel every figure by
        10⁴. A label the unit table cannot compare (``台/百人`` over ``台``) is the framework's
        own wording and is left alone."""
        from index.etl.units import UnitError, factor

        have = set(available)
        problems = [
            Problem(self.source, i.code, field, f"series '{s}' is not in the data")
            for i in self.indicators
            for field, s in (
                ("series", i.data_series),
                ("denominator", i.denominator),
                ("fill_from.series", i.fill_from and i.fill_from.series),
                ("fill_from.times", i.fill_from and i.fill_from.times),
            )
            if s and s not in have and (denominators or field != "denominator")
        ]
        for i in self.indicators:
            data_unit = (units or {}).get(i.data_series)
            as_is = (i.denominator is None or not denominators) and i.scale == 1
            if not (data_unit and i.unit and as_is and not i.complement):
                continue
            try:
                ratio = factor(i.unit, data_unit)
            except UnitError:  # not comparable: a label in the framework's own words
                continue
            if ratio != 1:
                problems.append(
                    Problem(self.source, i.code, "unit",
                            f"unit '{i.unit}' is {ratio} × the data's unit "
                            f"'{data_unit}' of series '{i.data_series}' (its values are in "
                            f"'{data_unit}': give that unit, or leave unit out)")
                )  # fmt: skip
        if problems:
            raise InputError(problems)

    # ---- io --------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain-data form (TOML/JSON-ready) for manifests and round trips."""
        out = {
            "index": self.root.model_dump(exclude_defaults=True),
            "aggregate": [a.model_dump(exclude_defaults=True) for a in self.aggregates],
            "indicator": [i.model_dump(exclude_defaults=True) for i in self.indicators],
        }
        return {**out, "config": dict(self.config)} if self.config else out

    def _unknown(self, codes: Iterable[str], field: str) -> list[Problem]:
        from index.methods.params import suggest

        return [
            Problem(
                "config",
                None,
                f"{field}.{c}",
                f"no node '{c}' in {self.source}{suggest(c, self.codes)}",
            )  # fmt: skip
            for c in codes
            if c not in self.codes
        ]

    def with_weights(self, weights: Mapping[str, float], field: str = "weights") -> Framework:
        """A copy with some node weights replaced (code → weight), exactly as if the file said so."""
        if problems := self._unknown(weights, field):
            raise InputError(problems)

        def upd(n):
            return n.model_copy(update={"weight": weights[n.code]}) if n.code in weights else n

        return Framework.from_nodes(
            upd(self.root),
            map(upd, self.aggregates),
            map(upd, self.indicators),
            self.source,
            self.config,
        )

    def excluding(self, codes: Iterable[str], field: str = "exclude") -> Framework:
        """A copy without the given indicators or aggregates (an aggregate goes with its subtree).

        Excluding every child of an aggregate without excluding the aggregate is an error, as is
        excluding the index itself: the result would not be the index the user meant."""
        codes = list(dict.fromkeys(codes))
        if problems := self._unknown(codes, field):
            raise InputError(problems)
        if self.root.code in codes:
            raise InputError(Problem("config", None, field, "cannot exclude the index itself"))
        gone: set[str] = set()
        for c in codes:
            gone |= {c, *self.descendants(c)}
        for parent, kids in self.children.items():
            if parent not in gone and kids and all(k in gone for k in kids):
                raise InputError(
                    Problem("config", None, field, f"excluding {sorted(set(kids) & gone)} leaves "
                            f"'{parent}' with no children; exclude '{parent}' itself instead")
                )  # fmt: skip
        return Framework.from_nodes(
            self.root,
            [a for a in self.aggregates if a.code not in gone],
            [i for i in self.indicators if i.code not in gone],
            self.source,
            self.config,
        )

    def descendants(self, code: str) -> list[str]:
        """Every node below ``code`` (depth first, file order)."""
        out: list[str] = []
        for c in self.children.get(code, []):
            out += [c, *self.descendants(c)]
        return out


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
    return Framework.from_nodes(f.index, f.aggregate, f.indicator, source, f.config)


def from_table(rows: Iterable[Mapping[str, Any]], source: str = "<nodes>") -> Framework:
    """The hierarchy of a node table (e.g. ``Build.nodes`` or a publication's ``nodes``): one
    record per node with ``code``, ``parent`` (missing for the root) and optional ``name_zh``,
    ``name_en``. Nodes that are someone's parent become aggregates, the others indicators.
    Only the structure and names are read: a node table's weights are the ones a build used
    (data-driven methods may make them negative), so every node here weighs 1."""
    records = list(rows)

    def text(v: object) -> str:
        return v if isinstance(v, str) else ""

    parents = {r["parent"] for r in records if isinstance(r.get("parent"), str)}
    roots, aggs, inds = [], [], []
    for r in records:
        common: dict[str, Any] = {
            "code": r["code"],
            "name_zh": text(r.get("name_zh")),
            "name_en": text(r.get("name_en")),
        }
        if not isinstance(r.get("parent"), str):
            roots.append(Root(**common))
        elif r["code"] in parents:
            aggs.append(Aggregate(**common, parent=r["parent"]))
        else:
            inds.append(Indicator(**common, parent=r["parent"]))
    if len(roots) != 1:
        raise InputError(Problem(source, None, "parent", f"{len(roots)} nodes without a parent"))
    return Framework.from_nodes(roots[0], aggs, inds, source)


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
        what = "is a folder, not a framework file" if path.is_dir() else "framework file not found"
        raise InputError(Problem(str(path), None, None, what))
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(
            Problem(str(path), None, None, "not a TOML text file (not UTF-8: binary?)")
        ) from None
    return from_dict(parse_toml(text, path.name), source=path.name)


FRAMEWORKS = Path(__file__).parent / "frameworks"
DEFAULT_FRAMEWORK = FRAMEWORKS / "cci_public.toml"


def bundled() -> list[str]:
    """Names of the bundled frameworks (``-f NAME``)."""
    return sorted(
        p.stem for p in FRAMEWORKS.glob("*.toml") if not p.name.endswith((".run.toml",))
        and p.stem != "uncertainty_default"
    )  # fmt: skip


def framework_path(name: str) -> Path:
    """'default' → the default framework; a bundled name → its file; otherwise a path."""
    if name == "default":
        return DEFAULT_FRAMEWORK
    if name in bundled():
        return FRAMEWORKS / f"{name}.toml"
    return Path(name)
