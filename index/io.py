"""Atomic file output: write to a temporary sibling, then rename, so no half-written file is seen."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from index.errors import InputError, Problem


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it onto ``target``, else delete it."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.chmod(0o666 & ~_umask())  # mkstemp makes 0600; published files follow the umask
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_parquet(
    frame: pd.DataFrame,
    path: str | os.PathLike,
    metadata: Mapping[str, str],
    *,
    schema: pa.Schema | None = None,
) -> Path:
    """Write ``frame`` atomically as zstd Parquet with only our string key-value metadata.

    No timestamps, paths or library versions (pandas' own metadata block) go in, so the same frame
    and metadata give the same bytes. An output that cannot be written is an ``InputError``.
    """
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    meta = {k.encode(): v.encode() for k, v in metadata.items()}
    if Path(path).is_dir():
        raise InputError(Problem(str(path), None, None, "is a folder: give a file name"))
    try:
        with atomic_path(path) as tmp:
            pq.write_table(table.replace_schema_metadata(meta), tmp, compression="zstd")
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        raise InputError(
            Problem(str(path), None, None, f"cannot write the output: {exc.strerror}{where}")
        ) from None
    return Path(path)
