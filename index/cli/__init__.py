"""Command-line interface: ``compute-index ingest | run | compare | sensitivity | audit | publish | verify``."""

from index.cli import (  # noqa: F401  (registers commands)
    audit,
    compare,
    describe,
    ingest,
    publish,
    run,
    sensitivity,
)
from index.cli.app import app

__all__ = ["app"]
