"""Each command imports only what it uses: `--version` and `--help` no docker-py, rich, psutil or
NVML; `labs` no docker-py; doctor no torch without --torch, and no docker-py when it reads a report.
Measured as a user runs torchlab: `python -X importtime -m torchlab ...` in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SLOW = {"docker", "requests", "rich", "psutil", "pynvml", "torch"}  # what a command must earn


def imported(args: list[str], home: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """The run, and the top-level packages it imported."""
    env = {**os.environ, "TORCHLAB_CONFIG": str(home / "none.toml"), "TORCHLAB_DATA_DIR": str(home / "data")}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "torchlab", *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    names = {line.rsplit("|", 1)[1].strip().split(".")[0]
             for line in done.stderr.splitlines() if line.startswith("import time:") and "|" in line}
    return done, names


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["labs", "--json"], ["config", "show", "--json"]])
def test_commands_that_need_no_engine_import_nothing_slow(args: list[str], tmp_path: Path) -> None:
    done, names = imported(args, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "torchlab" in names and names & SLOW == set()


def test_doctor_imports_no_torch_without_torch(tmp_path: Path) -> None:
    done, names = imported(["doctor", "--json"], tmp_path)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    assert "docker" in names and "torch" not in names  # docker-py: the engine is probed


def test_doctor_from_a_report_probes_nothing(tmp_path: Path) -> None:
    done, _ = imported(["doctor", "--json"], tmp_path)
    report = tmp_path / "report.json"
    report.write_text(done.stdout, encoding="utf-8")
    again, names = imported(["doctor", "--from", str(report), "--json"], tmp_path)
    assert again.returncode in (0, 1), again.stderr[-2000:]
    assert names & {"docker", "requests", "pynvml", "torch", "rich"} == set()
