"""The labs that run now, in either runtime, known from Docker's labels and the native pid files;
and what can be done in one: run its smoke checks, open a shell, read its logs."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torchlab import engine, jupyter, native
from torchlab.errors import HOST_UNFIT, UserError
from torchlab.run import CommandResult, run_command
from torchlab.runspec import CONTAINER_WORKSPACE, LABEL_PREFIX, lab_url, token_from_command

ENGINE_TIMEOUT_S = 120  # a busy engine (a build running) can take a while to stop a container
IMAGE_PYTHON = "/opt/torchlab/venv/bin/python"
IMAGE_RUNNER = "/opt/torchlab/smoke/runner.py"
IMAGE_LABS = "/opt/torchlab/labs"
SMOKE_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class RunningLab:
    lab: str
    version: str
    runtime: str  # "docker" | "native"
    variant: str
    device: str
    workspace: str
    state: str  # "running" | "exited (137)" | "gone"
    started_at: float | None  # epoch seconds
    port: int | None = None
    token: str | None = None
    container: str | None = None  # docker: the container's name
    user: str | None = None  # docker: "uid:gid"
    pid: int | None = None  # native: JupyterLab's pid
    env: str | None = None  # native: the environment's folder
    log: str | None = None  # native: JupyterLab's log file

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def url(self) -> str | None:
        return lab_url(self.port, self.token) if self.port else None

    def health(self) -> str:
        """ok: JupyterLab answers with the token; else what is wrong."""
        if not self.running:
            return "stopped"
        if self.port is None:
            return "no jupyter"
        return "ok" if jupyter.answers(self.port, self.token) else "not answering"

    def to_json(self, now: float | None = None) -> dict[str, Any]:
        now = time.time() if now is None else now
        uptime = round(now - self.started_at) if self.started_at and self.running else None
        place = {"container": self.container} if self.runtime == "docker" else {"pid": self.pid}
        return {"lab": self.lab, "version": self.version, "runtime": self.runtime, "variant": self.variant,
                "device": self.device, "url": self.url, **place, "workspace": self.workspace,
                "state": self.state, "uptime_s": uptime, "health": self.health()}


@contextlib.contextmanager
def engine_trouble(what: str) -> Iterator[None]:
    """The engine failing mid-way (gone, timed out) is said in one line, exit 3: no traceback."""
    try:
        yield
    except engine.ENGINE_ERRORS as exc:
        raise UserError(f"{what}: the Docker engine failed: {engine.api_error_text(exc)}", HOST_UNFIT) from None


def connect(env: Mapping[str, str], timeout: float | None = ENGINE_TIMEOUT_S):
    return engine.connect(env, timeout=timeout)


# --- reading them (pure where it can be) ---------------------------------------------------------


def parse_engine_time(text: str) -> float | None:
    """'2024-11-27T09:08:01.123456789Z' -> epoch seconds (the engine gives nanoseconds)."""
    if not text or text.startswith("0001-"):
        return None
    head, _, rest = text.rstrip("Z").partition(".")
    fraction = "".join(ch for ch in rest if ch.isdigit())[:6]
    stamp = dt.datetime.fromisoformat(head).replace(tzinfo=dt.timezone.utc)
    return stamp.timestamp() + (int(fraction) / 10 ** len(fraction) if fraction else 0.0)


def from_container(state: engine.ContainerState) -> RunningLab:
    labels = {key[len(LABEL_PREFIX):]: value for key, value in state.labels.items() if key.startswith(LABEL_PREFIX)}
    shown = "running" if state.status == "running" else f"{state.status} ({state.exit_code})"
    return RunningLab(
        lab=labels.get("lab", "?"), version=labels.get("version", "?"), runtime="docker",
        variant=labels.get("variant", "?"), device=labels.get("device", "?"),
        workspace=labels.get("workspace", ""), state=shown, started_at=parse_engine_time(state.started_at),
        port=state.host_port, token=token_from_command(state.command), container=state.name, user=state.user,
    )


def from_native(run: native.NativeRun, alive: bool) -> RunningLab:
    return RunningLab(
        lab=run.lab, version=run.version, runtime="native", variant=run.variant, device=run.device,
        workspace=run.workspace, state="running" if alive else "gone", started_at=run.started_at,
        port=run.port, token=run.token, pid=run.pid, env=run.env, log=run.log,
    )


def docker_labs(data_dir: Path, env: Mapping[str, str], lab: str | None = None) -> list[RunningLab]:
    """This data folder's lab containers; none when no engine answers."""
    wanted = {f"{LABEL_PREFIX}data_dir": str(data_dir), **({f"{LABEL_PREFIX}lab": lab} if lab else {})}
    try:
        client = connect(env, timeout=30)
        try:
            return [from_container(state) for state in engine.find_containers(client, wanted)]
        finally:
            client.close()
    except engine.ENGINE_ERRORS:
        return []


def native_labs(data_dir: Path, lab: str | None = None) -> list[RunningLab]:
    runs = native.all_runs(data_dir) if lab is None else [r for r in [native.read_run(data_dir, lab)] if r]
    return [from_native(run, native.process_alive(run.pid, run.create_time)) for run in runs]


def all_labs(data_dir: Path, env: Mapping[str, str], lab: str | None = None) -> list[RunningLab]:
    found = docker_labs(data_dir, env, lab) + native_labs(data_dir, lab)
    return sorted(found, key=lambda item: (item.lab, item.runtime))


def find_running(data_dir: Path, lab: str, env: Mapping[str, str]) -> RunningLab | None:
    return next((item for item in all_labs(data_dir, env, lab) if item.running), None)


# --- acting in one ----------------------------------------------------------------------------------


def smoke_argv(running: RunningLab, lab_path: Path, runner: Path, device: str) -> list[str]:
    if running.runtime == "docker":
        return [IMAGE_PYTHON, IMAGE_RUNNER, f"{IMAGE_LABS}/{running.lab}", "--device", device, "--json"]
    return [str(native.venv_python(Path(running.env or ""))), str(runner), str(lab_path), "--device", device, "--json"]


def run_smoke(running: RunningLab, lab_path: Path, runner: Path, device: str,
              env: Mapping[str, str]) -> CommandResult | None:
    """The lab's smoke checks where it runs: in its container, or by its environment's Python."""
    argv = smoke_argv(running, lab_path, runner, device)
    if running.runtime == "native":
        return run_command(argv, timeout=SMOKE_TIMEOUT_S, cwd=str(lab_path))
    with engine_trouble(f"smoke checks in {running.container}"):
        client = connect(env, timeout=SMOKE_TIMEOUT_S)
        try:
            code, out, err = engine.exec_in_container(client, running.container or "", argv, running.user or "", "/tmp")
        finally:
            client.close()
    return CommandResult(tuple(argv), code, out, err)


def shell_command(running: RunningLab, env: Mapping[str, str], tty: bool) -> tuple[list[str], dict[str, str], str | None]:
    """(argv, environment, working folder) of an interactive shell in the lab, as the lab's user."""
    if running.runtime == "docker":
        argv = ["docker", "exec", "-it" if tty else "-i", "-u", running.user or "", "-w", CONTAINER_WORKSPACE,
                running.container or "", "bash"]
        return argv, dict(env), None
    env_dir = Path(running.env or "")
    bin_dir = native.venv_python(env_dir).parent
    shell = env.get("SHELL") or ("cmd.exe" if os.name == "nt" else "/bin/bash")
    child = {**env, "VIRTUAL_ENV": str(env_dir), "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
             "TORCHLAB_LAB": running.lab, "TORCHLAB_DEVICE": running.device}
    return [shell], child, running.workspace


def follow_file(path: Path, follow: bool, still_running) -> Iterator[bytes]:
    """A log file's bytes; with follow, the new ones too until the lab stops."""
    with open(path, "rb") as handle:
        yield handle.read()
        while follow:
            chunk = handle.read()
            if chunk:
                yield chunk
            elif not still_running():
                return
            else:
                time.sleep(0.2)


def log_stream(running: RunningLab, env: Mapping[str, str], follow: bool) -> Iterator[bytes]:
    if running.runtime == "native":
        alive = lambda: native.process_alive(running.pid, None)  # noqa: E731
        yield from follow_file(Path(running.log or ""), follow, alive)
        return
    with engine_trouble(f"logs of {running.container}"):
        client = connect(env, timeout=None if follow else ENGINE_TIMEOUT_S)
        try:
            yield from engine.container_logs(client, running.container or "", follow=follow)
        finally:
            client.close()


def smoke_summary(result: CommandResult | None, lab) -> dict[str, Any]:
    """The runner's torchlab.smoke/1 document, or an error with its one-line reason."""
    from torchlab.cli.smoke import interpret  # noqa: PLC0415 - the smoke command's own reading of it

    outcome = interpret(result, lab)
    if outcome.document is not None:
        return dict(outcome.document)
    return {"status": "error", "checks": [], "detail": outcome.message}


def smoke_in_running_lab(lab, runner: Path, device: str) -> CommandResult | None:
    """`torchlab smoke LAB` while LAB is up: the checks run in the lab; None when it is not up."""
    from torchlab.config import load_config  # noqa: PLC0415

    running = find_running(load_config().data_dir, lab.id, os.environ)
    if running is None:
        return None
    return run_smoke(running, lab.path, runner, device, os.environ)
