"""The lab container as data: RunSpecs for host profiles built from real recorded outputs (through
the doctor's parsers and plan), compared with golden files, and the protections asserted one by one.

GPU containers cannot run here; their specs are checked as data. JupyterLab's start (decide.jupyter's
START, which the container runs before JupyterLab) is run here against the pure functions the native
runtime uses. Regenerate the golden files after
an intended change with: TORCHLAB_UPDATE_GOLDEN=1 python -m pytest tests/test_runspec.py
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from torchlab.decide.choice import choose
from torchlab.decide.jupyter import START, default_url_arg, first_page, kernel_name, kernelspec, start_command
from torchlab.decide.plan import make_plan
from torchlab.decide.venv import venv_python
from torchlab.doctor.collect_env import parse_collect_env
from torchlab.errors import UserError
from torchlab.images.inputs import recipe_dir
from torchlab.images.spec import JUPYTERLAB_SETTINGS
from torchlab.facts import AmdFacts, DockerFacts, HostFacts, OSFacts
from torchlab.probe.amd import amd_gpu_from_kfd
from torchlab.probe.nvidia import parse_smi_xml
from torchlab.probe.nvidia_smi import parse_smi_csv
from torchlab.probe.system import parse_os_release
from torchlab.runtimes.native import prepare_jupyter
from torchlab.decide.runspec import (
    CONTAINER_WORKSPACE,
    IMAGE_PYTHON,
    JUPYTER_HOME,
    GpuGroups,
    LabTarget,
    build_runspec,
    container_name,
    home_volume,
    lab_url,
    lab_user,
    token_from_command,
)

from conftest import matches_golden
from recorded import fixture_text

GOLDEN = Path(__file__).parent / "golden" / "runspec"
DOCKER_OK = DockerFacts(state="ok", server_version="24.0.7", api_version="1.43", runtimes=("nvidia", "runc"), nvidia_toolkit=True)
DATA_DIR = Path("/home/ada/.local/share/torchlab")
TOKEN = "0123456789abcdef" * 3
# Group ids are the host's /etc/group, not a device's output: Debian's static video gid, a usual render gid.
GROUPS = GpuGroups(video=44, render=992)


def linux(os_release: str) -> OSFacts:
    release = parse_os_release(fixture_text(os_release))
    return OSFacts("Linux", release["PRETTY_NAME"], release.get("VERSION_ID"), release.get("ID"), arch="x86_64")


def cpu_host() -> HostFacts:
    return HostFacts(os=linux("os-release_debian-13.txt"), docker=DOCKER_OK)


def rtx3090_host() -> HostFacts:
    nvidia = parse_smi_xml(fixture_text("nvidia-smi-q-x_RTX3090_525.147.05.xml"))
    return HostFacts(os=linux("os-release_ubuntu-22.04.5.txt"), nvidia=nvidia, docker=DOCKER_OK)


def h100_host() -> HostFacts:
    nvidia = parse_smi_csv(fixture_text("nvidia-smi-query-gpu_H100-80GB-HBM3_590.48.01.csv"))
    return HostFacts(os=linux("os-release_ubuntu-24.04.3.txt"), nvidia=nvidia, docker=DOCKER_OK)


def mi210_host() -> HostFacts:
    gpu = amd_gpu_from_kfd(2, fixture_text("kfd-properties_MI210_node2-gpu-gfx90a.txt"), 0)
    return HostFacts(os=linux("os-release_rhel-9.6.txt"), amd=AmdFacts(source="kfd", gpus=(gpu,)), docker=DOCKER_OK)


PROFILES = {
    "cpu-debian13": cpu_host,
    "nvidia-rtx3090-525.147.05": rtx3090_host,
    "nvidia-h100-590.48.01": h100_host,
    "amd-mi210-gfx90a": mi210_host,
}


def spec_for(facts: HostFacts, lab: str = "module-1", variant: str = "auto", port: int | None = None):
    choice = choose(make_plan(facts), facts, "docker", variant)
    target = LabTarget(lab, "1.0.0", choice.variant, choice.device, DATA_DIR / "workspaces" / lab, DATA_DIR)
    return build_runspec(target, f"torchlab/lab-{choice.variant}:test", (1000, 1000), TOKEN, port, groups=GROUPS)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_runspec_matches_its_golden_file(profile):
    spec = spec_for(PROFILES[profile]())
    matches_golden(GOLDEN / f"{profile}.json", json.dumps(spec.to_dict(), indent=2, sort_keys=True) + "\n")


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_spec_keeps_the_protections(profile):
    spec = spec_for(PROFILES[profile]())
    kwargs = spec.docker_kwargs()
    assert kwargs["ports"] == {"8888/tcp": ("127.0.0.1", None)}
    assert kwargs["user"] == "1000:1000"
    assert kwargs["privileged"] is False
    assert kwargs["cap_drop"] == ["ALL"]
    assert kwargs["security_opt"] == ["no-new-privileges"]
    assert kwargs["shm_size"] == "2g"
    assert [(m.source, m.target, m.read_only) for m in spec.mounts if m.kind == "bind"] == [
        (str(DATA_DIR / "workspaces/module-1"), CONTAINER_WORKSPACE, False)]  # the only host folder
    assert [(m.kind, m.target) for m in spec.mounts if m.kind != "bind"] == [("volume", "/home/learner")]
    assert kwargs["volumes"][home_volume(DATA_DIR, 1000)] == {"bind": "/home/learner", "mode": "rw"}
    assert not any("docker.sock" in source for source in kwargs["volumes"])
    assert kwargs["working_dir"] == CONTAINER_WORKSPACE
    assert f"--ServerApp.token={TOKEN}" in kwargs["command"]
    assert f"--ServerApp.root_dir={CONTAINER_WORKSPACE}" in kwargs["command"]


def test_nvidia_hosts_request_every_gpu_with_capability_gpu():
    for make in (rtx3090_host, h100_host):
        kwargs = spec_for(make()).docker_kwargs()
        assert kwargs["device_requests"] == [{"count": -1, "capabilities": [["gpu"]]}]
        assert "devices" not in kwargs and "group_add" not in kwargs


def test_the_plan_picks_the_cuda_build_the_driver_runs():
    assert spec_for(rtx3090_host()).image == "torchlab/lab-cuda-12.6:test"  # driver 525.147.05
    assert spec_for(h100_host()).image == "torchlab/lab-cuda-13.0:test"  # driver 590.48.01


def test_amd_hosts_get_kfd_and_dri_and_the_hosts_video_and_render_groups():
    kwargs = spec_for(mi210_host()).docker_kwargs()
    assert kwargs["devices"] == ["/dev/kfd:/dev/kfd:rwm", "/dev/dri:/dev/dri:rwm"]
    assert kwargs["group_add"] == ["44", "992"]
    assert "device_requests" not in kwargs
    assert dict(spec_for(mi210_host()).labels)["torchlab.variant"] == "rocm-7.2"


def test_a_gpu_host_asked_for_cpu_gets_no_gpu():
    kwargs = spec_for(rtx3090_host(), variant="cpu").docker_kwargs()
    assert "device_requests" not in kwargs
    assert kwargs["labels"]["torchlab.variant"] == "cpu" and kwargs["labels"]["torchlab.device"] == "cpu"


def test_labels_name_the_lab_and_are_enough_for_status():
    labels = spec_for(h100_host()).docker_kwargs()["labels"]
    assert labels == {
        "torchlab.lab": "module-1", "torchlab.version": "1.0.0",
        "torchlab.workspace": str(DATA_DIR / "workspaces/module-1"), "torchlab.variant": "cuda-13.0",
        "torchlab.device": "cuda", "torchlab.runtime": "docker", "torchlab.data_dir": str(DATA_DIR),
    }


def test_a_requested_port_is_published_on_loopback_only():
    assert spec_for(cpu_host(), port=8899).docker_kwargs()["ports"] == {"8888/tcp": ("127.0.0.1", 8899)}


def test_no_jupyter_publishes_nothing_and_waits():
    target = LabTarget("module-0", "1.0.0", "cpu", "cpu", DATA_DIR / "w", DATA_DIR)
    spec = build_runspec(target, "img", (1000, 1000), TOKEN, jupyter=False)
    assert spec.ports == () and spec.command == ("sleep", "infinity")


@pytest.mark.parametrize("euid,egid,env,expected", [
    (1001, 1002, {}, (1001, 1002)),  # a user runs torchlab: the lab is theirs
    (0, 0, {"SUDO_UID": "1005", "SUDO_GID": "1006"}, (1005, 1006)),  # sudo torchlab: the user sudo came from
    (0, 0, {}, (1000, 1000)),  # root itself: the image's learner, never root
    (0, 0, {"SUDO_UID": "0", "SUDO_GID": "0"}, (1000, 1000)),
])
def test_the_lab_user_is_never_root(euid, egid, env, expected):
    assert lab_user(euid, egid, env) == expected


def test_a_root_user_given_to_build_runspec_becomes_the_learner():
    target = LabTarget("module-0", "1.0.0", "cpu", "cpu", DATA_DIR / "w", DATA_DIR)
    assert build_runspec(target, "img", (0, 0), TOKEN).user == "1000:1000"


def test_container_names_differ_per_data_folder_and_are_stable():
    assert container_name("module-1", DATA_DIR) == container_name("module-1", DATA_DIR)
    assert container_name("module-1", DATA_DIR) != container_name("module-1", Path("/srv/other"))
    assert container_name("module-1", DATA_DIR).startswith("torchlab-module-1-")


def test_the_token_and_url_come_back_from_the_command():
    spec = spec_for(cpu_host())
    assert token_from_command(spec.command) == TOKEN
    assert lab_url(49153, TOKEN) == f"http://127.0.0.1:49153/?token={TOKEN}"  # "/" sends it on to the first page


def test_docker_on_a_mac_runs_the_lab_on_the_cpu():
    facts = parse_collect_env(fixture_text("collect_env_macos_mps-arm64_1.txt"))
    facts = replace(facts, apple=replace(facts.apple, macos_version="14.5"), docker=DOCKER_OK)
    plan = make_plan(facts)
    assert (plan.runtime, plan.device) == ("native", "mps")
    choice = choose(plan, facts, "docker")
    assert (choice.runtime, choice.device) == ("docker", "cpu")
    assert any("Apple GPU cannot enter" in reason for reason in choice.reasons)


def test_asking_for_cuda_on_a_host_without_one_is_refused_with_the_cpu_way_out():
    with pytest.raises(UserError) as caught:
        choose(make_plan(cpu_host()), cpu_host(), "docker", "cuda")
    assert caught.value.exit_code == 3
    assert "--variant cpu" in caught.value.format_message()


def test_docker_asked_for_but_permission_denied_says_the_doctors_fix():
    facts = HostFacts(os=linux("os-release_debian-13.txt"),
                      docker=DockerFacts(state="permission-denied", detail="permission denied", socket="/var/run/docker.sock"))
    with pytest.raises(UserError) as caught:
        choose(make_plan(facts), facts, "docker")
    assert caught.value.exit_code == 3
    assert "usermod -aG docker" in caught.value.format_message()
    assert choose(make_plan(facts), facts).runtime == "native"  # auto: native, with the plan's reason


def test_an_engine_that_does_not_answer_is_not_a_reason_to_switch_runtimes():
    facts = HostFacts(os=linux("os-release_debian-13.txt"),
                      docker=DockerFacts(state="error", detail="Read timed out. (read timeout=5)"))
    with pytest.raises(UserError) as caught:
        choose(make_plan(facts), facts)
    assert caught.value.exit_code == 3
    assert "Docker did not answer (Read timed out. (read timeout=5))" in caught.value.format_message()
    assert choose(make_plan(facts), facts, "native").runtime == "native"


def test_each_data_folder_and_user_has_its_own_home_volume():
    assert home_volume(DATA_DIR, 1000) == home_volume(DATA_DIR, 1000)
    assert home_volume(DATA_DIR, 1000) != home_volume(DATA_DIR, 1001)
    assert home_volume(DATA_DIR, 1000) != home_volume(Path("/srv/other"), 1000)
    target = LabTarget("module-0", "1.0.0", "cpu", "cpu", DATA_DIR / "w", DATA_DIR)
    assert build_runspec(target, "img", (0, 0), TOKEN).mounts[1].source == home_volume(DATA_DIR, 1000)


# --- JupyterLab's start (decide.jupyter.START), run here as the lab's Python runs it --------------


def run_start(tmp_path: Path, names: list[str], lab: str = "module-4", device: str = "cuda"):
    """START on a workspace holding names, with a "JupyterLab" that prints what it was given."""
    workspace, home = tmp_path / "work", tmp_path / "jupyter"
    workspace.mkdir()
    for name in names:
        (workspace / name).write_text("{}", encoding="utf-8")
    echo = (sys.executable, "-c", "import json, os, sys; print(json.dumps([sys.argv[1:], os.environ['JUPYTER_PATH']]))")
    argv = start_command(sys.executable, str(home), str(workspace), lab, device, echo)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "JUPYTER_PATH": "/elsewhere"})
    assert done.returncode == 0, done.stderr
    args, jupyter_path = json.loads(done.stdout)
    return args, jupyter_path, json.loads((home / "kernels" / "python3" / "kernel.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("names,page", [
    (["README.md", "02_b.ipynb", "01_a b.ipynb", ".01_hidden.ipynb", "notes.txt"], "01_a b.ipynb"),
    (["README.md", "exercises.py"], "README.md"),
    (["exercises.py"], None),
])
def test_jupyterlab_opens_the_first_notebook_else_the_readme(tmp_path, names, page):
    args, _, _ = run_start(tmp_path, names)
    assert first_page(names) == page
    assert tuple(args) == default_url_arg(page)
    if page == "01_a b.ipynb":
        assert args == ["--LabApp.default_url=/lab/tree/01_a%20b.ipynb"]


def test_the_kernel_is_named_for_the_lab_its_torch_and_device_and_comes_first(tmp_path):
    _, jupyter_path, kernel = run_start(tmp_path, ["01_a.ipynb"], lab="module-4", device="cuda")
    try:
        torch = importlib.metadata.version("torch").split("+")[0]
    except importlib.metadata.PackageNotFoundError:
        torch = "not installed"
    assert kernel == kernelspec(sys.executable, kernel_name("module-4", "cuda", torch))
    assert kernel["display_name"] == f"module-4 · torch {torch} · cuda"
    assert jupyter_path.split(os.pathsep) == [str(tmp_path / "jupyter"), "/elsewhere"]


def test_the_container_starts_jupyterlab_through_start_with_the_lab_and_device():
    command = spec_for(h100_host()).command
    assert command[:3] == (IMAGE_PYTHON, "-c", START)
    assert command[3:6] == (JUPYTER_HOME, CONTAINER_WORKSPACE, "module-1 · torch {torch} · cuda")
    assert command[6:8] == ("jupyter", "lab")


def test_the_native_runtime_writes_the_same_kernel_page_and_settings(tmp_path):
    env_dir, home, workspace = tmp_path / "env", tmp_path / "jupyter", tmp_path / "work"
    workspace.mkdir()
    for name in ("README.md", "02_b.ipynb", "01_a.ipynb"):
        (workspace / name).write_text("{}", encoding="utf-8")
    args = prepare_jupyter(env_dir, home, workspace, "module-0", "mps", "2.13.0+cpu")
    assert args == ("--LabApp.default_url=/lab/tree/01_a.ipynb",)
    kernel = json.loads((home / "kernels" / "python3" / "kernel.json").read_text(encoding="utf-8"))
    assert kernel["display_name"] == "module-0 · torch 2.13.0 · mps"
    assert kernel["argv"][0] == str(venv_python(env_dir))
    overrides = json.loads((env_dir / "share/jupyter/lab/settings/overrides.json").read_text(encoding="utf-8"))
    assert overrides == json.loads((recipe_dir() / JUPYTERLAB_SETTINGS).read_text(encoding="utf-8"))
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"  # no news prompt
