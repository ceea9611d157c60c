"""`torchlab up` on the real engine, as a learner runs it (an unprivileged user in the docker group
where the tests run as root): the lab answers, its smoke checks pass inside, the container keeps
the protections, and faults (a taken port, a killed container, Ctrl-C) leave no half-started lab.

One CPU lab image, built once per session from the local Debian base (TORCHLAB_TEST_BASE_IMAGE,
made by .ci/make-base-image) and the torch wheelhouse (PIP_FIND_LINKS), serves every test.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import pytest

from torchlab import engine
from torchlab.decide.choice import Choice
from torchlab.config import load_config
from torchlab.errors import UserError
from torchlab.decide.runspec import LabTarget, build_runspec, container_name, home_volume
from torchlab.doctor.gpuprobe import probe_container
from torchlab.lab.catalog import find_lab, open_catalog
from torchlab.runtimes import docker as container
from torchlab.runtimes.jupyter import http_status

from conftest import missing
from upkit import LEARNER, Torchlab, ca_bundle, learner_home, make_torchlab, remove_home, wait_until, wheelhouse, without_token

pytestmark = [pytest.mark.docker, pytest.mark.slow]
CPU = Choice("docker", "cpu", "cpu", "cpu", "2.13.0", ())


@pytest.fixture(scope="session")
def lab_settings(docker_engine):
    """The settings under which `up` finds the session's CPU lab image (built here once)."""
    base = os.environ.get("TORCHLAB_TEST_BASE_IMAGE")
    if not base or engine.image_info(docker_engine, base) is None:
        missing(f"no base image {base!r} in the engine (TORCHLAB_TEST_BASE_IMAGE; .ci/make-base-image makes it)")
    if wheelhouse() is None:
        missing("no wheelhouse with torch (TORCHLAB_WHEELHOUSE or PIP_FIND_LINKS)")
    settings = {"TORCHLAB_BASE_IMAGE": base, "TORCHLAB_WHEELHOUSE": wheelhouse() or ""}
    if ca_bundle():
        settings["TORCHLAB_CA_BUNDLE"] = ca_bundle() or ""
    from torchlab.images.store import ensure_for_lab  # noqa: PLC0415

    config = load_config({**settings, "TORCHLAB_CONFIG": "/nonexistent/config.toml"})
    lab = find_lab(open_catalog(config=config), "module-1")
    image = ensure_for_lab(config, CPU, lab, {**os.environ, **settings}, print)
    return {"settings": settings, "image": image}


@pytest.fixture
def learner(docker_engine, lab_settings):
    torchlab = make_torchlab("torchlab-up-", with_docker=True, **lab_settings["settings"])
    yield torchlab
    torchlab.run("down", "--all", timeout=180)
    engine.remove_volume(docker_engine, home_volume(torchlab.data_dir, lab_uid(torchlab)))
    remove_home(torchlab.home)


def lab_uid(torchlab: Torchlab) -> int:
    if torchlab.uid is not None:
        return torchlab.uid
    return 1000 if os.geteuid() == 0 else os.geteuid()


def labs_of(client, torchlab: Torchlab) -> list[engine.ContainerState]:
    return engine.find_containers(client, {"torchlab.data_dir": str(torchlab.data_dir)})


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def up_ok(torchlab: Torchlab, *args: str) -> dict:
    done, doc = torchlab.json("up", "module-1", *args)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    return doc


def test_up_module_1_answers_passes_its_smoke_and_keeps_the_protections(docker_engine, learner):
    doc = up_ok(learner)
    assert (doc["schema"], doc["lab"], doc["runtime"], doc["variant"], doc["device"]) == (
        "torchlab.up/1", "module-1", "docker", "cpu", "cpu")
    assert doc["smoke"]["status"] == "passed" and doc["smoke"]["device"] == "cpu"
    assert {check["status"] for check in doc["smoke"]["checks"]} <= {"pass", "skip"}
    assert doc["url"].startswith("http://127.0.0.1:") and "token=" in doc["url"]
    assert http_status(doc["url"]) == 200
    assert http_status(without_token(doc["url"])) == 403

    _, status = learner.json("status")
    [entry] = status["labs"]
    assert (entry["container"], entry["health"], entry["url"]) == (doc["container"], "ok", doc["url"])

    attrs = docker_engine.api.inspect_container(doc["container"])
    host = attrs["HostConfig"]
    assert [b["HostIp"] for b in host["PortBindings"]["8888/tcp"]] == ["127.0.0.1"]
    assert [b["HostIp"] for b in attrs["NetworkSettings"]["Ports"]["8888/tcp"]] == ["127.0.0.1"]
    assert attrs["Config"]["User"] == f"{lab_uid(learner)}:{lab_uid(learner)}" and lab_uid(learner) != 0
    assert host["Privileged"] is False and host["CapDrop"] == ["ALL"]
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["ShmSize"] == 2 * 1024**3
    assert not any("docker.sock" in m["Source"] for m in attrs["Mounts"])
    binds = [(m["Source"], m["Destination"], m["RW"]) for m in attrs["Mounts"] if m["Type"] == "bind"]
    assert binds == [(doc["workspace"], "/home/learner/work", True)]  # the only host folder it sees
    volumes = [(m["Name"], m["Destination"]) for m in attrs["Mounts"] if m["Type"] == "volume"]
    assert volumes == [(home_volume(learner.data_dir, lab_uid(learner)), "/home/learner")]

    shell = learner.run("shell", "module-1", stdin="id -u\npwd\ntouch made-in-the-lab.txt\n", timeout=120)
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.split() == [str(lab_uid(learner)), "/home/learner/work"]
    workspace = Path(doc["workspace"])
    assert (workspace / "made-in-the-lab.txt").stat().st_uid == lab_uid(learner)

    logs = learner.run("logs", "module-1", timeout=120)
    assert logs.returncode == 0 and "ServerApp" in logs.stdout

    done, bench = learner.json("bench", "--lab", "module-1", "--quick", "--device", "cpu")
    assert done.returncode == 0, done.stderr[-2000:]
    assert (bench["schema"], bench["device"]["kind"]) == ("torchlab.bench/1", "cpu")
    assert bench["torch"]["version"].startswith("2.13.0")  # the lab's torch, measured in the lab
    assert {r["kind"] for r in bench["results"] if r["status"] == "ok"} >= {"matmul", "train-step"}

    again = up_ok(learner, "--no-smoke")
    assert again["already_running"] is True and again["container"] == doc["container"]
    assert len(labs_of(docker_engine, learner)) == 1

    before = tree(workspace)
    assert learner.run("down", "module-1", timeout=180).returncode == 0
    assert labs_of(docker_engine, learner) == []
    assert tree(workspace) == before and "made-in-the-lab.txt" in before

    done, warm = learner.json("up", "module-1")
    assert done.returncode == 0 and warm["smoke"]["status"] == "passed", done.stderr[-2000:]
    assert "building" not in done.stderr and "exists; reused" in done.stderr
    assert http_status(warm["url"]) == 200


def test_a_taken_port_is_refused_then_a_rerun_starts(docker_engine, learner):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = learner.run("up", "module-1", "--port", str(port))
        assert done.returncode == 2, done.stderr
        assert f"--port {port}: 127.0.0.1:{port} is in use" in done.stderr
        assert "Traceback" not in done.stderr
        assert labs_of(docker_engine, learner) == []
    doc = up_ok(learner, "--port", str(port), "--no-smoke")
    assert doc["url"].startswith(f"http://127.0.0.1:{port}/?token=")


def test_a_killed_container_shows_as_stopped_and_up_starts_it_afresh(docker_engine, learner):
    first = up_ok(learner, "--no-smoke")
    docker_engine.containers.get(first["container"]).kill()
    _, status = learner.json("status")
    [entry] = status["labs"]
    assert (entry["state"], entry["health"]) == ("exited (137)", "stopped")
    second = up_ok(learner)
    assert second["smoke"]["status"] == "passed" and second["already_running"] is False
    assert [c.status for c in labs_of(docker_engine, learner)] == ["running"]


def test_ctrl_c_while_up_waits_leaves_no_lab_and_a_rerun_succeeds(docker_engine, learner):
    name = container_name("module-1", learner.data_dir)
    process = learner.start("up", "module-1")
    try:
        def running() -> bool:
            state = engine.get_container(docker_engine, name)
            return state is not None and state.status == "running"

        assert wait_until(running, timeout=300, step=0.05), "no container started"
        time.sleep(0.3)  # up is past starting it, waiting for JupyterLab (which takes seconds)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err and "took the half-started lab down" in err
    assert engine.get_container(docker_engine, name) is None
    assert up_ok(learner)["smoke"]["status"] == "passed"


def test_a_refused_gpu_request_is_explained_with_the_fix_and_the_cpu_way(docker_engine, lab_settings, tmp_path):
    if "nvidia" in (docker_engine.info().get("Runtimes") or {}):
        pytest.skip("this engine has the NVIDIA runtime: it would not refuse")
    target = LabTarget("module-1", "1.0.0", "cuda-12.6", "cuda", tmp_path, tmp_path)
    spec = build_runspec(target, lab_settings["image"], (1000, 1000), "token")
    with pytest.raises(UserError) as caught:
        container.start_spec(docker_engine, spec, "module-1", None)
    message = caught.value.format_message()
    assert caught.value.exit_code == 3
    assert 'could not select device driver "" with capabilities: [[gpu]]' in message
    assert "sudo nvidia-ctk runtime configure --runtime=docker" in message
    assert "torchlab up module-1 --variant cpu" in message
    assert engine.get_container(docker_engine, spec.name) is None


def test_the_gpu_probe_runs_torch_in_the_image_and_reports_a_refusal(docker_engine, lab_settings):
    image = lab_settings["image"]
    on_cpu = probe_container(image, "cpu", os.environ, print)
    assert (on_cpu.status, on_cpu.title) == ("fail", "Containers start, but torch sees no GPU in them")
    assert "torch 2.13.0+cpu" in on_cpu.detail
    if "nvidia" not in (docker_engine.info().get("Runtimes") or {}):
        refused = probe_container(image, "cuda-12.6", os.environ, print)
        assert (refused.status, refused.title) == ("fail", "Docker refuses the GPU request")
        assert "nvidia-ctk runtime configure --runtime=docker" in refused.fix
    assert engine.find_containers(docker_engine, {"torchlab.probe": "gpu"}) == []


def test_doctor_gpu_probe_skips_without_a_gpu(docker_engine):
    home = learner_home("torchlab-probe-")
    try:
        done, report = Torchlab(home).json("doctor", "--gpu-probe")
    finally:
        remove_home(home)
    finding = next(f for f in report["findings"] if f["id"] == "docker.gpu-probe")
    if report["plan"]["variant"] == "cpu":
        assert finding["status"] == "skip"
        assert finding["title"].startswith("GPU probe skipped: no GPU for containers to reach here")


def test_docker_asked_for_without_a_daemon_says_how_to_start_it(docker_engine, tmp_path):
    home = learner_home("torchlab-nodaemon-")
    try:
        torchlab = Torchlab(home, extra_env={"DOCKER_HOST": f"unix://{home / 'none.sock'}"})
        done = torchlab.run("up", "module-1", "--runtime", "docker")
    finally:
        remove_home(home)
    assert done.returncode == 3, done.stderr
    assert "The Docker daemon is not running" in done.stderr and "sudo systemctl start docker" in done.stderr
    assert "--runtime native" in done.stderr and "Traceback" not in done.stderr


def test_docker_asked_for_without_permission_says_how_to_get_it(docker_engine):
    if os.geteuid() != 0:
        missing("needs root to run torchlab as a user outside the docker group")
    sock = Path("/var/run/docker.sock")
    if not sock.exists() or sock.stat().st_mode & 0o006:
        missing("the engine's socket is not the usual root:docker 0660")
    home = learner_home("torchlab-noperm-")
    try:
        done = Torchlab(home, LEARNER).run("up", "module-1", "--runtime", "docker")
    finally:
        remove_home(home)
    assert done.returncode == 3, done.stderr
    assert "No permission to use Docker's socket" in done.stderr and "usermod -aG docker" in done.stderr
    assert "Traceback" not in done.stderr


def test_two_ups_at_once_start_one_lab(docker_engine, learner):
    first, second = learner.start("up", "module-1", "--no-smoke", "--json"), learner.start("up", "module-1", "--no-smoke", "--json")
    outputs = [process.communicate(timeout=300) for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], [err[-1500:] for _, err in outputs]
    docs = [json.loads(out) for out, _ in outputs]
    assert sorted(doc["already_running"] for doc in docs) == [False, True]
    assert docs[0]["container"] == docs[1]["container"]
    assert len(labs_of(docker_engine, learner)) == 1
    assert any("waiting for it" in err for _, err in outputs)
