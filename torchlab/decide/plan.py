"""The plan: where and how the labs run on a host (runtime, variant, device), each with its reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torchlab.decide import compat
from torchlab.decide.compat import LAB_TORCH_VERSION
from torchlab.facts import HostFacts


@dataclass(frozen=True)
class Plan:
    runtime: Literal["docker", "native"]
    variant: str  # "cpu" | "cuda-12.6" | "rocm-6.4"
    device: Literal["cuda", "mps", "cpu"]
    torch_index: str  # the torch wheel index tag: "cpu", "cu126", "rocm6.4"
    torch_version: str  # the torch release the labs are built on: "2.13.0"
    reasons: dict[str, str]  # "runtime" | "variant" | "device" -> why


@dataclass(frozen=True)
class Accelerator:
    """The torch build the accelerator asks for, or why it can have none."""

    variant: str
    torch_index: str
    device: Literal["cuda", "mps", "cpu"]
    reason: str


def make_plan(facts: HostFacts, torch_version: str = LAB_TORCH_VERSION) -> Plan:
    """Where and how the labs run on this host, each choice with its reason."""
    accelerator = (
        nvidia_accelerator(facts, torch_version)
        or amd_accelerator(facts, torch_version)
        or apple_accelerator(facts)
        or Accelerator("cpu", "cpu", "cpu", cpu_reason(facts))
    )
    runtime, runtime_reason = choose_runtime(facts)
    return Plan(
        runtime=runtime,
        variant=accelerator.variant,
        device=accelerator.device,
        torch_index=accelerator.torch_index,
        torch_version=torch_version,
        reasons={"runtime": runtime_reason, "variant": accelerator.reason, "device": accelerator.reason},
    )


def uses_windows_driver(facts: HostFacts) -> bool:
    """Windows and WSL2 both run the Windows driver, whose floors differ from Linux's."""
    return facts.os.system == "Windows" or facts.os.wsl == 2


def usable_cuda_builds(facts: HostFacts, torch_version: str) -> list[str]:
    """The CUDA builds of `torch_version`, newest first, that this driver and every GPU can run."""
    nvidia = facts.nvidia
    release = compat.torch_release(torch_version)
    if nvidia is None or nvidia.driver_version is None or release is None:
        return []
    usable = []
    for cuda in sorted(release.cuda_stable, key=compat.version_tuple, reverse=True):
        floor = compat.min_driver(cuda, uses_windows_driver(facts))
        if (
            floor
            and compat.driver_at_least(nvidia.driver_version, floor)
            and gpus_run(facts, cuda, torch_version)
        ):
            usable.append(cuda)
    return usable


def gpu_capabilities(facts: HostFacts) -> list[tuple[str, str]]:
    """(name, compute capability) of each NVIDIA GPU whose capability is known or can be named."""
    found = []
    for gpu in facts.nvidia.gpus if facts.nvidia else ():
        capability = gpu.compute_capability or compat.gpu_capability(gpu.name)
        if capability:
            found.append((gpu.name, capability))
    return found


def gpus_run(facts: HostFacts, cuda: str, torch_version: str) -> bool:
    arches = compat.cuda_arches(cuda, torch_version)
    if arches is None:
        return True  # not known for this build: the driver check alone decides
    return all(
        compat.capability_supported(cc, arches.arches, arches.ptx) for _, cc in gpu_capabilities(facts)
    )


def nvidia_accelerator(facts: HostFacts, torch_version: str) -> Accelerator | None:
    usable = usable_cuda_builds(facts, torch_version)
    if not usable or not facts.nvidia or not facts.nvidia.gpus:
        return None
    cuda = usable[0]
    build = compat.cuda_build(cuda)
    assert build is not None
    driver = facts.nvidia.driver_version
    return Accelerator(
        f"cuda-{cuda}",
        build.index,
        "cuda",
        f"NVIDIA driver {driver} runs torch {torch_version}'s CUDA {cuda} build, the newest it supports",
    )


def amd_targets(facts: HostFacts) -> list[str]:
    """The gfx targets torch will see: HSA_OVERRIDE_GFX_VERSION replaces every GPU's own."""
    amd = facts.amd
    if amd is None:
        return []
    override = compat.gfx_from_override(amd.hsa_override_gfx_version or "")
    return [override or gpu.gfx_target for gpu in amd.gpus if override or gpu.gfx_target]


def amd_accelerator(facts: HostFacts, torch_version: str) -> Accelerator | None:
    release = compat.torch_release(torch_version)
    targets = amd_targets(facts)
    if not targets or release is None or facts.os.system != "Linux":
        return None
    for rocm in sorted(release.rocm, key=compat.version_tuple, reverse=True):
        supported = compat.rocm_gfx(rocm) or ()
        if all(target in supported for target in targets):
            return Accelerator(
                f"rocm-{rocm}",
                f"rocm{rocm}",
                "cuda",
                f"AMD {', '.join(sorted(set(targets)))} is a target of torch {torch_version}'s ROCm {rocm} build",
            )
    return None


def mps_eligible(facts: HostFacts) -> bool:
    apple = facts.apple
    if facts.os.system != "Darwin" or apple is None or not apple.arm64:
        return False
    return compat.version_tuple(apple.macos_version or "0")[:2] >= compat.MPS_MIN_MACOS


def apple_accelerator(facts: HostFacts) -> Accelerator | None:
    if not mps_eligible(facts):
        return None
    chip = facts.apple.chip if facts.apple and facts.apple.chip else "Apple silicon"
    return Accelerator(
        "cpu", "cpu", "mps", f"{chip} on macOS {facts.apple.macos_version}: torch's macOS wheel has MPS"
    )


def cpu_reason(facts: HostFacts) -> str:
    if facts.nvidia or facts.amd or "nvidia" in facts.pci_gpu_vendors:
        return "the GPU found cannot run this torch release (see the findings)"
    if facts.os.system == "Darwin":
        return "no MPS: it needs Apple silicon and macOS 14 or later"
    return "no supported GPU found"


def choose_runtime(facts: HostFacts) -> tuple[Literal["docker", "native"], str]:
    if facts.os.system == "Darwin":
        return "native", "macOS: the Apple GPU cannot enter a Linux container"
    docker = facts.docker
    if docker is None:
        return "docker", "Docker was not probed (the report does not say); docker is the default here"
    if docker.state == "ok":
        return "docker", f"Docker {docker.server_version or ''} answers".replace("  ", " ")
    return "native", f"Docker is not usable ({docker.state}): labs run in a local virtual environment"
