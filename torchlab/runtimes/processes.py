"""The processes torchlab starts for native labs: is it still the very one we started, stopping it
with its whole group (JupyterLab and its kernels), and reaping it so that no zombie lingers."""

from __future__ import annotations

import os
import signal
import time

import psutil


def process_alive(pid: int | None, create_time: float | None) -> bool:
    """The very process we started is still there (not a zombie, not a later one with its pid)."""
    if pid is None:
        return True
    try:
        process = psutil.Process(pid)
        same = create_time is None or abs(process.create_time() - create_time) < 1.0
        return same and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def start_time(pid: int) -> float:
    """When the process started (epoch seconds), as the OS says; now when it will not say."""
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return time.time()


def stop_process(pid: int, grace_s: float = 5.0) -> None:
    """SIGTERM to the lab's process group (JupyterLab and its kernels), SIGKILL after grace_s."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 2.0)):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            break
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and process_alive(pid, None):
            reap(pid)
            time.sleep(0.05)
        if not process_alive(pid, None):
            break
    reap(pid)


def reap(pid: int) -> None:
    """Collect our own child's exit status, so that it does not linger as a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
