"""The parts of `up` that need no engine: native environment plans, pid files, locks, time stamps."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from torchlab.runtimes import native
from torchlab.runtimes.lock import lab_lock
from torchlab.runtimes.ports import free_port, port_is_free, who_listens
from torchlab.run import start_background
from torchlab.runtimes.docker import parse_engine_time
from torchlab.runtimes.native import from_native
from torchlab.runtimes.processes import command_line, is_ours, start_time, still_running, stop_process

WHEELS = ["torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"]


def sources(**changes):
    base = {"python": "/usr/bin/python3", "python_version": "3.11", "index_url": None, "ca_bundle": None,
            "find_links": ["/srv/classroom/wheels"], "wheelhouse_files": WHEELS}
    return {**base, **changes}


def test_torch_is_pinned_to_the_exact_build():
    assert native.torch_requirement("2.13.0", "cpu", "Linux") == "torch==2.13.0+cpu"
    assert native.torch_requirement("2.13.0", "cu126", "Linux") == "torch==2.13.0+cu126"
    assert native.torch_requirement("2.13.0", "cpu", "Darwin") == "torch==2.13.0"  # PyPI's macOS wheel has MPS


def test_a_wheelhouse_holding_the_build_needs_no_torch_index():
    spec = native.plan_env("cpu", "torch==2.13.0+cpu", "cpu", [], sources())
    assert spec.extra_index_url is None
    assert spec.requirements == ("torch==2.13.0+cpu", "jupyterlab")


def test_without_the_wheel_torch_comes_from_its_own_index_for_that_build():
    spec = native.plan_env("cuda-12.6", "torch==2.13.0+cu126", "cu126", [], sources())
    assert spec.extra_index_url == "https://download.pytorch.org/whl/cu126"


def test_the_environment_is_named_by_variant_and_what_goes_in():
    plain = native.plan_env("cpu", "torch==2.13.0+cpu", "cpu", [], sources())
    more = native.plan_env("cpu", "torch==2.13.0+cpu", "cpu", ["transformers>=4.46"], sources())
    assert plain.path(Path("/d")).parent == Path("/d/envs")
    assert plain.path(Path("/d")).name.startswith("cpu-")
    assert plain.key != more.key
    assert plain.key == native.plan_env("cpu", "torch==2.13.0+cpu", "cpu", [], sources()).key
    assert more.requirements[-1] == "transformers>=4.46"


def test_pip_and_uv_get_the_same_sources():
    spec = native.plan_env("cpu", "torch==2.13.0+cpu", "cpu", ["numpy"],
                           sources(index_url="https://pypi.example/simple", ca_bundle="/etc/ca.pem"))
    env_dir = Path("/d/envs/cpu-x")
    create, install = native.install_commands(spec, env_dir, uv=None)
    assert create == ["/usr/bin/python3", "-m", "venv", "/d/envs/cpu-x"]
    assert install[:4] == ["/d/envs/cpu-x/bin/python", "-m", "pip", "install"]
    for flag, value in (("--index-url", "https://pypi.example/simple"), ("--find-links", "/srv/classroom/wheels"), ("--cert", "/etc/ca.pem")):
        assert install[install.index(flag) + 1] == value
    assert install[-3:] == ["torch==2.13.0+cpu", "jupyterlab", "numpy"]
    uv_create, uv_install = native.install_commands(spec, env_dir, uv="/usr/bin/uv")
    assert uv_create[:2] == ["/usr/bin/uv", "venv"]
    assert uv_install[:5] == ["/usr/bin/uv", "pip", "install", "--python", "/d/envs/cpu-x/bin/python"]
    assert uv_install[uv_install.index("--find-links") + 1] == "/srv/classroom/wheels"
    assert "--cert" not in uv_install  # uv reads SSL_CERT_FILE, which install_env sets


def test_host_sources_read_pip_find_links_and_the_configured_wheelhouse(tmp_path):
    (tmp_path / "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"")
    found = native.host_sources(None, None, None, {"PIP_FIND_LINKS": f"{tmp_path} /no/such/folder"})
    assert found["find_links"] == [str(tmp_path)]
    assert found["wheelhouse_files"] == WHEELS


def test_a_pid_file_round_trips_and_is_private(tmp_path):
    me = psutil.Process()
    run = native.NativeRun("module-0", "1.0.0", "cpu", "cpu", me.pid, me.create_time(), 8899, "tok",
                           "/w", "/e", "/l", 1.0, tuple(me.cmdline()))
    native.write_run(tmp_path, run)
    assert native.read_run(tmp_path, "module-0") == run
    assert native.run_file(tmp_path, "module-0").stat().st_mode & 0o077 == 0
    assert native.all_runs(tmp_path) == [run]


def test_only_pid_start_time_and_command_line_together_prove_a_process_ours():
    me = psutil.Process()
    pid, created, command = me.pid, me.create_time(), me.cmdline()
    assert is_ours(pid, created, command)
    for other in ((pid, created - 3600, command), (pid, created, [*command, "--else"]), (pid, None, command),
                  (pid, created, None), (pid, created, []), (pid, "abc", command), (pid, -1, command),
                  (pid, float("nan"), command), ("abc", created, command), (-1, created, command),
                  (True, created, command), (None, created, command)):
        assert not is_ours(*other), other
    lab = from_native(native.NativeRun("m", "1", "cpu", "cpu", pid, created - 3600, None, None,
                                       "/w", "/e", "/l", 0.0, tuple(command)), alive=False)
    assert lab.state == "gone" and lab.health() == "stopped"


def test_a_process_not_proven_ours_is_never_signalled(tmp_path):
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        process = psutil.Process(stranger.pid)
        created, command = process.create_time(), process.cmdline()
        for when, what in ((created - 5, command), (None, command), (created, None), (created, ["sleep", "60"])):
            assert stop_process(stranger.pid, when, what, grace_s=0.2) is False
            assert stranger.poll() is None
        assert stop_process(stranger.pid, created, command, grace_s=2) is True
        assert stranger.wait(timeout=10) is not None
    finally:
        stranger.kill()


def test_stop_process_ends_the_whole_group(tmp_path):
    child = start_background([sys.executable, "-c", "import time; time.sleep(60)"], str(tmp_path / "log"))
    created, command = start_time(child), command_line(child)
    assert is_ours(child, created, command)
    assert stop_process(child, created, command, grace_s=2)
    assert not still_running(child)


def test_engine_time_stamps_with_nanoseconds():
    assert parse_engine_time("2024-11-27T09:08:01.5Z") == pytest.approx(1732698481.5)
    assert parse_engine_time("2024-11-27T09:08:01.123456789Z") == pytest.approx(1732698481.123456)
    assert parse_engine_time("0001-01-01T00:00:00Z") is None


def test_a_taken_port_is_seen_and_its_holder_named():
    import socket

    port = free_port()
    assert port_is_free(port)
    with socket.socket() as held:
        held.bind(("127.0.0.1", port))
        held.listen()
        assert not port_is_free(port)
        holder = who_listens(port)
    if not sys.platform.startswith("linux"):
        pytest.skip("only Linux lets any process see who listens without privileges")
    # On Linux a process can always see its own sockets (/proc/self/fd): the holder is named.
    assert holder is not None and holder.endswith(f"(pid {os.getpid()})"), holder


@pytest.mark.skipif(os.name == "nt", reason="Windows has no TIME_WAIT reuse by SO_REUSEADDR")
def test_a_port_left_in_time_wait_by_a_stopped_lab_is_free_but_a_listener_still_takes_it():
    import socket

    port = free_port()
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen()
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = server.accept()
            accepted.close()  # the server closes first: its side of the connection waits in TIME_WAIT
            client.recv(1)
    time_wait = [c for c in psutil.net_connections(kind="tcp")
                 if c.laddr and c.laddr.port == port and c.status == psutil.CONN_TIME_WAIT]
    if not time_wait:
        pytest.skip("the OS did not keep the connection in TIME_WAIT")
    with socket.socket() as plain:  # without the option a bind fails here: what port_state did before
        with pytest.raises(OSError):
            plain.bind(("127.0.0.1", port))
    assert port_is_free(port)
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        assert not port_is_free(port)


def test_a_second_up_of_the_same_lab_waits_for_the_first(tmp_path):
    """Two processes, one lock: the second says it waits, and gets the lock only after the first."""
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from torchlab.runtimes.lock import lab_lock
        with lab_lock(Path({str(tmp_path)!r}), "module-1", lambda m: print("WAIT", m, flush=True)):
            print("GOT", time.monotonic(), flush=True)
    """)
    with lab_lock(tmp_path, "module-1", print):
        second = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        time.sleep(1.0)
        released = time.monotonic()
    out, _ = second.communicate(timeout=30)
    assert out.startswith("WAIT another `torchlab` is starting or stopping module-1")
    assert float(out.split("GOT", 1)[1]) >= released
