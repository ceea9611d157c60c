"""up, down, status, logs and shell in-process: bad input is one line and a documented exit code,
before anything is started (no engine needed)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from torchlab.cli import app

runner = CliRunner()


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TORCHLAB_CONFIG", str(tmp_path / "none.toml"))
    return tmp_path


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_an_unknown_lab_is_the_catalogs_error(isolated):
    result = invoke("up", "module-99")
    assert result.exit_code == 2
    assert 'unknown lab "module-99"' in result.output and "Traceback" not in result.output
    assert not (isolated / "data" / "workspaces").exists()


def test_unknown_runtime_and_variant_are_usage_errors(isolated):
    assert invoke("up", "module-0", "--runtime", "podman").exit_code == 2
    assert invoke("up", "module-0", "--variant", "tpu").exit_code == 2
    assert invoke("up", "module-0", "--port", "0").exit_code == 2


def test_cuda_asked_for_on_a_host_without_a_gpu_is_refused_with_the_cpu_way(isolated):
    doctor = json.loads(invoke("doctor", "--json").stdout)
    if doctor["plan"]["variant"] != "cpu":
        pytest.skip("this host has a GPU")
    result = invoke("up", "module-0", "--variant", "cuda")
    assert result.exit_code == 3
    assert "--variant cuda: this host has no NVIDIA GPU" in result.output and "--variant cpu" in result.output


def test_down_wants_a_lab_or_all(isolated):
    result = invoke("down")
    assert result.exit_code == 2 and "name one lab" in result.output
    assert invoke("down", "module-0", "--all").exit_code == 2


def test_down_of_a_lab_that_is_not_running_says_so(isolated):
    result = invoke("down", "setup")  # an alias of module-0
    assert result.exit_code == 0 and "module-0 is not running" in result.output


def test_status_with_nothing_running_is_an_empty_list(isolated):
    result = invoke("status", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"schema": "torchlab.status/1", "labs": []}


@pytest.mark.parametrize("command", ["logs", "shell"])
def test_logs_and_shell_need_a_running_lab(isolated, command):
    result = invoke(command, "module-0")
    assert result.exit_code == 2
    assert "module-0 is not running" in result.output and "torchlab up module-0" in result.output
