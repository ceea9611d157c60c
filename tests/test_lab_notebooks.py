"""The labs' workspaces: notebooks that are valid, clean, device-agnostic and run headless on the CPU.

Each notebook is executed with nbclient in a temporary copy of its workspace (so that nothing it
writes lands in labs/). With CI=true a missing nbclient, ipykernel, torch or transformers fails.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import require

REPO = Path(__file__).resolve().parents[1]
LABS = REPO / "labs"
COURSE_LABS = [f"module-{n}" for n in range(8)]
NOTEBOOKS = sorted(path for lab in COURSE_LABS for path in (LABS / lab / "workspace").glob("*.ipynb"))
DEVICE_LINE = (
    'device = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")'
)
# The first cell of every lab's first notebook: one line, the same in every lab, the environment check.
FIRST_CELL = f'import torch; {DEVICE_LINE}; print(f"torch {{torch.__version__}}, using device: {{device}}")'
CELL_TIMEOUT_S = 60


def notebook_id(path: Path) -> str:
    return f"{path.parents[1].name}/{path.stem}"


def lab_of(path: Path) -> str:
    return path.parents[1].name


def test_every_lab_has_one_to_three_notebooks_and_exercises() -> None:
    for lab_id in COURSE_LABS:
        workspace = LABS / lab_id / "workspace"
        count = len(list(workspace.glob("*.ipynb")))
        assert 1 <= count <= 3, f"{lab_id} has {count} notebooks"
        assert (workspace / "exercises.py").is_file(), f"{lab_id} has no exercises.py"
        assert [p for p in workspace.rglob("*") if p.is_dir()] == [], f"{lab_id}'s workspace should stay flat"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_notebook_is_valid_clean_and_picks_the_device_first(path: Path) -> None:
    nbformat = require("nbformat")
    notebook = nbformat.read(str(path), as_version=nbformat.NO_CONVERT)
    nbformat.validate(notebook)
    assert notebook.nbformat == 4
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells, "a notebook without code"
    for cell in code_cells:
        assert cell.outputs == [] and cell.execution_count is None, f"stored output in: {cell.source[:60]!r}"
    assert DEVICE_LINE in code_cells[0].source
    if path.name.startswith("01_"):
        assert code_cells[0].source == FIRST_CELL
    later = "\n".join(cell.source for cell in code_cells[1:])
    assert "is_available()" not in later, "only the first cell should look for the device"
    assert "from_pretrained(" not in later.replace("AutoTokenizer.from_pretrained(folder)", ""), "no hub downloads"


@pytest.mark.parametrize("lab_id", COURSE_LABS)
def test_exercises_run_and_report_every_todo(lab_id: str, tmp_path: Path) -> None:
    require("torch")
    if lab_id == "module-6":
        require("transformers")
    shutil.copytree(LABS / lab_id / "workspace", tmp_path, dirs_exist_ok=True)
    result = subprocess.run([sys.executable, "exercises.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert lines and all(line.startswith("todo   ") for line in lines), result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_notebook_runs_top_to_bottom_on_cpu(path: Path, tmp_path: Path) -> None:
    require("torch")
    require("ipykernel")
    nbformat = require("nbformat")
    nbclient = require("nbclient")
    if lab_of(path) == "module-6":
        require("transformers")
        require("accelerate")
    if lab_of(path) == "module-7":
        require("diffusers")
    shutil.copytree(path.parent, tmp_path, dirs_exist_ok=True)
    notebook = nbformat.read(str(tmp_path / path.name), as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    errors = [o for cell in notebook.cells for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    device_cell = next(cell for cell in notebook.cells if cell.cell_type == "code")
    assert "using device: " in "".join(output.get("text", "") for output in device_cell.outputs)
