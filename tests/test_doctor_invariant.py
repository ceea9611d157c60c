"""The doctor's invariant, over generated hosts and over every recorded report.

When the plan is not the best accelerator the host has (a GPU is there but the plan is cpu), at least
one warning or failure says what blocks it and how to fix it: "No problems found" with a GPU present
and a cpu plan cannot happen. And a GPU plan is one `up` can carry out: a build the driver and every
GPU run (checked here against the knowledge tables directly), in a runtime that reaches the GPU.
"""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from conftest import need_module

need_module("hypothesis", 'pip install -e ".[dev]"')

from hypothesis import HealthCheck, given, settings  # noqa: E402 - after the check above
from hypothesis import strategies as st  # noqa: E402
from rich.console import Console  # noqa: E402

from corpus import labels  # noqa: E402
from torchlab import knowledge  # noqa: E402
from torchlab.decide.plan import amd_targets  # noqa: E402
from torchlab.doctor.collect_env import parse_collect_env  # noqa: E402
from torchlab.doctor.diagnose import DoctorResult, diagnose  # noqa: E402
from torchlab.doctor.render import print_doctor  # noqa: E402
from torchlab.facts import (  # noqa: E402
    AmdFacts, AmdGPU, AppleFacts, DockerFacts, HostFacts, NvidiaFacts, NvidiaGPU, OSFacts, TorchFacts,
)

DRIVERS = ("340.108", "390.157", "410.48", "418.67", "440.33", "450.80.02", "470.256.02", "515.65.01",
           "525.60.13", "528.33", "535.104.05", "550.54.14", "560.94", "570.124.04", "575.51.03", "580.65.06",
           "590.48.01")
GFX = sorted({gfx for row in knowledge.ROCM_TARGETS for gfx in row.gfx}
             | {"gfx803", "gfx1010", "gfx1031", "gfx1032", "gfx1103", "gfx1151"})
GPU_NAMES = sorted({gpu.name for gpu in knowledge.GPUS})


def systems() -> st.SearchStrategy[OSFacts]:
    return st.sampled_from([
        OSFacts("Linux", "Ubuntu 24.04 LTS", "24.04", "ubuntu", arch="x86_64"),
        OSFacts("Linux", "Ubuntu 22.04 LTS", "22.04", "ubuntu", kernel="5.15.153.1-microsoft-standard-WSL2",
                arch="x86_64", wsl=2),
        OSFacts("Windows", "Microsoft Windows 11 Pro", "10.0.22631", arch="AMD64", windows_build="22631"),
    ])


def engines() -> st.SearchStrategy[DockerFacts | None]:
    ok = st.builds(DockerFacts, state=st.just("ok"), server_version=st.just("27.1.1"), api_version=st.just("1.46"),
                   nvidia_toolkit=st.booleans(), desktop=st.booleans(),
                   runtimes=st.sampled_from([("runc",), ("nvidia", "runc")]))
    broken = st.builds(DockerFacts, state=st.sampled_from(["missing", "daemon-down", "permission-denied"]))
    return st.one_of(st.none(), ok, broken)


def learners_torch() -> st.SearchStrategy[TorchFacts | None]:
    builds = [(minor, cuda) for row in knowledge.CUDA_ARCH_LISTS for minor in row.torch for cuda in (row.cuda,)]
    cuda = st.sampled_from(builds).map(lambda b: (f"{b[0]}.0+cu{b[1].replace('.', '')}", b[1]))
    made = st.builds(lambda v, available: TorchFacts(version=v[0], cuda_build=v[1], cuda_available=available),
                     cuda, st.booleans())
    cpu = st.sampled_from(["2.13.0+cpu", "1.13.1", "2.2.2"]).map(lambda v: TorchFacts(version=v, cuda_available=False))
    return st.one_of(st.none(), made, cpu)


@st.composite
def nvidia_hosts(draw) -> HostFacts:
    names = draw(st.lists(st.sampled_from(GPU_NAMES), min_size=1, max_size=3))
    driver = draw(st.one_of(st.none(), st.sampled_from(DRIVERS)))
    nvidia = NvidiaFacts(source="nvml", driver_version=driver,
                         gpus=tuple(NvidiaGPU(i, name) for i, name in enumerate(names)),
                         error=None if driver else draw(st.sampled_from(["NVML: driver not loaded", "Driver/library version mismatch"])))
    return HostFacts(os=draw(systems()), nvidia=nvidia, docker=draw(engines()), torch=draw(learners_torch()))


@st.composite
def amd_hosts(draw) -> HostFacts:
    targets = draw(st.lists(st.sampled_from(GFX), min_size=1, max_size=2))
    override = draw(st.sampled_from([None, "10.3.0", "11.0.0"]))
    amd = AmdFacts(source="kfd", gpus=tuple(AmdGPU(i, gfx) for i, gfx in enumerate(targets)),
                   hsa_override_gfx_version=override)
    system = draw(st.sampled_from([OSFacts("Linux", "Ubuntu 24.04 LTS", "24.04", arch="x86_64"),
                                   OSFacts("Windows", "Microsoft Windows 11 Pro", arch="AMD64")]))
    return HostFacts(os=system, amd=amd, docker=draw(engines()))


@st.composite
def apple_hosts(draw) -> HostFacts:
    arm64 = draw(st.booleans())
    macos = draw(st.sampled_from(["11.7", "12.2", "12.6", "13.7", "14.5", "15.3"]))
    system = OSFacts("Darwin", f"macOS {macos}", macos, arch="arm64" if arm64 else "x86_64")
    return HostFacts(os=system, apple=AppleFacts(chip="Apple M2" if arm64 else None, macos_version=macos, arm64=arm64),
                     docker=draw(engines()))


def has_an_accelerator(facts: HostFacts) -> bool:
    nvidia = bool(facts.nvidia and facts.nvidia.gpus)
    apple = facts.os.system == "Darwin" and bool(facts.apple and facts.apple.arm64)
    return nvidia or bool(amd_targets(facts)) or apple


def numbers(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def assert_explained(result: DoctorResult) -> None:
    """A GPU and a cpu plan: a warning or failure with a fix says why; never "No problems found"."""
    facts, plan = result.facts, result.plan
    if not (has_an_accelerator(facts) and plan.device == "cpu"):
        return
    blockers = [f for f in result.findings if f.status in ("warn", "fail") and f.fix and f.about != "torch"]
    assert blockers, f"cpu plan for a host with a GPU, unexplained: {plan.reasons['variant']}"
    console = Console(file=io.StringIO(), width=200, color_system=None)
    print_doctor(result, console)
    assert "No problems found" not in console.file.getvalue()


def assert_carried_out(result: DoctorResult) -> None:
    """A GPU plan `up` can carry out: the driver and every GPU run the build, the runtime reaches it."""
    facts, plan = result.facts, result.plan
    docker = facts.docker
    if plan.runtime == "docker" and docker is not None:
        assert docker.state == "ok"
    if not plan.variant.startswith("cuda-"):
        return
    cuda = plan.variant.removeprefix("cuda-")
    windows = facts.os.system == "Windows" or facts.os.wsl == 2
    floor = knowledge.min_driver(cuda, windows)
    driver = facts.nvidia.driver_version
    if driver is None:  # a report without its driver line, whose torch ran CUDA on that driver
        torch = facts.torch
        assert torch and torch.cuda_available and torch.cuda_build
        driver = knowledge.min_driver(torch.cuda_build, windows)
    assert floor and driver and numbers(driver) >= numbers(floor), (driver, floor)
    arches = knowledge.arch_list(plan.torch_version, cuda)
    for gpu in facts.nvidia.gpus:
        cc = gpu.compute_capability or knowledge.compute_capability(gpu.name)
        assert arches is None or cc is None or knowledge.capability_supported(cc, arches), (gpu.name, cc, cuda)
    if plan.runtime == "docker" and docker is not None:
        assert docker.nvidia_toolkit or "nvidia" in docker.runtimes or docker.desktop


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(nvidia_hosts(), amd_hosts(), apple_hosts()))
def test_generated_hosts_get_explained_plans_that_up_can_carry_out(facts: HostFacts) -> None:
    result = diagnose(facts)
    assert_explained(result)
    assert_carried_out(result)


@pytest.mark.parametrize("label", labels(), ids=lambda label: label.path.name)
def test_every_recorded_report_gets_an_explained_plan(label) -> None:
    result = diagnose(parse_collect_env(label.path.read_bytes().decode("utf-8")))
    assert_explained(result)
    assert_carried_out(result)
    with_engine = replace(result.facts, docker=DockerFacts(state="ok", server_version="27.1.1", runtimes=("runc",)))
    assert_carried_out(diagnose(with_engine))
