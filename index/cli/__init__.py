"""Command-line interface: ``compute-index ingest | run | compare | sensitivity | bounds | profile | audit | publish | verify | targets``."""

import atexit
import contextlib
import multiprocessing
import os
import sys
import threading

from index.cli import (  # noqa: F401  (registers commands)
    audit,
    bounds,
    compare,
    describe,
    ingest,
    profile,
    publish,
    run,
    sensitivity,
    targets,
)
from index.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """The console script ``compute-index``: run the command, then end the process without the
    interpreter's object-by-object teardown.

    When a command returns its files are written and closed; what a normal exit still does is
    run the ``atexit`` handlers (temporary folders removed, logs flushed), flush the standard
    streams, and then free every object one by one — about half a second after a publication
    (a few hundred thousand objects: pandas, matplotlib, scipy). Here the handlers run and the
    streams are flushed, then the process ends. Where anything is still running (a thread that
    is not a daemon, a worker process: a joblib or Dask pool kept for reuse), the ordinary exit
    is taken, so that their own shutdown runs as it would.
    """
    try:
        app()
        code: int | str | None = 0
    except SystemExit as exc:
        code = exc.code
    if not isinstance(code, int | None):  # sys.exit("message"): printed, exit status 1
        print(code, file=sys.stderr)
        code = 1
    alive = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if alive or multiprocessing.active_children():
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):  # None when the process was started without it
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing to deliver
                stream.flush()
    os._exit(code or 0)
