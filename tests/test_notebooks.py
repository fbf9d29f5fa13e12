"""Execute every notebook under notebooks/ so they cannot rot.

Each notebook runs top to bottom in a fresh kernel with its ``SMALL = True`` parameter (the
committed default) and must finish without an error and draw at least one figure. Skipped,
with the reason, when nbclient / nbformat / ipykernel / matplotlib are not installed (the
``test`` extra installs them).
"""
from __future__ import annotations

import importlib.util
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MISSING = [m for m in ("nbclient", "nbformat", "ipykernel", "matplotlib")
           if importlib.util.find_spec(m) is None]

pytestmark = pytest.mark.skipif(
    bool(MISSING), reason=f"notebook execution needs {', '.join(MISSING)} (pip install -e '.[test]')")


def test_there_are_four_notebooks():
    names = [p.name for p in NOTEBOOKS]
    assert len(names) >= 4, names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_clean(path):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(str(path), as_version=4)
    env_path = os.environ.get("PYTHONPATH", "")
    # The kernel imports `accountant` from the checkout even without `pip install -e .`
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env_path) if p)
    try:
        client = NotebookClient(nb, timeout=240, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        try:
            client.execute()
        except CellExecutionError as exc:  # show the failing cell, not the kernel plumbing
            pytest.fail(f"{path.name} failed:\n{str(exc)[-3000:]}")
    finally:
        os.environ["PYTHONPATH"] = env_path
        if not env_path:
            del os.environ["PYTHONPATH"]
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, f"{path.name}: {errors[0].get('ename')}: {errors[0].get('evalue')}"
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert images, f"{path.name} draws no figure"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_with_outputs(path):
    """The committed notebook carries its outputs and at least one figure."""
    import nbformat
    nb = nbformat.read(str(path), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code), "notebook not executed"
    assert any("image/png" in o.get("data", {}) for c in code for o in c.get("outputs", []))
