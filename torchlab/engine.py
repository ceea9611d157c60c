"""The one module that imports docker: connect to the engine and read what it says of itself.

Images (build, pull, push) and containers are added here as they come; everything else
talks to the engine through these functions and gets plain data back.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from typing import Any

import docker
import docker.errors

from torchlab.facts import DockerFacts

DEFAULT_SOCKET = "/var/run/docker.sock"


def socket_path(env: Mapping[str, str]) -> str | None:
    """The unix socket the client will use, or None for a tcp/npipe DOCKER_HOST."""
    host = env.get("DOCKER_HOST", "")
    if host.startswith("unix://"):
        return host[len("unix://") :]
    return None if host else DEFAULT_SOCKET


def connect(env: Mapping[str, str] | None = None, timeout: float = 10) -> docker.DockerClient:
    """A client for the engine DOCKER_HOST names (or the default socket). Raises DockerException."""
    env = os.environ if env is None else env
    return docker.from_env(environment=dict(env), timeout=timeout)


def probe_docker(env: Mapping[str, str] | None = None) -> DockerFacts:
    """How the engine stands: reachable, or why not (missing, daemon down, permission denied)."""
    env = os.environ if env is None else env
    sock = socket_path(env)
    try:
        client = connect(env, timeout=5)
        try:
            info, version = client.info(), client.version()
        finally:
            client.close()
    except docker.errors.DockerException as exc:
        return unreachable_facts(str(exc), sock, cli_installed=shutil.which("docker", path=env.get("PATH")) is not None)
    return docker_facts_from_api(info, version, sock)


def unreachable_facts(message: str, sock: str | None, cli_installed: bool) -> DockerFacts:
    """Tell apart: nothing installed, daemon not running, socket not ours to use."""
    lowered = message.lower()
    if "permission denied" in lowered or "permissionerror" in lowered:
        state = "permission-denied"
    elif not cli_installed and (sock is None or not os.path.exists(sock)):
        state = "missing"
    elif (
        "no such file" in lowered
        or "filenotfounderror" in lowered
        or "connection refused" in lowered
        or "connectionrefused" in lowered
    ):
        state = "daemon-down"
    else:
        state = "error"
    return DockerFacts(state=state, detail=_one_line(message), socket=sock)


def docker_facts_from_api(
    info: Mapping[str, Any], version: Mapping[str, Any], sock: str | None = None
) -> DockerFacts:
    """DockerFacts from the engine's /info and /version answers (plain dicts)."""
    security = " ".join(info.get("SecurityOptions") or [])
    operating_system = info.get("OperatingSystem")
    return DockerFacts(
        state="ok",
        socket=sock,
        server_version=info.get("ServerVersion") or version.get("Version"),
        api_version=version.get("ApiVersion"),
        os_type=info.get("OSType"),
        operating_system=operating_system,
        rootless="name=rootless" in security,
        desktop=bool(operating_system and "Docker Desktop" in operating_system),
        runtimes=tuple(sorted((info.get("Runtimes") or {}).keys())),
        default_runtime=info.get("DefaultRuntime"),
        cdi_spec_dirs=tuple(info.get("CDISpecDirs") or ()),
        storage_driver=info.get("Driver"),
        storage_root=info.get("DockerRootDir"),
        cgroup_version=info.get("CgroupVersion"),
    )


def _one_line(message: str) -> str:
    return " ".join(message.split())
