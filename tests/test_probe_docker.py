"""doctor's engine probe without docker-py (torchlab.probe.docker) says what docker-py says, against
the real engine: the same facts from its answers, the same words when the socket is missing, refuses,
is not ours (an unprivileged user) or stays silent; and an engine on tcp:// is asked through docker-py."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import docker.errors
import pytest

from torchlab import engine
from torchlab.probe.docker import (
    EngineAnswerError,
    ask_socket,
    docker_facts_from_api,
    probe_docker,
    socket_path,
)

from conftest import missing

pytestmark = pytest.mark.docker
NOBODY = 65534


def docker_py_says(env: dict[str, str]) -> str:
    """What docker-py raises when it cannot reach the engine DOCKER_HOST names."""
    with pytest.raises(docker.errors.DockerException) as raised:
        engine.connect(env, timeout=5)
    return str(raised.value)


def test_which_socket() -> None:
    assert socket_path({}) == "/var/run/docker.sock"
    assert socket_path({"DOCKER_HOST": "unix:///run/user/1000/docker.sock"}) == "/run/user/1000/docker.sock"
    assert socket_path({"DOCKER_HOST": "tcp://10.0.0.5:2376"}) is None
    assert socket_path({"DOCKER_HOST": "ssh://me@builder"}) is None


def test_the_engine_answers_as_docker_py_reads_it(docker_engine) -> None:
    facts = probe_docker(os.environ)
    assert facts.state == "ok" and facts.server_version and facts.storage_root
    said_to_docker_py = docker_facts_from_api(docker_engine.info(), docker_engine.version(), socket_path(os.environ))
    assert facts == said_to_docker_py


def test_an_engine_error_is_said_with_the_engines_words(docker_engine) -> None:
    sock = socket_path(os.environ)
    with pytest.raises(EngineAnswerError, match="^404 Not Found for /no-such-endpoint: page not found"):
        ask_socket(sock or "", ("/no-such-endpoint",))


def test_no_socket_is_said_as_docker_py_says_it(docker_engine, tmp_path: Path) -> None:
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path / 'none.sock'}"}
    facts = probe_docker(env)
    assert (facts.state, facts.detail) == ("daemon-down", docker_py_says(env))
    assert "FileNotFoundError(2, 'No such file or directory')" in (facts.detail or "")


def test_a_socket_where_nothing_listens_is_daemon_down(docker_engine, tmp_path: Path) -> None:
    """A stopped dockerd leaves its socket behind: connecting is refused."""
    path = tmp_path / "docker.sock"
    env = {**os.environ, "DOCKER_HOST": f"unix://{path}"}
    with socket.socket(socket.AF_UNIX) as left_behind:
        left_behind.bind(str(path))  # bound, never listening
        facts, said = probe_docker(env), docker_py_says(env)
    assert (facts.state, facts.detail) == ("daemon-down", said)
    assert "ConnectionRefusedError(111" in said


def test_a_silent_engine_is_an_error_after_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "busy.sock"
    with socket.socket(socket.AF_UNIX) as busy:
        busy.bind(str(path))
        busy.listen(1)  # takes the connection, never answers
        facts = probe_docker({**os.environ, "DOCKER_HOST": f"unix://{path}"}, timeout=0.5)
    assert facts.state == "error"
    assert facts.detail == "Error while fetching server API version: Read timed out. (read timeout=0.5)"


@contextlib.contextmanager
def engine_on_tcp(sock: str) -> Iterator[int]:
    """The real engine's socket, relayed byte for byte to a port on 127.0.0.1."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            client.settimeout(None)
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(sock)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=pump, args=(a, b), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        server.close()


def test_an_engine_on_tcp_is_asked_through_docker_py(docker_engine) -> None:
    sock = socket_path(os.environ)
    if sock is None:
        missing("the test engine is not on a unix socket")
    with engine_on_tcp(sock) as port:
        over_tcp = probe_docker({**os.environ, "DOCKER_HOST": f"tcp://127.0.0.1:{port}"})
    on_the_socket = probe_docker(os.environ)
    assert over_tcp.state == "ok" and over_tcp.socket is None
    assert over_tcp.server_version == on_the_socket.server_version
    assert over_tcp.storage_root == on_the_socket.storage_root and over_tcp.runtimes == on_the_socket.runtimes


def test_a_tcp_engine_that_refuses_is_daemon_down(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
    facts = probe_docker({**os.environ, "DOCKER_HOST": f"tcp://127.0.0.1:{port}"})  # nothing listens there now
    assert facts.state == ("daemon-down" if shutil.which("docker") else "missing")
    assert "refused" in (facts.detail or "").lower()


BOTH_SAY = (
    "import json, dataclasses, docker\n"
    "from torchlab.probe.docker import probe_docker\n"
    "try:\n    docker.from_env(timeout=5); said = None\n"
    "except docker.errors.DockerException as exc:\n    said = str(exc)\n"
    "print(json.dumps({'facts': dataclasses.asdict(probe_docker()), 'docker_py': said}))\n"
)


def test_a_user_outside_the_docker_group_is_denied_as_docker_py_says(docker_engine) -> None:
    if os.geteuid() != 0:
        missing("needs root to run a process as an unprivileged user")
    sock = Path(socket_path(os.environ) or "")
    if not sock.exists() or sock.stat().st_mode & 0o006:
        missing(f"the engine's socket {sock} is not the usual root:docker 0660")
    home = Path(tempfile.mkdtemp(prefix="torchlab-nobody-"))
    home.chmod(0o777)
    try:
        done = subprocess.run(
            ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", sys.executable, "-c", BOTH_SAY],
            capture_output=True, text=True, timeout=60, check=False,
            env={"PATH": os.environ["PATH"], "HOME": str(home), "DOCKER_HOST": f"unix://{sock}"})
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if done.returncode != 0 and "import" in done.stderr:
        missing(f"an unprivileged user cannot run {sys.executable}: {done.stderr.strip()[-200:]}")
    answer = json.loads(done.stdout)
    assert answer["facts"]["state"] == "permission-denied"
    assert answer["facts"]["detail"] == answer["docker_py"]
    assert "PermissionError(13, 'Permission denied')" in answer["docker_py"]
