"""The uncertainty specification: which choices vary, over which alternatives, and how runs are drawn.

A spec (TOML, validated by pydantic) names uncertain inputs of three kinds, each one *factor* (one
column of the design) with discrete alternatives:

- ``[factors]``: any run-configuration key with a list of alternatives, written as dotted keys
  (``treat.winmax = [1, 2, 3]``, ``aggregation.method = ["amean", "gmean"]``, or whole steps
  ``normalise = [{method = "minmax", l = 1, u = 100}, {method = "rank"}]``);
- ``[[weights]]``: perturbed weights at chosen levels, as ``sets`` pre-drawn multiplier sets —
  COINr's noisy weights $w(1 + U(-f, f))$ (``noise = f``) or a Dirichlet around the nominal
  weights (``concentration = c``);
- ``[[exclude]]``: one element dropped (weight 0) per alternative, plus "none".

:func:`resolve` turns a spec into a :class:`Design` for one framework and configuration: config
factors become ``key=value`` overrides (validated up front), weight factors become tables of weight
multipliers (alternatives × nodes) relative to the framework's weights. A run is a row of
alternative indices; its weights are the nominal weights times one row of every table.
"""

from __future__ import annotations

import contextlib
import json
import tomllib
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from index.analysis import sampling as smp
from index.config import Config
from index.errors import InputError, Problem, validated
from index.framework import Framework

DEFAULT_SPEC = Path(__file__).resolve().parents[1] / "frameworks" / "uncertainty_default.toml"

# first component of a config key → the stage it changes (what the evaluator must recompute)
STAGES = {
    "denominate": "upstream",
    "impute": "upstream",
    "treat": "upstream",
    "normalise": "upstream",
    "weighting": "weighting",
    "aggregation": "aggregation",
}


class Sampling(BaseModel):
    """How the design is drawn: ``mc`` (i.i.d. uniform) or ``sobol`` (scrambled Sobol' sequence)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    method: Literal["mc", "sobol"] = "mc"
    n: int = Field(default=1000, ge=1, description="runs (uncertainty) or base sample N (Sobol)")
    seed: int = 20240101
    mapping: Literal["floor", "cut"] = Field(
        default="floor",
        description="uniform → alternative: equal bins on [0,1) or COINr's cut() on the sample range",
    )


class SobolSettings(BaseModel):
    """Sobol' sensitivity estimation (see index.analysis.sobol)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    layout: Literal["coinr", "salib"] = "coinr"
    convention: Literal["coinr", "salib"] = "coinr"
    n_boot: int = Field(default=500, ge=0)
    conf_level: float | None = Field(default=None, gt=0.0, lt=1.0)


class WeightNoise(BaseModel):
    """Perturbed weights of the nodes at ``levels`` (1 = indicators), drawn as ``sets`` sets."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str
    levels: list[int] = Field(min_length=1)
    noise: float | None = Field(default=None, gt=0.0, lt=1.0, description="COINr NoiseFactor f")
    concentration: float | None = Field(default=None, gt=0.0, description="Dirichlet c")
    sets: int = Field(default=100, ge=1)

    @model_validator(mode="after")
    def _one_kind(self) -> WeightNoise:
        if (self.noise is None) == (self.concentration is None):
            raise ValueError("give exactly one of 'noise' (uniform) or 'concentration' (Dirichlet)")
        return self


class Exclusion(BaseModel):
    """Drop one element per alternative: ``codes`` = "indicators", "aggregates" or a list."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = "exclude"
    codes: Literal["indicators", "aggregates"] | list[str] = "indicators"
    none: bool = Field(default=True, description="include the alternative 'nothing dropped'")


class Spec(BaseModel):
    """A whole uncertainty specification (the TOML file)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    sampling: Sampling = Sampling()
    sobol: SobolSettings = SobolSettings()
    factors: dict[str, Any] = Field(default_factory=dict)
    weights: list[WeightNoise] = Field(default_factory=list)
    exclude: list[Exclusion] = Field(default_factory=list)


@dataclass(frozen=True)
class Factor:
    """One uncertain input with ``n_alt`` alternatives.

    A config factor has one ``key=value`` override per alternative (``stage`` upstream, weighting
    or aggregation); a weight factor (``stage="weights"``) has a table of weight multipliers
    (alternatives × nodes in ``fw.codes`` order). ``configs`` are the configs the overrides gave
    when they were validated at :func:`resolve`, ``base.with_overrides([override])`` each, so an
    evaluator of that same ``base`` reads them instead of validating every alternative again.
    """

    name: str
    labels: tuple[str, ...]
    stage: str
    overrides: tuple[str, ...] = ()
    multipliers: np.ndarray | None = field(default=None, compare=False)
    base: Config | None = field(default=None, compare=False, repr=False)
    configs: tuple[Config, ...] = field(default=(), compare=False, repr=False)

    def config(self, base: Config, a: int) -> Config:
        """``base`` with override ``a`` of this config factor: the config validated at
        :func:`resolve` when ``base`` is the config it was resolved for, else validated now."""
        if base is self.base and self.configs:
            return self.configs[a]
        return base.with_overrides([self.overrides[a]])

    @property
    def n_alt(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class Design:
    """The resolved factors and the sampling settings: maps uniform draws to alternatives."""

    factors: tuple[Factor, ...]
    sampling: Sampling = field(default_factory=Sampling)
    sobol: SobolSettings = field(default_factory=SobolSettings)
    source: str = "<spec>"
    spec: Spec | None = field(default=None, compare=False)  # what it was resolved from

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.factors]

    @property
    def n_alts(self) -> np.ndarray:
        return np.array([f.n_alt for f in self.factors], dtype=np.intp)

    def uniform(self, n: int | None = None, seed: int | None = None) -> np.ndarray:
        """(n, d) uniform draws for an uncertainty analysis (``sampling.method``; a Sobol'
        sequence is balanced only for n = 2^m, which is the caller's choice, not a warning)."""
        n = self.sampling.n if n is None else n
        seed = self.sampling.seed if seed is None else seed
        with _quiet_sobol():
            return smp.base_design(n, len(self.factors), self.sampling.method, seed)

    def saltelli(self, n: int | None = None, seed: int | None = None) -> np.ndarray:
        """(N(d+2), d) uniform draws of a Saltelli design in ``sobol.layout``."""
        n = self.sampling.n if n is None else n
        seed = self.sampling.seed if seed is None else seed
        with _quiet_sobol():
            return smp.sa_design(
                n,
                len(self.factors),
                method=self.sampling.method,
                layout=self.sobol.layout,
                seed=seed,
            )

    def alternatives(self, u: np.ndarray) -> np.ndarray:
        """(runs, d) uniform draws → 0-based alternative indices (``sampling.mapping``)."""
        u = np.asarray(u, dtype=float).reshape(-1, len(self.factors))
        return smp.to_alternatives(u, self.n_alts, self.sampling.mapping)


@contextlib.contextmanager
def _quiet_sobol() -> Iterator[None]:
    """Silence scipy's "balance properties of Sobol' points require n = 2^m" warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*balance properties of Sobol")
        yield


# ---- reading -----------------------------------------------------------------------------------
def load(path: str | Path | None = None) -> tuple[Spec, str]:
    """Read and validate a spec TOML (default: the packaged one); returns (spec, source name)."""
    path = DEFAULT_SPEC if path in (None, "default") else Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(Problem(str(path), None, None, "spec file not found")) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(Problem(str(path), None, None, f"not valid TOML: {exc}")) from None
    except RecursionError:  # arrays or tables nested thousands deep
        raise InputError(
            Problem(str(path), None, None, "not valid TOML: nested too deep")
        ) from None
    return validate(data, str(path)), str(path)


def validate(data: dict, source: str = "<spec>") -> Spec:
    """Validate plain data into a Spec, every problem located by its key path."""
    return validated(Spec, data, source)


def config_factors(tree: dict[str, Any], prefix: str = "") -> dict[str, list]:
    """Flatten ``[factors]`` (nested by dotted keys) into {"treat.winmax": [alternatives]}."""
    out: dict[str, list] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out |= config_factors(value, f"{path}.")
        else:
            out[path] = value
    return out


def label(value: Any) -> str:
    """A short label for an alternative: ``5``, ``gmean``, ``minmax(l=1,u=100)``."""
    if isinstance(value, dict):
        params = ",".join(f"{k}={_compact(v)}" for k, v in value.items() if k != "method")
        return f"{value.get('method', '')}({params})" if params else str(value.get("method", ""))
    return _compact(value)


def _compact(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"), ensure_ascii=False)


# ---- resolving against a framework and a configuration ------------------------------------------
def resolve(spec: Spec, config: Config, fw: Framework, source: str = "<spec>") -> Design:
    """The design of ``spec`` for a framework and a base configuration (the nominal run).

    Every config alternative is applied to ``config`` once here, so a bad key or value is reported
    (``source:factors.<key>[i]``) before anything is computed.
    """
    factors = [
        _config_factor(key, alts, config, source)
        for key, alts in config_factors(spec.factors).items()
    ]
    if not spec.weights and not spec.exclude and not factors:
        raise InputError(Problem(source, None, None, "the spec varies nothing"))
    seeds = np.random.SeedSequence(spec.sampling.seed).spawn(len(spec.weights))
    factors += [_noise_factor(w, fw, s, source) for w, s in zip(spec.weights, seeds, strict=True)]
    factors += [_exclusion_factor(e, fw, source) for e in spec.exclude]
    names = [f.name for f in factors]
    if dupes := sorted({n for n in names if names.count(n) > 1}):
        raise InputError(Problem(source, None, None, f"duplicate factor names {dupes}"))
    return Design(tuple(factors), spec.sampling, spec.sobol, source, spec)


SpecLike = str | Path | Spec | Mapping[str, Any]


def design_for(
    spec: SpecLike,
    config: Config,
    fw: Framework,
    *,
    n: int | None = None,
    seed: int | None = None,
) -> Design:
    """The design of a spec given as "default", a TOML path, a :class:`Spec` or plain data, with
    ``n`` and ``seed`` (when given) replacing the spec's sampling settings, so the design records
    what is run. The weight sets of ``[[weights]]`` factors stay drawn from the spec's own seed."""
    if isinstance(spec, Spec):
        the_spec, source = spec, "<python>"
    elif isinstance(spec, Mapping):
        the_spec, source = validate(dict(spec), "<python>"), "<python>"
    else:
        the_spec, source = load(spec)
    design = resolve(the_spec, config, fw, source)
    update = {k: v for k, v in (("n", n), ("seed", seed)) if v is not None}
    if not update:
        return design
    sampling = validated(Sampling, design.sampling.model_dump() | update, "<arguments>")
    return replace(design, sampling=sampling)


def _config_factor(key: str, alts: Any, config: Config, source: str) -> Factor:
    where = f"factors.{key}"
    stage = STAGES.get(key.split(".")[0])
    if stage is None:
        raise InputError(
            Problem(source, None, where, f"cannot vary '{key}'; keys start with {sorted(STAGES)}")
        )
    if not isinstance(alts, list) or len(alts) < 2:
        raise InputError(Problem(source, None, where, "give a list of at least 2 alternatives"))
    overrides, configs = [], []
    for i, value in enumerate(alts):
        item = f"{key}={json.dumps(value, ensure_ascii=False)}"
        try:
            configs.append(config.with_overrides([item]))
        except InputError as exc:
            msg = "; ".join(
                p.message if not p.field else f"{p.field}: {p.message}" for p in exc.problems
            )
            raise InputError(Problem(source, None, f"{where}[{i}]", msg)) from None
        overrides.append(item)
    labels = tuple(label(v) for v in alts)
    return Factor(key, labels, stage, tuple(overrides), base=config, configs=tuple(configs))


def _node_levels(fw: Framework) -> np.ndarray:
    return np.array([fw.level[c] for c in fw.codes])


def _noise_factor(
    w: WeightNoise, fw: Framework, seed: np.random.SeedSequence, source: str
) -> Factor:
    levels = _node_levels(fw)
    top = int(levels.max())
    if bad := [lev for lev in w.levels if not 1 <= lev < top]:
        raise InputError(
            Problem(source, None, f"weights.{w.name}.levels", f"{bad}: levels are 1..{top - 1}")
        )
    rng = np.random.default_rng(seed)
    if w.noise is not None:
        f = smp.noise_by_level(levels, dict.fromkeys(w.levels, w.noise))
        table = smp.noisy_weights(np.ones(levels.size), f, w.sets, rng)
    elif w.concentration is not None:
        nominal = fw.nominal_weights()
        draws = smp.dirichlet_weights(
            nominal,
            w.concentration,
            w.sets,
            rng,
            groups=fw.parent_idx,
            perturb=np.isin(levels, w.levels),
        )
        table = np.divide(draws, nominal, out=np.ones_like(draws), where=nominal > 0)
    else:  # WeightNoise validates exactly one of the two; a model built without validation
        raise InputError(Problem(source, None, f"weights.{w.name}", "give noise or concentration"))
    return Factor(w.name, tuple(f"set{k + 1}" for k in range(w.sets)), "weights", (), table)


def _exclusion_factor(e: Exclusion, fw: Framework, source: str) -> Factor:
    n_ind = fw.n_indicators
    if e.codes == "indicators":
        codes = fw.indicator_codes
    elif e.codes == "aggregates":
        codes = fw.codes[n_ind:-1]
    else:
        codes = list(e.codes)
        if bad := [c for c in codes if c not in fw.codes[:-1]]:
            raise InputError(
                Problem(
                    source, None, f"exclude.{e.name}.codes", f"not indicators/aggregates: {bad}"
                )
            )
    pos = [fw.codes.index(c) for c in codes]
    table = np.ones((len(codes) + e.none, len(fw.codes)))
    table[np.arange(len(codes)) + e.none, pos] = 0.0
    labels = (("none",) if e.none else ()) + tuple(codes)
    return Factor(e.name, labels, "weights", (), table)


def weight_sets(
    name: str, fw: Framework, sets: np.ndarray, labels: list[str] | None = None
) -> Factor:
    """A weight factor from given weight sets (sets × nodes in ``fw.codes`` order), e.g. COINr's
    exported noisy weights: multipliers = sets / the framework's weights (1 where those are 0)."""
    sets = np.asarray(sets, dtype=float)
    nominal = fw.nominal_weights()
    if sets.ndim != 2 or sets.shape[1] != nominal.size:
        raise InputError(f"weight sets need shape (sets, {nominal.size}), got {sets.shape}")
    table = np.divide(sets, nominal, out=np.ones_like(sets), where=nominal > 0)
    labels = labels or [f"set{k + 1}" for k in range(len(sets))]
    return Factor(name, tuple(labels), "weights", (), table)


def config_factor(name: str, key: str, values: list, config: Config) -> Factor:
    """A config factor built in Python (same validation as the TOML ``[factors]``)."""
    return replace(_config_factor(key, values, config, "<python>"), name=name)
