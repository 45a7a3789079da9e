"""Run configuration: one frozen pydantic object describes a whole build (framework + every choice).

Each step is ``{method = "...", <parameters>}``. A step's parameters are checked against the
method's own signature (:mod:`index.methods.params`) when the config is built — unknown names
("did you mean …?"), wrong types, out-of-range values and cross-parameter rules are errors, never
silently ignored. ``--set key=value`` overrides use dotted keys (``normalise.u=1``);
``--set weighting=entropy`` is short for ``weighting.method=entropy``. What-ifs on the framework
are ``weights`` (node → weight, as if the framework file said so) and ``exclude`` (codes dropped).
Every override is kept in ``overrides`` for the manifest.

A framework may carry recommended settings (its ``[config]`` table, e.g. the default edition's
missing-data policy); :func:`effective` lays the settings a user gave explicitly over them. A
step given anew with another method keeps the step's own settings (group, fallback, levels,
panel, per_indicator, dat_thresh) but not the old method's parameters (:func:`switch`);
``X.method=Y`` is the same as ``X=Y``.
"""

from __future__ import annotations

import copy
import functools
import json
import math
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator, model_validator
from pydantic_core import PydanticCustomError

from index.errors import InputError, Problem, validated
from index.io import parse_toml

BUNDLED_CONFIGS = Path(__file__).parent / "frameworks"
"""Bundled run configurations, by name: ``-c caict`` reads ``frameworks/caict.run.toml``."""


class Step(BaseModel):
    """A method name plus its keyword parameters (any extra field is a parameter).

    Subclasses name the kind of method and its registry; the parameters are validated against the
    registered function's signature as soon as the step is built.
    """

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)

    KIND: ClassVar[str] = ""
    method: str

    @property
    def params(self) -> dict[str, Any]:
        """The method's parameters (a fresh dict: the step itself is frozen)."""
        return dict(self.model_extra or {})

    @classmethod
    def registry(cls) -> Mapping[str, Callable]:
        raise NotImplementedError

    def problems(self) -> list[str]:
        """Everything wrong with this step (empty = valid)."""
        from index.methods import params as prm

        reg = self.registry()
        if not prm.known(self.method, reg):
            return [prm.unknown_method(self.KIND, self.method, reg)]
        return prm.check(
            self.KIND, self.method, reg[self.method], self.params, own=type(self).model_fields
        )

    @field_validator("method")
    @classmethod
    def _known(cls, v: str) -> str:
        from index.methods import params as prm

        if v not in (reg := cls.registry()):
            raise PydanticCustomError("config", prm.unknown_method(cls.KIND, v, reg))
        return v

    @model_validator(mode="after")
    def _valid(self) -> Step:
        if problems := self.problems():
            raise PydanticCustomError("config", "; ".join(problems))
        return self


class Impute(Step):
    """Missing values: ``method`` first (e.g. ``latest`` along time), then ``fallback`` (a
    cross-sectional rule, e.g. ``worst_grp``) for what remains."""

    KIND: ClassVar[str] = "imputation"
    method: str = "none"
    group: str | None = Field(default=None, description="unit-group column for *_grp methods")
    fallback: str | None = Field(
        default=None, description="a second imputation for the values the first leaves missing"
    )

    @classmethod
    def registry(cls) -> Mapping[str, Callable]:
        from index.methods.impute import IMPUTERS

        return IMPUTERS

    def problems(self) -> list[str]:
        from index.methods import params as prm

        out = super().problems()
        reg = self.registry()
        for field, name in (("method", self.method), ("fallback", self.fallback)):
            if name is None or not prm.known(name, reg):
                if field == "fallback" and name is not None:
                    out.append(prm.unknown_method("fallback imputation", name, reg))
                continue
            if name.endswith("_grp") and self.group is None:
                out.append(f"impute.{field} '{name}' needs impute.group (a unit-group column)")
        if prm.known(self.fallback, reg):
            if self.fallback in ("latest", "linear", "none"):
                out.append(f"impute.fallback must be cross-sectional, not '{self.fallback}'")
            elif self.method == "none":
                out.append("impute.fallback needs a first method (impute.method is 'none')")
        if self.group is not None and not (
            self.method.endswith("_grp") or (self.fallback or "").endswith("_grp")
        ):
            out.append(f"impute.group is unused by '{self.method}' (only *_grp methods read it)")
        return out


class Treat(Step):
    """Outlier treatment (COINr ``Treat``); ``per_indicator`` overrides by indicator code."""

    KIND: ClassVar[str] = "treatment"
    method: str = "winsorise"
    per_indicator: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="indicator code → its own treatment settings"
    )

    @classmethod
    def registry(cls) -> Mapping[str, Callable]:
        from index.methods.treat import TREATMENTS

        return TREATMENTS

    def problems(self) -> list[str]:
        from index.methods import params as prm
        from index.methods import treat as trt

        reg = self.registry()
        if not prm.known(self.method, reg):
            return [prm.unknown_method(self.KIND, self.method, reg)]
        params = self.params
        table = self.per_indicator
        out = []
        if self.method == "none" and params:
            out.append(f"treat method 'none' takes no parameters (given {sorted(params)})")
            params = {}
        if named := _stage_names(params, trt):  # a misspelt stage: its did-you-mean is enough
            return out + named
        shared = prm.check(self.KIND, "treat", trt.treat, params, own=type(self).model_fields)
        out += shared
        if isinstance(w := params.get("winmax"), int) and w < 0:
            out.append(f"treat.winmax must be ≥ 0 (points Winsorised at most), got {w}")
        entries = {}
        for code, extra in table.items():
            if not isinstance(extra, dict):
                out.append(f"treat.per_indicator.{code}: give a table of treat settings")
                continue
            merged = {**params, "method": self.method, **extra}
            if not prm.known(m := merged.pop("method"), reg):
                out.append(f"treat.per_indicator.{code}: {prm.unknown_method(self.KIND, m, reg)}")
                continue
            if bad := _stage_names(extra, trt, f"treat.per_indicator.{code}"):
                out += bad
                continue
            for p in prm.check(self.KIND, "treat", trt.treat, {**merged, "method": m}):
                if p not in shared:  # a shared setting's problem is reported once, above
                    out.append(f"treat.per_indicator.{code}: {p}")
            entries[code] = extra
        if not out:  # every name known: report what would change nothing
            top = {"method": self.method, **params}
            out += [
                f"treat.{'' if key is None else f'per_indicator.{key}.'}{name} {why}"
                for key, name, why in trt.unused_settings(top, entries)
            ]
        return out


def _stage_names(params: Mapping[str, Any], trt: Any, where: str = "treat") -> list[str]:
    """Unknown ``f1`` / ``f2`` names (COINr ``Treat``'s two stages), each with a did-you-mean."""
    from index.methods import params as prm

    choices = {"f1": trt.TREATMENTS, "f2": trt.TRANSFORMS}
    return [
        f"{where}.{key}: {prm.unknown_method(f'{key} treatment', name, reg)}"
        for key, reg in choices.items()
        if (name := params.get(key)) is not None and not prm.known(name, reg)
    ]


class Normalise(Step):
    """Normalisation; ``per_indicator`` gives some indicators their own method (COINr
    ``indiv_specs``): ``per_indicator = {racks = {method = "target"}}``."""

    KIND: ClassVar[str] = "normalisation"
    method: str = "minmax"
    panel: Literal["per_year", "global"] | int = Field(
        default="per_year",
        description="fit the normalisation per year, on all years pooled, or on one reference year",
    )
    per_indicator: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="indicator code → its own {method, parameters} (COINr indiv_specs)",
    )
    method_defaults: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="method → the parameters it runs with where the config does not set them "
        "(what load_coinr reads from COINr iMeta: dist2targ_cap_max, scale_factor, goalpost_*)",
    )

    @classmethod
    def registry(cls) -> Mapping[str, Callable]:
        from index.methods.normalize import NORMALISERS

        return NORMALISERS

    def problems(self) -> list[str]:
        from index.methods import params as prm

        out = super().problems()
        reg = self.registry()
        for code, spec in self.per_indicator.items():
            spec = dict(spec)
            method = spec.pop("method", self.method)
            if not prm.known(method, reg):
                out.append(
                    f"normalise.per_indicator.{code}: " + prm.unknown_method(self.KIND, method, reg)
                )
                continue
            for p in prm.check(self.KIND, method, reg[method], self.with_defaults(method, spec)):
                out.append(f"normalise.per_indicator.{code}: {p}")
        if self.method in self.method_defaults and prm.known(self.method, reg):
            merged = self.with_defaults(self.method, self.params)  # what the method runs with
            own = type(self).model_fields
            for p in prm.check(self.KIND, self.method, reg[self.method], merged, own=own):
                if p not in out:
                    out.append(f"normalise with its method_defaults: {p}")
        for method, given in self.method_defaults.items():
            where = f"normalise.method_defaults.{method}"
            if not prm.known(method, reg):
                out.append(f"{where}: " + prm.unknown_method(self.KIND, method, reg))
            else:
                out += [f"{where}: {p}" for p in prm.check(self.KIND, method, reg[method], given)]
        return out

    def with_defaults(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` of ``method`` over its :attr:`method_defaults` (the config's own win)."""
        return {**self.method_defaults.get(method, {}), **params}


DATA_DRIVEN_DEFAULT_LEVELS = [1]


class Weighting(Step):
    """Where weights come from: ``fixed`` (the framework's, as written), ``equal`` (all ones), or a
    data-driven method (entropy, CRITIC, PCA, AHP, …) that sets the weights of the children of
    every group at ``levels`` — by default level 1 only, i.e. each indicator within its pillar
    (熵权法 as practised); ``levels = [1, 2]`` also weighs the pillars from their scores."""

    KIND: ClassVar[str] = "weighting"
    method: str = "fixed"
    levels: list[int] | None = Field(
        default=None,
        description="levels whose child weights a data-driven method sets (default [1])",
    )

    @classmethod
    def registry(cls) -> Mapping[str, Callable]:
        from index.methods.weights import WEIGHTERS

        return WEIGHTERS

    @property
    def data_driven(self) -> bool:
        return self.method not in FIXED_WEIGHTS

    @property
    def joint(self) -> bool:
        """Whether the method optimises one whole level against the index (``optimise``), which
        the build runs over the tree rather than group by group."""
        from index.methods.optimise import JOINT

        return self.method == JOINT

    def sets(self, parent: str, parent_level: int) -> bool:
        """Whether the method sets the weights of ``parent``'s children.

        A parameter given as a table keyed by parent code (one AHP matrix per pillar) selects the
        groups it lists; otherwise ``levels`` (default [1]: the indicators) selects by the level
        of the children (1 = indicators)."""
        if not self.data_driven:
            return False
        if self.joint:  # weighting=optimise: the nodes at weighting.level (1 = indicators)
            return parent_level - 1 == self.params.get("level")
        tables = [v for v in self.params.values() if isinstance(v, dict)]
        if tables and not all(parent in t for t in tables):
            return False
        if self.levels is None:
            return bool(tables) or parent_level - 1 in DATA_DRIVEN_DEFAULT_LEVELS
        return parent_level - 1 in self.levels

    def problems(self) -> list[str]:
        from index.methods import params as prm

        reg = self.registry()
        if not prm.known(self.method, reg):
            return [prm.unknown_method(self.KIND, self.method, reg)]
        if not self.data_driven:
            out = []
            if self.params:
                name = sorted(self.params)[0]
                hint = prm.suggest(name, type(self).model_fields) or (
                    f"; to change a node's weight use --weight {name}=W "
                    "(or weights.NODE = W in the config)"
                )
                out.append(
                    f"weighting '{self.method}' takes no parameters "
                    f"(given {sorted(self.params)}){hint}"
                )
            if self.levels is not None:
                out.append(
                    f"weighting.levels has no effect with '{self.method}' weights; "
                    "it selects the levels a data-driven method weighs"
                )
            return out
        if self.joint and self.levels is not None:
            return [
                f"weighting.levels has no effect with '{self.method}': it optimises the one "
                "level given by weighting.level (1 = indicators)"
            ]
        if self.levels is not None and (not self.levels or min(self.levels) < 1):
            return [f"weighting.levels must be levels ≥ 1 (1 = indicators), got {self.levels}"]
        return prm.check(
            self.KIND,
            self.method,
            reg[self.method],
            self.params,
            own=type(self).model_fields,
            per_group=not self.joint,
        )


FIXED_WEIGHTS = frozenset({"fixed", "equal"})


Level = Annotated[int, Strict(False)]
"""A parent level as a table key: TOML keys are text ("2"), read as the level number."""


class Aggregation(Step):
    """How children combine into their parent; ``by_level`` = another method per parent level,
    ``dat_thresh`` = the minimum share of children with data (one number, or one per level)."""

    KIND: ClassVar[str] = "aggregation"
    method: str = "amean"
    dat_thresh: float | dict[Level, float] | None = Field(
        default=None,
        description="least share of children with data, one number or per parent level "
        '({"2": 0.8}); below it the parent is missing (COINr dat_thresh)',
    )
    by_level: dict[Level, str] = Field(default_factory=dict, description="method per parent level")

    @field_validator("dat_thresh")
    @classmethod
    def _share(cls, v: float | dict[int, float] | None) -> float | dict[int, float] | None:
        values = v.values() if isinstance(v, dict) else [] if v is None else [v]
        if any(not (0.0 <= t <= 1.0) for t in values):
            raise ValueError(f"dat_thresh must lie in [0, 1], got {v}")
        return v

    @classmethod
    def registry(cls) -> Mapping[str, Callable]:
        from index.methods.aggregate import AGGREGATORS

        return AGGREGATORS

    def threshold(self, level: int) -> float | None:
        """The data threshold of a parent at ``level``."""
        t = self.dat_thresh
        return t.get(level) if isinstance(t, dict) else t

    def method_at(self, level: int) -> str:
        return self.by_level.get(level, self.method)

    def params_for(self, method: str) -> dict[str, Any]:
        """The parameters ``method`` accepts (shared parameters reach the methods that take them)."""
        from index.methods import keywords

        accepted = keywords(self.registry()[method])
        return {k: v for k, v in self.params.items() if k in accepted}

    def problems(self) -> list[str]:
        from index.methods import keywords
        from index.methods import params as prm

        reg = self.registry()
        methods = dict.fromkeys([self.method, *self.by_level.values()])
        if bad := [m for m in methods if not prm.known(m, reg)]:
            return [prm.unknown_method(self.KIND, m, reg) for m in bad]
        out = []
        for name in self.params:
            if not any(name in keywords(reg[m]) for m in methods):
                out += prm.check(self.KIND, self.method, reg[self.method], {name: None})[:1]
        for m in methods:
            out += prm.check(self.KIND, m, reg[m], self.params_for(m))
        return list(dict.fromkeys(out))


class Screen(BaseModel):
    """Unit screening (COINr ``Screen``): drop units with too little data (``byNA``: share of
    indicators present below ``dat_thresh``), too many zeros (``byzeros``: share of non-zero values
    below ``nonzero_thresh``) or either; ``force`` keeps (true) or drops (false) named units. A unit
    is kept when it passes in every year built; ``dset`` is the stage screened."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    READS: ClassVar[dict[str, set[str]]] = {  # the settings each rule reads
        "none": set(),
        "byNA": {"dset", "dat_thresh"},
        "byzeros": {"dset", "nonzero_thresh"},
        "byNAandzeros": {"dset", "dat_thresh", "nonzero_thresh"},
    }

    unit_screen: Literal["none", "byNA", "byzeros", "byNAandzeros"] = Field(
        default="none", description="COINr Screen rule: by missing data, by zeros, or both"
    )
    dset: Literal["raw", "denominated", "imputed"] = Field(
        default="raw", description="the stage whose values are screened"
    )
    dat_thresh: float = Field(
        default=2 / 3, ge=0.0, le=1.0, description="least share of indicators with data (byNA)"
    )
    nonzero_thresh: float = Field(
        default=0.05, ge=0.0, le=1.0, description="least share of non-zero values (byzeros)"
    )
    force: dict[str, bool] = Field(
        default_factory=dict, description="unit code → keep (true) or drop (false) regardless"
    )

    @model_validator(mode="after")
    def _used(self) -> Screen:
        """A setting the rule does not read changes nothing: an error, not a no-op (a value
        equal to the default, as an effective-config file writes it, is not a choice)."""
        if self.unit_screen == "none" and self.force:
            raise PydanticCustomError("config", "screen settings need screen.unit_screen")
        fields = type(self).model_fields
        unused = sorted(
            name
            for name in self.model_fields_set
            - self.READS[self.unit_screen]
            - {"unit_screen", "force"}
            if getattr(self, name) != fields[name].default
        )
        if unused:
            raise PydanticCustomError(
                "config",
                "screen.{names} has no effect with screen.unit_screen = '{rule}'",
                {"names": ", screen.".join(unused), "rule": self.unit_screen},
            )
        return self


class Config(BaseModel):
    """Everything that determines a build. Same config + same data + same version ⇒ same output."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    framework: str = "default"
    years: list[int] | None = Field(
        default=None,
        description="years to build; None = every year in which each indicator has some data",
    )
    denominate: bool = True
    screen: Screen = Screen()
    impute: Impute = Impute()
    treat: Treat = Treat(method="winsorise", winmax=5)
    normalise: Normalise = Normalise(method="minmax", l=0.0, u=100.0)
    weighting: Weighting = Weighting()
    aggregation: Aggregation = Aggregation()
    weights: dict[str, float] = Field(
        default_factory=dict,
        description="node code → weight, replacing the framework's (what-if: --weight NODE=W)",
    )
    exclude: list[str] = Field(
        default_factory=list, description="indicator or aggregate codes dropped (--exclude CODE)"
    )
    seed: int = 20231008
    overrides: list[str] = Field(default_factory=list)

    @field_validator("years")
    @classmethod
    def _sorted_years(cls, v: list[int] | None) -> list[int] | None:
        """Years in time order, once each (panel imputation and 'latest year' rely on it)."""
        return sorted(set(v)) if v else None

    @field_validator("weights")
    @classmethod
    def _finite_weights(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: w for k, w in v.items() if not (math.isfinite(w) and 0 <= w <= 1e12)}
        if bad:
            raise ValueError(f"weights must be finite numbers in [0, 1e12], got {bad}")
        return v

    @field_validator("exclude")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(v))

    def with_overrides(
        self, items: list[str], inherited: Mapping[str, set[str]] | None = None
    ) -> Config:
        """A new config with ``key=value`` overrides applied in order (values parsed as JSON when
        possible), validated as a whole. A parameter given and then dropped by a later switch of
        method (``normalise.m=1`` before ``normalise=zscore``) is an error, not lost silently.
        ``inherited``: per section, the settings that came from a framework's recommendations
        (not the user's); those the overrides make useless are dropped, not reported."""
        data = self.model_dump(exclude_unset=True)
        given: set[str] = set()
        for item in items:
            _apply(data, item, given)
        treat = data.get("treat")
        if inherited and isinstance(treat, dict):
            theirs = inherited.get("treat", set())
            mine = {k: v for k, v in treat.items() if k not in theirs or f"treat.{k}" in given}
            data["treat"] = _without_inherited_unused(treat, mine)
        data["overrides"] = [*self.overrides, *items]
        out = validate(data, "--set")
        if unused := _unused_method_defaults(out.normalise, given):
            raise InputError(unused)
        return out

    def with_whatif(
        self, weights: Mapping[str, float] | None = None, exclude: list[str] | None = None
    ) -> Config:
        """A new config with node weights replaced and codes excluded (recorded as overrides)."""
        items = [f"weights.{k}={json.dumps(v)}" for k, v in (weights or {}).items()]
        if exclude:
            items.append("exclude=" + json.dumps([*self.exclude, *exclude], ensure_ascii=False))
        return self.with_overrides(items) if items else self

    def explicit(self) -> dict[str, Any]:
        """The settings given explicitly (not defaults): what :func:`effective` lays over a
        framework's recommended settings."""
        return self.model_dump(exclude_unset=True)


def _apply(data: dict, item: str, given: set[str]) -> None:
    """Apply one ``key=value`` override to plain config data, in place; ``given`` collects the
    keys set so far in this batch."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise InputError(Problem("--set", None, item, "expected key=value"))
    path = key.strip().split(".")
    value = _parse_value(raw.strip(), key.strip())
    top = path[0]
    if top not in Config.model_fields or top == "overrides":
        from index.methods.params import suggest

        names = [n for n in Config.model_fields if n != "overrides"]
        raise InputError(
            Problem(
                "--set",
                None,
                key,
                f"unknown setting '{top}'{suggest(top, names)}; settings are {names}",
            )  # fmt: skip
        )
    target = data
    for depth, part in enumerate(path[:-1]):
        if part not in target:  # an unset section starts from its defaults
            seed = _default(part) if depth == 0 else None
            target[part] = dict(seed) if isinstance(seed, dict) else {}
        if not isinstance(target[part], dict):
            raise InputError(Problem("--set", None, key, f"'{part}' is a value, not a section"))
        target = target[part]
    leaf = path[-1]
    if len(path) == 2 and top in _STEPS and leaf == "method":  # X.method=Y is X=Y
        path, leaf, target = [top], top, data
    if len(path) == 1 and top in _STEPS:
        if value == {}:
            raise InputError(
                Problem("--set", None, key, f"an empty table changes nothing: give {top}=METHOD "
                        f"or {top}.SETTING=VALUE")
            )  # fmt: skip
        new = value if isinstance(value, dict) else {"method": value}
        old = target.get(leaf) or _default(leaf)
        target[leaf] = switch(leaf, old, new)
        if lost := sorted(
            f"{leaf}.{k}" for k in old if k not in target[leaf] and f"{leaf}.{k}" in given
        ):
            raise InputError(
                Problem("--set", None, lost[0], f"was set, then dropped by '{item}' (a new "
                        f"method does not take the old one's parameters): set it after '{item}'")
            )  # fmt: skip
    else:
        target[leaf] = value
        if path == ["screen", "unit_screen"] and isinstance(value, str) and value in Screen.READS:
            # a switch of rule: the old rule's thresholds go, unless given in this batch (then
            # they are reported)
            for name in set().union(*Screen.READS.values()):
                if name not in Screen.READS[value] and f"screen.{name}" not in given:
                    target.pop(name, None)
            if value == "none" and "screen.force" not in given:
                target.pop("force", None)
    given.add(".".join(path))


_STEPS = ("impute", "treat", "normalise", "weighting", "aggregation")


def _default(section: str) -> Any:
    """A fresh copy (overrides edit it in place) of one section of ``Config().model_dump()``,
    taken from one dump instead of validating a default Config per override."""
    return copy.deepcopy(_defaults().get(section))


@functools.cache
def _defaults() -> dict[str, Any]:
    return Config().model_dump()


def switch(section: str, step: Mapping[str, Any], new: Mapping[str, Any]) -> dict:
    """A step given anew (``weighting=entropy``, ``treat = {method = "winsorise", winmax = 1}``):
    with the same method, its settings merge into the step's; with another method, the step keeps
    its own settings (levels, panel, group, per_indicator …) but not the previous method's
    parameters, which the new method would not accept. ``method = "none"`` switches the step off
    entirely (no fallback, no per-indicator overrides)."""
    method = new.get("method", step.get("method"))
    if method == "none":
        return dict(new)
    if method == step.get("method"):  # per-indicator tables merge entry by entry
        merged = {**step, **new}
        if isinstance(step.get("per_indicator"), dict) and isinstance(
            new.get("per_indicator"), dict
        ):
            merged["per_indicator"] = {**step["per_indicator"], **new["per_indicator"]}
        return _merged_method_defaults(merged, step, new)
    model = Config.model_fields[section].annotation
    own = set(model.model_fields) - {"method"} if isinstance(model, type) else set()
    if section == "weighting" and isinstance(method, str) and method in FIXED_WEIGHTS:
        own.discard("levels")  # fixed weights weigh no level from data
    kept = {**{k: v for k, v in step.items() if k in own}, **new}
    return _merged_method_defaults(kept, step, new)


def _unused_method_defaults(step: Normalise, given: Collection[str]) -> list[Problem]:
    """The ``normalise.method_defaults`` the overrides ``given`` set (``…method_defaults.M.P``,
    ``….M`` or the whole table) that no indicator's normalisation takes: method M normalises
    none, or each that M normalises sets P itself (the step's or its own ``per_indicator``
    parameters win). Only the user's keys of this batch: a framework's defaults serve whichever
    method is chosen."""
    prefix = ["normalise", "method_defaults"]
    wanted: dict[str, list[tuple[str, str]]] = {}  # key given → (method, parameter) it set
    for key in given:
        parts = key.split(".")
        if parts[:2] != prefix:
            continue
        methods = [parts[2]] if len(parts) > 2 else list(step.method_defaults)
        wanted[key] = [
            (m, p)
            for m in methods
            for p in ([parts[3]] if len(parts) > 3 else list(step.method_defaults.get(m, {})))
        ]
    specs = [(step.method, step.params)] + [
        (s.get("method", step.method), s) for s in step.per_indicator.values()
    ]
    out = []
    for key, pairs in sorted(wanted.items()):
        for m, p in pairs:
            if not any(method == m and p not in params for method, params in specs):
                why = (
                    f"no indicator is normalised with '{m}'"
                    if m not in {method for method, _ in specs}
                    else f"every normalisation with '{m}' sets {p} itself"
                )
                out.append(Problem("--set", None, key, f"changes nothing: {why}"))
    return out


def _merged_method_defaults(
    merged: dict[str, Any], step: Mapping[str, Any], new: Mapping[str, Any]
) -> dict[str, Any]:
    """``merged`` with ``method_defaults`` merged method by method, parameter by parameter
    (the new step's win): a file giving one method's defaults keeps the framework's others."""
    old, given = step.get("method_defaults"), new.get("method_defaults")
    if isinstance(old, dict) and isinstance(given, dict):
        merged["method_defaults"] = {
            m: {**(old.get(m) or {}), **(given.get(m) or {})} for m in {**old, **given}
        }
    return merged


def _without_inherited_unused(merged: dict, new: Mapping[str, Any]) -> dict:
    """A treat step with the inherited shared settings that the new ones make useless dropped
    (a framework's ``winmax = 3`` under the user's ``f1 = "boxcox"``, which does not Winsorise):
    the user did not give them, so they are not the user's mistake. What the user gave stays, and
    is reported if it changes nothing."""
    from index.methods import treat as trt

    table = merged.get("per_indicator") or {}
    if not isinstance(table, dict) or not all(isinstance(e, dict) for e in table.values()):
        return merged  # malformed: Treat.problems reports it
    top = {k: v for k, v in merged.items() if k != "per_indicator"}
    gone = {n for key, n, _ in trt.unused_settings(top, table) if key is None and n not in new}
    return {k: v for k, v in merged.items() if k not in gone}


def _parse_value(raw: str, key: str) -> Any:
    """JSON when it parses (numbers, lists, tables, true/false), else the plain word; NaN and
    ±Infinity are refused (they would publish garbage)."""

    def refuse(const: str) -> Any:
        raise InputError(Problem("--set", None, key, f"{const} is not a finite number"))

    try:
        return json.loads(raw, parse_constant=refuse)
    except json.JSONDecodeError:
        if raw.lower() in ("nan", "inf", "+inf", "-inf", "infinity", "-infinity"):
            refuse(raw)
        return raw


def validate(data: dict, source: str) -> Config:
    """Validate plain data into a Config, reporting every problem with its key path."""
    return validated(Config, data, source)


def load(path: str | Path) -> Config:
    """Read a TOML run configuration; a bare name (``caict``) is a bundled one."""
    path = Path(path)
    bundled = BUNDLED_CONFIGS / f"{path.name}.run.toml"
    if not path.exists() and path.parent == Path(".") and bundled.is_file():
        path = bundled
    if path.is_dir():
        raise InputError(Problem(str(path), None, None, "is a folder, not a config file"))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        names = sorted(p.name.removesuffix(".run.toml") for p in BUNDLED_CONFIGS.glob("*.run.toml"))
        raise InputError(
            Problem(str(path), None, None, f"config file not found (bundled configs: {names})")
        ) from None
    except UnicodeDecodeError as exc:
        raise InputError(Problem(str(path), None, None, f"not valid TOML: {exc}")) from None
    data = parse_toml(text, str(path))
    if empty := [step for step in _STEPS if data.get(step) == {}]:
        # a step's table is laid over the framework's by :func:`switch`: with nothing in it, the
        # step keeps its method and settings (other empty tables can clear the framework's)
        raise InputError(
            [
                Problem(str(path), None, step, f"an empty table changes nothing: give {step} a "
                        "method or a setting, or remove the table")
                for step in empty
            ]
        )  # fmt: skip
    return validate(data, str(path))


def effective(config: Config, recommended: Mapping[str, Any]) -> Config:
    """``config``'s explicit settings laid over a framework's ``recommended`` ones, step by step
    as :func:`switch` describes (same method: merged key by key; another method: the step's own
    settings kept, the old method's parameters dropped; ``none``: the step off)."""
    if not recommended:
        return config
    base = {k: dict(v) if isinstance(v, dict) else v for k, v in recommended.items()}
    for key, value in config.explicit().items():
        rec = base.get(key)
        if key in _STEPS and isinstance(rec, dict) and isinstance(value, dict):
            base[key] = switch(key, rec, value)
            if key == "treat":
                base[key] = _without_inherited_unused(base[key], value)
        else:
            base[key] = value
    return validate(base, "config")


def steps() -> dict[str, type[Step]]:
    """Config section → its step model (each with its kind of method and registry)."""
    return {
        name: f.annotation
        for name, f in Config.model_fields.items()
        if isinstance(f.annotation, type) and issubclass(f.annotation, Step)
    }


def catalogue() -> list[dict[str, Any]]:
    """Every method a config can name: section, method, its parameters (type, default) and the
    first line of its docstring — what ``compute-index methods`` prints."""
    from index.methods import params as prm
    from index.methods import treat as trt

    rows = []
    for section, model in steps().items():
        for name, fn in sorted(model.registry().items()):
            target = trt.treat if section == "treat" and name != "none" else fn
            params = {} if name in FIXED_WEIGHTS and section == "weighting" else (
                prm.parameters(target, model.KIND)
            )  # fmt: skip
            if target is trt.treat:  # only what this method reads (f1, f2, winmax … or none)
                used = trt.used_options({"method": name, "f1": name, "f2": "boxcox"})
                params = {k: v for k, v in params.items() if k in used}
            doc = (fn.__doc__ or "").strip().splitlines()
            if section == "treat":
                doc = [trt.method_summary(name)]
            rows.append(
                {
                    "section": section,
                    "method": name,
                    "parameters": params,
                    "summary": doc[0] if doc else "",
                }
            )
    return rows


def outputs() -> list[dict[str, Any]]:
    """The results a build reports beyond its scores (section ``outputs`` of ``compute-index
    methods``): the Python entry point and what it gives (where it appears in the outputs)."""
    entries = {
        "Build.ahp_consistency()": "AHP 一致性 Saaty's CR = CI/RI per matrix, limit 0.1 (run "
        "prints it; Method sheet, report)",
        "Build.unit_weights(year)": "BoD 自选权重 each unit's own benefit-of-the-doubt weights "
        "and shares (results.unit_weights.parquet; BoD weights sheet)",
        "Build.nodes.weight_basis": "权重说明 where weights are per unit or by position (BoD, "
        "robust BoD, OWA): no common effective weight",
        "Build.plot_framework()": "框架图 COINr plot_framework: sunburst of the effective weights "
        "(figures/framework)",
        "SobolAnalysis.plot()": "敏感性图 Sobol' first-order and total indices per factor "
        "(figures/sobol)",
        "optimise_level_weights(xn, fw, w, level)": "COINr get_opt_weights(Level): one level "
        "optimised jointly against the index (config: weighting=optimise)",
    }
    return [
        {"section": "outputs", "method": name, "parameters": {}, "summary": what}
        for name, what in entries.items()
    ]


def settings_catalogue() -> list[dict[str, str]]:
    """Every setting of a run configuration that is not a method's own parameter (screening,
    per-level thresholds, per-indicator methods, fallbacks, years …): section, setting, type and
    default, and what it does — the second table of ``compute-index methods``."""
    rows = []
    for section, f in Config.model_fields.items():
        model = f.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        for name, field in model.model_fields.items():
            if name == "method" and issubclass(model, Step):
                continue  # the methods table lists them
            default = "{}" if field.default_factory is dict else repr(field.default)
            rows.append(
                {
                    "section": section,
                    "setting": name,
                    "type": f"{_type_text(field.annotation)} = {default}",
                    "what": field.description or "",
                }
            )
    return rows


def _type_text(annotation: object) -> str:
    """A readable type: ``float | dict[int, float] | None``, ``Literal['a', 'b']``."""
    import typing

    if isinstance(annotation, type) and typing.get_origin(annotation) is None:
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def to_toml(config: Config, recommended: Mapping[str, Any] | None = None) -> str:
    """The configuration as TOML (a file ``-c`` reads back to the same Config, with the
    framework's ``recommended`` settings laid under it as every run does: :func:`effective`)."""
    import tomli_w

    data = config.model_dump(mode="json", exclude_none=True)
    data.pop("overrides", None)
    if "aggregation" in data:  # TOML keys are strings
        agg = data["aggregation"]
        for key in ("by_level", "dat_thresh"):
            if isinstance(agg.get(key), dict):
                agg[key] = {str(k): v for k, v in agg[key].items()}
    text = tomli_w.dumps(data)
    before = config.model_dump(mode="json", exclude={"overrides"})
    again = effective(validate(parse_toml(text, "config"), "config"), recommended or {})
    after = again.model_dump(mode="json", exclude={"overrides"})
    flat_before, flat_after = _flat(before), _flat(after)
    lost = [k for k, v in flat_before.items() if k not in flat_after or flat_after[k] != v]
    if lost:  # a null TOML cannot write, or an empty table the framework's would fill again
        raise InputError([_unwritable(key, flat_before[key], _at(after, key)) for key in lost])
    return text


def _at(data: Any, key: str) -> Any:
    """The value at a dotted ``key`` of nested settings (None where absent)."""
    for part in key.split("."):
        data = data.get(part) if isinstance(data, Mapping) else None
    return data


def _unwritable(key: str, value: Any, again: Any) -> Problem:
    """Why the setting ``key`` = ``value`` would read back from a config file as ``again``."""
    given = json.dumps(value, ensure_ascii=False)
    why = (
        "is null, which TOML cannot write"
        if value is None
        else f"would read back as {json.dumps(again, ensure_ascii=False)} (a file's settings "
        "are laid over the framework's, whose entries fill an empty table)"
    )
    return Problem("config", None, key, f"{why}; pass it as --set {key}={given} beside -c FILE")


def _flat(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings as ``{"treat.winmax": 5, …}``."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping) and value:
            out |= _flat(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out
