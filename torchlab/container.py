"""The docker runtime of `up`: the lab's image, its container made from a RunSpec, and its removal.

Errors the engine gives are said in the user's words: a GPU request it cannot serve (no NVIDIA
Container Toolkit) is explained with its fix and the CPU alternative, never retried silently.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from collections.abc import Callable

from torchlab import engine
from torchlab.choice import Choice
from torchlab.config import Config
from torchlab.errors import HOST_UNFIT, USAGE, UserError
from torchlab.labs import Lab
from torchlab.ports import port_is_free, who_listens
from torchlab.running import RunningLab, engine_trouble, from_container
from torchlab.running import connect as running_connect
from torchlab.runspec import GpuGroups, LabTarget, RunSpec, build_runspec, container_name, lab_user

if TYPE_CHECKING:  # pragma: no cover - launch imports this module
    from torchlab.launch import UpRequest

GPU_FIX = (
    "install the NVIDIA Container Toolkit, then `sudo nvidia-ctk runtime configure --runtime=docker "
    "&& sudo systemctl restart docker` (`torchlab doctor --gpu-probe` checks it)"
)


def connect(env: Mapping[str, str]):
    """A client that answers, or a UserError with the doctor's words for why there is none."""
    from torchlab.choice import docker_unusable  # noqa: PLC0415
    from torchlab.facts import HostFacts, OSFacts  # noqa: PLC0415

    facts = engine.probe_docker(env)
    if facts.state != "ok":
        host = HostFacts(os=OSFacts("Linux", ""), docker=facts)
        raise UserError(docker_unusable(host) + "; or run the lab without Docker: --runtime native", HOST_UNFIT)
    return running_connect(env)


def host_gpu_groups() -> GpuGroups:
    """The host's video and render group ids (they own /dev/dri and /dev/kfd)."""
    import grp  # noqa: PLC0415 - POSIX only

    def gid(name: str) -> int | None:
        try:
            return grp.getgrnam(name).gr_gid
        except KeyError:
            return None

    return GpuGroups(video=gid("video"), render=gid("render"))


def the_lab_user(env: Mapping[str, str]) -> tuple[int, int]:
    return lab_user(os.geteuid(), os.getegid(), env)


def give_to_lab_user(root: Path, env: Mapping[str, str]) -> None:
    """torchlab ran as root: the workspace belongs to the (non-root) user the lab runs as."""
    uid, gid = the_lab_user(env)
    for folder, dirs, files in os.walk(root):
        for name in (folder, *(os.path.join(folder, entry) for entry in dirs + files)):
            if os.lstat(name).st_uid == 0:
                os.lchown(name, uid, gid)


def checked_port(port: int | None, client) -> int | None:
    """The asked-for port when it is free; None lets the engine pick a free one."""
    if port is None or port_is_free(port):
        return port
    holder = engine.container_publishing(client, port) or who_listens(port)
    held = f" by {holder}" if holder else ""
    raise UserError(f"--port {port}: 127.0.0.1:{port} is in use{held}; choose another port, or leave --port out", USAGE)


def start(request: UpRequest, choice: Choice, lab: Lab, workspace: Path, token: str, config: Config,
          env: Mapping[str, str], say: Callable[[str], None]) -> RunningLab:
    """Image, then the container; returns the started lab (JupyterLab may still be starting)."""
    client = connect(env)
    try:
        with engine_trouble(f"starting {lab.id}"):
            port = checked_port(request.port, client)  # before a build that may take minutes
            image = lab_image(config, choice, lab, env, say)
            target = LabTarget(lab.id, lab.version, choice.variant, choice.device, workspace, config.data_dir)
            spec = build_runspec(target, image, the_lab_user(env), token, port, request.jupyter, host_gpu_groups())
            engine.remove_container(client, spec.name)  # a stopped leftover of an earlier run
            say(f"starting {lab.id} in container {spec.name} as user {spec.user}")
            state = start_spec(client, spec, lab.id, request.port)
    finally:
        client.close()
    return from_container(state)


def start_spec(client, spec: RunSpec, lab: str, port: int | None) -> engine.ContainerState:
    try:
        return engine.start_container(client, spec.docker_kwargs())
    except engine.docker.errors.ImageNotFound:
        raise UserError(f"image {spec.image}: not found by the engine; `torchlab images build` makes it", HOST_UNFIT) from None
    except engine.docker.errors.APIError as exc:
        raise start_error(exc, lab, port) from None


def start_error(exc: Exception, lab: str, port: int | None) -> UserError:
    message = engine.api_error_text(exc)
    if engine.gpu_refused(exc):
        return UserError(
            f"Docker cannot give {lab} the GPU: {message}. Fix: {GPU_FIX}; "
            f"or run the lab on the CPU: `torchlab up {lab} --variant cpu`", HOST_UNFIT)
    if "port is already allocated" in message or "address already in use" in message:
        return UserError(f"--port {port}: 127.0.0.1:{port} is in use ({message}); choose another port", USAGE)
    return UserError(f"Docker could not start {lab}: {message}", HOST_UNFIT)


def remove(lab: str, data_dir: Path, env: Mapping[str, str]) -> bool:
    name = container_name(lab, data_dir)
    with engine_trouble(f"stopping {name}"):
        client = running_connect(env)
        try:
            return engine.remove_container(client, name)
        finally:
            client.close()


def why_stopped(running: RunningLab, env: Mapping[str, str]) -> str | None:
    """None while the container runs; else its state and last log lines."""
    with engine_trouble(f"watching {running.container}"):
        client = running_connect(env)
        try:
            state = engine.get_container(client, running.container or "")
            if state is not None and state.status == "running":
                return None
            logs = b"".join(engine.container_logs(client, running.container or "", tail=5)) if state else b""
        finally:
            client.close()
    what = f"the container exited ({state.exit_code})" if state else "the container is gone"
    tail = " | ".join(logs.decode(errors="replace").strip().splitlines()[-3:])
    return f"{what}: {tail}" if tail else what


def lab_image(config: Config, choice: Choice, lab: Lab, env: Mapping[str, str], say: Callable[[str], None]) -> str:
    """The image for this variant: reused when there, else pulled from the registry, else built."""
    from torchlab.image_store import ensure_for_lab  # noqa: PLC0415 - the images part of torchlab

    return ensure_for_lab(config, choice, lab, env, say)
