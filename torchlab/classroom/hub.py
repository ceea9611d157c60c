"""The JupyterHub process: started in a session of its own (it starts the proxy and the idle
culler as its children), found again by its pid file checked against the process, stopped with
its process group. Its seats are not its children: they are containers, and outlive it."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import psutil

from torchlab.classroom.hubapi import hub_answers
from torchlab.classroom.state import ClassPaths, HubRecord, read_hub_record, write_hub_record
from torchlab.errors import HOST_UNFIT, UserError
from torchlab.run import start_background
from torchlab.runtimes.processes import is_ours, start_time, stop_process

PROXY = "configurable-http-proxy"
PROXY_FIX = "install it with `npm install -g configurable-http-proxy` (Node.js 18 or newer)"
HUB_FIX = "install the classroom's Python packages: pip install 'torchlab[classroom]'"
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY",
              "PYTHONPATH", "VIRTUAL_ENV", "SSL_CERT_FILE")
START_TIMEOUT_S = 120.0


def proxy_command(env: Mapping[str, str]) -> tuple[str, ...]:
    """The proxy JupyterHub starts (configurable-http-proxy, from npm); a UserError when missing."""
    found = shutil.which(PROXY, path=env.get("PATH"))
    if found is None:
        raise UserError(f"{PROXY} is not installed (JupyterHub's proxy): {PROXY_FIX}", HOST_UNFIT)
    return (found,)


def check_hub_installed() -> None:
    for module in ("jupyterhub", "dockerspawner", "jupyterhub_idle_culler"):
        if importlib.util.find_spec(module) is None:
            raise UserError(f"{module} is not installed in this Python ({sys.executable}): {HUB_FIX}", HOST_UNFIT)


def hub_env(env: Mapping[str, str]) -> dict[str, str]:
    return {name: env[name] for name in PASSED_ENV if env.get(name)}


def hub_argv(paths: ClassPaths) -> list[str]:
    return [sys.executable, "-m", "jupyterhub", "-f", str(paths.config)]


def start_hub(paths: ClassPaths, env: Mapping[str, str], hub_url: str, api_url: str) -> HubRecord:
    """Start JupyterHub on the configuration file; its pid file says it is ours."""
    argv = hub_argv(paths)
    os.close(os.open(paths.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    try:
        pid = start_background(argv, str(paths.log), env=hub_env(env), cwd=str(paths.hub_dir))
    except OSError as exc:
        raise UserError(f"JupyterHub could not be started: {exc}", HOST_UNFIT) from None
    record = HubRecord(pid, start_time(pid), argv, time.time(), hub_url, api_url)
    write_hub_record(paths, record)
    return record


def running_hub(paths: ClassPaths) -> HubRecord | None:
    """The hub of this data folder when its process is still the one torchlab started."""
    record = read_hub_record(paths)
    if record is None or not is_ours(record.pid, record.create_time, record.argv):
        return None
    return record


def log_tail(paths: ClassPaths, lines: int = 6) -> str:
    try:
        text = paths.log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def wait_until_up(paths: ClassPaths, record: HubRecord, timeout_s: float = START_TIMEOUT_S,
                  answers: Callable[[str], bool] = hub_answers) -> None:
    """Until the hub's API answers; a UserError with the log's last lines when it exits or times out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if answers(record.api_url):
            return
        if not alive(record):
            raise UserError(f"JupyterHub exited while starting: {log_tail(paths)} (log: {paths.log})", HOST_UNFIT)
        time.sleep(0.25)
    raise UserError(f"JupyterHub did not answer within {timeout_s:g} s: {log_tail(paths)} (log: {paths.log})", HOST_UNFIT)


def alive(record: HubRecord) -> bool:
    """The hub torchlab just started has not exited. (Its command line is not compared: for a
    moment after exec an unprivileged user can read it as empty.)"""
    try:
        process = psutil.Process(record.pid)
        return abs(process.create_time() - record.create_time) < 1.0 and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def stop_hub(record: HubRecord) -> None:
    """SIGTERM to the hub's group (the hub, its proxy, its culler); SIGKILL after a grace period."""
    stop_process(record.pid, record.create_time, record.argv, grace_s=10.0)


def proxy_of(paths: ClassPaths) -> psutil.Process | None:
    """The class's proxy (JupyterHub starts it in a session of its own and notes its pid in
    proxy.pid; it outlives a hub killed outright); None when that pid is not a configurable-http-proxy."""
    try:
        process = psutil.Process(int(Path(paths.hub_files().proxy_pid).read_text(encoding="utf-8").strip()))
        return process if PROXY in " ".join(process.cmdline()) else None
    except (OSError, ValueError, psutil.Error):
        return None


def cullers_of(record: HubRecord) -> list[psutil.Process]:
    """The idle cullers that talk to this hub's API (a hub killed outright leaves its culler running)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if "jupyterhub_idle_culler" in (process.info.get("cmdline") or []) and \
                    process.environ().get("JUPYTERHUB_API_URL", "").startswith(record.api_url):
                found.append(process)
        except psutil.Error:
            continue
    return found


def stop_leftovers(paths: ClassPaths, record: HubRecord) -> int:
    """Stop what a killed hub left behind (its proxy holds the port the next hub needs); how many."""
    found = [*filter(None, [proxy_of(paths)]), *cullers_of(record)]
    for process in found:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    _, alive = psutil.wait_procs(found, timeout=5)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
    return len(found)
