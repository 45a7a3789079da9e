"""Shared checks of the hostile-input corpus: how a refused input and an accepted input must look.

A refused input: the exact exit code, exactly one located ``error: file:row:field: message`` line
(or the capped list), no traceback, and nothing written or changed — the previous output is
byte-identical and no file was added beside it. An accepted input: exit 0, and every value equal
to the source text as a decimal (``Decimal(repr(value)) == Decimal(text) × factor``).
"""

from __future__ import annotations

import hashlib
import io
import shutil
import zipfile
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
from openpyxl.workbook import Workbook
from typer.testing import CliRunner

from index.cli import app

ROOT = Path(__file__).resolve().parents[2]
RAW = ROOT / "data" / "raw"
LONG_HEADER = "region,year,indicator,value,unit,source\n"
PREVIOUS = b"previous output: must survive a refused input byte for byte"
runner = CliRunner()


def cli(*args: str, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 300):
    """``compute-index ARGS`` in a separate process (for FIFOs, kills, the working directory)."""
    import os
    import subprocess
    import sys

    code = "import sys; from index.cli import app; sys.argv[0] = 'compute-index'; app()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout,
        cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )  # fmt: skip


def raw_dir(tmp_path: Path, files: Mapping[str, bytes | str]) -> Path:
    """A data/raw folder: the bundled catalogue and sources table plus ``files``."""
    raw = tmp_path / "raw"
    raw.mkdir(parents=True)
    for name in ("indicators.csv", "sources.csv"):
        shutil.copy(RAW / name, raw)
    for name, content in files.items():
        path = raw / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return raw


def project(root: Path) -> Path:
    """Make ``root`` a project root for ``index.paths`` (it holds ``data/raw/sources.csv``), so a
    command run there reads and writes below it; returns its ``data/raw``."""
    raw = root / "data" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    shutil.copy(RAW / "sources.csv", raw)
    return raw


def snapshot(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` (hidden ones too) → its SHA-256."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def ingest(tmp_path: Path, raw: Path, *extra: str, env: Mapping[str, str] | None = None):
    """Run ``compute-index ingest raw --out <tmp>/processed/inputs.parquet -q`` over a previous
    output; return (result, output path, the processed folder's snapshot before the run)."""
    out = tmp_path / "processed" / "inputs.parquet"
    out.parent.mkdir(exist_ok=True)
    out.write_bytes(PREVIOUS)
    before = snapshot(out.parent)
    result = runner.invoke(app, ["ingest", str(raw), "--out", str(out), "-q", *extra], env=env)
    return result, out, before


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error: ")]


def assert_refused(
    result, where: str, *phrases: str, code: int = 2, folder: Path | None = None,
    before: dict[str, str] | None = None,
) -> str:  # fmt: skip
    """Exit ``code``, one error line starting with ``where`` (file:row:field) and holding every
    phrase, no traceback; ``folder`` unchanged against ``before``. Returns the line."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    lines = error_lines(result.output)
    assert len(lines) == 1, result.output
    line = lines[0].removeprefix("error: ")
    assert line.startswith(where), line
    for phrase in phrases:
        assert phrase in line, line
    if folder is not None:
        assert snapshot(folder) == before, "a refused input changed the output folder"
    return line


def assert_ingest_refused(tmp_path: Path, files, where: str, *phrases: str, **kw) -> str:
    """Ingest ``files``; it must be refused as ``assert_refused`` says, nothing written."""
    result, out, before = ingest(tmp_path, raw_dir(tmp_path, files), **kw)
    line = assert_refused(result, where, *phrases, folder=out.parent, before=before)
    assert out.read_bytes() == PREVIOUS
    return line


def assert_values(
    out: Path, expected: Mapping[tuple[str, int, str], str], factor: Decimal = Decimal(1)
) -> None:
    """Each (region_code, year, indicator) has the value ``Decimal(text) × factor`` exactly
    (compared as decimals: the double's shortest repr is that decimal)."""
    panel = pd.read_parquet(out).set_index(["region_code", "year", "indicator"])["value"]
    for key, text in expected.items():
        got = Decimal(repr(float(panel.loc[key])))
        assert got == Decimal(text) * factor, (key, text, got)


def assert_ingest_accepted(
    tmp_path: Path, files, expected: Mapping[tuple[str, int, str], str],
    factor: Decimal = Decimal(1), **kw,
) -> str:  # fmt: skip
    """Ingest ``files``: exit 0 and every expected value exact; returns the output."""
    result, out, _ = ingest(tmp_path, raw_dir(tmp_path, files), **kw)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert_values(out, expected, factor)
    return result.output


def workbook(*rows: list[object], edit: Callable[[Workbook], None] | None = None) -> bytes:
    """A workbook whose first sheet holds ``rows``; ``edit`` may change it further."""
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    if edit:
        edit(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rezip(
    data: bytes, edit: Callable[[str, bytes], bytes], extra: Mapping[str, bytes] = {}
) -> bytes:
    """A copy of a zip with every member passed through ``edit(name, body)``, plus ``extra``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, edit(info.filename, src.read(info)), zipfile.ZIP_DEFLATED)
        for name, body in extra.items():
            dst.writestr(name, body, zipfile.ZIP_DEFLATED)
    return out.getvalue()
