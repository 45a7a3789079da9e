"""The typer application and the error boundary shared by every command."""

from __future__ import annotations

import functools
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError

from index import paths
from index.errors import InputError, Problem, from_validation, shown

app = typer.Typer(
    name="compute-index",
    help=(
        "中国综合算力指数 China Comprehensive Computing Power Index: ingest, build, analyse and publish.\n\n"
        "Exit codes: 0 ok, 2 bad input or configuration, 1 internal error."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def fail(message: str, code: int) -> None:
    """Print ``message`` to stderr and exit with ``code`` (no traceback)."""
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _listing(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


def recover_leftovers() -> None:
    """What a killed run left in the project (``index.paths``), undone before any command runs:
    an edition left aside mid-swap is put back, dead runs' staging folders, lock files and
    temporary files (``.inputs.parquet.<pid>.*.tmp``) are deleted. One listing of each folder."""
    publications, processed = paths.publications(), paths.processed_dir()
    if any(
        n.startswith(".") and (".aside" in n or ".staging-" in n or n.endswith(".lock"))
        for n in _listing(publications)
    ):
        from index.publish.folder import recover_all

        recover_all(publications)
    if any(n.startswith(".") and n.endswith(".tmp") for n in _listing(processed)):
        from index.io import remove_stale_in

        remove_stale_in(processed)


def user_error(exc: InputError) -> None:
    """Print each problem (the first ``SHOWN``, then a count) as ``error: …`` and exit 2."""
    for line in shown(exc.problems):
        typer.echo(f"error: {line}", err=True)
    raise typer.Exit(2)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A library warning as one ``warning: …`` line on stderr (no source path or code line);
    shown under ``--quiet`` too: it is about the numbers, not progress."""
    typer.echo(f"warning: {message}", err=True)


def guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn user errors into readable messages + exit 2, and anything else into exit 1.

    User errors: ``InputError``; a pydantic ``ValidationError`` from settings built from options;
    an ``OSError`` naming a file (a read-only or full output folder, a folder given as a file).

    Set COMPUTE_INDEX_DEBUG=1 to see the traceback of internal errors.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            recover_leftovers()
            with warnings.catch_warnings():
                warnings.simplefilter("default")  # each distinct warning once per command
                warnings.showwarning = _show_warning
                return func(*args, **kwargs)
        except InputError as exc:
            user_error(exc)
        except ValidationError as exc:  # settings built from options (e.g. --runs -5)
            user_error(from_validation(exc, "settings"))
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except BrokenPipeError:  # the reader left (``| head``): stop quietly, not an internal error
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # nothing more reaches the closed pipe at exit
            raise typer.Exit(1) from None
        except OSError as exc:
            if exc.filename is None:  # no path to name: treat it as the tool's fault
                if os.environ.get("COMPUTE_INDEX_DEBUG"):
                    raise
                fail(f"internal error: {type(exc).__name__}: {exc}", 1)
            # the system refused a file the user named or owns: read-only, full, missing, a folder
            user_error(InputError(Problem(str(exc.filename), None, None, exc.strerror or str(exc))))
        except Exception as exc:  # the error boundary: no traceback for users
            if os.environ.get("COMPUTE_INDEX_DEBUG"):
                raise
            fail(f"internal error: {type(exc).__name__}: {exc}", 1)
            sys.exit(1)

    return wrapper
