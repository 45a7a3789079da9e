"""The console script's entry :func:`index.cli.main`: the command's exit status, every line it
printed, and the ``atexit`` handlers, as an ordinary interpreter exit gives them (it skips only
the interpreter's teardown); and the ordinary exit where something is still running."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def console(tmp_path: Path, *args: str, before: str = "") -> subprocess.CompletedProcess[str]:
    """``compute-index *args`` through :func:`index.cli.main`, with the Python ``before`` run
    first in the same interpreter."""
    code = (
        f"import sys\n{before}\nfrom index.cli import main\n"
        "sys.argv = ['compute-index', *sys.argv[1:]]\nmain()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=tmp_path, capture_output=True, text=True
    )


def test_success_exit_status_and_all_output(tmp_path):
    res = console(tmp_path, "config")
    assert res.returncode == 0, res.stderr
    shown = subprocess.run(
        [sys.executable, "-c", "from index.cli import app; app(['config'])"],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert res.stdout == shown.stdout  # every line, flushed before the process ended


def test_user_error_exits_2_with_its_message(tmp_path):
    res = console(tmp_path, "run", "--set", "weighting=entropyy", "-q")
    assert res.returncode == 2
    assert "error:" in res.stderr and "Traceback" not in res.stderr


def test_atexit_handlers_run(tmp_path):
    marker = tmp_path / "atexit.txt"
    before = (
        f"import atexit, pathlib\natexit.register(pathlib.Path({str(marker)!r}).write_text, 'ran')"
    )
    res = console(tmp_path, "--help", before=before)
    assert res.returncode == 0, res.stderr
    assert marker.read_text() == "ran"


def test_a_running_thread_gets_the_ordinary_exit(tmp_path):
    """A thread that is not a daemon finishes its work before the process ends (it would be cut
    off by the fast exit)."""
    marker = tmp_path / "thread.txt"
    before = (
        "import pathlib, threading, time\n"
        "def late():\n    time.sleep(0.5)\n"
        f"    pathlib.Path({str(marker)!r}).write_text('done')\n"
        "threading.Thread(target=late).start()"
    )
    res = console(tmp_path, "--help", before=before)
    assert res.returncode == 0, res.stderr
    assert marker.read_text() == "done"


def test_sys_exit_with_a_message_prints_it_and_exits_1(tmp_path):
    before = "import index.cli\nindex.cli.app = lambda: sys.exit('stopped: reason')"
    res = console(tmp_path, "config", before=before)
    assert res.returncode == 1
    assert "stopped: reason" in res.stderr


def test_a_closed_stream_is_no_error(tmp_path):
    """Started with stdout or stderr closed (``>&-``, as some schedulers do), a command that
    succeeds still exits 0."""
    code = "import sys\nfrom index.cli import main\nsys.argv = ['compute-index', 'config']\nmain()"
    for redirect in (">&-", "2>&-"):
        shell = f'"$0" -c "$1" {redirect}'
        res = subprocess.run(["sh", "-c", shell, sys.executable, code], cwd=tmp_path)
        assert res.returncode == 0, redirect
