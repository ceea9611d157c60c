"""Shared test fixtures. With CI=true a missing Docker engine or torch fails the run, never skips."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/fixtures.py and friends

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
