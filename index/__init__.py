"""compute-index: the China Comprehensive Computing Power Index (中国综合算力指数).

The notebook API, imported lazily so that ``import index`` stays cheap::

    import index
    b = index.build()                        # default framework + configuration, bundled data
    b.ranking(2024); b.stage("normalised")   # labelled DataFrames of any stage
    b.rebuild("weighting=entropy")           # change one choice, regenerate downstream
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from index.api import Build, Config, build, ingest, load_coinr, load_framework, load_inputs

__all__ = [
    "Build",
    "Config",
    "build",
    "ingest",
    "load_coinr",
    "load_framework",
    "load_inputs",
    "__version__",
]


def __getattr__(name: str):
    if name in __all__:
        from index import api

        return getattr(api, name)
    raise AttributeError(f"module 'index' has no attribute {name!r}")
