"""Lab images as data: the variant, the torch source, the build context and the image name.

No engine here: GPU variants cannot be built or run on this machine, so their build arguments
and run-time device flags are checked as data (golden files under tests/golden/), from plans
that the real decide makes of real recorded outputs (tests/fixtures).
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
from pathlib import Path

import pytest
from recorded import FIXTURES, fixture_text
from imagekit import PEM, TORCH_WHEEL, make_world, spec_of
from labkit import REPO, make_lab

from torchlab import __version__
from torchlab.decide.choice import VariantChoice, choose_variant
from torchlab.decide.plan import make_plan
from torchlab.doctor.diagnose import read_report
from torchlab.errors import USAGE, UserError
from torchlab.facts import AmdFacts, HostFacts, OSFacts
from torchlab.images.spec import lab_requirements, torch_index_url
from torchlab.images.store import CONTEXT_MTIME, write_context
from torchlab.probe.amd import amd_gpu_from_kfd
from torchlab.probe.nvidia import parse_smi_xml
from torchlab.decide.runspec import GpuGroups, LabTarget, build_runspec

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    return make_world(tmp_path)


# --- the name ---------------------------------------------------------------------------------


def test_name_is_variant_version_and_short_hash(world) -> None:
    spec = spec_of(world)
    assert re.fullmatch(r"[0-9a-f]{64}", spec.digest)
    assert spec.name == f"torchlab/lab-cpu:{__version__}-{spec.digest[:12]}"
    assert spec.remote_name("127.0.0.1:5000/torchlab/") == f"127.0.0.1:5000/torchlab/lab-cpu:{spec.tag}"
    assert spec.labels()["org.torchlab.digest"] == spec.digest


def test_same_inputs_same_name(world) -> None:
    assert spec_of(world).name == spec_of(world).name


def _edit(path: Path, extra: bytes = b"\n# changed\n") -> None:
    path.write_bytes(path.read_bytes() + extra)


CHANGES = {
    "Dockerfile bytes": lambda w: _edit(w["recipe"] / "Dockerfile"),
    "a recipe script": lambda w: _edit(w["recipe"] / "install-packages"),
    "a lab's packages": lambda w: make_lab(w["labs"], "module-1", packages=["numpy", "scipy"]),
    "a lab file": lambda w: _edit(w["labs"] / "module-1" / "smoke" / "checks.py"),
    "the smoke runner": lambda w: _edit(w["labs"] / "_smoke" / "runner.py"),
    "a new lab": lambda w: make_lab(w["labs"], "module-2"),
    "a wheel's size": lambda w: _edit(w["wheels"] / "sympy-1.13.3-py3-none-any.whl", b"x"),
    "a wheel's name": lambda w: (w["wheels"] / "sympy-1.13.3-py3-none-any.whl").rename(w["wheels"] / "sympy-1.14.0-py3-none-any.whl"),
    "a new wheel": lambda w: (w["wheels"] / "six-1.17.0-py2.py3-none-any.whl").write_bytes(b"6"),
    "the CA bundle bytes": lambda w: _edit(w["ca"], PEM),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_name_changes_when_an_input_changes(world, change: str) -> None:
    before = spec_of(world)
    CHANGES[change](world)
    after = spec_of(world)
    assert after.digest != before.digest
    assert after.repository == before.repository == "torchlab/lab-cpu"


SETTING_CHANGES = {
    "base image": {"TORCHLAB_BASE_IMAGE": "python:3.11-slim"},
    "index url": {"TORCHLAB_INDEX_URL": "https://mirror.example/simple"},
    "no CA bundle": {"TORCHLAB_CA_BUNDLE": ""},
}


@pytest.mark.parametrize("setting", sorted(SETTING_CHANGES))
def test_name_changes_with_a_build_setting(world, setting: str) -> None:
    assert spec_of(world, **SETTING_CHANGES[setting]).digest != spec_of(world).digest


def _pycache(lab_dir: Path) -> None:
    (lab_dir / "smoke" / "__pycache__").mkdir()
    (lab_dir / "smoke" / "__pycache__" / "checks.cpython-311.pyc").write_bytes(b"\0")


NO_CHANGES = {
    "a file that is no wheel in the wheelhouse": lambda w: (w["wheels"] / "README.txt").write_text("hi"),
    "a wheel's mtime": lambda w: os.utime(w["wheels"] / TORCH_WHEEL, (1, 1)),
    "a lab's __pycache__": lambda w: _pycache(w["labs"] / "module-1"),
}


@pytest.mark.parametrize("change", sorted(NO_CHANGES))
def test_name_stays_when_nothing_that_goes_in_changes(world, change: str) -> None:
    before = spec_of(world)
    NO_CHANGES[change](world)
    # Settings that do not go into the image change nothing either.
    assert spec_of(world, TORCHLAB_REGISTRY="127.0.0.1:5000/torchlab", TORCHLAB_DATA_DIR="/elsewhere").name == before.name


def test_variant_changes_repository_and_torch_spec(world) -> None:
    cuda = spec_of(world, choice=VariantChoice("cuda-12.6", "cu126", "2.13.0", "test"), TORCHLAB_WHEELHOUSE="")
    assert cuda.name.startswith(f"torchlab/lab-cuda-12.6:{__version__}-")
    assert cuda.build_args["TORCH_SPEC"] == "torch==2.13.0+cu126"
    assert cuda.build_args["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/cu126"


# --- where torch comes from ---------------------------------------------------------------


def test_wheelhouse_gives_torch_and_no_torch_index(world) -> None:
    spec = spec_of(world)
    assert spec.build_args["TORCH_INDEX_URL"] == ""
    assert spec.build_args["TORCH_SPEC"] == "torch==2.13.0+cpu"
    assert spec.torch_source == f"wheelhouse {world['wheels'] / TORCH_WHEEL}"


def test_torch_index_url_per_variant_unless_configured() -> None:
    assert torch_index_url("cpu", None) == "https://download.pytorch.org/whl/cpu"
    assert torch_index_url("rocm7.2", None) == "https://download.pytorch.org/whl/rocm7.2"
    assert torch_index_url("cu126", "https://mirror.example/simple") == "https://mirror.example/simple"


def test_configured_index_serves_torch_and_the_labs(world) -> None:
    spec = spec_of(world, TORCHLAB_WHEELHOUSE="", TORCHLAB_INDEX_URL="https://mirror.example/simple")
    assert spec.build_args["TORCH_INDEX_URL"] == "https://mirror.example/simple"
    assert spec.build_args["INDEX_URL"] == "https://mirror.example/simple"


def test_wheelhouse_without_the_torch_wheel_names_what_was_looked_for(world) -> None:
    (world["wheels"] / TORCH_WHEEL).rename(world["wheels"] / "torch-2.12.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")
    with pytest.raises(UserError) as error:
        spec_of(world)
    assert error.value.exit_code == USAGE
    message = error.value.format_message()
    assert "torch-2.13.0+cpu-*.whl" in message and str(world["wheels"]) in message
    assert "found: torch-2.12.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl" in message


def test_wheel_named_with_url_encoded_plus_is_found(world) -> None:
    (world["wheels"] / TORCH_WHEEL).rename(world["wheels"] / TORCH_WHEEL.replace("+", "%2B"))
    assert spec_of(world).torch_source.endswith("torch-2.13.0%2Bcpu-cp311-cp311-manylinux_2_28_x86_64.whl")


def test_offline_index_needs_a_wheelhouse(world) -> None:
    assert spec_of(world, TORCHLAB_INDEX_URL="none").build_args["INDEX_URL"] == "none"
    with pytest.raises(UserError, match="TORCHLAB_WHEELHOUSE") as error:
        spec_of(world, TORCHLAB_INDEX_URL="none", TORCHLAB_WHEELHOUSE="")
    assert error.value.exit_code == USAGE


def test_missing_ca_bundle_is_named(world) -> None:
    missing = world["root"] / "corp-ca.pem"
    with pytest.raises(UserError) as error:
        spec_of(world, TORCHLAB_CA_BUNDLE=str(missing))
    assert error.value.exit_code == USAGE
    assert error.value.format_message() == (
        f"CA bundle {missing} (from env TORCHLAB_CA_BUNDLE): not found; expected a PEM file of CA certificates"
    )


def test_ca_bundle_without_certificates_is_refused(world) -> None:
    world["ca"].write_text("not a certificate\n")
    with pytest.raises(UserError, match="no PEM certificate"):
        spec_of(world)


def test_wheelhouse_that_is_no_folder_is_refused(world) -> None:
    with pytest.raises(UserError, match=r"wheelhouse .*: not a folder") as error:
        spec_of(world, TORCHLAB_WHEELHOUSE=str(world["ca"]))
    assert error.value.exit_code == USAGE


# --- the packages and the context -----------------------------------------------------------


def test_lab_requirements_once_each_sorted_without_torch() -> None:
    packages = ("transformers>=4.46", "numpy", "torch>=2.1", "Torch", "numpy", "torchvision", " ")
    assert lab_requirements(packages) == ("numpy", "torchvision", "transformers>=4.46")


def test_context_layout(world) -> None:
    spec = spec_of(world)
    files = {f.path: f for f in spec.context}
    assert set(files) == {
        "Dockerfile", "setup-system.sh", "install-packages", "prune-torch",
        "certs/extra-ca.crt", "lab-requirements.txt",
        f"wheels/torch/{TORCH_WHEEL}",
        "wheels/torch/nvidia_nccl_cu12-2.21.5-py3-none-manylinux2014_x86_64.whl",
        "wheels/other/sympy-1.13.3-py3-none-any.whl",
        "smoke/runner.py",
        "labs/module-1/lab.toml", "labs/module-1/smoke/checks.py",
        "labs/module-6/lab.toml", "labs/module-6/smoke/checks.py",
    }
    assert files["certs/extra-ca.crt"].data == PEM
    assert files["lab-requirements.txt"].data == b"numpy\ntransformers>=4.46\n"
    assert spec.packages == ("numpy", "transformers>=4.46")
    assert [p for p, f in files.items() if f.executable] == ["install-packages", "prune-torch", "setup-system.sh"]


def test_context_tar_has_every_folder_fixed_times_and_modes(world) -> None:
    spec = spec_of(world, TORCHLAB_WHEELHOUSE="", TORCHLAB_CA_BUNDLE="")
    buffer = io.BytesIO()
    write_context(spec, buffer)
    buffer.seek(0)
    with tarfile.open(fileobj=buffer) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert {"wheels/torch", "wheels/other", "certs", "smoke", "labs", "labs/module-1/smoke"} <= {
            name for name, m in members.items() if m.isdir()}
        assert tar.extractfile("certs/extra-ca.crt").read() == b""  # type: ignore[union-attr]
        assert tar.extractfile("Dockerfile").read() == (REPO / "images" / "Dockerfile").read_bytes()  # type: ignore[union-attr]
    assert {m.mtime for m in members.values()} == {CONTEXT_MTIME}
    assert members["install-packages"].mode == 0o755 and members["Dockerfile"].mode == 0o644


# --- the variant ------------------------------------------------------------------------------


def plan_of(facts: HostFacts):
    return make_plan(facts)


def picked(wanted: str, plan, torch_version: str = "2.13.0") -> tuple[str, str]:
    choice = choose_variant(wanted, plan, torch_version)
    return choice.variant, choice.torch_index


def test_auto_takes_the_plans_variant() -> None:
    nvidia = parse_smi_xml(fixture_text("nvidia-smi-q-x_RTX3080_595.58.03.xml"))
    plan = plan_of(HostFacts(os=OSFacts("Linux", "Ubuntu 24.04"), nvidia=nvidia))
    assert picked("auto", plan) == ("cuda-13.0", "cu130")
    assert picked("cuda", plan) == ("cuda-13.0", "cu130")
    assert picked("cpu", plan) == ("cpu", "cpu")


def test_gpu_families_on_a_host_without_that_gpu_get_a_default_build() -> None:
    cpu_plan = plan_of(read_report(FIXTURES / "collect_env_linux_cpu_1.txt"))
    assert cpu_plan.variant == "cpu"
    assert picked("cuda", cpu_plan) == ("cuda-12.6", "cu126")  # 2.13's oldest stable CUDA
    assert picked("rocm", cpu_plan) == ("rocm-7.2", "rocm7.2")
    assert picked("cuda-13.0", None) == ("cuda-13.0", "cu130")


@pytest.mark.parametrize("wanted", ["tpu", "cuda-99.9", "cuda-", "rocm-x", "rocm-9.9"])
def test_unknown_variant_is_a_usage_error(wanted: str) -> None:
    with pytest.raises(UserError, match=f"--variant {re.escape(wanted)}") as error:
        choose_variant(wanted, None, "2.13.0")
    assert error.value.exit_code == USAGE


# --- golden build arguments and run-time device flags per host profile -------------------------

LINUX = OSFacts("Linux", "Ubuntu 24.04.3 LTS")


def profile_facts(profile: str) -> HostFacts:
    """Each host profile, from a real recorded output fed to the real parser."""
    if profile == "linux-cpu":
        return read_report(FIXTURES / "collect_env_linux_cpu_1.txt")
    if profile.startswith("nvidia-"):
        fixture = {"nvidia-rtx4090-535": "nvidia-smi-q-x_RTX4090_535.86.05.xml",
                   "nvidia-rtx3080-595": "nvidia-smi-q-x_RTX3080_595.58.03.xml",
                   "nvidia-gtx1660ti-418": "nvidia-smi-q-x_GTX1660Ti_418.43.xml"}[profile]
        return HostFacts(os=LINUX, nvidia=parse_smi_xml(fixture_text(fixture)))
    gpu = amd_gpu_from_kfd(2, fixture_text("kfd-properties_MI210_node2-gpu-gfx90a.txt"))
    return HostFacts(os=LINUX, amd=AmdFacts(source="kfd", gpus=(gpu,)))  # type: ignore[arg-type]


PROFILES = ("linux-cpu", "nvidia-rtx4090-535", "nvidia-rtx3080-595", "nvidia-gtx1660ti-418", "amd-mi210")
GROUPS = GpuGroups(video=44, render=993)  # the host's group ids: inputs of this test


def golden_document(world, profile: str) -> dict[str, object]:
    plan = make_plan(profile_facts(profile))
    choice = choose_variant("auto", plan, plan.torch_version)
    spec = spec_of(world, choice=choice, TORCHLAB_WHEELHOUSE="", TORCHLAB_CA_BUNDLE="", TORCHLAB_BASE_IMAGE="")
    target = LabTarget("module-1", "1.0.0", spec.variant, plan.device, world["root"] / "ws", world["root"] / "data")
    run = build_runspec(target, spec.name, (1000, 1000), "token", groups=GROUPS).docker_kwargs()
    return {
        "profile": profile,
        "variant": spec.variant,
        "repository": spec.repository,
        "build_args": spec.build_args,
        "run_time_device_flags": {key: run[key] for key in ("device_requests", "devices", "group_add") if key in run},
    }


@pytest.mark.parametrize("profile", PROFILES)
def test_build_args_and_device_flags_match_golden(world, profile: str) -> None:
    document = golden_document(world, profile)
    path = GOLDEN / f"images-{profile}.json"
    if os.environ.get("TORCHLAB_UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    assert document == json.loads(path.read_text(encoding="utf-8"))
