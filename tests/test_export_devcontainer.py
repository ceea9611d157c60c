"""`torchlab export devcontainer LAB`: devcontainer.json as data for host profiles built from real
recorded outputs (golden files under tests/golden/devcontainer/, the protections of `up` asserted one
by one), the file's safe writing, and on the real engine the real Dev Containers CLI
(`@devcontainers/cli`): `devcontainer up` on the exported folder, then the lab's smoke checks through
`devcontainer exec`.

Regenerate the golden files after an intended change with:
TORCHLAB_UPDATE_GOLDEN=1 python -m pytest tests/test_export_devcontainer.py
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from torchlab.cli import app
from torchlab.cli.export import config_text
from torchlab.files import check_replaceable
from torchlab.decide.choice import choose
from torchlab.decide.devcontainer import devcontainer_config, mount_text
from torchlab.decide.plan import make_plan
from torchlab.decide.runspec import CONTAINER_WORKSPACE, LabTarget, Mount, home_volume
from torchlab.errors import UserError

from conftest import matches_golden, missing, one_line_error
from test_runspec import DATA_DIR, GROUPS, cpu_host, h100_host, mi210_host, rtx3090_host
from test_up_docker import lab_settings, learner  # noqa: F401  (fixtures, reused)

GOLDEN = Path(__file__).parent / "golden" / "devcontainer"
PROFILES = {"cpu-debian13": cpu_host, "nvidia-h100-590.48.01": h100_host, "amd-mi210-gfx90a": mi210_host}
WORKSPACE = DATA_DIR / "workspaces" / "module-1"


def config_for(facts, lab: str = "module-1", variant: str = "auto", user: tuple[int, int] = (1000, 1000)) -> dict:
    choice = choose(make_plan(facts), facts, "docker", variant)
    target = LabTarget(lab, "1.0.1", choice.variant, choice.device, DATA_DIR / "workspaces" / lab, DATA_DIR)
    return devcontainer_config(target, f"torchlab/lab-{choice.variant}:test", user, GROUPS)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_devcontainer_json_matches_its_golden_file(profile):
    matches_golden(GOLDEN / f"{profile}.json", config_text(config_for(PROFILES[profile]())))


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_devcontainer_keeps_the_protections_of_up(profile):
    config = config_for(PROFILES[profile]())
    assert config["runArgs"][:2] == ["--shm-size=2g", "--cap-drop=ALL"]
    assert (config["init"], config["privileged"], config["securityOpt"]) == (True, False, ["no-new-privileges"])
    assert config["containerUser"] == config["remoteUser"] == "1000:1000"
    assert config["updateRemoteUserUID"] is False
    assert config["workspaceMount"] == f"source={WORKSPACE},target={CONTAINER_WORKSPACE},type=bind"
    assert config["workspaceFolder"] == CONTAINER_WORKSPACE
    assert config["mounts"] == [f"source={home_volume(DATA_DIR, 1000)},target=/home/learner,type=volume"]
    assert "docker.sock" not in json.dumps(config) and "--privileged" not in config["runArgs"]
    assert config["forwardPorts"] == [8888] and "appPort" not in config  # forwarded, never published
    jupyter = config["postStartCommand"]["jupyterlab"]
    assert "--ip 127.0.0.1" in jupyter and "0.0.0.0" not in jupyter and "token" not in jupyter


def test_the_gpu_request_follows_the_plan():
    nvidia = config_for(h100_host())
    assert "--gpus=all" in nvidia["runArgs"] and not any(a.startswith("--device") for a in nvidia["runArgs"])
    assert nvidia["image"] == "torchlab/lab-cuda-13.0:test"
    assert nvidia["containerEnv"]["NVIDIA_DRIVER_CAPABILITIES"] == "compute,utility"
    amd = config_for(mi210_host())
    assert amd["runArgs"][2:] == ["--device=/dev/kfd", "--device=/dev/dri", "--group-add=44", "--group-add=992"]
    assert amd["image"] == "torchlab/lab-rocm-7.2:test"
    cpu = config_for(cpu_host())
    assert cpu["runArgs"] == ["--shm-size=2g", "--cap-drop=ALL"]
    asked_for_cpu = config_for(rtx3090_host(), variant="cpu")
    assert asked_for_cpu["runArgs"] == cpu["runArgs"] and asked_for_cpu["containerEnv"]["TORCHLAB_DEVICE"] == "cpu"


def test_the_smoke_checks_run_at_each_start_on_the_labs_device():
    assert config_for(h100_host(), lab="module-4")["postStartCommand"]["smoke"] == [
        "/opt/torchlab/venv/bin/python", "/opt/torchlab/smoke/runner.py", "/opt/torchlab/labs/module-4", "--device", "cuda"]


def test_root_never_runs_the_lab():
    assert config_for(cpu_host(), user=(0, 0))["containerUser"] == "1000:1000"
    assert config_for(cpu_host(), user=(1001, 1002))["remoteUser"] == "1001:1002"


def test_a_mount_path_with_a_comma_is_quoted_as_docker_reads_it():
    assert mount_text(Mount("/home/a,b/w", "/w", read_only=True)) == '"source=/home/a,b/w",target=/w,type=bind,readonly'
    assert mount_text(Mount('/x"y', "/w", read_only=False)) == '"source=/x""y",target=/w,type=bind'


def test_an_existing_file_is_kept_unless_forced(tmp_path):
    path = tmp_path / ".devcontainer" / "devcontainer.json"
    assert check_replaceable(path, "{}\n", False, "--force replaces it") == "written"
    path.parent.mkdir()
    path.write_text("{}\n", encoding="utf-8")
    assert check_replaceable(path, "{}\n", False, "--force replaces it") == "unchanged"
    with pytest.raises(UserError) as refused:
        check_replaceable(path, '{"image": "x"}\n', False, "--force replaces it")
    assert refused.value.exit_code == 2 and "--force" in refused.value.format_message()
    assert path.read_text(encoding="utf-8") == "{}\n"
    assert check_replaceable(path, '{"image": "x"}\n', True, "--force replaces it") == "replaced"


def test_an_unknown_lab_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCHLAB_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("TORCHLAB_DATA_DIR", str(tmp_path / "data"))
    one_line_error(CliRunner().invoke(app, ["export", "devcontainer", "module-99"]), 'unknown lab "module-99"')
    assert not (tmp_path / "data").exists()  # nothing probed, made or written


# --- on the real engine, with the real Dev Containers CLI -----------------------------------------


@pytest.fixture(scope="module")
def devcontainer_cli() -> str:
    path = shutil.which("devcontainer")
    if path is None:
        missing("no Dev Containers CLI on PATH (npm install -g @devcontainers/cli)")
    return path


def devcontainer(torchlab, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """The Dev Containers CLI as the learner runs it (same user, groups and home as their torchlab)."""
    command = torchlab.argv()
    as_them = command[: command.index(sys.executable)]
    return subprocess.run([*as_them, "devcontainer", *args], capture_output=True, text=True, env=torchlab.env,
                          timeout=timeout, check=False, cwd=str(torchlab.home))


def last_json(text: str) -> dict:
    return json.loads([line for line in text.splitlines() if line.startswith("{")][-1])


def remove_devcontainers(client, folder: str) -> None:
    for state in client.containers.list(all=True, filters={"label": f"devcontainer.local_folder={folder}"}):
        state.remove(force=True)


IN_LAB = """import json, subprocess, time, urllib.error, urllib.request
def get(path, token=""):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:8888{path}?token={token}", timeout=5) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as exc:
        return exc.code, None
for _ in range(120):
    servers = subprocess.run(["jupyter", "server", "list", "--json"], capture_output=True, text=True).stdout.splitlines()
    if servers:
        break
    time.sleep(0.5)
token = json.loads(servers[0])["token"]
status, specs = get("/api/kernelspecs", token)
print(json.dumps({"with_token": status, "without_token": get("/api/status")[0], "default": specs["default"],
                  "names": {k: v["spec"]["display_name"] for k, v in specs["kernelspecs"].items()}}))
"""


@pytest.mark.docker
@pytest.mark.slow
def test_devcontainer_up_runs_the_exported_lab_and_its_smoke_checks(docker_engine, devcontainer_cli, learner,
                                                                   lab_settings, record_property):
    done, doc = learner.json("export", "devcontainer", "module-1")
    assert done.returncode == 0, done.stderr[-3000:]
    assert (doc["schema"], doc["action"], doc["image"]) == ("torchlab.devcontainer/1", "written", lab_settings["image"])
    folder, path = doc["folder"], Path(doc["file"])
    assert folder == doc["workspace"] and path == Path(folder, ".devcontainer", "devcontainer.json")
    config = json.loads(path.read_text(encoding="utf-8"))
    assert learner.json("export", "devcontainer", "module-1")[1]["action"] == "unchanged"
    try:
        started = time.monotonic()
        up = devcontainer(learner, "up", "--workspace-folder", folder)
        seconds = time.monotonic() - started
        print(f"devcontainer up: {seconds:.1f} s")
        record_property("devcontainer_up_s", round(seconds, 1))
        assert up.returncode == 0, up.stderr[-3000:]
        outcome = last_json(up.stdout)
        assert outcome["outcome"] == "success", outcome
        assert "module-1" in up.stderr and "-> passed" in up.stderr  # the postStartCommand's smoke checks

        smoke = devcontainer(learner, "exec", "--workspace-folder", folder, *config["postStartCommand"]["smoke"])
        assert smoke.returncode == 0, smoke.stdout[-3000:] + smoke.stderr[-3000:]
        said = smoke.stdout + smoke.stderr  # the CLI passes the command's output on stderr without a terminal
        assert f"module-1 {doc['version']} on cpu" in said and "-> passed" in said

        attrs = docker_engine.api.inspect_container(outcome["containerId"])
        host = attrs["HostConfig"]
        assert (host["CapDrop"], host["Privileged"], host["Init"]) == (["ALL"], False, True)
        assert host["SecurityOpt"] == ["no-new-privileges"] and host["ShmSize"] == 2 * 1024**3
        assert attrs["Config"]["User"] == config["containerUser"] and not config["containerUser"].startswith("0")
        assert not host.get("PortBindings")  # JupyterLab is forwarded by the tool, never published
        binds = sorted((m["Type"], m["Destination"]) for m in attrs["Mounts"])
        assert binds == [("bind", CONTAINER_WORKSPACE), ("volume", "/home/learner")]

        lab = devcontainer(learner, "exec", "--workspace-folder", folder, "python", "-c", IN_LAB, timeout=180)
        assert lab.returncode == 0, lab.stderr[-3000:]
        answers = last_json(lab.stdout + lab.stderr)
        assert (answers["with_token"], answers["without_token"], answers["default"]) == (200, 403, "python3")
        assert answers["names"]["python3"].startswith("module-1 · torch 2.13.0") and answers["names"]["python3"].endswith(" · cpu")

        made = devcontainer(learner, "exec", "--workspace-folder", folder, "touch", "made-in-the-devcontainer.txt")
        assert made.returncode == 0, made.stderr[-2000:]
        assert (Path(folder) / "made-in-the-devcontainer.txt").stat().st_uid == int(config["containerUser"].split(":")[0])
    finally:
        remove_devcontainers(docker_engine, folder)

    path.write_text(path.read_text(encoding="utf-8").replace('"init": true', '"init": false'), encoding="utf-8")
    mine = path.read_bytes()
    refused = learner.run("export", "devcontainer", "module-1")
    assert refused.returncode == 2 and refused.stderr.strip().splitlines()[-1].endswith(
        "(--force replaces it, or choose another --dir)"), refused.stderr
    assert path.read_bytes() == mine
    forced = learner.json("export", "devcontainer", "module-1", "--force")[1]
    assert forced["action"] == "replaced" and json.loads(path.read_text(encoding="utf-8")) == config
