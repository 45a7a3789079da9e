"""Atomic publication of a folder: build in a hidden temporary sibling, then swap it into place.

The swap is two renames on one filesystem: the old folder is moved aside, the new one takes its
name, the old one is deleted. An exception (or kill) while building leaves the previous
publication untouched; a kill between the two renames leaves it aside, and the next run puts it
back (:func:`recover`) before building.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

STAGING = ".staging"
ASIDE = ".aside"


def _hidden(target: Path, pid: int, kind: str) -> Path:
    return target.with_name(f".{target.name}.{pid}{kind}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _leftovers(target: Path, kind: str) -> list[tuple[int, Path]]:
    """Hidden siblings of ``target`` of one kind, with the id of the process that made them."""
    out = []
    for path in target.parent.glob(f".{target.name}.*"):
        pid, _, rest = path.name[len(target.name) + 2 :].partition(".")
        if pid.isdigit() and "." + rest.split("-")[0] == kind:
            out.append((int(pid), path))
    return sorted(out)


def recover(target: str | Path) -> None:
    """Undo what a killed run left: restore a folder left aside, delete dead runs' staging folders."""
    target = Path(target)
    for pid, path in _leftovers(target, ASIDE):
        if not _pid_alive(pid) or pid == os.getpid():
            if target.exists():
                shutil.rmtree(path)
            else:
                os.rename(path, target)
    for pid, path in _leftovers(target, STAGING):
        if not _pid_alive(pid):
            shutil.rmtree(path, ignore_errors=True)


def _publish_modes(folder: Path) -> None:
    """rwxr-xr-x folders, rw-r--r-- files (temporary files are created owner-only)."""
    folder.chmod(0o755)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def swap(new: Path, target: Path) -> None:
    """Rename ``new`` onto ``target``, moving an existing ``target`` aside first and deleting it after."""
    aside = _hidden(target, os.getpid(), ASIDE)
    had_old = target.exists()
    if had_old:
        os.rename(target, aside)
    try:
        os.rename(new, target)
    except BaseException:
        if had_old:
            os.rename(aside, target)
        raise
    if had_old:
        shutil.rmtree(aside)


@contextlib.contextmanager
def staging(target: str | Path) -> Iterator[Path]:
    """Yield an empty hidden sibling of ``target``; on success swap it into place, else delete it."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover(target)
    tmp = Path(
        tempfile.mkdtemp(prefix=f".{target.name}.{os.getpid()}{STAGING}-", dir=target.parent)
    )
    try:
        yield tmp
        _publish_modes(tmp)
        swap(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
