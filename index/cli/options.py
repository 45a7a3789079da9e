"""Options shared by the commands that build the index (run, compare, sensitivity, audit, publish)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from index import paths
from index.errors import InputError, Problem

FrameworkOpt = Annotated[
    str | None,
    typer.Option(
        "--framework",
        "-f",
        help="framework TOML, or a bundled one by name (cci_public, cci_intensity); "
        "default: the built-in public edition",
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="run configuration TOML, or a bundled one (caict)"),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set", "-s", help="override a setting, e.g. --set weighting=entropy (repeatable)"
    ),
]
WeightOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--weight",
        "-w",
        metavar="NODE=W",
        help="what-if: give a pillar or indicator another weight, e.g. --weight compute=2 "
        "(relative to its siblings; repeatable)",
    ),
]
ExcludeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude",
        "-x",
        metavar="CODE",
        help="what-if: drop an indicator or a pillar, e.g. --exclude web_pages (repeatable)",
    ),
]
DataOpt = Annotated[
    Path | None,
    typer.Option("--data", help="processed inputs (from `ingest`; default data/processed)"),
]
YearOpt = Annotated[int | None, typer.Option("--year", "-y", help="year to show (default: latest)")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="print only errors")]


def parse_weights(items: list[str] | None) -> dict[str, float]:
    """``["compute=0.4", …]`` → {"compute": 0.4}; a malformed item is a located error."""
    out: dict[str, float] = {}
    problems = []
    for item in items or []:
        code, sep, raw = item.partition("=")
        try:
            if not sep or not code.strip():
                raise ValueError
            weight = float(raw)
        except ValueError:
            problems.append(Problem("--weight", None, item, "expected NODE=WEIGHT, e.g. compute=2"))
            continue
        if not (math.isfinite(weight) and 0 <= weight <= 1e12):
            problems.append(
                Problem("--weight", None, item, "a weight must be a finite number in [0, 1e12]")
            )
        out[code.strip()] = weight
    if problems:
        raise InputError(problems)
    return out


def resolve_config(
    config: Path | None,
    framework: str | None,
    overrides: list[str] | None,
    weights: list[str] | None = None,
    exclude: list[str] | None = None,
    *,
    framework_obj=None,
):
    """Config from file (or defaults), then --framework, then --set, --weight and --exclude, all
    validated against the framework and recorded (see :func:`index.pipeline.configure`)."""
    from index import config as cfgmod  # the method registries load only when a command runs
    from index.pipeline import configure

    cfg = cfgmod.load(config) if config else cfgmod.Config()
    items = list(overrides or [])
    if framework:
        items.insert(0, f"framework={framework}")
    return configure(
        cfg,
        items,
        weights=parse_weights(weights),
        exclude=list(exclude or []),
        framework=framework_obj,
    )


def data_path(path: Path | None) -> Path:
    """The processed panel to read: the given file, else the project's data/processed."""
    return paths.inputs() if path is None else path


def load_data(path: Path | None = None):
    """The processed panel, with a hint to run ingest first when it is missing."""
    from index.dataset import load_inputs

    return load_inputs(data_path(path))


def output(out: Path | None, data: Path | None, name: str) -> Path:
    """An output path: the given one, else ``name`` next to the data that was read."""
    return out if out is not None else paths.beside(data_path(data), name)
