"""Start-up: a command imports only what it uses. Checked by module names in ``sys.modules`` after
the command ran in a fresh interpreter (no timings)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("sklearn", "matplotlib", "openpyxl", "scipy", "scipy.stats", "dask", "distributed")
PROBE = f"""
import json, sys
from index.cli import app
try:
    app(sys.argv[1:], prog_name="compute-index")
    code = 0
except SystemExit as exc:
    code = exc.code
loaded = sorted(m for m in {HEAVY!r} if m in sys.modules)
print(json.dumps({{"code": code, "heavy": loaded}}))
"""


def loaded_after(*args: str) -> list[str]:
    res = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True, check=True
    )
    report = json.loads(res.stdout.splitlines()[-1])
    assert report["code"] in (0, None), res.stdout + res.stderr
    return report["heavy"]


def test_help_imports_no_heavy_module():
    assert loaded_after("--help") == []


def run_loads(bundled_inputs, tmp_path) -> list[str]:
    out = tmp_path / "results.parquet"
    loaded = loaded_after("run", "--data", str(bundled_inputs), "--out", str(out), "-q")
    assert out.is_file()  # the command did its work
    return loaded


def test_run_imports_no_sklearn_matplotlib_or_scipy(bundled_inputs, tmp_path):
    """The default run needs none of them (scipy: only Box-Cox, optimisation, statistics)."""
    assert not {"sklearn", "matplotlib", "scipy"} & set(run_loads(bundled_inputs, tmp_path))


def test_entropy_weights_import_no_scipy_stats(bundled_inputs, tmp_path):
    """Entropy weights need scipy.special's -p ln p only (scipy.stats costs 0.5–1 s to load)."""
    out = tmp_path / "results.parquet"
    args = ("run", "--data", str(bundled_inputs), "--out", str(out), "-q")
    loaded = loaded_after(*args, "--set", "weighting=entropy")
    assert out.is_file() and "scipy" in loaded  # the probe sees scipy: it would see scipy.stats
    assert "scipy.stats" not in loaded


def test_run_imports_no_openpyxl(bundled_inputs, tmp_path):
    assert "openpyxl" not in run_loads(bundled_inputs, tmp_path)


@pytest.mark.parametrize("module", HEAVY)
def test_probe_sees_a_heavy_import(module):
    """The probe can fail: a command that imports a heavy module is reported."""
    res = subprocess.run(
        [sys.executable, "-c", f"import {module}\n" + PROBE, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert module in json.loads(res.stdout.splitlines()[-1])["heavy"]  # sklearn brings scipy
