"""Command-line interface: ``compute-index ingest | run | compare | sensitivity | audit | publish | verify``."""

from index.cli import audit, compare, ingest, publish, run, sensitivity  # noqa: F401  (registers commands)
from index.cli.app import app

__all__ = ["app"]
