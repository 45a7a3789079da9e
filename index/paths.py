"""Where the project's folders are, found once: the checkout that holds ``data/raw``.

The root is the nearest folder, from the working directory upwards, that has
``data/raw/sources.csv``; failing that, the checkout the package itself lives in (an editable
install); failing that, the working directory. So a notebook started in ``notebooks/`` and a
command run from anywhere inside the checkout read and write the same files.
"""

from __future__ import annotations

import functools
from pathlib import Path

MARKER = Path("data") / "raw" / "sources.csv"


@functools.cache
def _root(cwd: Path) -> Path:
    for d in (cwd, *cwd.parents):
        if (d / MARKER).is_file():
            return d
    here = Path(__file__).resolve().parents[1]
    return here if (here / MARKER).is_file() else cwd


def root() -> Path:
    """The project root (see the module docstring)."""
    return _root(Path.cwd().resolve())


def raw_dir() -> Path:
    """The bundled raw inputs, ``<root>/data/raw``."""
    return root() / "data" / "raw"


def processed_dir() -> Path:
    """Generated data, ``<root>/data/processed``."""
    return root() / "data" / "processed"


def inputs() -> Path:
    """The ingested panel, ``<root>/data/processed/inputs.parquet``."""
    return processed_dir() / "inputs.parquet"


def publications() -> Path:
    """Where editions are written, ``<root>/publications``."""
    return root() / "publications"


def beside(data: Path, name: str) -> Path:
    """An output file next to the data it was computed from (never into the repository's
    ``data/processed`` unless the data came from there)."""
    return Path(data).resolve().parent / name
