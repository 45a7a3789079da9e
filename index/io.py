"""Atomic file output: write to a temporary sibling, then rename, so no half-written file is seen."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from index.errors import InputError, Problem


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it onto ``target``, else delete it.

    The temporary name carries the writer's process id (``.<name>.<pid>.<random>.tmp``), so one
    left by a killed writer is recognised and removed by the next write of the same target
    (:func:`remove_stale`). An output that cannot be written is an ``InputError`` naming it.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale(target)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent
        )
    except OSError as exc:
        raise unwritable(target, exc) from None
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.chmod(0o666 & ~_umask())  # mkstemp makes 0600; published files follow the umask
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def unwritable(target: str | os.PathLike, exc: OSError) -> InputError:
    """The ``InputError`` for an output that cannot be written (read-only folder, disk full …)."""
    where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(target) else ""
    return InputError(
        Problem(str(target), None, None, f"cannot write the output: {exc.strerror or exc}{where}")
    )


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (another user's counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_TMP_PID = re.compile(r"\.(?P<name>.+?)\.(?P<pid>[0-9]+)\.[^.]+\.tmp")
_TMP_OLD = re.compile(r"\.(?P<name>.+)\.[^.]+\.tmp")  # before temporary names carried the pid


def _stale(name: str) -> tuple[str, bool] | None:
    """(target name, writer dead?) of a temporary file name, ``None`` if it is not one."""
    if m := _TMP_PID.fullmatch(name):
        pid = int(m["pid"])
        return m["name"], pid != os.getpid() and not pid_alive(pid)
    if m := _TMP_OLD.fullmatch(name):
        return m["name"], True
    return None


def remove_stale(target: Path) -> None:
    """Delete the temporary siblings ``.<name>.<pid>.*.tmp`` of ``target`` whose writer is dead
    (and those of the old unnumbered form ``.<name>.<random>.tmp``): a kill mid-write leaves them."""
    remove_stale_in(target.parent, target.name)


def remove_stale_in(folder: Path, only: str | None = None) -> None:
    """``remove_stale`` for every target in ``folder`` (or only the one named ``only``)."""
    with contextlib.suppress(OSError):
        for path in folder.glob(".*.tmp"):
            found = _stale(path.name)
            if found and found[1] and (only is None or found[0] == only):
                with contextlib.suppress(OSError):
                    path.unlink()


def glob_escape(name: str) -> str:
    """``name`` with the glob metacharacters ``* ? [`` matched literally."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def parse_toml(text: str, source: str) -> dict:
    """``tomllib.loads`` with every failure an ``InputError`` at ``source``: invalid TOML, and
    tables or arrays nested too deep for the parser (a 5,000-deep ``a = [[[[…`` → RecursionError)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(Problem(source, None, None, f"not valid TOML: {exc}")) from None
    except RecursionError:
        raise InputError(
            Problem(source, None, None, "not valid TOML: tables or arrays nested too deep")
        ) from None


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
    """Write ``frame`` atomically as zstd Parquet (:func:`parquet_bytes`). An output that cannot
    be written is an ``InputError``."""
    if Path(path).is_dir():
        raise InputError(Problem(str(path), None, None, "is a folder: give a file name"))
    return write_bytes(path, parquet_bytes(frame, metadata, schema=schema))


def parquet_bytes(
    frame: pd.DataFrame, metadata: Mapping[str, str], *, schema: pa.Schema | None = None
) -> bytes:
    """``frame`` as a zstd Parquet file with only our string key-value metadata.

    No timestamps, paths or library versions (pandas' own metadata block) go in, so the same frame
    and metadata give the same bytes.
    """
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    meta = {k.encode(): v.encode() for k, v in metadata.items()}
    sink = pa.BufferOutputStream()
    pq.write_table(table.replace_schema_metadata(meta), sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (:func:`atomic_path`); an output that cannot be
    written is an ``InputError`` naming it."""
    try:
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
    except OSError as exc:
        raise unwritable(path, exc) from None
    return Path(path)


# ---- spreadsheet cells -------------------------------------------------------------------------
#: What makes a spreadsheet read a text cell as a formula (OWASP "CSV injection").
FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def escape(value: Any) -> Any:
    """A text cell a spreadsheet would read as a formula (``=HYPERLINK(…)``, ``+1``, ``-2+3``,
    ``@SUM(…)``, tab, CR first) with a leading ``'``; control characters XML cannot hold as
    U+FFFD. Anything not text — numbers, negative ones included — is returned unchanged."""
    if not isinstance(value, str):
        return value
    value = _ILLEGAL_XML.sub("\ufffd", value)
    return "'" + value if value.startswith(FORMULA_START) else value


def escaped(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``escape`` applied to its text cells and column names (for any writer of
    xlsx or csv: the publication, ``compare --out``, the audit workbook)."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(escape)
    out.columns = [escape(c) if isinstance(c, str) else c for c in out.columns]
    return out
