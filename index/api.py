"""The public Python API for notebooks and scripts."""

from __future__ import annotations

from pathlib import Path

from index.coinr import load_coinr
from index.config import Config
from index.dataset import DEFAULT_INPUTS, Dataset, load_inputs
from index.etl.ingest import ingest
from index.framework import Framework
from index.framework import load as load_framework
from index.pipeline import Build
from index.pipeline import build as _build

__all__ = ["Build", "Config", "build", "ingest", "load_coinr", "load_framework", "load_inputs"]


def build(
    config: Config | None = None,
    data: Dataset | str | Path = DEFAULT_INPUTS,
    framework: Framework | None = None,
    *overrides: str,
) -> Build:
    """Build the index: ``config`` defaults to ``Config()``, data to the processed bundled panel.

    ``overrides`` are ``key=value`` strings as on the command line (``"weighting=entropy"``).
    """
    cfg = config or Config()
    if overrides:
        cfg = cfg.with_overrides(list(overrides))
    ds = data if isinstance(data, Dataset) else load_inputs(data)
    return _build(cfg, ds, framework)
