"""Atomic publication of a folder: build in a hidden temporary sibling, then swap it into place.

An edition stays visible, old or new, at every instant:

* the new folder is built in ``.<edition>.<pid>.staging-*`` beside the target; an exception or a
  kill while building leaves the previous publication untouched;
* the swap is one atomic step where the system has it — Linux ``renameat2(RENAME_EXCHANGE)``
  exchanges the two folders, so the old edition is then at the staging name and is deleted;
* elsewhere (or on a filesystem without it) it is two renames: the old folder is moved aside
  (``.<edition>.<pid>.aside``), the new one takes its name. A kill between the two leaves no
  visible edition until the next run of any command, which puts the old one back (:func:`recover`,
  called by every CLI command for ``publications/`` and by every publish for its target);
* leftovers of dead runs (staging folders, an old edition not yet deleted) are removed the same way;
* concurrent publishes of one edition are serialised by an exclusive lock on
  ``.<edition>.lock`` beside it (present only while held): the second one stops at once with
  exit 2 and a message, and the first one's edition is published whole.

The test hook ``COMPUTE_INDEX_TEST_PAUSE=<point>:<file>`` makes the process create ``<file>`` and
sleep at ``<point>`` (``staged``, ``swap``, ``swapped``), so a test can kill it exactly there.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from index.errors import InputError, Problem
from index.io import glob_escape, pid_alive, unwritable

STAGING: Final = ".staging"
ASIDE: Final = ".aside"
LOCK: Final = ".lock"
PAUSE_ENV: Final = "COMPUTE_INDEX_TEST_PAUSE"
_LEFTOVER = re.compile(
    r"\.(?P<name>.+)\.(?P<pid>\d+)(?P<kind>\.aside|\.staging-.*)|\.(?P<locked>.+)\.lock"
)
_held: dict[Path, int] = {}  # lock files this process holds → open descriptor


def _drop_inherited_locks() -> None:
    """In a forked child (a worker of :mod:`index.publish.parallel`): close its copies of the
    parent's lock descriptors, so the locks end with the parent even if the child outlives it
    (the parent's own descriptors still hold them), and forget them."""
    for fd in _held.values():
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()


os.register_at_fork(after_in_child=_drop_inherited_locks)


def _hidden(target: Path, pid: int, kind: str) -> Path:
    return target.with_name(f".{target.name}.{pid}{kind}")


def pause(point: str) -> None:
    """The test hook: at ``point`` named by ``$COMPUTE_INDEX_TEST_PAUSE``, signal and sleep."""
    spec = os.environ.get(PAUSE_ENV, "")
    name, _, signal_file = spec.partition(":")
    if name == point and signal_file:
        Path(signal_file).write_text(str(os.getpid()), encoding="utf-8")
        time.sleep(600)


def _leftovers(target: Path, kind: str) -> list[tuple[int, Path]]:
    """Hidden siblings of ``target`` of one kind, with the id of the process that made them."""
    out = []
    for path in target.parent.glob(f".{glob_escape(target.name)}.*"):
        m = _LEFTOVER.fullmatch(path.name)
        if m and m["name"] == target.name and m["kind"].startswith(kind):
            out.append((int(m["pid"]), path))
    return sorted(out)


def recover(target: str | Path) -> None:
    """Undo what a killed run left: restore a folder left aside (or delete it if the new one is in
    place), delete dead runs' staging folders and lock file. Live runs' are left alone."""
    target = Path(target)
    for pid, path in _leftovers(target, ASIDE):
        if not pid_alive(pid) or pid == os.getpid():
            if target.exists():
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.rename(path, target)
    for pid, path in _leftovers(target, STAGING):
        if not pid_alive(pid):
            shutil.rmtree(path, ignore_errors=True)
    lock = target.with_name(f".{target.name}{LOCK}").absolute()
    if lock not in _held and lock.exists():
        with contextlib.suppress(InputError, OSError), locked(target):
            pass  # a dead run's lock file: taking and releasing it deletes it


def recover_all(root: str | Path) -> None:
    """``recover`` every edition under ``root`` that a killed run left something for (quick: one
    listing of ``root``; nothing happens if it does not exist or cannot be changed)."""
    root = Path(root)
    with contextlib.suppress(OSError):
        names = {
            m["name"] or m["locked"] for p in root.iterdir() if (m := _LEFTOVER.fullmatch(p.name))
        }
        for name in sorted(names):
            recover(root / name)


@contextlib.contextmanager
def locked(target: str | Path) -> Iterator[None]:
    """Hold the exclusive lock of ``target`` (reentrant in one process); another process holding
    it is an ``InputError`` naming it, at once (no waiting on a run that may last minutes).

    The lock file ``.<edition>.lock`` exists only while held: it is deleted before release, and a
    taker checks that the file it locked is still the one at the path (else it retries), so two
    processes can never both hold it."""
    target = Path(target)
    lock = target.with_name(f".{target.name}{LOCK}").absolute()
    if lock in _held:
        yield
        return
    fd = _acquire(lock, target)
    _held[lock] = fd
    try:
        yield
    finally:
        del _held[lock]
        with contextlib.suppress(OSError):
            lock.unlink()
        os.close(fd)


def _acquire(lock: Path, target: Path) -> int:
    """An open descriptor of ``lock`` holding its exclusive flock, with this process id in it."""
    while True:
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise unwritable(target, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            other = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise unwritable(target, exc) from None
            raise InputError(
                Problem(
                    str(target), None, None,
                    f"another publish is writing this edition (process {other or '?'}): wait "
                    "for it to finish, then run again",
                )
            ) from None  # fmt: skip
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            return fd
        os.close(fd)  # the holder deleted it between our open and our lock: take the new one


def _publish_modes(folder: Path) -> None:
    """rwxr-xr-x folders, rw-r--r-- files (temporary files are created owner-only)."""
    folder.chmod(0o755)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _renameat2() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    try:
        return ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None


_RENAMEAT2 = _renameat2()
_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


def exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two existing paths (Linux ``renameat2``); ``False`` where unsupported."""
    if _RENAMEAT2 is None:
        return False
    if _RENAMEAT2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def swap(new: Path, target: Path) -> None:
    """Put ``new`` at ``target``: one atomic exchange where possible (the old edition, now at
    ``new``'s name, is deleted), else move ``target`` aside, rename ``new`` onto it, delete the old."""
    if target.exists() and exchange(new, target):
        pause("swap")
        pause("swapped")
        shutil.rmtree(new, ignore_errors=True)
        return
    aside = _hidden(target, os.getpid(), ASIDE)
    had_old = target.exists()
    if had_old:
        os.rename(target, aside)
    pause("swap")
    try:
        os.rename(new, target)
    except BaseException:
        if had_old:
            os.rename(aside, target)
        raise
    pause("swapped")
    if had_old:
        shutil.rmtree(aside, ignore_errors=True)


@contextlib.contextmanager
def staging(target: str | Path) -> Iterator[Path]:
    """Yield an empty hidden sibling of ``target``; on success swap it into place, else delete it.
    Holds the edition's lock throughout; a folder that cannot be written is an ``InputError``."""
    target = Path(target)
    with locked(target):
        try:
            recover(target)
            tmp = Path(
                tempfile.mkdtemp(
                    prefix=f".{target.name}.{os.getpid()}{STAGING}-", dir=target.parent
                )
            )
        except OSError as exc:
            raise unwritable(target, exc) from None
        try:
            yield tmp
            _publish_modes(tmp)
            pause("staged")
            swap(tmp, target)
        except OSError as exc:
            raise unwritable(target, exc) from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
