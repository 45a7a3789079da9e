"""The typer application and the error boundary shared by every command."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any

import typer

from index.errors import InputError

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


def guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn user errors into readable messages + exit 2, and anything else into exit 1.

    Set COMPUTE_INDEX_DEBUG=1 to see the traceback of internal errors.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            for problem in exc.problems:
                typer.echo(f"error: {problem}", err=True)
            raise typer.Exit(2) from None
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except Exception as exc:  # the error boundary: no traceback for users
            if os.environ.get("COMPUTE_INDEX_DEBUG"):
                raise
            fail(f"internal error: {type(exc).__name__}: {exc}", 1)
            sys.exit(1)

    return wrapper
