"""Command-line interface: ``compute-index ingest | run | compare | sensitivity | audit | publish | verify``."""

from index.cli import compare, ingest, publish, run  # noqa: F401  (registers commands)
from index.cli.app import app

__all__ = ["app"]
