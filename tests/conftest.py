"""Shared fixtures: where the read-only ../shared material lives (tests skip cleanly without it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]


def _shared_dir() -> Path:
    return Path(os.environ.get("COMPUTE_INDEX_SHARED", ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared (or $COMPUTE_INDEX_SHARED); skips the test when absent."""
    path = _shared_dir()
    if not path.is_dir():
        pytest.skip(f"shared material not found at {path} (set COMPUTE_INDEX_SHARED)")
    return path


@pytest.fixture(scope="session")
def oracle_dir(shared_dir: Path) -> Path:
    """COINr reference outputs (../shared/oracle/coinr); skips when absent."""
    path = shared_dir / "oracle" / "coinr"
    if not path.is_dir():
        pytest.skip(f"COINr oracle not found at {path}")
    return path


@pytest.fixture(scope="session")
def bundled_inputs(tmp_path_factory) -> Path:
    """The bundled real data (data/raw) ingested once into a temporary Parquet file."""
    from index.cli import app

    out = tmp_path_factory.mktemp("processed") / "inputs.parquet"
    res = CliRunner().invoke(app, ["ingest", str(ROOT / "data" / "raw"), "--out", str(out), "-q"])
    assert res.exit_code == 0, res.output
    return out


# Property tests explore new examples on a developer's machine; CI replays a fixed set so that a
# green main stays green (set HYPOTHESIS_PROFILE=explore in CI to search there too).
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", print_blob=True)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "explore")
)
