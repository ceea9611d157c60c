"""The layers hold: the import contract in pyproject.toml (import-linter) is kept, it does fail when
someone plants a cycle or a forbidden import, and every import deferred into a function says why."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import require

from torchlab.runtimes import RUNTIMES
from torchlab.runtimes.protocol import Runtime

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "torchlab"
LINT = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the torchlab under root, with root's pyproject.toml."""
    require("importlinter")
    env = {"PYTHONPATH": str(root), "PATH": "", "LANG": "C.UTF-8", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-c", LINT, "--no-cache", "--no-logo"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_import_contract_is_kept() -> None:
    done = lint_imports(REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


PLANTS = {  # the file that gets one more import, the import, what the contract must then say
    "cycle": ("runtimes/ports.py", "from torchlab.runtimes import native", "No cycles are allowed in torchlab.runtimes"),
    "layer": ("facts.py", "import torchlab.cli", "torchlab.facts is not allowed to import torchlab.cli"),
    "docker": ("up.py", "import docker", "Illegal imports of protected package docker"),
    "subprocess": ("lab/catalog.py", "import subprocess", "Illegal imports of protected package subprocess"),
    "impure": ("decide/plan.py", "from torchlab.run import run_command", "torchlab.decide is not allowed to import torchlab.run"),
}


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_the_contract_fails_on_a_planted_import(plant: str, tmp_path: Path) -> None:
    module, line, said = PLANTS[plant]
    shutil.copytree(PACKAGE, tmp_path / "torchlab", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    with open(tmp_path / "torchlab" / module, "a", encoding="utf-8") as planted:
        planted.write(f"\n{line}\n")
    done = lint_imports(tmp_path)
    assert done.returncode != 0, done.stdout
    assert said in done.stdout, done.stdout


def deferred_imports(path: Path) -> list[tuple[int, str]]:
    """(line, text) of the first import of each run of import statements inside a function."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for function in ast.walk(ast.parse("\n".join(lines))):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for block in ast.walk(function):
            after_import = False
            body = getattr(block, "body", None)
            for statement in body if isinstance(body, list) else []:
                is_import = isinstance(statement, (ast.Import, ast.ImportFrom))
                if is_import and not after_import:
                    found.append((statement.lineno, lines[statement.lineno - 1]))
                after_import = is_import
    return sorted(set(found))


def test_every_deferred_import_says_what_start_up_time_it_saves() -> None:
    unexplained = [f"{path.relative_to(REPO)}:{number}: {text.strip()}"
                   for path in sorted(PACKAGE.rglob("*.py")) for number, text in deferred_imports(path)
                   if "# start-up:" not in text and "- start-up:" not in text]
    assert unexplained == [], "a deferred import needs `# start-up: <what it saves>`, or belongs at the top"


@pytest.mark.parametrize("name", sorted(RUNTIMES))
def test_every_registered_runtime_has_the_protocols_shape(name: str) -> None:
    module, _, cls = RUNTIMES[name].partition(":")
    runtime = getattr(__import__(module, fromlist=[cls]), cls)
    wanted = [member for member in vars(Runtime) if not member.startswith("_") and callable(getattr(Runtime, member))]
    assert wanted and [member for member in wanted if not callable(getattr(runtime, member, None))] == []
    assert runtime.name == name
