"""The public Python API for notebooks and scripts.

Everything a notebook needs is here (``import index``): ``build`` and the ``Build`` it returns
(stages, ranking, the full ``results`` table, ``treatment_flags`` / ``treatment_details``,
``audit``, ``uncertainty``, ``sensitivity``, ``leave_one_out``, ``compare``, ``rebuild``), the loaders, ``ahp`` for checking pairwise judgements, ``InputError`` (every user
mistake), and the plotting modules ``index.figures`` and ``index.fonts``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from index.analysis.spec import Spec
from index.analysis.spec import load as _load_spec
from index.coinr import load_coinr
from index.config import Config
from index.dataset import Dataset, load_inputs
from index.errors import InputError
from index.etl.ingest import ingest
from index.framework import Framework
from index.framework import load as load_framework
from index.methods.weights import ahp
from index.pipeline import Build, configure
from index.pipeline import build as _build

__all__ = [
    "Build",
    "Config",
    "InputError",
    "Spec",
    "ahp",
    "build",
    "ingest",
    "load_coinr",
    "load_framework",
    "load_inputs",
    "load_spec",
]


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

    cfg = cfgmod.load(config) if isinstance(config, str | Path) else (config or Config())
    items = [*overrides, *(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in settings.items())]
    fw = None
    if isinstance(framework, str | Path):  # recorded in the config, so a saved config rebuilds it
        items.insert(0, f"framework={json.dumps(str(framework))}")
    else:
        fw = framework
    cfg = configure(cfg, items, weights=weights, exclude=exclude, framework=fw)
    ds = data if isinstance(data, Dataset) else load_inputs(data)
    return _build(cfg, ds, fw)


def load_spec(path: str | Path = "default") -> Spec:
    """An uncertainty specification ("default" = the packaged one, or a TOML path), validated;
    pass it (or a modified copy, or plain data) as ``spec=`` to ``Build.uncertainty``."""
    return _load_spec(path)[0]
