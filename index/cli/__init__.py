"""Command-line interface: ``compute-index ingest | run | compare | sensitivity | bounds | profile | audit | publish | verify | targets``."""

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

__all__ = ["app"]
