"""Writing a build's results: the long scores table as a deterministic Parquet file."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from index import __version__
from index.io import atomic_path
from index.pipeline import Build

DEFAULT_RESULTS = Path("data/processed/results.parquet")


def write_results(b: Build, path: str | Path = DEFAULT_RESULTS) -> Path:
    """Write all levels and years (long) with the resolved config in the file metadata."""
    table = pa.Table.from_pandas(b.scores_long, preserve_index=False)
    meta = {
        b"compute_index_version": __version__.encode(),
        b"config": json.dumps(b.config.model_dump(), sort_keys=True, ensure_ascii=False).encode(),
    }
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return Path(path)
