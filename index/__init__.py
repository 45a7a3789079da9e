"""compute-index: the China Comprehensive Computing Power Index (中国综合算力指数).

The notebook API, imported lazily so that ``import index`` stays cheap::

    import index
    b = index.build()                        # default framework + configuration, bundled data
    b.ranking(2024); b.stage("normalised")   # labelled DataFrames of any stage
    b.rebuild("weighting=entropy")           # change one choice, regenerate downstream
    b.audit(); b.uncertainty(n=1000); b.sensitivity(n=256); b.compare(b.rebuild(...))
    index.figures, index.fonts               # the plotting modules (matplotlib on first use)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from index.api import (
        Build,
        Config,
        InputError,
        Spec,
        ahp,
        build,
        ingest,
        load_coinr,
        load_framework,
        load_inputs,
        load_spec,
    )
    from index.publish import figures, fonts

__all__ = [
    "Build",
    "Config",
    "InputError",
    "Spec",
    "ahp",
    "build",
    "figures",
    "fonts",
    "ingest",
    "load_coinr",
    "load_framework",
    "load_inputs",
    "load_spec",
    "__version__",
]
_MODULES = {"figures": "index.publish.figures", "fonts": "index.publish.fonts"}


def __getattr__(name: str) -> object:
    if name in _MODULES:
        return importlib.import_module(_MODULES[name])
    if name in __all__:
        from index import api

        return getattr(api, name)
    raise AttributeError(f"module 'index' has no attribute {name!r}")
