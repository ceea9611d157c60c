"""The labs travel with a wheel: every lab file is listed as data, and an installed wheel finds them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import missing
from labkit import REAL_LABS, REPO
from setuptools.config.expand import canonic_data_files

SHARE = "share/torchlab/labs"


def lab_files_on_disk() -> set[str]:
    return {
        f"{SHARE}/{path.relative_to(REAL_LABS).as_posix()}"
        for path in REAL_LABS.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def lab_files_listed() -> set[str]:
    """Where setuptools installs each data file, expanded by setuptools itself."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set()
    for dest, sources in canonic_data_files(pyproject["tool"]["setuptools"]["data-files"], REPO):
        for source in sources:
            assert (REPO / source).is_file(), f"data-files: {source} is not a file (a folder needs its own line)"
            listed.add(f"{dest}/{Path(source).name}")
    return {path for path in listed if path.startswith(SHARE + "/")}  # the image recipe travels too


def test_every_lab_file_is_listed_as_data_at_its_place() -> None:
    on_disk, listed = lab_files_on_disk(), lab_files_listed()
    assert on_disk - listed == set(), "add these folders to [tool.setuptools.data-files] in pyproject.toml"
    assert listed - on_disk == set()
    assert f"{SHARE}/_smoke/runner.py" in listed and f"{SHARE}/module-0/lab.toml" in listed


def copy_source(target: Path) -> Path:
    """What a wheel is built from (a copy, so the build leaves nothing in the checkout)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("torchlab", "labs", "images"):
        shutil.copytree(REPO / name, target / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, target / name)
    return target


def run(*argv: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=300, env=env, cwd=cwd,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def see_the_test_interpreters_packages(python: Path) -> None:
    """The new venv finds torchlab's dependencies where this interpreter has them, whether this is
    a venv or the system Python (--system-site-packages would see the base interpreter's only).
    Plain path lines in a .pth are appended after the venv's own site-packages, and the .pth files
    in those folders (this checkout's editable install) are not run, so the wheel's torchlab wins."""
    venv_site = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    ours = [p for p in sys.path if p.endswith(("site-packages", "dist-packages")) and Path(p).is_dir()]
    (Path(venv_site) / "_test_interpreter.pth").write_text("\n".join(ours) + "\n")


def setuptools_builds_wheels() -> bool:
    """--no-build-isolation builds with this Python's setuptools: it makes wheels from 70.1 on, or
    with the `wheel` package (a fresh venv of Python 3.11 has setuptools 65 and no `wheel`)."""
    import importlib.metadata
    import importlib.util

    try:
        version = tuple(int(p) for p in importlib.metadata.version("setuptools").split(".")[:2])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return False
    return version >= (70, 1) or importlib.util.find_spec("wheel") is not None


@pytest.mark.slow
def test_an_installed_wheel_lists_the_labs_it_ships(tmp_path: Path) -> None:
    if not setuptools_builds_wheels():
        missing("setuptools >= 70.1 (or the wheel package) to build torchlab's wheel: pip install -e \".[dev]\"")
    source = copy_source(tmp_path / "src")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
        "-w", tmp_path / "dist", source)
    wheel = next((tmp_path / "dist").glob("torchlab-*.whl"))
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    see_the_test_interpreters_packages(python)
    run(python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TORCHLAB_")}
    env["TORCHLAB_CONFIG"] = str(tmp_path / "no-config.toml")
    code = "import torchlab.lab.catalog as l; print(l.shipped_labs_dir())"  # run away from the checkout:
    where = run(python, "-c", code, env=env, cwd=tmp_path).stdout.strip()  # -c imports from the cwd
    assert Path(where) == venv / SHARE
    listed = json.loads(run(venv / "bin" / "torchlab", "labs", "--json", env=env, cwd=tmp_path).stdout)
    ids = sorted(p.name for p in REAL_LABS.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    assert [lab["id"] for lab in listed["labs"]] == ids
    recipe = run(python, "-c", "import torchlab.images.inputs as i; print(i.recipe_dir())", env=env, cwd=tmp_path)
    assert Path(recipe.stdout.strip()) == venv / "share/torchlab/images"
    assert (venv / SHARE / "_smoke" / "runner.py").read_bytes() == (REAL_LABS / "_smoke" / "runner.py").read_bytes()
