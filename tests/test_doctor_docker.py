"""doctor's Docker facts against a real engine: up, down (refused / no socket), permission denied."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from torchlab.cli import app
from torchlab.probe.docker import probe_docker
from torchlab.probe import nvidia

from conftest import missing
from recorded import fixture_text

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


def recorded_gpu_on_path(monkeypatch, tmp_path: Path, fixture: str) -> None:
    """This host through a recorded `nvidia-smi -q -x` (NVML hidden): doctor plans for that GPU."""
    monkeypatch.setattr(nvidia, "_ask_nvml", lambda: None)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "output.xml").write_text(fixture_text(fixture), encoding="utf-8")
    script = bin_dir / "nvidia-smi"
    script.write_text(f"#!{sys.executable}\nimport sys\nsys.stdout.write(open({str(bin_dir / 'output.xml')!r}).read())\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")


def test_gpu_probe_builds_nothing_and_reports_the_engines_refusal(docker_engine, monkeypatch, tmp_path):
    """The recorded 4xA100 host on this GPU-less engine (no NVIDIA runtime): the lab image is not here,
    so the probe asks for the GPU in a container of the base image; the engine refuses, and doctor says
    so with the fix, in seconds, with the engine's images as they were."""
    base = os.environ.get("TORCHLAB_TEST_BASE_IMAGE")
    if not base:
        missing("TORCHLAB_TEST_BASE_IMAGE names no local base image")
    if "nvidia" in (docker_engine.info().get("Runtimes") or {}):
        missing("this engine has the NVIDIA runtime: it would not refuse the GPU request")
    recorded_gpu_on_path(monkeypatch, tmp_path, "nvidia-smi-q-x_4xA100-SXM4-80GB_535.54.03.xml")
    monkeypatch.setenv("TORCHLAB_BASE_IMAGE", base)
    monkeypatch.setenv("TORCHLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TORCHLAB_REGISTRY", raising=False)
    images_before = sorted(image.id for image in docker_engine.images.list(all=True))
    assert not docker_engine.images.list(filters={"label": "org.torchlab.variant=cuda-12.6"})
    started = time.monotonic()
    result = CliRunner().invoke(app, ["doctor", "--json", "--gpu-probe"])
    took = time.monotonic() - started
    report = json.loads(result.stdout)
    assert report["plan"]["variant"] == "cuda-12.6" and report["plan"]["runtime"] == "native"
    probe = next(f for f in report["findings"] if f["id"] == "docker.gpu-probe")
    assert (probe["status"], probe["title"]) == ("fail", "Docker refuses the GPU request")
    assert "could not select device driver" in probe["detail"]
    assert "nvidia-ctk runtime configure --runtime=docker" in probe["fix"]
    assert result.exit_code == 1
    assert took < 30, f"the probe took {took:.0f} s"
    assert sorted(image.id for image in docker_engine.images.list(all=True)) == images_before
    assert not docker_engine.containers.list(all=True, filters={"label": "org.torchlab.probe=gpu"})
