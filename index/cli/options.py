"""Options shared by the commands that build the index (run, compare, sensitivity, audit, publish)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from index import config as cfgmod
from index.dataset import DEFAULT_INPUTS, load_inputs

FrameworkOpt = Annotated[
    str | None,
    typer.Option("--framework", "-f", help="framework TOML (default: built-in public edition)"),
]
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="run configuration TOML")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set", "-s", help="override a setting, e.g. --set weighting=entropy (repeatable)"
    ),
]
DataOpt = Annotated[Path, typer.Option("--data", help="processed inputs (from `ingest`)")]
YearOpt = Annotated[int | None, typer.Option("--year", "-y", help="year to show (default: latest)")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="print only errors")]


def resolve_config(
    config: Path | None, framework: str | None, overrides: list[str] | None
) -> cfgmod.Config:
    """Config from file (or defaults), then --framework, then --set overrides, all recorded."""
    cfg = cfgmod.load(config) if config else cfgmod.Config()
    items = list(overrides or [])
    if framework:
        items.insert(0, f"framework={framework}")
    return cfg.with_overrides(items) if items else cfg


def load_data(path: Path = DEFAULT_INPUTS):
    """The processed panel, with a hint to run ingest first when it is missing."""
    return load_inputs(path)
