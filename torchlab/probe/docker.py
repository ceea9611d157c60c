"""The Docker engine as doctor sees it: reachable and what it is, or why not (missing, daemon down,
permission denied), as DockerFacts.

An engine on a unix socket (the default, or DOCKER_HOST=unix://...) is asked over that socket with
the standard library's HTTP client: GET /version, then /info, on one connection. docker-py and
requests take 0.1-0.3 s to import, more than the rest of doctor; they are loaded only for an
engine elsewhere (DOCKER_HOST tcp:// or ssh://), through torchlab.engine.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
from collections.abc import Mapping
from typing import Any

from torchlab.facts import DockerFacts

DEFAULT_SOCKET = "/var/run/docker.sock"
TIMEOUT_S = 5.0
# The words docker-py puts before a failure to reach the engine (it asks /version first); doctor's
# findings and saved reports carry them, so both ways of asking say the same.
UNREACHABLE = "Error while fetching server API version"


class EngineAnswerError(Exception):
    """The engine answered with an HTTP error; the message is its status and reason."""


def socket_path(env: Mapping[str, str]) -> str | None:
    """The unix socket the engine listens on, or None for a tcp/ssh/npipe DOCKER_HOST."""
    host = env.get("DOCKER_HOST", "")
    if host.startswith("unix://"):
        return host[len("unix://") :]
    return None if host else DEFAULT_SOCKET


def probe_docker(env: Mapping[str, str] | None = None, timeout: float = TIMEOUT_S) -> DockerFacts:
    """How the engine stands: reachable (its versions, storage, runtimes), or why not."""
    env = os.environ if env is None else env
    sock = socket_path(env)
    if sock is None:
        return probe_with_docker_py(env, timeout)
    try:
        version, info = ask_socket(sock, ("/version", "/info"), timeout)
    except (OSError, http.client.HTTPException, EngineAnswerError, ValueError) as exc:
        return unreachable_facts(failure_message(exc, timeout), sock, docker_cli_on_path(env))
    return docker_facts_from_api(info, version, sock)


def probe_with_docker_py(env: Mapping[str, str], timeout: float = TIMEOUT_S) -> DockerFacts:
    """An engine that is not on a unix socket (tcp://, ssh://): docker-py knows those transports."""
    from torchlab import engine  # start-up: docker-py and requests (0.1-0.3 s), only for a tcp/ssh DOCKER_HOST

    try:
        info, version = engine.engine_answers(env, timeout)
    except engine.ENGINE_ERRORS as exc:  # a busy engine times out
        return unreachable_facts(str(exc), None, docker_cli_on_path(env))
    return docker_facts_from_api(info, version, None)


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP/1.1 over a unix socket (the engine's API)."""

    def __init__(self, path: str, timeout: float = TIMEOUT_S) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def ask_socket(path: str, urls: tuple[str, ...], timeout: float = TIMEOUT_S) -> list[Any]:
    """GET each URL of the engine's API on the socket, in order, on one connection; their JSON."""
    connection = UnixHTTPConnection(path, timeout)
    try:
        return [ask(connection, url) for url in urls]
    finally:
        connection.close()


def ask(connection: http.client.HTTPConnection, url: str) -> Any:
    """One GET; its JSON, or EngineAnswerError with the engine's own message."""
    connection.request("GET", url, headers={"Accept": "application/json"})
    response = connection.getresponse()
    body = response.read()
    if response.status >= 400:
        said = body.decode(errors="replace").strip()
        with_message = json.loads(said).get("message", said) if said.startswith("{") else said
        raise EngineAnswerError(f"{response.status} {response.reason} for {url}: {with_message}".rstrip(": "))
    return json.loads(body)


def failure_message(exc: BaseException, timeout: float = TIMEOUT_S) -> str:
    """The failure in docker-py's words where it has them (a socket that is missing, refuses, or is
    not ours: "Error while fetching server API version: ('Connection aborted.', PermissionError(13, ...))")."""
    if isinstance(exc, TimeoutError):
        return f"{UNREACHABLE}: Read timed out. (read timeout={timeout:g})"
    if isinstance(exc, OSError):
        return f"{UNREACHABLE}: ('Connection aborted.', {exc!r})"
    if isinstance(exc, EngineAnswerError):
        return str(exc)
    return f"{UNREACHABLE}: {exc}"


def docker_cli_on_path(env: Mapping[str, str]) -> bool:
    return shutil.which("docker", path=env.get("PATH")) is not None


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
    return DockerFacts(state=state, detail=" ".join(message.split()), socket=sock)


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
