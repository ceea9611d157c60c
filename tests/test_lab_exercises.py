"""Each lab's workspace/exercises.py carries the same small runner block on purpose (a workspace is
self-contained for the learner); this keeps the copies identical, so a fix reaches every lab."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit import REAL_LABS

RUNNER_START = "def run_checks() -> None:"
EXERCISES = sorted(REAL_LABS.glob("*/workspace/exercises.py"))


def runner_block(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    assert text.count(RUNNER_START) == 1, f"{path}: expected one {RUNNER_START!r}"
    return text[text.index(RUNNER_START):]


def test_every_lab_has_exercises() -> None:
    labs = sorted(p.name for p in REAL_LABS.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    assert [p.parts[-3] for p in EXERCISES] == labs


@pytest.mark.parametrize("path", EXERCISES[1:], ids=lambda p: p.parts[-3])
def test_the_runner_block_is_the_same_in_every_lab(path: Path) -> None:
    assert runner_block(path) == runner_block(EXERCISES[0]), f"{path} differs from {EXERCISES[0]}"


def test_the_runner_block_ends_the_file_and_runs_the_checks() -> None:
    block = runner_block(EXERCISES[0])
    assert block.rstrip().endswith('if __name__ == "__main__":\n    run_checks()')
    assert "for check in CHECKS:" in block
