"""Run configuration: one pydantic object describes a whole build (framework + every method choice).

Each step is ``{method = "...", <parameters>}``; parameters are passed to the method as keywords.
``--set key=value`` overrides use dotted keys (``normalise.u=1``); ``--set weighting=entropy`` is
short for ``weighting.method=entropy``. Every override is kept in ``overrides`` for the manifest.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from index.errors import InputError, Problem, validated


class Step(BaseModel):
    """A method name plus its keyword parameters (any extra field is a parameter)."""

    model_config = ConfigDict(extra="allow")

    method: str

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Impute(Step):
    method: str = "none"
    group: str | None = Field(default=None, description="unit-group column for *_grp methods")


class Treat(Step):
    method: str = "winsorise"


class Normalise(Step):
    method: str = "minmax"
    panel: Literal["per_year", "global"] | int = Field(
        default="per_year",
        description="fit the normalisation per year, on all years pooled, or on one reference year",
    )


class Weighting(Step):
    method: str = "fixed"
    levels: list[int] | None = Field(
        default=None, description="levels whose child weights the method sets (None = all)"
    )


class Aggregation(Step):
    method: str = "amean"
    dat_thresh: float | None = Field(default=None, ge=0.0, le=1.0)
    by_level: dict[int, str] = Field(default_factory=dict, description="method per parent level")


class Config(BaseModel):
    """Everything that determines a build. Same config + same data + same version ⇒ same output."""

    model_config = ConfigDict(extra="forbid")

    framework: str = "default"
    years: list[int] | None = Field(
        default=None,
        description="years to build; None = every year in which each indicator has some data",
    )
    denominate: bool = True
    impute: Impute = Impute()
    treat: Treat = Treat(method="winsorise", winmax=5)
    normalise: Normalise = Normalise(method="minmax", l=0.0, u=100.0)
    weighting: Weighting = Weighting()
    aggregation: Aggregation = Aggregation()
    seed: int = 20231008
    overrides: list[str] = Field(default_factory=list)

    @field_validator("years")
    @classmethod
    def _sorted_years(cls, v: list[int] | None) -> list[int] | None:
        """Years in time order, once each (panel imputation and 'latest year' rely on it)."""
        return sorted(set(v)) if v else None

    def with_overrides(self, items: list[str]) -> Config:
        """A new config with ``key=value`` overrides applied (values parsed as JSON when possible)."""
        data = self.model_dump()
        for item in items:
            key, sep, raw = item.partition("=")
            if not sep or not key.strip():
                raise InputError(Problem("--set", None, item, "expected key=value"))
            path = key.strip().split(".")
            value = _parse_value(raw.strip())
            target = data
            for part in path[:-1]:
                if not isinstance(target.get(part), dict):
                    raise InputError(Problem("--set", None, key, f"unknown section '{part}'"))
                target = target[part]
            leaf = path[-1]
            if (
                len(path) == 1
                and isinstance(target.get(leaf), dict)
                and not isinstance(value, dict)
            ):
                target[leaf] = _new_method(leaf, target[leaf], value)
            else:
                target[leaf] = value
        data["overrides"] = [*self.overrides, *items]
        return validate(data, "--set")


def _new_method(section: str, step: dict, method: Any) -> dict:
    """`weighting=entropy`: the new method, keeping the step's own settings (levels, panel, group…)
    but not the previous method's parameters, which the new method would not accept."""
    field = Config.model_fields.get(section)
    model = field.annotation if field is not None else None
    own = set(model.model_fields) if isinstance(model, type) and issubclass(model, Step) else set()
    return {**{k: v for k, v in step.items() if k in own}, "method": method}


def _parse_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def validate(data: dict, source: str) -> Config:
    """Validate plain data into a Config, reporting every problem with its key path."""
    return validated(Config, data, source)


def load(path: str | Path) -> Config:
    """Read a TOML run configuration."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(Problem(str(path), None, None, "config file not found")) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(Problem(str(path), None, None, f"not valid TOML: {exc}")) from None
    return validate(data, str(path))
