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
from dataclasses import replace
from pathlib import Path

import pytest
from recorded import FIXTURES, fixture_text
from imagekit import CPU, PEM, TORCH_WHEEL, env_of, make_world, spec_of
from labkit import REPO, make_lab

from torchlab import __version__
from torchlab.decide.choice import VariantChoice, choose, choose_variant
from torchlab.decide.plan import make_plan
from torchlab.doctor.diagnose import read_report
from torchlab.config import load_config
from torchlab.errors import HOST_UNFIT, USAGE, UserError
from torchlab.images.inputs import read_inputs
from torchlab.images.spec import make_build_spec
from torchlab.lab.catalog import load_catalog
from torchlab.facts import AmdFacts, HostFacts, OSFacts
from torchlab.images.spec import WHEELHOUSE_HOST, WHEELHOUSE_PORT, is_pytorch_index, lab_requirements
from torchlab.images.store import CONTEXT_MTIME, check_torch_index, served_wheelhouse, write_context
from torchlab.knowledge import PYPI_CUDA_BUILDS, TORCH_RELEASES, pypi_cuda_build
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
    "the torch wheel's size (served, not in the context)": lambda w: _edit(w["wheels"] / TORCH_WHEEL, b"x"),
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


CUDA_130 = VariantChoice("cuda-13.0", "cu130", "2.13.0", "test")
CUDA_126 = VariantChoice("cuda-12.6", "cu126", "2.13.0", "test")
PYPI_LIKE = ("https://pypi.org/simple", "https://mirror.example/simple", "https://devpi.corp.example/acme/pypi/+simple/")


def test_without_an_index_each_build_comes_from_its_pytorch_index(world) -> None:
    for choice, tag in ((CPU, "cpu"), (CUDA_126, "cu126"), (CUDA_130, "cu130"),
                        (VariantChoice("rocm-7.2", "rocm7.2", "2.13.0", "test"), "rocm7.2")):
        spec = spec_of(world, choice=choice, TORCHLAB_WHEELHOUSE="")
        assert spec.build_args["TORCH_SPEC"] == f"torch==2.13.0+{tag}"
        assert spec.build_args["TORCH_INDEX_URL"] == f"https://download.pytorch.org/whl/{tag}"
        assert spec.torch_only_on is None  # nothing configured: no index to fall back from


def test_only_download_pytorch_org_is_the_pytorch_index() -> None:
    assert is_pytorch_index("https://download.pytorch.org/whl/cu126")
    assert is_pytorch_index("https://download.pytorch.org/whl")
    for url in PYPI_LIKE + ("https://download.pytorch.org.evil.example/whl/cu126",):
        assert not is_pytorch_index(url), url


def test_a_pypi_index_serves_pypis_own_build_as_a_plain_version(world) -> None:
    spec = spec_of(world, choice=CUDA_130, TORCHLAB_WHEELHOUSE="", TORCHLAB_INDEX_URL="https://pypi.org/simple")
    assert spec.build_args["TORCH_SPEC"] == "torch==2.13.0" and spec.torch_spec == "torch==2.13.0"
    assert spec.build_args["TORCH_INDEX_URL"] == spec.build_args["INDEX_URL"] == "https://pypi.org/simple"
    assert spec.torch_only_on is None
    assert spec.reasons["torch"] == "torch==2.13.0 from index https://pypi.org/simple (PyPI's torch 2.13.0 is the cu130 build)"


def test_a_pypi_index_sends_other_builds_to_the_pytorch_index_and_says_why(world) -> None:
    spec = spec_of(world, choice=CUDA_126, TORCHLAB_WHEELHOUSE="", TORCHLAB_INDEX_URL="https://mirror.example/simple")
    assert spec.build_args["TORCH_SPEC"] == "torch==2.13.0+cu126"
    assert spec.build_args["TORCH_INDEX_URL"] == spec.torch_only_on == "https://download.pytorch.org/whl/cu126"
    assert spec.build_args["INDEX_URL"] == "https://mirror.example/simple"  # the labs' packages still come from it
    assert "only the cu130 build of torch 2.13.0" in spec.reasons["torch"]


def test_an_index_on_download_pytorch_org_serves_torch_from_its_folder_for_the_build(world) -> None:
    spec = spec_of(world, choice=CUDA_130, TORCHLAB_WHEELHOUSE="", TORCHLAB_INDEX_URL="https://download.pytorch.org/whl/cu126")
    assert spec.build_args["TORCH_SPEC"] == "torch==2.13.0+cu130"
    assert spec.build_args["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/cu130"
    assert spec.torch_only_on is None


def table_builds() -> list[VariantChoice]:
    """Every (torch release, build) of the knowledge tables, for releases whose PyPI build is known."""
    choices = []
    for release in TORCH_RELEASES:
        version = f"{release.minor}.0"
        if pypi_cuda_build(version) is None:
            continue
        choices.append(VariantChoice("cpu", "cpu", version, "table"))
        for cuda in release.cuda:
            tag = "cu" + cuda.replace(".", "")
            choices.append(VariantChoice(f"cuda-{cuda}", tag, version, "table", "cuda"))
        choices += [VariantChoice(f"rocm-{rocm}", f"rocm{rocm}", version, "table", "cuda") for rocm in release.rocm]
    return choices


@pytest.mark.parametrize("index_url", PYPI_LIKE)
def test_a_plan_with_a_pypi_index_never_asks_it_for_a_version_pypi_cannot_have(world, index_url: str) -> None:
    """Over every torch release x build of the tables: what the torch step asks the configured
    (PyPI-like) index for is a plain version whose PyPI build is the plan's; anything with a local
    version (+cu126, +cpu, +rocm7.2) is asked of PyTorch's index for that build, which is checked
    before the build."""
    choices = table_builds()
    assert len(choices) > 80 and {c.torch_version for c in choices} >= {"2.13.0", "2.7.0", "1.8.0"}
    config = load_config(env=env_of(world, TORCHLAB_WHEELHOUSE="", TORCHLAB_INDEX_URL=index_url))
    inputs = read_inputs(config, load_catalog(world["labs"]), recipe=world["recipe"])
    plain = 0
    for choice in choices:
        spec = make_build_spec(choice, config, inputs)
        asked = spec.build_args["TORCH_INDEX_URL"] or spec.build_args["INDEX_URL"]  # the Dockerfile's fallback
        requirement = spec.build_args["TORCH_SPEC"]
        if asked == index_url:
            assert "+" not in requirement, (choice, requirement)
            assert requirement == f"torch=={choice.torch_version}" and choice.torch_index == pypi_cuda_build(choice.torch_version)
            plain += 1
        else:
            assert requirement == f"torch=={choice.torch_version}+{choice.torch_index}"
            assert asked == spec.torch_only_on == f"https://download.pytorch.org/whl/{choice.torch_index}"
    assert plain == len({row.torch for row in PYPI_CUDA_BUILDS} & {r.minor for r in TORCH_RELEASES})


def test_the_pytorch_index_that_does_not_answer_is_one_line_exit_3_with_the_fix(world) -> None:
    spec = spec_of(world, choice=CUDA_126, TORCHLAB_WHEELHOUSE="", TORCHLAB_INDEX_URL="https://mirror.example/simple")
    closed = replace(spec, torch_only_on="http://127.0.0.1:9/whl/cu126")  # the discard port: nothing listens
    with pytest.raises(UserError) as error:
        check_torch_index(closed)
    assert error.value.exit_code == HOST_UNFIT
    message = error.value.format_message()
    assert message.startswith("torch==2.13.0+cu126 (variant cuda-12.6) is only on the PyTorch wheel index "
                              "http://127.0.0.1:9/whl/cu126, which cannot be reached from here (")
    assert "index_url https://mirror.example/simple cannot serve it" in message
    assert "use --variant cuda-13.0 (the cu130 build, which PyPI and its mirrors carry as torch==2.13.0)" in message
    assert "\n" not in message
    check_torch_index(replace(spec, torch_only_on=None))  # nothing to reach: nothing asked


def test_a_wheelhouse_with_pypis_plain_wheel_serves_pypis_build(world) -> None:
    (world["wheels"] / "torch-2.13.0-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"p" * 50)
    spec = spec_of(world, choice=CUDA_130)
    assert spec.build_args["TORCH_SPEC"] == "torch==2.13.0" and spec.build_args["TORCH_INDEX_URL"] == ""
    with pytest.raises(UserError, match=r"no torch-2\.13\.0\+cu126-\*\.whl for variant cuda-12\.6 \(found: "):
        spec_of(world, choice=CUDA_126)  # the plain wheel is cu130: it never stands for another build


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
        "Dockerfile", "setup-system.sh", "install-packages", "prune-torch", "jupyterlab-overrides.json",
        "certs/extra-ca.crt", "lab-requirements.txt",
        "wheels/other/sympy-1.13.3-py3-none-any.whl",
        "smoke/runner.py",
        "labs/module-1/lab.toml", "labs/module-1/smoke/checks.py",
        "labs/module-6/lab.toml", "labs/module-6/smoke/checks.py",
    }
    assert files["certs/extra-ca.crt"].data == PEM
    assert files["lab-requirements.txt"].data == b"numpy\ntransformers>=4.46\n"
    assert spec.packages == ("numpy", "transformers>=4.46")
    assert [p for p, f in files.items() if f.executable] == ["install-packages", "prune-torch", "setup-system.sh"]
    # torch's wheels never go in the context (a COPY would make them a layer): the whole wheelhouse
    # is served to the build at a URL that is the same for every build.
    assert sorted(w.name for w in spec.wheels) == sorted(p.name for p in world["wheels"].iterdir())
    assert spec.build_args["WHEELHOUSE_URL"] == f"http://{WHEELHOUSE_HOST}:{WHEELHOUSE_PORT}/"
    assert spec_of(world).build_args == spec.build_args


def test_without_a_wheelhouse_nothing_is_served(world) -> None:
    spec = spec_of(world, TORCHLAB_WHEELHOUSE="")
    assert spec.wheels == () and spec.build_args["WHEELHOUSE_URL"] == ""
    with served_wheelhouse(spec) as (args, hosts):
        assert (args, hosts) == (spec.build_args, {})


def test_context_tar_has_every_folder_fixed_times_and_modes(world) -> None:
    spec = spec_of(world, TORCHLAB_WHEELHOUSE="", TORCHLAB_CA_BUNDLE="")
    buffer = io.BytesIO()
    write_context(spec, buffer)
    buffer.seek(0)
    with tarfile.open(fileobj=buffer) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert {"wheels/other", "certs", "smoke", "labs", "labs/module-1/smoke"} <= {
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


@pytest.mark.parametrize(("profile", "finding"), [
    ("linux-cpu", "doctor: gpu.none: No GPU found: labs run on the CPU"),
    ("nvidia-gtx1660ti-418", "doctor: nvidia.driver-too-old: torchlab's labs need NVIDIA driver 525.60.13 or newer"),
])
def test_up_of_a_gpu_family_this_host_lacks_is_refused_with_the_doctors_finding(profile: str, finding: str) -> None:
    facts = profile_facts(profile)
    with pytest.raises(UserError) as error:
        choose(make_plan(facts), facts, "auto", "cuda")
    assert error.value.exit_code == HOST_UNFIT
    message = error.value.format_message()
    assert message.startswith("--variant cuda: this host has no NVIDIA GPU that torch 2.13.0 can use (")
    assert finding in message and message.endswith("; see `torchlab doctor`, or use --variant cpu")


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


def golden_document(world, profile: str, **settings: str) -> dict[str, object]:
    plan = make_plan(profile_facts(profile))
    choice = choose_variant("auto", plan, plan.torch_version)
    spec = spec_of(world, choice=choice, TORCHLAB_WHEELHOUSE="", TORCHLAB_CA_BUNDLE="", TORCHLAB_BASE_IMAGE="", **settings)
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
@pytest.mark.parametrize("index", ["", "pypi"])
def test_build_args_and_device_flags_match_golden(world, profile: str, index: str) -> None:
    """images-PROFILE.json: no index configured; images-pypi-PROFILE.json: a PyPI index (the usual
    corporate mirror), where PyPI's build is a plain torch==X and any other comes from PyTorch's index."""
    settings = {"TORCHLAB_INDEX_URL": "https://pypi.org/simple"} if index else {}
    document = golden_document(world, profile, **settings)
    path = GOLDEN / f"images-{index + '-' if index else ''}{profile}.json"
    if os.environ.get("TORCHLAB_UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    assert document == json.loads(path.read_text(encoding="utf-8"))
