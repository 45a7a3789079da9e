"""Writing a build's results: the long scores table as a deterministic Parquet file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from index import __version__
from index.io import write_parquet

if TYPE_CHECKING:
    from index.pipeline import Build

DEFAULT_RESULTS = Path("data/processed/results.parquet")


def write_results(b: Build, path: str | Path = DEFAULT_RESULTS) -> Path:
    """Write all levels and years (long) with the resolved config in the file metadata."""
    meta = {
        "compute_index_version": __version__,
        "config": json.dumps(b.config.model_dump(), sort_keys=True, ensure_ascii=False),
    }
    return write_parquet(b.scores_long, path, meta)
