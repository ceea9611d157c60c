"""The wheelhouse served to a build: a real HTTP server on a loopback address, real files.

What a build's installers (uv, pip) read of it: a flat page of links (--find-links) and the
wheels' bytes; nothing but the named wheels. The wheels' sha256 goes in as a build argument, so
the layer cache follows their bytes while the URL stays the same for every build.
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from imagekit import TORCH_WHEEL, make_world, spec_of
from labkit import REPO

from torchlab.errors import UserError
from torchlab.images.spec import WHEELHOUSE_HOST, WHEELHOUSE_PORT, Wheel
from torchlab.images.store import served_wheelhouse
from torchlab.images.wheelhouse import serve, sha256_of


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    return make_world(tmp_path)


def get(address: str, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://{address}:{WHEELHOUSE_PORT}/{path}", timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def test_the_page_links_every_wheel_and_each_link_gives_its_bytes(world) -> None:
    spec = spec_of(world)
    with serve(spec.wheels) as address:
        assert address.startswith("127.") and address != "127.0.0.1"
        status, page = get(address, "")
        links = re.findall(r'href="([^"]+)"', page.decode("utf-8"))
        assert status == 200 and len(links) == len(spec.wheels) == 3
        assert "torch-2.13.0%2Bcpu-cp311-cp311-manylinux_2_28_x86_64.whl" in links  # "+" quoted, as indexes do
        for link in links:
            wheel = next(w for w in spec.wheels if urllib.request.quote(w.name) == link)
            assert get(address, link) == (200, wheel.path.read_bytes())


def test_only_the_named_wheels_are_served(world) -> None:
    (world["wheels"] / "README.txt").write_text("not a wheel")
    spec = spec_of(world)
    with serve(spec.wheels) as address:
        for path in ("README.txt", "../ca.pem", "%2e%2e/ca.pem", "sympy-1.13.3-py3-none-any.whl/x"):
            assert get(address, path)[0] == 404, path
        connection = http.client.HTTPConnection(address, WHEELHOUSE_PORT, timeout=10)
        connection.request("HEAD", f"/{urllib.request.quote(TORCH_WHEEL)}")
        answer = connection.getresponse()
        assert (answer.status, answer.getheader("Content-Length"), answer.read()) == (200, "100", b"")
        connection.close()


def test_two_builds_at_once_get_servers_of_their_own_and_each_stops_with_its_block(world) -> None:
    spec = spec_of(world)
    with serve(spec.wheels) as first, serve(spec.wheels) as second:
        assert first != second
        assert get(first, "")[0] == get(second, "")[0] == 200
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://{first}:{WHEELHOUSE_PORT}/", timeout=5)


def test_the_build_gets_the_wheels_sha256_and_the_fixed_name_mapped_to_its_server(world) -> None:
    spec = spec_of(world)
    with served_wheelhouse(spec) as (args, hosts):
        assert set(hosts) == {WHEELHOUSE_HOST}
        assert get(hosts[WHEELHOUSE_HOST], "")[0] == 200
        assert args == {**spec.build_args, "WHEELHOUSE_SHA256": sha256_of(spec.wheels)}
    # The same name and size with other bytes: the image name stays (it trusts name and size, as
    # for every wheel), but the layer cache does not (the sha256 differs).
    before = sha256_of(spec.wheels)
    (world["wheels"] / TORCH_WHEEL).write_bytes(b"v" * 100)
    assert spec_of(world).name == spec.name and sha256_of(spec_of(world).wheels) != before


def test_a_wheelhouse_that_cannot_be_served_is_one_line(world, monkeypatch) -> None:
    spec = spec_of(world)
    with serve(spec.wheels) as taken:
        # Every address this build picks is one another build's server has: a real bind failure.
        monkeypatch.setattr("torchlab.images.wheelhouse.loopback_address", lambda pick: taken)
        with pytest.raises(UserError) as caught, served_wheelhouse(spec):
            pass
    message = str(caught.value)
    assert message.startswith(f"cannot serve the wheelhouse {world['wheels']} to the build on this host's loopback (")
    assert message.endswith(")") and "\n" not in message


def test_a_build_that_cannot_reach_the_served_wheelhouse_says_why(tmp_path: Path) -> None:
    # install-packages, as the build's torch step runs it, where the engine is not on this host's
    # network (here: a URL where nothing listens, the discard port).
    env = {"PATH": os.environ["PATH"], "VIRTUAL_ENV": str(tmp_path / "venv"),
           "TORCHLAB_FIND_LINKS": "http://127.0.0.1:9/"}
    done = subprocess.run(["sh", str(REPO / "images" / "install-packages"), "torch==2.13.0+cpu"],
                          capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("torchlab: the wheelhouse served at http://127.0.0.1:9/ cannot be reached from this build:")
    assert "Docker Desktop" in done.stderr and len(done.stderr.splitlines()) == 1


def a_wheel(folder: Path) -> Wheel:
    """A real (tiny, pure-Python) wheel, as the wheel format defines it."""
    import zipfile

    path = folder / "tlprobe-1.0-py3-none-any.whl"
    files = {
        "tlprobe/__init__.py": "ANSWER = 42\n",
        "tlprobe-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: tlprobe\nVersion: 1.0\n",
        "tlprobe-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: torchlab-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{name},,\n" for name in files) + "tlprobe-1.0.dist-info/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in {**files, "tlprobe-1.0.dist-info/RECORD": record}.items():
            archive.writestr(name, text)
    return Wheel(path.name, path.stat().st_size, path)


def test_pip_installs_from_the_served_wheelhouse_where_uv_cannot_be_had(tmp_path: Path, monkeypatch) -> None:
    # An offline wheelhouse without uv: the venv gets pip, which ignores a plain-http --find-links
    # whose host is a name (the build's is torchlab-wheelhouse) unless install-packages trusts it.
    # Here the name is this machine's, served on the loopback address it resolves to.
    import socket

    from torchlab.images import wheelhouse

    name = socket.gethostname()
    try:
        resolved = socket.gethostbyname(name)
    except OSError:
        pytest.skip(f"this machine's name {name} does not resolve")
    if not resolved.startswith("127.") or name == "localhost":
        pytest.skip(f"this machine's name {name} resolves to {resolved}, not a loopback address")
    monkeypatch.setattr(wheelhouse, "loopback_address", lambda pick: resolved)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
    wheel = a_wheel(tmp_path)
    with serve((wheel,)):
        env = {"PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(venv),
               "TORCHLAB_INDEX_URL": "none", "TORCHLAB_FIND_LINKS": f"http://{name}:{WHEELHOUSE_PORT}/",
               "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        done = subprocess.run(["sh", str(REPO / "images" / "install-packages"), "tlprobe==1.0"],
                              capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    answer = subprocess.run([str(venv / "bin" / "python"), "-c", "import tlprobe; print(tlprobe.ANSWER)"],
                            capture_output=True, text=True, check=True, timeout=60)
    assert answer.stdout.strip() == "42"


class EngineSeen:
    """What store.loopback_out_of_reach reads of a docker-py client: its base URL and /info."""

    def __init__(self, base_url: str, info: dict) -> None:
        self.api = type("Api", (), {"base_url": base_url})()
        self._info = info

    def info(self) -> dict:
        return self._info


@pytest.mark.parametrize("base_url,info,said", [
    ("http+docker://localhost", {"OperatingSystem": "Debian GNU/Linux 12 (bookworm)", "SecurityOptions": ["name=seccomp,profile=default"]}, None),
    ("http+docker://localhost", {"OperatingSystem": "Docker Desktop", "SecurityOptions": []}, "Docker Desktop"),
    ("http+docker://localhost", {"OperatingSystem": "Ubuntu 24.04", "SecurityOptions": ["name=seccomp,profile=default", "name=rootless"]}, "rootless"),
    ("http://10.0.0.5:2375", {"OperatingSystem": "Debian GNU/Linux 12 (bookworm)"}, "not on this machine's unix socket (http://10.0.0.5:2375)"),
    ("http+docker://ssh", {}, "not on this machine's unix socket"),
])
def test_an_engine_whose_builds_cannot_reach_this_loopback_is_named(base_url, info, said) -> None:
    from torchlab.images.store import loopback_out_of_reach

    found = loopback_out_of_reach(EngineSeen(base_url, info))
    assert (found is None) if said is None else (said in found)


def test_such_an_engine_gets_one_line_before_any_build_step(world) -> None:
    from torchlab.images.store import check_wheelhouse_reach

    spec = spec_of(world)
    check_wheelhouse_reach(spec, None)
    with pytest.raises(UserError) as caught:
        check_wheelhouse_reach(spec, "Docker Desktop runs its engine in a VM of its own")
    message = caught.value.format_message()
    assert caught.value.exit_code == 3 and "\n" not in message
    assert message.startswith(f"the wheelhouse {world['wheels']} cannot reach this engine's builds")
    assert "Docker Desktop" in message and "TORCHLAB_WHEELHOUSE" in message


@pytest.mark.docker
def test_this_machines_engine_reaches_the_loopback(docker_engine) -> None:
    from torchlab.images.store import loopback_out_of_reach

    assert loopback_out_of_reach(docker_engine) is None
