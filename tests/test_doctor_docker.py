"""doctor's Docker facts against a real engine: up, down (refused / no socket), permission denied."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from torchlab.engine import probe_docker

from conftest import missing

pytestmark = pytest.mark.docker
NOBODY = 65534


def test_engine_up_is_ok_with_its_versions(docker_engine):
    facts = probe_docker(os.environ)
    assert facts.state == "ok"
    assert facts.server_version == docker_engine.version()["Version"]
    assert facts.api_version == docker_engine.version()["ApiVersion"]
    assert facts.storage_root and facts.storage_driver


def test_socket_without_a_daemon_is_daemon_down(docker_engine, tmp_path):
    """A stopped dockerd leaves its socket behind: connecting is refused."""
    path = tmp_path / "docker.sock"
    left_behind = socket.socket(socket.AF_UNIX)
    left_behind.bind(str(path))  # bound, never listening: connect() is refused, as after a crash
    try:
        facts = probe_docker({**os.environ, "DOCKER_HOST": f"unix://{path}"})
    finally:
        left_behind.close()
    assert facts.state == "daemon-down"
    assert "refused" in facts.detail.lower()


def test_no_socket_with_the_cli_installed_is_daemon_down(docker_engine, tmp_path):
    facts = probe_docker({**os.environ, "DOCKER_HOST": f"unix://{tmp_path / 'none.sock'}"})
    assert facts.state == "daemon-down"


def test_no_socket_and_no_cli_is_missing(tmp_path):
    env = {"PATH": str(tmp_path), "DOCKER_HOST": f"unix://{tmp_path / 'none.sock'}"}
    assert probe_docker(env).state == "missing"


def as_nobody(args: list[str], home: Path) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "TORCHLAB_DATA_DIR": str(home / "data")}
    command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", sys.executable, *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)


@pytest.fixture
def nobody_home():
    """A home the unprivileged user can reach (pytest's tmp_path sits under a 0700 folder)."""
    home = Path(tempfile.mkdtemp(prefix="torchlab-nobody-"))
    home.chmod(0o777)
    yield home
    shutil.rmtree(home, ignore_errors=True)


def test_a_user_outside_the_docker_group_gets_permission_denied(docker_engine, nobody_home):
    if os.geteuid() != 0:
        missing("needs root to run a process as an unprivileged user")
    sock = Path("/var/run/docker.sock")
    if not sock.exists() or sock.stat().st_mode & 0o006:
        missing("the engine's socket is not the usual root:docker 0660")
    probe = as_nobody(["-c", "import torchlab"], nobody_home)
    if probe.returncode != 0:
        missing(f"an unprivileged user cannot run {sys.executable}: {probe.stderr.strip()[-200:]}")
    done = as_nobody(["-m", "torchlab", "doctor", "--json"], nobody_home)
    report = json.loads(done.stdout)
    assert report["docker"]["state"] == "permission-denied", done.stderr
    finding = next(f for f in report["findings"] if f["id"] == "docker.permission-denied")
    assert "usermod -aG docker" in finding["fix"]
    assert report["plan"]["runtime"] == "native"
