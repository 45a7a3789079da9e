"""The public Python API for notebooks and scripts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from index.coinr import load_coinr
from index.config import Config
from index.dataset import Dataset, load_inputs
from index.etl.ingest import ingest
from index.framework import Framework
from index.framework import load as load_framework
from index.pipeline import Build, configure
from index.pipeline import build as _build

__all__ = ["Build", "Config", "build", "ingest", "load_coinr", "load_framework", "load_inputs"]


def build(
    *,
    config: Config | str | Path | None = None,
    data: Dataset | str | Path | None = None,
    framework: Framework | str | Path | None = None,
    overrides: Iterable[str] = (),
    weights: Mapping[str, float] | None = None,
    exclude: Iterable[str] | None = None,
    **settings: object,
) -> Build:
    """Build the index (keywords only), exactly as ``compute-index run`` does.

    ``config``: a Config, a run-config TOML or a bundled name ("caict"); default ``Config()``.
    ``data``: a Dataset or a processed Parquet file; default the project's bundled panel.
    ``framework``: a Framework, a TOML path or a bundled name; default the config's.
    ``overrides``: ``key=value`` strings as ``--set`` (``"weighting=entropy"``); ``settings`` the
    same as keywords (``weighting="entropy"``, ``**{"normalise.u": 1}``); ``weights`` and
    ``exclude`` as ``--weight`` / ``--exclude`` (``weights={"compute": 2}``).
    """
    from index import config as cfgmod
    from index import framework as fwmod

    cfg = cfgmod.load(config) if isinstance(config, str | Path) else (config or Config())
    fw = (
        fwmod.load(fwmod.framework_path(str(framework)))
        if isinstance(framework, str | Path)
        else framework
    )
    items = [*overrides, *(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in settings.items())]
    cfg = configure(cfg, items, weights=weights, exclude=exclude, framework=fw)
    ds = data if isinstance(data, Dataset) else load_inputs(data)
    return _build(cfg, ds, fw)
