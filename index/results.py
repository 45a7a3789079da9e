"""Writing a build's results: the long scores table as a deterministic Parquet file, and beside it,
when the run aggregates by benefit of the doubt, every unit's own weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from index import __version__
from index.io import write_parquet

if TYPE_CHECKING:
    from index.pipeline import Build

DEFAULT_RESULTS = Path("data/processed/results.parquet")


def unit_weights_path(path: str | Path) -> Path:
    """Where the per-unit BoD weights of the results at ``path`` go: ``<stem>.unit_weights.parquet``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.unit_weights.parquet")


def write_results(b: Build, path: str | Path = DEFAULT_RESULTS) -> list[Path]:
    """Write all levels and years (long) with the resolved config in the file metadata; with a
    ``bod`` aggregation also ``Build.unit_weights()`` (:func:`unit_weights_path`), whose weights
    reproduce each unit's score. A per-unit file left by an earlier run that this one does not
    replace is removed, so it never sits beside results it does not belong to. Returns the files."""
    meta = {
        "compute_index_version": __version__,
        "config": json.dumps(b.config.model_dump(), sort_keys=True, ensure_ascii=False),
    }
    written = [write_parquet(b.scores_long, path, meta)]
    own, beside = b.unit_weights(), unit_weights_path(path)
    if len(own):
        written.append(write_parquet(own, beside, meta))
    else:
        beside.unlink(missing_ok=True)
    return written
