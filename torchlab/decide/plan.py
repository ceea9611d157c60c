"""The plan: where and how the labs run on a host (runtime, variant, device), each with its reason.

A GPU plan is one `up` can carry out: it names a torch build the driver and every GPU run, and a
runtime that reaches that GPU (docker only when containers can; else native)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torchlab.decide import compat
from torchlab.decide.compat import LAB_TORCH_VERSION
from torchlab.facts import HostFacts

GPUS_FIELD = "GPU models and configuration"


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


@dataclass(frozen=True)
class DriverKnown:
    """What is known of the NVIDIA driver: its version, or a floor it meets (a report whose torch ran
    CUDA on it, though the driver line is missing), in words."""

    version: str | None
    at_least: str
    said: str


def make_plan(facts: HostFacts, torch_version: str = LAB_TORCH_VERSION) -> Plan:
    """Where and how the labs run on this host, each choice with its reason."""
    accelerator = (
        nvidia_accelerator(facts, torch_version)
        or amd_accelerator(facts, torch_version)
        or apple_accelerator(facts)
        or Accelerator("cpu", "cpu", "cpu", cpu_reason(facts, torch_version))
    )
    runtime, runtime_reason = choose_runtime(facts, accelerator)
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


def driver_known(facts: HostFacts) -> DriverKnown | None:
    nvidia, torch = facts.nvidia, facts.torch
    if nvidia is None:
        return None
    if nvidia.driver_version:
        return DriverKnown(nvidia.driver_version, nvidia.driver_version, f"NVIDIA driver {nvidia.driver_version}")
    if torch and torch.cuda_available and torch.cuda_build and nvidia.gpus:
        floor = compat.min_driver(torch.cuda_build, uses_windows_driver(facts))
        if floor:
            return DriverKnown(None, floor, f"the NVIDIA driver (not shown; torch {torch.version} runs CUDA "
                                            f"{torch.cuda_build} on it, so it is {floor} or newer)")
    return None


def driver_runs(facts: HostFacts, cuda: str) -> bool:
    known, floor = driver_known(facts), compat.min_driver(cuda, uses_windows_driver(facts))
    return bool(known and floor and compat.driver_at_least(known.at_least, floor))


def usable_cuda_builds(facts: HostFacts, torch_version: str) -> list[str]:
    """The CUDA builds of `torch_version`, newest first, that this driver and every GPU can run."""
    release = compat.torch_release(torch_version)
    if release is None or facts.os.system == "Darwin":
        return []
    return [cuda for cuda in sorted(release.cuda_stable, key=compat.version_tuple, reverse=True)
            if driver_runs(facts, cuda) and gpus_run(facts, cuda, torch_version)]


def gpu_capabilities(facts: HostFacts) -> list[tuple[str, str]]:
    """(name, compute capability) of each NVIDIA GPU whose capability is known or can be named."""
    found = []
    for gpu in facts.nvidia.gpus if facts.nvidia else ():
        capability = gpu.compute_capability or compat.gpu_capability(gpu.name)
        if capability:
            found.append((gpu.name, capability))
    return found


def gpus_run(facts: HostFacts, cuda: str, torch_version: str) -> bool:
    arches = compat.build_arch_list(torch_version, cuda)
    if arches is None:
        return True  # not known for this build: the driver check alone decides
    return all(compat.runs_on(cc, arches) for _, cc in gpu_capabilities(facts))


def nvidia_accelerator(facts: HostFacts, torch_version: str) -> Accelerator | None:
    usable = usable_cuda_builds(facts, torch_version)
    known = driver_known(facts)
    if not usable or not known or not facts.nvidia or not facts.nvidia.gpus:
        return None
    cuda = usable[0]
    return Accelerator(
        f"cuda-{cuda}", compat.cuda_index(cuda), "cuda",
        f"{known.said} runs torch {torch_version}'s CUDA {cuda} build, the newest it supports",
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
                f"rocm-{rocm}", f"rocm{rocm}", "cuda",
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


def report_missing(facts: HostFacts, field: str) -> bool:
    """A pasted report that ends before it shows `field` (it says nothing of that part of the host)."""
    return facts.report is not None and field in facts.report.missing


def cpu_reason(facts: HostFacts, torch_version: str = LAB_TORCH_VERSION) -> str:
    if facts.os.system == "Darwin" and facts.nvidia and facts.nvidia.gpus:
        return "macOS: torch has no CUDA build for macOS, and no MPS here (see the findings)"
    if facts.nvidia or facts.amd or "nvidia" in facts.pci_gpu_vendors:
        return f"the GPU found cannot run torch {torch_version}'s builds here (see the findings)"
    if report_missing(facts, GPUS_FIELD):
        return "the report ends before its GPU lines: no GPU known to plan for (see the findings)"
    if facts.os.system == "Darwin":
        return "no MPS: it needs Apple silicon and macOS 14 or later"
    return "no supported GPU found"


def containers_reach(facts: HostFacts, accelerator: Accelerator) -> bool:
    """Whether a container of this engine can have the accelerator's GPU: NVIDIA through the NVIDIA
    Container Toolkit (or Docker Desktop's own support), AMD through /dev/kfd and /dev/dri (a Linux
    engine, not Docker Desktop's VM)."""
    docker = facts.docker
    if docker is None or accelerator.device != "cuda":
        return True
    if accelerator.variant.startswith("rocm-"):
        return not docker.desktop
    return bool(docker.nvidia_toolkit or "nvidia" in docker.runtimes or docker.desktop)


def choose_runtime(facts: HostFacts, accelerator: Accelerator) -> tuple[Literal["docker", "native"], str]:
    if facts.os.system == "Darwin":
        return "native", "macOS: the Apple GPU cannot enter a Linux container"
    docker = facts.docker
    if docker is None:
        return "docker", "Docker was not probed (the report does not say); docker is the default here"
    if docker.state != "ok":
        return "native", f"Docker is not usable ({docker.state}): labs run in a local virtual environment"
    if not containers_reach(facts, accelerator):
        gpu = "NVIDIA" if accelerator.variant.startswith("cuda-") else "AMD"
        return "native", (f"Docker {docker.server_version or ''} answers, but its containers cannot reach the {gpu} "
                          "GPU (see the findings): labs run natively, on the GPU").replace("  ", " ")
    return "docker", f"Docker {docker.server_version or ''} answers".replace("  ", " ")
