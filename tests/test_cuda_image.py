"""The cuda-13.0 lab image, built for real: from the local Debian base and PyPI's torch 2.13.0 (the
CUDA 13.0 build, with its CUDA libraries from PyPI's nvidia-* wheels), through `torchlab images
build --variant cuda-13.0` with a PyPI index, as a class behind a PyPI mirror builds it. No GPU is
needed to build it; on this host (no GPU) the image is run as such a host runs it:

* as the learner: torch imports, it is the cu130 build, the CUDA libraries it ships load, and
  `torch.cuda.is_available()` is False with torch's own reason;
* `torchlab smoke --device cuda` in the lab says in one line that cuda is not here (exit 3);
* JupyterLab answers with its token;
* `torchlab up --variant cuda` refuses with the doctor's finding (exit 3) and starts nothing.

The image (~5 GB; ~3.5 GB downloaded from PyPI on a cold build, a few minutes) is kept on the
engine: the next run finds it by name and reuses it, as `images build` always does.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import missing
from labkit import REAL_LABS
from upkit import Torchlab, ca_bundle, learner_home, make_torchlab, remove_home

from torchlab import engine
from torchlab.config import load_config
from torchlab.decide.choice import VariantChoice
from torchlab.decide.runspec import IMAGE_PYTHON, LABEL_PREFIX, LabTarget, build_runspec, home_volume
from torchlab.errors import HOST_UNFIT, UserError
from torchlab.images.inputs import read_inputs
from torchlab.images.progress import PlainProgress
from torchlab.images.spec import make_build_spec
from torchlab.images.store import build
from torchlab.knowledge import arch_list
from torchlab.lab.catalog import find_lab, load_catalog
from torchlab.lab.workspace import init_workspace
from torchlab.probe.index import why_index_fails
from torchlab.runtimes.docker import DockerRuntime, from_container, give_to_lab_user, host_gpu_groups, the_lab_user
from torchlab.runtimes.jupyter import api_status_url, http_status, wait_until_answers

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.cuda_image]

BASE = os.environ.get("TORCHLAB_TEST_BASE_IMAGE", "torchlab-ci/debian:bookworm")
PYPI = os.environ.get("TORCHLAB_TEST_PYPI_INDEX") or "https://pypi.org/simple"
SIZE_GOAL = 6e9  # bytes, uncompressed (peers' CUDA images run 5-15 GB)
BUILD_TIMEOUT_S = 2400

# Run in the image as the learner: what torch is, which CUDA libraries load, and why CUDA is absent.
PROBE = r"""
import ctypes, glob, json, os, warnings
import torch
site = os.path.dirname(os.path.dirname(torch.__file__))
loaded, failed = [], {}
for pattern in ("nvidia/cu13/lib/libcudart.so.*", "nvidia/cu13/lib/libcublas.so.*", "nvidia/cu13/lib/libcublasLt.so.*",
                "nvidia/cudnn/lib/libcudnn*.so.*", "nvidia/nccl/lib/libnccl.so.*", "nvidia/cu13/lib/libcufft.so.*",
                "nvidia/cu13/lib/libcusparse.so.*", "nvidia/cu13/lib/libcusolver.so.*", "nvidia/cu13/lib/libcurand.so.*",
                "nvidia/cu13/lib/libnvrtc.so.*", "nvidia/cu13/lib/libnvJitLink.so.*", "nvidia/cusparselt/lib/libcusparseLt.so.*"):
    for path in sorted(glob.glob(os.path.join(site, pattern))):
        try:
            ctypes.CDLL(path)
            loaded.append(os.path.basename(path))
        except OSError as exc:
            failed[os.path.basename(path)] = str(exc)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    available = torch.cuda.is_available()
try:
    torch.cuda.init()
    raised = ""
except Exception as exc:
    raised = str(exc)
print(json.dumps({"version": torch.__version__, "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
                  "arch_list": torch.cuda.get_arch_list(), "available": available,
                  "warnings": [str(w.message) for w in caught], "raised": raised, "loaded": loaded, "failed": failed,
                  "uid": os.getuid()}))
"""


def mirror_settings() -> dict[str, str]:
    """The settings of a class behind a PyPI mirror: no wheelhouse, the host's CA bundle (a TLS proxy)."""
    return {"TORCHLAB_BASE_IMAGE": BASE, "TORCHLAB_INDEX_URL": PYPI, "TORCHLAB_CA_BUNDLE": ca_bundle() or "",
            "TORCHLAB_LABS_DIR": str(REAL_LABS)}


def settings(home: Path) -> dict[str, str]:
    return {**mirror_settings(), "TORCHLAB_CONFIG": str(home / "no-config.toml"), "TORCHLAB_DATA_DIR": str(home / "data")}


def images_build(env: dict[str, str]) -> tuple[dict, str]:
    """`torchlab images build --variant cuda-13.0 --json`, as course staff run it."""
    done = subprocess.run([sys.executable, "-m", "torchlab", "images", "build", "--variant", "cuda-13.0", "--json"],
                          capture_output=True, text=True, env=env, timeout=BUILD_TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout), done.stderr


@pytest.fixture(scope="module")
def cuda_image(docker_engine, tmp_path_factory):
    if engine.image_info(docker_engine, BASE) is None:
        missing(f"base image {BASE} is not on the engine (.ci/make-base-image makes it)")
    if not ca_bundle():
        missing("no CA bundle for the build (PIP_CERT, SSL_CERT_FILE or REQUESTS_CA_BUNDLE)")
    why = why_index_fails(PYPI, "torch", Path(ca_bundle() or ""))
    if why is not None:
        missing(f"the PyPI index {PYPI} does not answer ({why}); set TORCHLAB_TEST_PYPI_INDEX to a mirror")
    home = learner_home("torchlab-cuda-")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TORCHLAB_")}, **settings(home)}
    document, stderr = images_build(env)
    yield {"client": docker_engine, "env": env, "document": document, "stderr": stderr, "home": home}
    remove_home(home)  # the image stays: the next run reuses it


def test_the_image_is_pypis_cuda_13_build_within_its_size_goal(cuda_image) -> None:
    document = cuda_image["document"]
    assert document["variant"] == "cuda-13.0" and document["action"] in ("built", "cached")
    assert document["image"].startswith("torchlab/lab-cuda-13.0:")
    info = engine.image_info(cuda_image["client"], document["image"])
    assert info.labels["org.torchlab.torch"] == "torch==2.13.0"  # PyPI's build: no local version to ask for
    assert info.labels["org.torchlab.variant"] == "cuda-13.0"
    assert 3e9 < info.size <= SIZE_GOAL, f"{info.size / 1e9:.2f} GB"  # the CUDA libraries are in it; under the goal
    if document["action"] == "built":
        assert f"torch from index {PYPI} (PyPI's torch 2.13.0 is the cu130 build)" in cuda_image["stderr"]


def test_a_second_build_reuses_the_image(cuda_image) -> None:
    again, stderr = images_build(cuda_image["env"])
    first = cuda_image["document"]
    assert (again["image"], again["id"], again["action"]) == (first["image"], first["id"], "cached")
    assert "Step " not in stderr


@pytest.fixture(scope="module")
def cuda_lab(cuda_image):
    """The lab of the cuda image, started from the run spec `up` makes for it, less the GPU request
    (this host has no GPU to give: the engine would refuse it); stopped after."""
    config, env = load_config(env=settings(cuda_image["home"])), cuda_image["env"]
    lab = find_lab(load_catalog(REAL_LABS), "module-0")
    workspace = config.data_dir / "workspaces" / lab.id
    init_workspace(lab, workspace)
    give_to_lab_user(workspace, env)
    token = secrets.token_hex(24)
    target = LabTarget(lab.id, lab.version, "cuda-13.0", "cpu", workspace, config.data_dir)
    spec = build_runspec(target, cuda_image["document"]["image"], the_lab_user(env), token, None, True, host_gpu_groups())
    assert spec.gpu_request  # `up` asks for the GPU of a cuda variant
    running = from_container(engine.start_container(cuda_image["client"], replace(spec, gpu_request=False).docker_kwargs()))
    runtime = DockerRuntime(config, env)
    try:
        assert running.port is not None
        wait_until_answers(running.port, token, 300, lambda: runtime.why_stopped(running))
        yield {"runtime": runtime, "running": running, "token": token, "config": config}
    finally:
        runtime.stop(lab.id)
        engine.remove_volume(cuda_image["client"], home_volume(config.data_dir, the_lab_user(cuda_image["env"])[0]))


def test_as_the_learner_torch_is_the_cu130_build_and_its_cuda_libraries_load(cuda_lab) -> None:
    running = cuda_lab["running"]
    result = cuda_lab["runtime"].run_in(running, [IMAGE_PYTHON, "-c", PROBE], 300, "the CUDA probe")
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout)
    assert found["uid"] != 0 and str(found["uid"]) == running.user.split(":")[0]
    assert (found["version"], found["cuda"]) == ("2.13.0+cu130", "13.0")
    assert found["cudnn"] >= 90000  # cuDNN 9 (nvidia-cudnn-cu13)
    assert tuple(found["arch_list"]) == arch_list("2.13.0+cu130")  # the knowledge table's row, observed
    assert found["failed"] == {}
    for library in ("libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcudnn.so.9", "libcudnn_ops.so.9",
                    "libcudnn_cnn.so.9", "libnccl.so.2", "libnvrtc.so.13", "libcusparseLt.so.0"):
        assert library in found["loaded"], library
    # No driver in the container: torch says so when CUDA is initialised (2.13 warns nothing on is_available).
    assert found["available"] is False
    assert found["raised"].startswith("Found no NVIDIA driver on your system"), found


def test_smoke_on_cuda_in_the_lab_is_one_line_exit_3_with_torchs_reason(cuda_lab, cuda_image) -> None:
    """`torchlab smoke` finds the running lab and runs the runner in its container, as its user."""
    done = Torchlab(cuda_image["home"], extra_env=settings(cuda_image["home"])).run(
        "smoke", "module-0", "--device", "cuda", "--json", timeout=600)
    assert done.returncode == 3, done.stderr[-2000:]
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert lines == [
        "torchlab: error: device 'cuda' is not available here (torch 2.13.0+cu130 says: Found no NVIDIA driver on "
        "your system. Please check that you have an NVIDIA GPU and installed a driver from "
        "http://www.nvidia.com/Download/index.aspx); this torch sees cpu"
    ], done.stderr


def test_jupyterlab_answers_with_its_token_only(cuda_lab) -> None:
    port, running = cuda_lab["running"].port, cuda_lab["running"]
    wait_until_answers(port, cuda_lab["token"], 120, lambda: cuda_lab["runtime"].why_stopped(running))  # a busy host
    assert http_status(api_status_url(port), cuda_lab["token"], timeout=10) == 200
    assert http_status(api_status_url(port), None, timeout=10) == 403


def test_up_variant_cuda_on_a_host_without_a_gpu_refuses_with_the_doctor_finding_and_starts_nothing(cuda_image) -> None:
    learner = make_torchlab("torchlab-cuda-up-", with_docker=True, **mirror_settings())
    try:
        _, doctor = learner.json("doctor", timeout=300)
        if doctor["plan"]["variant"].startswith("cuda"):
            pytest.skip("this host has an NVIDIA GPU that torch can use: `up --variant cuda` is not refused here")
        finding = next(f for f in doctor["findings"] if f["id"].split(".")[0] in ("gpu", "nvidia", "amd", "apple", "wsl")
                       and f["status"] in ("warn", "fail"))
        started = time.time()
        done = learner.run("up", "module-0", "--variant", "cuda", "--json", timeout=300)
        client = cuda_image["client"]
        assert done.returncode == 3 and done.stdout == ""
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(
            "torchlab: error: --variant cuda: this host has no NVIDIA GPU that torch 2.13.0 can use ("), done.stderr
        assert f"doctor: {finding['id']}: {finding['title']}" in lines[0] and "use --variant cpu" in lines[0]
        # Nothing started: no container, no workspace, no image build.
        assert engine.find_containers(client, {f"{LABEL_PREFIX}data_dir": str(learner.data_dir)}) == []
        assert not (learner.data_dir / "workspaces").exists()
        made = [i for i in engine.list_images(client, "org.torchlab.variant")
                if i.labels["org.torchlab.variant"].startswith("cuda") and i.created[:19] >= time.strftime(
                    "%Y-%m-%dT%H:%M:%S", time.gmtime(started))]
        assert made == []
    finally:
        remove_home(learner.home)


def test_a_build_whose_pytorch_index_does_not_answer_stops_before_any_layer(docker_engine, tmp_path: Path) -> None:
    """cuda-12.6 is not PyPI's build: with a PyPI index it comes from download.pytorch.org/whl/cu126;
    where that cannot be reached (a closed port stands for it here) the build stops at once, exit 3."""
    config = load_config(env=settings(tmp_path))
    spec = make_build_spec(VariantChoice("cuda-12.6", "cu126", "2.13.0", "test"), config,
                           read_inputs(config, load_catalog(REAL_LABS)))
    assert spec.torch_only_on == "https://download.pytorch.org/whl/cu126"
    closed = replace(spec, torch_only_on="http://127.0.0.1:9/whl/cu126")  # the discard port: nothing listens
    events: list[dict] = []
    progress = PlainProgress(open(os.devnull, "w"))  # noqa: SIM115
    progress.event = events.append  # type: ignore[method-assign]
    with pytest.raises(UserError) as error:
        build(docker_engine, closed, progress)
    assert error.value.exit_code == HOST_UNFIT
    assert "is only on the PyTorch wheel index http://127.0.0.1:9/whl/cu126, which cannot be reached" in error.value.format_message()
    assert events == [] and engine.image_info(docker_engine, closed.name) is None  # no build step ran
