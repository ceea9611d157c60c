"""`torchlab labs` as a user runs it: in-process for exact output and JSON, and once installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from labkit import REAL_LABS, make_lab, tree
from typer.testing import CliRunner

from torchlab.cli import app

from conftest import one_line_error
from torchlab.lab.catalog import load_catalog

runner = CliRunner()
FILES = {"intro.ipynb": b'{"cells": []}', "ex/ex1.py": b"# exercise 1\n"}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user with no config file, a data folder in tmp_path and a labs folder of two labs."""
    monkeypatch.setenv("TORCHLAB_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("TORCHLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TORCHLAB_LABS_DIR", str(tmp_path / "labs"))
    make_lab(tmp_path / "labs", "module-0", title="Getting started", summary="Check the install.",
             aliases=["m0"], files=FILES)
    make_lab(tmp_path / "labs", "module-1", "1.2.0", aliases=["m1", "tensors"], accelerator="recommended",
             files=FILES)
    return tmp_path


def labs(*args: str):
    return runner.invoke(app, ["labs", *args])


def test_listing_json_is_the_exact_document(home: Path) -> None:
    assert labs("init", "m1").exit_code == 0
    result = labs("--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "schema": "torchlab.labs/1",
        "labs": [
            {"id": "module-0", "title": "Getting started", "version": "1.0.0", "summary": "Check the install.",
             "aliases": ["m0"], "accelerator": "optional", "workspace": None},
            {"id": "module-1", "title": "Tensors", "version": "1.2.0", "summary": "Tensor basics.",
             "aliases": ["m1", "tensors"], "accelerator": "recommended",
             "workspace": {"path": str(home / "data" / "workspaces" / "module-1"), "version": "1.2.0"}},
        ],
    }


def test_listing_for_people_is_a_table_on_stdout(home: Path) -> None:
    result = labs()
    assert result.exit_code == 0
    for word in ("module-0", "module-1", "Getting started", "1.2.0", "recommended"):
        assert word in result.stdout


def test_labs_dir_flag_wins_over_the_setting(home: Path, tmp_path: Path) -> None:
    make_lab(tmp_path / "other", "module-7", title="Diffusion")
    assert [lab["id"] for lab in json.loads(labs("--json", "--labs-dir", str(tmp_path / "other")).stdout)["labs"]] \
        == ["module-7"]
    shown = labs("--labs-dir", str(tmp_path / "other"), "show", "module-7", "--json")
    assert json.loads(shown.stdout)["lab"]["title"] == "Diffusion"


def test_show_json_is_the_exact_document(home: Path) -> None:
    result = labs("show", "tensors", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "schema": "torchlab.lab/1",
        "lab": {
            "id": "module-1", "title": "Tensors", "version": "1.2.0", "summary": "Tensor basics.",
            "aliases": ["m1", "tensors"], "packages": ["numpy"], "min_torch": "2.1",
            "accelerator": "recommended", "min_ram_gb": 4.0, "min_vram_gb": 0.0, "disk_gb": 1.5,
            "path": str(home / "labs" / "module-1"),
        },
        "workspace": None,
    }


def test_unknown_lab_is_exit_2_naming_the_nearest(home: Path) -> None:
    for args in (("show", "modul-1"), ("init", "modul-1"), ("upgrade", "modul-1")):
        one_line_error(labs(*args), 'unknown lab "modul-1"', "did you mean module-1")


def test_init_creates_then_adds_only_missing(home: Path) -> None:
    target = home / "mine"
    first = labs("init", "module-0", "--dir", str(target))
    assert first.exit_code == 0
    assert first.stdout == f"created the module-0 1.0.0 workspace at {target} (2 files)\n"
    (target / "ex" / "ex1.py").unlink()
    second = labs("init", "module-0", "--dir", str(target))
    assert second.stdout == f"module-0 1.0.0 workspace at {target}: added the missing ex/ex1.py\n"
    assert tree(target) == FILES


def test_init_into_a_foreign_folder_is_exit_2_and_writes_nothing(home: Path) -> None:
    target = home / "photos"
    target.mkdir()
    (target / "cat.jpg").write_bytes(b"meow")
    one_line_error(labs("init", "module-0", "--dir", str(target)), str(target), "not a torchlab workspace")
    assert sorted(p.name for p in target.rglob("*")) == ["cat.jpg"]


def test_a_damaged_record_is_set_aside_said_and_the_command_goes_on(home: Path) -> None:
    target = home / "ws"
    labs("init", "module-0", "--dir", str(target))
    (target / "intro.ipynb").write_bytes(b"my notes")
    record = target / ".torchlab" / "workspace.json"
    for command in ("init", "upgrade"):
        record.write_text("{oops", encoding="utf-8")
        result = labs(command, "module-0", "--dir", str(target))
        assert result.exit_code == 0, result.output
        [note] = result.stderr.strip().splitlines()
        assert note.startswith(f"torchlab: note: the workspace record {record} was damaged (not valid JSON")
        assert f"set aside as {record}.corrupt" in note or f"set aside as {record}.corrupt-2" in note
    assert (target / "intro.ipynb").read_bytes() == b"my notes"
    assert sorted(p.name for p in record.parent.glob("workspace.json*")) == [
        "workspace.json", "workspace.json.corrupt", "workspace.json.corrupt-2"]
    assert labs("init", "module-0", "--dir", str(target)).stderr == ""  # the adopted record is sound


def test_upgrade_json_names_every_outcome(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert labs("init", "module-0").exit_code == 0
    ws = home / "data" / "workspaces" / "module-0"
    (ws / "intro.ipynb").write_bytes(b"my notes")
    newer = tmp_path / "newer"
    shutil.copytree(home / "labs", newer)
    make_lab(newer, "module-0", "1.1.0", aliases=["m0"], files={"intro.ipynb": b"v2", "ex/ex2.py": b"# 2\n"})
    monkeypatch.setenv("TORCHLAB_LABS_DIR", str(newer))
    result = labs("upgrade", "m0", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "schema": "torchlab.upgrade/1", "lab": "module-0", "path": str(ws),
        "from_version": "1.0.0", "to_version": "1.1.0",
        "updated": [], "kept": [{"path": "intro.ipynb", "side_file": "intro.v1.1.0.ipynb"}],
        "added": ["ex/ex2.py"], "removed_upstream": ["ex/ex1.py"], "deleted_by_user": [], "unchanged": [],
    }
    assert json.loads(labs("--json").stdout)["labs"][0]["workspace"]["version"] == "1.1.0"


def test_upgrade_for_people_says_where_the_new_version_went(home: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    labs("init", "module-0")
    ws = home / "data" / "workspaces" / "module-0"
    (ws / "intro.ipynb").write_bytes(b"my notes")
    make_lab(tmp_path / "newer", "module-0", "1.1.0", files={**FILES, "intro.ipynb": b"v2"})
    result = labs("upgrade", "module-0", "--labs-dir", str(tmp_path / "newer"))
    assert result.stdout.splitlines() == [
        f"module-0 workspace at {ws}: 1.0.0 -> 1.1.0",
        "  kept your changes intro.ipynb; the new version is in intro.v1.1.0.ipynb",
        "  1 files unchanged",
    ]


def test_upgrade_of_a_missing_workspace_is_exit_2(home: Path) -> None:
    one_line_error(labs("upgrade", "module-0"), "not a torchlab workspace", "torchlab labs init module-0")


def test_the_real_labs_are_listed(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TORCHLAB_LABS_DIR")
    listed = json.loads(labs("--json").stdout)["labs"]
    assert [lab["id"] for lab in listed] == list(load_catalog(REAL_LABS).ids)


def test_installed_command_lists_labs_as_json(home: Path) -> None:
    exe = shutil.which("torchlab")
    assert exe, "the torchlab console script is not installed (pip install -e .)"
    done = subprocess.run([exe, "labs", "--json"], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ), check=False)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["schema"] == "torchlab.labs/1"
    assert [lab["id"] for lab in document["labs"]] == ["module-0", "module-1"]
