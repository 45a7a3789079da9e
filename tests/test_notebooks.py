"""The notebooks: committed without outputs, and each runs top to bottom in the project's venv.

Execution uses nbclient with a kernel spec written for this interpreter (``sys.executable``), so the
notebooks run in the same environment as the tests, whatever kernels the user has installed. The
working directory is ``notebooks/`` (the notebooks find the checkout from there) and matplotlib uses
the Agg backend. Without ``../shared`` the COINr part of notebook 04 skips itself.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
EXPECTED = (
    "01-explore-inputs",
    "02-alternate-weightings",
    "03-uncertainty-and-sensitivity",
    "04-bring-your-own-index",
)
NAMES = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))  # every committed notebook is checked
CELL_TIMEOUT = 120  # seconds per cell; each notebook takes well under a minute on 2 cores
PROBE = "import sys; print(sys.prefix)"


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def test_expected_notebooks_exist():
    assert set(EXPECTED) <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_committed_without_outputs(name):
    nb = _read(name)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a notebook without code"
    dirty = [
        c.get("id", k) for k, c in enumerate(code) if c.outputs or c.execution_count is not None
    ]
    assert not dirty, f"cells with outputs or execution counts: {dirty}"


PRIVATE = re.compile(r"^\s*(from\s+index[\w.]*\s+import|import\s+index\.)", re.MULTILINE)


@pytest.mark.parametrize("name", NAMES)
def test_only_the_public_api(name):
    """Notebooks reach the package through ``import index`` alone (no module imports)."""
    code = "\n".join(c.source for c in _read(name).cells if c.cell_type == "code")
    assert "import index" in code
    assert not PRIVATE.findall(code), PRIVATE.findall(code)


@pytest.fixture(scope="module")
def kernel_manager_factory(tmp_path_factory):
    """Kernel managers that launch ipykernel with this interpreter (the venv's)."""
    spec = tmp_path_factory.mktemp("kernels") / "kernels" / "venv-python"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "venv", "language": "python"})
    )
    specs = KernelSpecManager(kernel_dirs=[str(spec.parent)])
    return lambda: KernelManager(kernel_name="venv-python", kernel_spec_manager=specs)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name, kernel_manager_factory, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = _read(name)
    nb.cells.insert(0, nbformat.v4.new_code_cell(PROBE))
    client = NotebookClient(
        nb,
        km=kernel_manager_factory(),
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError naming the failing cell
    probe = "".join(o.get("text", "") for o in nb.cells[0].outputs).strip()
    assert probe == sys.prefix, f"kernel ran in {probe}, not in {sys.prefix}"
