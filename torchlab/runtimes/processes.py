"""The processes torchlab starts for native labs: is it still the very one we started, stopping it
with its whole group (JupyterLab and its kernels), and reaping it so that no zombie lingers.

torchlab never signals a process it cannot prove it started: its pid, its start time and its
command line must all match what the pid file recorded, and a field missing there means "not ours".
"""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Sequence

import psutil

START_TIME_SLACK_S = 1.0  # psutil's create_time is rounded to the clock tick


def is_ours(pid: object, create_time: object, command: object) -> bool:
    """The process pid is alive (not a zombie) and is the one we started: same start time, same
    command line. Anything missing or malformed is not proof, so it is not ours."""
    if not (isinstance(pid, int) and not isinstance(pid, bool) and pid > 0):
        return False
    if not (isinstance(create_time, (int, float)) and not isinstance(create_time, bool)
            and math.isfinite(create_time) and create_time > 0):
        return False
    if not (isinstance(command, (list, tuple)) and command and all(isinstance(part, str) for part in command)):
        return False
    try:
        process = psutil.Process(pid)
        with process.oneshot():
            same_start = abs(process.create_time() - create_time) < START_TIME_SLACK_S
            alive = process.status() != psutil.STATUS_ZOMBIE
        # Asked only when the start time matches; a process just started may show no command line
        # for a moment (it is then ours or nobody's), so give it that moment.
        same_command = same_start and command_line(pid, showing=command[0], wait_s=0.25) == list(command)
    except psutil.Error:
        return False
    return same_start and same_command and alive


def still_running(pid: int) -> bool:
    """The process with this pid (one we proved ours just before) has not ended."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def start_time(pid: int) -> float:
    """When the process started (epoch seconds), as the OS says; now when it will not say."""
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return time.time()


def command_line(pid: int, showing: str = "", wait_s: float = 5.0) -> list[str]:
    """The process's command line as the OS shows it (what is_ours compares), once it shows
    `showing` (a program just started may not show its own for a moment); [] when hidden."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            found = psutil.Process(pid).cmdline()
        except psutil.Error:
            return []
        if (found and showing in found) or not showing or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def stop_process(pid: int, create_time: float | None, command: Sequence[str] | None, grace_s: float = 5.0) -> bool:
    """SIGTERM to the lab's process group (JupyterLab and its kernels), SIGKILL after grace_s; only
    when the process is proven ours (is_ours), else nothing is sent and False is returned."""
    if not is_ours(pid, create_time, list(command) if command else None):
        return False
    group = own_group(pid)
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 2.0)):
        if not send(pid, group, sig):
            break
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and still_running(pid):
            reap(pid)
            time.sleep(0.05)
        if not still_running(pid):
            break
    reap(pid)
    return True


def own_group(pid: int) -> bool:
    """The process leads its own group (we start labs in a session of their own): the group is then
    the lab's alone, JupyterLab and its kernels."""
    try:
        return os.getpgid(pid) == pid
    except (ProcessLookupError, PermissionError, AttributeError):
        return False


def send(pid: int, group: bool, sig: int) -> bool:
    try:
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def reap(pid: int) -> None:
    """Collect our own child's exit status, so that it does not linger as a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except (ChildProcessError, OSError):
        pass
