"""Shared test fixtures. With CI=true a missing Docker engine or torch fails the run, never skips."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/recorded.py and friends

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(reason: str) -> None:
    """Skip on a developer's machine; fail in CI, where everything the tests need is installed."""
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_engine():
    """A client of the real engine (CI starts dockerd in .ci/run)."""
    import docker.errors

    from torchlab.engine import connect

    try:
        client = connect()
        client.ping()
    except docker.errors.DockerException as exc:
        missing(f"no Docker engine answers ({exc})")
    yield client
    client.close()


@pytest.fixture(scope="session")
def torch_module():
    try:
        import torch
    except ImportError:
        missing("torch is not installed (pip install torch==2.13.0)")
    return torch


def need_module(module_name: str, install: str) -> None:
    """At the top of a test module whose every test needs `module_name`: skip the module on a
    developer's machine without it (saying how to get it), fail the run in CI."""
    if importlib.util.find_spec(module_name) is not None:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {module_name} is not installed ({install})", pytrace=False)
    pytest.skip(f"{module_name} is not installed ({install})", allow_module_level=True)


def require(module_name: str):
    """Import what a test needs: skip on a developer's machine, fail in CI where it must be installed."""
    try:
        return importlib.import_module(module_name)
    except ImportError:
        missing(f"{module_name} is not installed")


def matches_golden(golden: Path, actual: str) -> None:
    """actual is the golden file's text; TORCHLAB_UPDATE_GOLDEN=1 rewrites the file instead (an intended change)."""
    if os.environ.get("TORCHLAB_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
    assert actual == golden.read_text(encoding="utf-8"), f"{golden.name} differs from its golden file"


def one_line_error(result, *words: str) -> None:
    """A CLI result that failed as users must see it: exit 2, one line on stderr, nothing on stdout."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("torchlab: error: "), result.stderr
    assert result.stdout == "" and "Traceback" not in result.output
    for word in words:
        assert word in lines[0]
