"""The docker runtime: the lab's image (torchlab.images.store), its container made from a RunSpec,
found again by its labels, and commands, logs and shells in it. The engine is reached only
through torchlab.engine.

Errors the engine gives are said in the user's words: a GPU request it cannot serve (no NVIDIA
Container Toolkit) is explained with its fix and the CPU alternative, never retried silently.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from torchlab import engine
from torchlab.config import Config
from torchlab.decide.runspec import (
    CONTAINER_WORKSPACE,
    IMAGE_LABS,
    IMAGE_PYTHON,
    IMAGE_RUNNER,
    LABEL_PREFIX,
    SCRATCH,
    GpuGroups,
    LabTarget,
    RunSpec,
    build_runspec,
    container_name,
    lab_user,
    token_from_command,
)
from torchlab.errors import HOST_UNFIT, USAGE, UserError
from torchlab.images.store import connect_engine, ensure_for_lab
from torchlab.run import CommandResult
from torchlab.runtimes.ports import check_free, who_listens
from torchlab.runtimes.protocol import LabStart, RunningLab, Say, ShellCommand

try:
    import grp
except ImportError:  # pragma: no cover - Windows: no groups own /dev/dri there
    grp = None  # type: ignore[assignment]

ENGINE_TIMEOUT_S = 120  # a busy engine (a build running) can take a while to stop a container
GPU_FIX = (
    "install the NVIDIA Container Toolkit, then `sudo nvidia-ctk runtime configure --runtime=docker "
    "&& sudo systemctl restart docker` (`torchlab doctor --gpu-probe` checks it)"
)
NO_DOCKER = "; or run the lab without Docker: --runtime native"


@contextlib.contextmanager
def engine_trouble(what: str) -> Iterator[None]:
    """The engine failing mid-way (gone, timed out) is said in one line, exit 3: no traceback."""
    try:
        yield
    except engine.ENGINE_ERRORS as exc:
        raise UserError(f"{what}: the Docker engine failed: {engine.api_error_text(exc)}", HOST_UNFIT) from None


@contextlib.contextmanager
def client_of(env: Mapping[str, str], timeout: float | None = ENGINE_TIMEOUT_S) -> Iterator[Any]:
    client = engine.connect(env, timeout=timeout)
    try:
        yield client
    finally:
        client.close()


def host_gpu_groups() -> GpuGroups:
    """The host's video and render group ids (they own /dev/dri and /dev/kfd)."""

    def gid(name: str) -> int | None:
        try:
            return grp.getgrnam(name).gr_gid if grp is not None else None
        except KeyError:
            return None

    return GpuGroups(video=gid("video"), render=gid("render"))


def the_lab_user(env: Mapping[str, str]) -> tuple[int, int]:
    return lab_user(os.geteuid(), os.getegid(), env)


def give_to_lab_user(root: Path, env: Mapping[str, str]) -> None:
    """torchlab runs as root: the workspace belongs to the (non-root) user the lab runs as."""
    if getattr(os, "geteuid", lambda: -1)() != 0:
        return
    uid, gid = the_lab_user(env)
    for folder, dirs, files in os.walk(root):
        for name in (folder, *(os.path.join(folder, entry) for entry in dirs + files)):
            if os.lstat(name).st_uid == 0:
                os.lchown(name, uid, gid)


def checked_port(port: int | None, client: Any) -> int | None:
    """The asked-for port when it is free; None lets the engine pick a free one."""
    if port is not None:
        check_free(port, lambda taken: engine.container_publishing(client, taken) or who_listens(taken))
    return port


def start_spec(client: Any, spec: RunSpec, lab: str, port: int | None) -> engine.ContainerState:
    try:
        return engine.start_container(client, spec.docker_kwargs())
    except engine.ImageMissing:
        raise UserError(f"image {spec.image}: not found by the engine; `torchlab images build` makes it", HOST_UNFIT) from None
    except engine.EngineError as exc:
        raise start_error(exc, lab, port) from None


def start_error(exc: engine.EngineError, lab: str, port: int | None) -> UserError:
    message = engine.api_error_text(exc)
    if engine.gpu_refused(exc):
        return UserError(
            f"Docker cannot give {lab} the GPU: {message}. Fix: {GPU_FIX}; "
            f"or run the lab on the CPU: `torchlab up {lab} --variant cpu`", HOST_UNFIT)
    if "port is already allocated" in message or "address already in use" in message:
        return UserError(f"--port {port}: 127.0.0.1:{port} is in use ({message}); choose another port", USAGE)
    return UserError(f"Docker could not start {lab}: {message}", HOST_UNFIT)


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


def engine_expected(env: Mapping[str, str]) -> bool:
    """Docker is installed here (its command, its socket, a tcp DOCKER_HOST): an engine that does not
    answer is then worth a word, since labs may run in it."""
    socket = engine.socket_path(env)
    return socket is None or os.path.exists(socket) or shutil.which("docker", path=env.get("PATH")) is not None


class DockerRuntime:
    """Labs in containers of the lab image, as the user (never root), JupyterLab on 127.0.0.1."""

    name = "docker"

    def __init__(self, config: Config, env: Mapping[str, str]) -> None:
        self.config = config
        self.env = env
        self.data_dir = config.data_dir

    def start(self, start: LabStart, say: Say) -> RunningLab:
        """Image, then the container; returns the started lab (JupyterLab may still be starting)."""
        lab, choice = start.lab, start.choice
        give_to_lab_user(start.workspace, self.env)
        client = connect_engine(self.env, ENGINE_TIMEOUT_S, NO_DOCKER)
        try:
            with engine_trouble(f"starting {lab.id}"):
                port = checked_port(start.port, client)  # before a build that may take minutes
                image = ensure_for_lab(self.config, choice, lab, self.env, say)
                target = LabTarget(lab.id, lab.version, choice.variant, choice.device, start.workspace, self.data_dir)
                spec = build_runspec(target, image, the_lab_user(self.env), start.token, port, start.jupyter,
                                     host_gpu_groups())
                engine.remove_container(client, spec.name)  # a stopped leftover of an earlier run
                say(f"starting {lab.id} in container {spec.name} as user {spec.user}")
                state = start_spec(client, spec, lab.id, start.port)
        finally:
            client.close()
        return from_container(state)

    def stop(self, lab: str) -> bool:
        name = container_name(lab, self.data_dir)
        with engine_trouble(f"stopping {name}"), client_of(self.env) as client:
            return engine.remove_container(client, name)

    def find(self, lab: str | None = None) -> list[RunningLab]:
        """This data folder's lab containers; none when no engine answers."""
        wanted = {f"{LABEL_PREFIX}data_dir": str(self.data_dir), **({f"{LABEL_PREFIX}lab": lab} if lab else {})}
        try:
            with client_of(self.env, timeout=30) as client:
                return [from_container(state) for state in engine.find_containers(client, wanted)]
        except engine.ENGINE_ERRORS as exc:
            if engine_expected(self.env):
                print(f"torchlab: warning: the Docker engine does not answer ({engine.api_error_text(exc)[:200]}); "
                      "labs in containers cannot be seen until it runs again", file=sys.stderr)
            return []

    def why_stopped(self, running: RunningLab) -> str | None:
        """None while the container runs; else its state and last log lines."""
        name = running.container or ""
        with engine_trouble(f"watching {running.container}"), client_of(self.env) as client:
            state = engine.get_container(client, name)
            if state is not None and state.status == "running":
                return None
            logs = b"".join(engine.container_logs(client, name, tail=5)) if state else b""
        what = f"the container exited ({state.exit_code})" if state else "the container is gone"
        tail = " | ".join(logs.decode(errors="replace").strip().splitlines()[-3:])
        return f"{what}: {tail}" if tail else what

    def python(self, running: RunningLab) -> str:
        return IMAGE_PYTHON

    def smoke_files(self, running: RunningLab, runner: Path, lab_dir: Path) -> tuple[str, str]:
        return IMAGE_RUNNER, f"{IMAGE_LABS}/{lab_dir.name}"  # the image holds its own copies

    def copy_in(self, running: RunningLab, file: Path, what: str) -> str:
        with engine_trouble(f"{what} in {running.container}"), client_of(self.env) as client:
            engine.put_file(client, running.container or "", SCRATCH, file.name, file.read_bytes())
        return f"{SCRATCH}/{file.name}"

    def run_in(self, running: RunningLab, argv: list[str], timeout: float, what: str) -> CommandResult:
        with engine_trouble(f"{what} in {running.container}"), client_of(self.env, timeout) as client:
            code, out, err = engine.exec_in_container(client, running.container or "", argv, running.user or "", SCRATCH)
        return CommandResult(tuple(argv), code, out, err)

    def logs(self, running: RunningLab, follow: bool) -> Iterator[bytes]:
        with engine_trouble(f"logs of {running.container}"):
            with client_of(self.env, None if follow else ENGINE_TIMEOUT_S) as client:
                yield from engine.container_logs(client, running.container or "", follow=follow)

    def shell(self, running: RunningLab, tty: bool) -> ShellCommand:
        argv = engine.exec_argv(running.container or "", running.user or "", CONTAINER_WORKSPACE, ["bash"], tty)
        return ShellCommand(argv, dict(self.env), None)
