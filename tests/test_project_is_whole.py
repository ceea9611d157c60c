"""The project is whole: no tracked file names a path outside the checkout or a machine of ours.
Recorded outputs (tests/fixtures) are exempt: they are other machines' words, kept byte for byte."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Spelled in parts so that this file does not match itself.
OUTSIDE = ("../" + "shared", "/work" + "/main", "/work" + "/shared", "/work" + "/.library", "BENCH" + "-FACTS",
           "COMPAT" + "-FACTS", "/opt/" + "wheels", "/root" + "/.pyenv", "/root" + "/.cache", "/home/" + "user")


def tracked_files() -> list[Path]:
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, timeout=60)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout (an sdist or a copy): the tracked files cannot be listed")
    names = [n for n in listed.stdout.decode().split("\0") if n]
    return [REPO / n for n in names if not n.startswith("tests/fixtures/") and (REPO / n).is_file()]


def machine_paths() -> list[str]:
    """This machine's own wheelhouse and CA folders, whatever they are called here."""
    entries = os.environ.get("PIP_FIND_LINKS", "").split() + os.environ.get("TORCHLAB_WHEELHOUSE", "").split()
    return [e.rstrip("/") + "/" for e in entries if e.startswith("/") and e.count("/") > 1]


def test_no_tracked_file_names_a_path_outside_the_checkout() -> None:
    needles = OUTSIDE + tuple(machine_paths())
    offenders = []
    for path in tracked_files():
        text = path.read_bytes().decode("utf-8", errors="replace")
        offenders += [f"{path.relative_to(REPO)}: {needle}" for needle in needles if needle in text]
    assert offenders == []


def test_fixtures_have_an_index_naming_each_file() -> None:
    fixtures = REPO / "tests" / "fixtures"
    index = (fixtures / "INDEX.md").read_text(encoding="utf-8")
    unnamed = [p.name for p in fixtures.iterdir() if p.is_file() and p.name != "INDEX.md" and f"`{p.name}`" not in index]
    assert unnamed == []
