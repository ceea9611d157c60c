"""torchlab's own state, planted wrong: pid files that point at a stranger's live process, and pid
files that are damaged. torchlab never signals a process it cannot prove it started (pid, start time
and command line must all match), and a damaged file is said, set aside and never fatal."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from upkit import Torchlab

pytestmark = [pytest.mark.faults]
# A machine without Docker (no engine, no docker command): only the native runtime's state is in play.
NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock", "PATH": str(Path(sys.executable).parent)}


@pytest.fixture
def stranger():
    """A live process torchlab did not start (a `sleep`, in a session of its own, as a lab's is)."""
    process = subprocess.Popen(["sleep", "300"], start_new_session=True)
    yield psutil.Process(process.pid)
    process.kill()
    process.wait(timeout=10)


def plant(data_dir: Path, name: str, content: dict | bytes) -> Path:
    path = data_dir / "run" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    return path


def pid_file(lab: str, pid: object, create_time: object, command: object) -> dict:
    return {"schema": "torchlab.native-run/1", "lab": lab, "version": "1.0.1", "variant": "cpu", "device": "cpu",
            "pid": pid, "create_time": create_time, "port": 8888, "token": "t", "workspace": "/nowhere",
            "env": "/nowhere", "log": "/nowhere/log", "started_at": 1.0, "command": command}


def proofs(process: psutil.Process) -> dict[str, tuple[object, object, object]]:
    """(pid, create_time, command) that each fail to prove the stranger ours."""
    pid, created, command = process.pid, process.create_time(), process.cmdline()
    return {
        "create_time null": (pid, None, command), "create_time wrong": (pid, created - 1000, command),
        "create_time abc": (pid, "abc", command), "create_time -1": (pid, -1, command),
        "create_time NaN-like": (pid, 1e309, command), "no command line": (pid, created, None),
        "another command line": (pid, created, ["jupyter", "lab"]), "pid abc": ("abc", created, command),
        "pid -1": (-1, created, command), "pid 0": (0, created, command), "pid true": (True, created, command),
        "pid 1": (1, None, None),
    }


def test_no_planted_pid_file_makes_torchlab_list_or_signal_a_strangers_process(tmp_path: Path, stranger) -> None:
    torchlab = Torchlab(tmp_path, extra_env=NO_ENGINE)
    for index, (why, (pid, created, command)) in enumerate(proofs(stranger).items()):
        plant(torchlab.data_dir, f"lab-{index}", pid_file(f"lab-{index}", pid, created, command))
    done, status = torchlab.json("status")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert [lab for lab in status["labs"] if lab["state"] == "running" and lab.get("pid") is not None] == []
    for lab in status["labs"]:  # the ones kept are well-formed but unproven: shown as gone, never as running
        assert lab["state"] == "gone" and lab["health"] == "stopped", lab
    text = torchlab.run("status")
    assert text.returncode == 0 and "up 4" not in text.stderr  # no "up 498890h" for a stranger
    for args in (("down", "--all"), ("down", "module-0")):
        done = torchlab.run(*args, timeout=120)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        assert stranger.is_running() and stranger.status() != psutil.STATUS_ZOMBIE
    warned = torchlab.run("status")  # the rerun: nothing left to warn about, nothing listed
    assert warned.returncode == 0 and "warning" not in warned.stderr, warned.stderr
    assert stranger.is_running()


DAMAGED = {
    "not json": b"{oops", "binary": b"\xff\xfe\x00\x01", "empty": b"", "a list": b"[1, 2]",
    "wrong schema": json.dumps({"schema": "torchlab.native-run/9"}).encode(),
    "another lab's name": json.dumps(pid_file("module-9", None, None, None)).encode(),
    "a field missing": json.dumps({k: v for k, v in pid_file("module-0", None, None, None).items() if k != "log"}).encode(),
    "an unknown field": json.dumps({**pid_file("module-0", None, None, None), "kill": "-9"}).encode(),
    "port 70000": json.dumps({**pid_file("module-0", None, None, None), "port": 70000}).encode(),
}


@pytest.mark.parametrize("damage", list(DAMAGED))
def test_a_damaged_pid_file_is_said_set_aside_and_never_fatal(tmp_path: Path, damage: str) -> None:
    torchlab = Torchlab(tmp_path, extra_env=NO_ENGINE)
    path = plant(torchlab.data_dir, "module-0", DAMAGED[damage])
    done = torchlab.run("status", "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["labs"] == [], done.stderr
    [warning] = done.stderr.strip().splitlines()
    assert warning.startswith(f"torchlab: warning: pid file {path} is damaged (") and "set aside as" in warning
    assert Path(f"{path}.corrupt").read_bytes() == DAMAGED[damage] and not path.exists()
    for args in (("status",), ("down", "--all"), ("down", "module-0"), ("logs", "module-0")):
        again = torchlab.run(*args)
        assert "Traceback" not in again.stderr and "warning" not in again.stderr, again.stderr
        assert again.returncode == (2 if args[0] == "logs" else 0), again.stderr


def test_a_pid_file_that_is_a_folder_is_set_aside_too(tmp_path: Path) -> None:
    torchlab = Torchlab(tmp_path, extra_env=NO_ENGINE)
    folder = torchlab.data_dir / "run" / "module-0.json"
    (folder / "inside").mkdir(parents=True)
    done = torchlab.run("down", "--all")
    assert done.returncode == 0 and "a folder, not a regular file" in done.stderr, done.stderr
    assert (folder.parent / "module-0.json.corrupt" / "inside").is_dir()
    assert torchlab.run("status").stderr.strip() == "no lab is running (start one with `torchlab up LAB`)"


def test_the_planted_files_prove_the_check_itself(tmp_path: Path) -> None:
    """The same pid file with the true start time and command line does prove the process ours:
    the check above refused the others for their fields, not for some other reason."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
    try:
        process = psutil.Process(child.pid)
        deadline = time.monotonic() + 10
        while "time.sleep(300)" not in " ".join(process.cmdline()) and time.monotonic() < deadline:
            time.sleep(0.05)  # until the new program's command line shows
        torchlab = Torchlab(tmp_path, extra_env=NO_ENGINE)
        plant(torchlab.data_dir, "module-0", pid_file("module-0", child.pid, process.create_time(), process.cmdline()))
        _, status = torchlab.json("status")
        assert [(lab["lab"], lab["state"]) for lab in status["labs"]] == [("module-0", "running")]
        assert torchlab.run("down", "module-0", timeout=60).returncode == 0
        assert child.wait(timeout=20) is not None
    finally:
        child.kill()
