"""The one module that imports docker (docker-py): connect to the engine, read what it says of
itself, and act on containers and images. Everything else talks to the engine through these
functions, gets plain data back, and catches only the errors defined here (ENGINE_ERRORS).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tarfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors
import requests.exceptions

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


def engine_answers(env: Mapping[str, str], timeout: float = 5) -> tuple[dict[str, Any], dict[str, Any]]:
    """The engine's /info and /version answers, through docker-py: for an engine that is not on a
    unix socket (DOCKER_HOST tcp://, ssh://); torchlab.probe.docker reads them into DockerFacts.
    Raises ENGINE_ERRORS."""
    client = connect(env, timeout=timeout)
    try:
        return client.info(), client.version()
    finally:
        client.close()


def _one_line(message: str) -> str:
    return " ".join(message.split())


# --- lab containers: run a RunSpec, find labs by their labels, stop, exec, logs ----------------

GPU_REFUSED = "could not select device driver"
DOCKER_CLI = "docker"  # the engine's own command line, for what must hold a terminal (a shell)


class EngineError(Exception):
    """The engine refused a request; the message is what it said, in one line."""


class ImageMissing(EngineError):
    """The engine has no image of that name."""


@contextlib.contextmanager
def _refusals_said() -> Iterator[None]:
    """docker-py's refusals as this module's own errors, in the engine's words."""
    try:
        yield
    except docker.errors.ImageNotFound as exc:
        raise ImageMissing(api_error_text(exc)) from None
    except docker.errors.APIError as exc:
        raise EngineError(api_error_text(exc)) from None


@dataclass(frozen=True)
class ContainerState:
    """What the engine says of one lab container (from its inspect document), as plain data."""

    id: str
    name: str
    status: str  # "running" | "exited" | "created" | "restarting" | "dead" | ...
    labels: Mapping[str, str]
    command: tuple[str, ...]
    started_at: str  # RFC 3339, as the engine gives it
    exit_code: int | None
    host_port: int | None  # where JupyterLab's 8888/tcp is published, if it is
    host_ip: str | None
    user: str = ""  # "uid:gid" the lab runs as


def container_state(attrs: Mapping[str, Any]) -> ContainerState:
    """ContainerState from an inspect document (pure)."""
    config, state = attrs.get("Config") or {}, attrs.get("State") or {}
    ports = ((attrs.get("NetworkSettings") or {}).get("Ports") or {}).get("8888/tcp") or []
    binding = ports[0] if ports else {}
    host_port = binding.get("HostPort")
    return ContainerState(
        id=attrs.get("Id", ""),
        name=(attrs.get("Name") or "").lstrip("/"),
        status=state.get("Status", "unknown"),
        labels=dict(config.get("Labels") or {}),
        command=tuple(config.get("Cmd") or ()),
        started_at=state.get("StartedAt", ""),
        exit_code=state.get("ExitCode") if state.get("Status") != "running" else None,
        host_port=int(host_port) if host_port else None,
        host_ip=binding.get("HostIp"),
        user=config.get("User") or "",
    )


def gpu_refused(exc: BaseException) -> bool:
    """The engine has no driver for the GPU request (no NVIDIA Container Toolkit)."""
    return GPU_REFUSED in str(exc)


def start_container(client: docker.DockerClient, kwargs: Mapping[str, Any]) -> ContainerState:
    """Create and start a container; one that was created but would not start is removed again.
    Raises ImageMissing, or EngineError with the engine's reason (a GPU it cannot give, a taken port)."""
    with _refusals_said():
        container = client.containers.create(**kwargs)
        try:
            container.start()
            container.reload()
        except BaseException:
            remove_container(client, container.id)
            raise
    return container_state(container.attrs)


def find_containers(client: docker.DockerClient, labels: Mapping[str, str], all_states: bool = True) -> list[ContainerState]:
    """Containers carrying every label given (key=value; an empty value matches any value)."""
    wanted = [f"{key}={value}" if value else key for key, value in labels.items()]
    found = client.containers.list(all=all_states, filters={"label": wanted})
    return [container_state(container.attrs) for container in found]


def get_container(client: docker.DockerClient, name_or_id: str) -> ContainerState | None:
    try:
        return container_state(client.containers.get(name_or_id).attrs)
    except docker.errors.NotFound:
        return None


def remove_container(client: docker.DockerClient, name_or_id: str, stop_timeout: int = 5) -> bool:
    """Stop (SIGTERM, then SIGKILL after stop_timeout) and remove; False when there was none."""
    try:
        container = client.containers.get(name_or_id)
        if container.status == "running":
            container.stop(timeout=stop_timeout)
        container.remove(force=True)
    except docker.errors.NotFound:
        return False
    return True


def exec_in_container(
    client: docker.DockerClient, name_or_id: str, argv: list[str], user: str, workdir: str
) -> tuple[int, str, str]:
    """Run argv in a running container; (exit code, stdout, stderr)."""
    container = client.containers.get(name_or_id)
    result = container.exec_run(argv, user=user, workdir=workdir, demux=True)
    stdout, stderr = result.output if result.output else (None, None)
    decode = lambda data: (data or b"").decode("utf-8", errors="replace")  # noqa: E731
    return result.exit_code if result.exit_code is not None else 1, decode(stdout), decode(stderr)


def exec_argv(name_or_id: str, user: str, workdir: str, command: list[str], tty: bool) -> list[str]:
    """The `docker exec` command line that runs command in a running container on this terminal."""
    return [DOCKER_CLI, "exec", "-it" if tty else "-i", "-u", user, "-w", workdir, name_or_id, *command]


def container_logs(client: docker.DockerClient, name_or_id: str, follow: bool = False, tail: int | str = "all"):
    """The container's output (stdout and stderr), as chunks of bytes; follows it when asked."""
    container = client.containers.get(name_or_id)
    if follow:
        return container.logs(stream=True, follow=True, tail=tail)
    return iter([container.logs(tail=tail)])


def api_error_text(exc: BaseException) -> str:
    """What the engine said, in one line (docker-py's 'explanation' when it has one)."""
    explanation = getattr(exc, "explanation", None)
    text = explanation.decode(errors="replace") if isinstance(explanation, bytes) else explanation
    return _one_line(str(text or exc))


def container_publishing(client: docker.DockerClient, port: int) -> str | None:
    """'container NAME' when a running container publishes the host port; else None."""
    for container in client.containers.list():
        bindings = (container.attrs.get("NetworkSettings") or {}).get("Ports") or {}
        for published in bindings.values():
            if any(str(port) == (b or {}).get("HostPort") for b in published or []):
                return f"container {container.name}"
    return None


# --- lab images: inspect, build, pull, push, tag, remove -----------------------------------------
# Progress goes to `on_event` as the engine's own JSON messages (plain dicts): {"stream": ...} for
# build steps, {"status", "id", "progressDetail"} for layers, {"error": ...} for failures.

LONG_TIMEOUT = 3600  # seconds a build step may stay silent (apt, a torch install)
REGISTRY_MISSING = ("manifest unknown", "not found", "does not exist", "no such image")
REGISTRY_UNREACHABLE = ("connection refused", "no such host", "dial tcp", "i/o timeout", "timeout",
                        "network is unreachable", "http response to https client", "connection reset", "eof")
REGISTRY_DENIED = ("unauthorized", "denied", "authentication required", "forbidden")


@dataclass(frozen=True)
class ImageInfo:
    id: str
    tags: tuple[str, ...]
    size: int
    created: str
    labels: Mapping[str, str]
    layers: tuple[str, ...]  # the diff ids of its layers, base first


class ImageBuildError(Exception):
    """A build the engine stopped: its message, and the last lines of the build's output."""

    def __init__(self, message: str, log_tail: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.log_tail = log_tail


class RegistryError(Exception):
    """A pull or push that failed; kind: "missing" | "unreachable" | "denied" | "error"."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def registry_error_kind(message: str) -> str:
    """Tell apart, from the engine's words: not in the registry, registry not reachable, refused."""
    lowered = message.lower()
    for kind, signs in (("denied", REGISTRY_DENIED), ("missing", REGISTRY_MISSING), ("unreachable", REGISTRY_UNREACHABLE)):
        if any(sign in lowered for sign in signs):
            return kind
    return "error"


def image_info_from_api(attrs: Mapping[str, Any]) -> ImageInfo:
    """ImageInfo from an image's inspect document (pure)."""
    return ImageInfo(
        id=attrs.get("Id", ""),
        tags=tuple(attrs.get("RepoTags") or ()),
        size=int(attrs.get("Size") or 0),
        created=attrs.get("Created", ""),
        labels=dict((attrs.get("Config") or {}).get("Labels") or {}),
        layers=tuple((attrs.get("RootFS") or {}).get("Layers") or ()),
    )


def image_info(client: docker.DockerClient, name: str) -> ImageInfo | None:
    try:
        return image_info_from_api(client.api.inspect_image(name))
    except docker.errors.ImageNotFound:
        return None


def list_images(client: docker.DockerClient, label: str) -> list[ImageInfo]:
    """Images carrying a label (any value), newest first."""
    found = [image_info_from_api(client.api.inspect_image(i["Id"])) for i in client.api.images(filters={"label": label})]
    return sorted(found, key=lambda info: info.created, reverse=True)


def remove_image(client: docker.DockerClient, name: str) -> bool:
    """Remove one name of an image (the image goes with its last name); False when there was none."""
    try:
        client.api.remove_image(name)
    except docker.errors.ImageNotFound:
        return False
    return True


def tag_image(client: docker.DockerClient, name: str, target: str) -> None:
    repository, tag = docker.utils.parse_repository_tag(target)
    client.api.tag(name, repository, tag=tag or "latest")


LOCAL_SOCKET_URLS = ("http+docker://localhost", "http+docker://localunixsocket")  # docker-py's, for a unix socket


def base_url(client: docker.DockerClient) -> str:
    """Where the client talks to its engine: one of LOCAL_SOCKET_URLS for this machine's unix socket."""
    return str(getattr(client.api, "base_url", ""))


def engine_info(client: docker.DockerClient) -> dict[str, Any]:
    """The engine's /info answer; {} when it gives none (the next call to it will say why)."""
    try:
        return dict(client.info())
    except docker.errors.DockerException:
        return {}


def build_image(
    client: docker.DockerClient,
    context: Any,
    name: str,
    build_args: Mapping[str, str],
    labels: Mapping[str, str],
    on_event: Any,
    no_cache: bool = False,
    extra_hosts: Mapping[str, str] | None = None,
) -> str:
    """Build from an uncompressed tar context (a file object); the new image's id. With extra_hosts
    (name -> address) the build's steps run on the host's network and resolve those names: how
    they reach a server of this host's loopback (the wheelhouse, torchlab.images.wheelhouse).

    Each step's container is removed when the build ends (done, failed or interrupted), not after
    its own step as the engine's rm would: on ext4 without a journal (CI's machines), the kernel
    scans past every inode freed in the last minutes before it hands out a new one, so removing
    the torch step's ~15,000 files made the next steps' file creation seconds slower. When the
    reading stops early (Ctrl-C, a dropped connection), a step's container the output never named
    is found by the image it was made from (the engine's own forcerm would have removed it)."""
    network = {"network_mode": "host", "extra_hosts": dict(extra_hosts)} if extra_hosts else {}
    stream = client.api.build(
        fileobj=context, custom_context=True, tag=name, buildargs=dict(build_args), labels=dict(labels),
        rm=False, forcerm=False, pull=False, decode=True, nocache=no_cache, **network,
    )
    tail: list[str] = []
    step_containers: list[str] = []
    step_images: list[str] = []
    engine_ended = False
    try:
        for event in stream:
            on_event(event)
            text = str(event.get("stream", ""))
            step_containers += STEP_CONTAINER.findall(text)
            step_images += STEP_IMAGE.findall(text)
            tail = (tail + text.splitlines())[-20:]
            if "error" in event:
                engine_ended = True
                raise ImageBuildError(_one_line(str(event["error"])), tuple(line for line in tail if line.strip()))
        engine_ended = True
    finally:
        remove_step_containers(client, step_containers)
        if not engine_ended:  # stopped reading (Ctrl-C, a dropped connection): a step may have begun unseen
            remove_step_containers(client, unseen_step_containers(client, step_images, step_containers))
    info = image_info(client, name)
    if info is None:
        raise ImageBuildError(f"the engine finished without making {name}", tuple(tail))
    return info.id


STEP_CONTAINER = re.compile(r"^ ---> Running in ([0-9a-f]{12,64})$", re.MULTILINE)
STEP_IMAGE = re.compile(r"^ ---> ([0-9a-f]{12,64})$", re.MULTILINE)


def remove_step_containers(client: docker.DockerClient, containers: list[str]) -> None:
    for container in containers:
        with contextlib.suppress(*ENGINE_ERRORS):
            client.api.remove_container(container, force=True)


def unseen_step_containers(client: docker.DockerClient, step_images: list[str], seen: list[str]) -> list[str]:
    """Containers made from the last image the build reported (each step's container is made from
    the image the step before left), without labels, that its output never named."""
    if not step_images:
        return []
    last = step_images[-1]
    try:
        rows = client.api.containers(all=True, filters={"ancestor": last})
    except ENGINE_ERRORS:
        return []
    return [row["Id"] for row in rows
            if str(row.get("ImageID", "")).split(":")[-1].startswith(last) and not row.get("Labels")
            and not any(row["Id"].startswith(short) for short in seen)]


def pull_image(client: docker.DockerClient, name: str, on_event: Any) -> None:
    """Pull name (registry/repository:tag); RegistryError says why it is not here."""
    _follow_registry(client.api.pull, name, on_event)


def push_image(client: docker.DockerClient, name: str, on_event: Any) -> None:
    """Push name (registry/repository:tag); RegistryError says why it did not go."""
    _follow_registry(client.api.push, name, on_event)


def _follow_registry(call: Any, name: str, on_event: Any) -> None:
    """Stream a pull or push; the engine reports most failures in the stream, not as errors."""
    repository, tag = docker.utils.parse_repository_tag(name)
    try:
        for event in call(repository, tag=tag or "latest", stream=True, decode=True):
            on_event(event)
            if "error" in event:
                message = _one_line(str(event["error"]))
                raise RegistryError(registry_error_kind(message), message)
    except docker.errors.APIError as exc:
        message = _one_line(str(exc.explanation or exc))
        raise RegistryError(registry_error_kind(message), message) from None


# What a call to the engine can raise besides its answers: its refusals, docker-py's own errors, and
# the HTTP client's (a busy engine that does not answer within the timeout raises requests' ReadTimeout).
ENGINE_ERRORS: tuple[type[BaseException], ...] = (
    EngineError, docker.errors.DockerException, requests.exceptions.RequestException,
)


def run_to_end(client: docker.DockerClient, kwargs: Mapping[str, Any], timeout: float) -> tuple[int, str]:
    """Run a throw-away container until it exits; (exit code, its output). Removed in every case.
    Raises ImageMissing or EngineError (a GPU request the engine cannot serve) as start_container does."""
    with _refusals_said():
        container = client.containers.create(**kwargs)
    try:
        with _refusals_said():
            container.start()
        status = container.wait(timeout=timeout)
        output = container.logs().decode("utf-8", errors="replace")
        return int(status.get("StatusCode", 1)), output
    finally:
        container.remove(force=True)


def remove_volume(client: docker.DockerClient, name: str) -> bool:
    """Remove a volume (a lab's home); False when there was none."""
    try:
        client.volumes.get(name).remove(force=True)
    except docker.errors.NotFound:
        return False
    return True


def put_file(client: docker.DockerClient, name_or_id: str, folder: str, filename: str, data: bytes) -> None:
    """Copy bytes into a running container as folder/filename (readable by every user)."""
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tarfile.TarInfo(filename)
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))
    client.containers.get(name_or_id).put_archive(folder, archive.getvalue())


# --- networks (the classroom's: seats reach the hub, never each other) ---------------------------


def ensure_network(client: docker.DockerClient, name: str, options: Mapping[str, str], labels: Mapping[str, str]) -> str:
    """A user-defined bridge network (made when missing, with these driver options); its gateway IP."""
    try:
        network = client.networks.get(name)
    except docker.errors.NotFound:
        with _refusals_said():
            network = client.networks.create(name, driver="bridge", options=dict(options), labels=dict(labels))
    network.reload()
    configs = (network.attrs.get("IPAM") or {}).get("Config") or [{}]
    gateway = configs[0].get("Gateway")
    if not gateway:
        raise EngineError(f"network {name} has no gateway address")
    return gateway


def network_options(client: docker.DockerClient, name: str) -> dict[str, str] | None:
    """A network's driver options; None when there is no such network."""
    try:
        return dict(client.networks.get(name).attrs.get("Options") or {})
    except docker.errors.NotFound:
        return None


def remove_network(client: docker.DockerClient, name: str) -> bool:
    """Remove a network; False when there was none."""
    try:
        client.networks.get(name).remove()
    except docker.errors.NotFound:
        return False
    return True


def container_ip(client: docker.DockerClient, name_or_id: str, network: str) -> str | None:
    """The container's address on a network; None when it is not on it (or not there at all)."""
    try:
        attrs = client.api.inspect_container(name_or_id)
    except docker.errors.NotFound:
        return None
    networks = (attrs.get("NetworkSettings") or {}).get("Networks") or {}
    return (networks.get(network) or {}).get("IPAddress") or None
