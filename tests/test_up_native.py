"""`torchlab up --runtime native`: a virtual environment with torch from the wheelhouse and
JupyterLab as a local process, run as a learner would (an unprivileged user where the tests run as
root). The environment is made once for the module and reused; module-0 is the smallest lab."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import psutil
import pytest

from torchlab.runtimes.jupyter import http_status

from conftest import missing
from upkit import make_torchlab, remove_home, wheelhouse, without_token

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def learner():
    if wheelhouse() is None:
        missing("no wheelhouse with torch (PIP_FIND_LINKS): a native install would download a CUDA torch")
    torchlab = make_torchlab("torchlab-native-", with_docker=False)
    yield torchlab
    torchlab.run("down", "--all", timeout=120)
    remove_home(torchlab.home)


def up_native(torchlab, *args: str) -> dict:
    done, doc = torchlab.json("up", "module-0", "--runtime", "native", *args, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    return doc


def test_native_module_0_answers_passes_its_smoke_and_goes_down(learner):
    doc = up_native(learner)
    assert (doc["schema"], doc["runtime"], doc["variant"], doc["device"]) == ("torchlab.up/1", "native", "cpu", "cpu")
    assert doc["smoke"]["status"] == "passed" and doc["smoke"]["torch"] == "2.13.0+cpu"
    assert http_status(doc["url"]) == 200 and http_status(without_token(doc["url"])) == 403
    jupyter = psutil.Process(doc["pid"])
    assert jupyter.uids().real == (learner.uid if learner.uid is not None else os.getuid())
    assert doc["url"].split("token=")[1] not in " ".join(jupyter.cmdline())  # the token is not on the command line
    assert [c.laddr.ip for c in jupyter.net_connections() if c.status == psutil.CONN_LISTEN] == ["127.0.0.1"]

    [env] = [p for p in (learner.data_dir / "envs").iterdir() if p.is_dir()]
    assert env.name.startswith("cpu-")
    installed = sorted(p.name.split("-")[0].lower() for p in (env / "lib").glob("python3*/site-packages/*.dist-info"))
    assert "torch" in installed and "jupyterlab" in installed and "transformers" not in installed

    _, status = learner.json("status")
    [entry] = status["labs"]
    assert (entry["runtime"], entry["pid"], entry["health"]) == ("native", doc["pid"], "ok")

    commands = 'echo "$VIRTUAL_ENV"; pwd; python -c "import torch; print(torch.__version__)"; touch made-here.txt\n'
    shell = learner.run("shell", "module-0", stdin=commands)
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.split() == [str(env), doc["workspace"], "2.13.0+cpu"]

    workspace = Path(doc["workspace"])
    before = {p.name for p in workspace.iterdir()}
    assert learner.run("down", "module-0").returncode == 0
    assert not psutil.pid_exists(doc["pid"]) or psutil.Process(doc["pid"]).status() == psutil.STATUS_ZOMBIE
    assert {p.name for p in workspace.iterdir()} == before and "made-here.txt" in before
    _, status = learner.json("status")
    assert status["labs"] == []

    done, warm = learner.json("up", "module-0", "--runtime", "native")
    assert done.returncode == 0 and warm["smoke"]["status"] == "passed"
    assert f"environment {env} is ready" in " ".join(done.stderr.split())
    assert learner.run("down", "module-0").returncode == 0


def test_native_faults_a_taken_port_and_a_killed_server(learner):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = learner.run("up", "module-0", "--runtime", "native", "--port", str(port), timeout=1200)
        assert done.returncode == 2 and f"127.0.0.1:{port} is in use" in done.stderr, done.stderr[-2000:]
        _, status = learner.json("status")
        assert status["labs"] == []

    doc = up_native(learner, "--no-smoke")
    assert doc["smoke"]["status"] == "skipped"
    server = psutil.Process(doc["pid"])
    os.kill(doc["pid"], signal.SIGKILL)
    psutil.wait_procs([server], timeout=10)
    _, status = learner.json("status")
    [entry] = status["labs"]
    assert (entry["state"], entry["health"]) == ("gone", "stopped")
    again = up_native(learner)
    assert again["already_running"] is False and again["pid"] != doc["pid"]
    assert http_status(again["url"]) == 200
