"""Findings about the accelerators for torchlab's labs: the NVIDIA driver and the GPUs' architectures
against the labs' torch builds, MIG, AMD gfx targets, Apple MPS. (The learner's own torch: torch.py.)"""

from __future__ import annotations

from dataclasses import dataclass

from torchlab.decide import compat
from torchlab.decide.findings.finding import Finding, quote
from torchlab.decide.plan import (
    GPUS_FIELD, DriverKnown, Plan, amd_targets, driver_known, gpu_capabilities, mps_eligible, report_missing,
    uses_windows_driver,
)
from torchlab.facts import HostFacts

NVIDIA_DRIVER_FIX = (
    "Install the current NVIDIA driver: https://www.nvidia.com/Download/index.aspx"
    " (Linux: your distribution's nvidia-driver package), then reboot"
)
DRIVER_LINES = ("Nvidia driver version", GPUS_FIELD)


@dataclass(frozen=True)
class DriverBlock:
    """The labs' GPU build this host's GPUs need, and the driver it wants: what a driver update unlocks."""

    cuda: str
    floor: str
    builds: tuple[str, ...]  # every build of the labs' torch with kernels for all the GPUs


def nvidia_findings(facts: HostFacts, plan: Plan) -> list[Finding]:
    nvidia = facts.nvidia
    if nvidia is None:
        return pci_without_driver(facts)
    if nvidia.error:
        return driver_error(facts)
    if facts.os.system == "Darwin":
        return [macos_no_cuda(facts)] if nvidia.gpus else []
    known = driver_known(facts)
    if known is None:
        return driver_unknown(facts, plan)
    if plan.variant.startswith("cuda-"):
        return [driver_ok(facts, known), *mig_findings(facts)]
    return [*labs_blockers(facts, plan, known), *mig_findings(facts)]


def pci_without_driver(facts: HostFacts) -> list[Finding]:
    if "nvidia" not in facts.pci_gpu_vendors:
        return []
    return [Finding("nvidia.driver-missing", "fail", "No working NVIDIA driver",
                    "an NVIDIA GPU is in the machine but no driver answers", NVIDIA_DRIVER_FIX, "nvidia")]


def driver_error(facts: HostFacts) -> list[Finding]:
    nvidia = facts.nvidia
    assert nvidia is not None and nvidia.error
    evidence = quote(facts, *DRIVER_LINES)
    if "mismatch" in nvidia.error.lower():
        return [Finding("nvidia.driver-mismatch", "fail", "NVIDIA driver and library versions differ", nvidia.error,
                        "Reboot (the driver was upgraded while the old kernel module stayed loaded)", "nvidia",
                        evidence=evidence)]
    if facts.source != "collect_env" or nvidia.gpus:
        return [Finding("nvidia.driver-missing", "fail", "No working NVIDIA driver", nvidia.error, NVIDIA_DRIVER_FIX,
                        "nvidia", evidence=evidence)]
    # A report (collect_env) cannot tell a broken driver from a machine with no NVIDIA GPU at all.
    return [Finding("nvidia.driver-missing", "warn", "No working NVIDIA driver, or no NVIDIA GPU", nvidia.error,
                    "If the machine has an NVIDIA GPU: " + NVIDIA_DRIVER_FIX + "; otherwise labs run on the CPU",
                    "nvidia", evidence=evidence)]


def macos_no_cuda(facts: HostFacts) -> Finding:
    return Finding(
        "nvidia.macos-no-cuda", "warn", "An NVIDIA GPU on macOS: no torch build can use it for the labs",
        f"PyTorch's macOS builds have no CUDA, and NVIDIA's CUDA for macOS ended with CUDA 10.2; {gpu_list(facts)}.",
        "Labs run on the CPU here; for the GPU, run Linux or Windows on this machine, or use a cloud GPU",
        "nvidia", "labs", quote(facts, "OS", GPUS_FIELD),
    )


def driver_unknown(facts: HostFacts, plan: Plan) -> list[Finding]:
    """GPUs listed (or torch's word on the driver) without a driver version."""
    nvidia = facts.nvidia
    assert nvidia is not None
    if nvidia.cuda_driver_version:
        return [labs_driver_finding(facts, plan, f"the NVIDIA driver (CUDA {nvidia.cuda_driver_version} at most, "
                                                 "as torch found it)", nvidia.cuda_driver_version)]
    if report_missing(facts, "Nvidia driver version") or facts.source == "collect_env":
        return [Finding(
            "nvidia.driver-unknown", "warn", "The report does not show the NVIDIA driver",
            f"It shows {gpu_list(facts)} but no driver version; doctor cannot tell which CUDA build of torch "
            f"{plan.torch_version} that driver runs, so the labs' plan stays on the CPU.",
            "Run `nvidia-smi` on that machine (its header shows the driver), or `torchlab doctor` there",
            "nvidia", "labs", quote(facts, GPUS_FIELD),
        )]
    return [Finding("nvidia.driver-missing", "fail", "No working NVIDIA driver",
                    f"{gpu_list(facts)}, but no driver version answers", NVIDIA_DRIVER_FIX, "nvidia")]


def driver_ok(facts: HostFacts, known: DriverKnown) -> Finding:
    nvidia = facts.nvidia
    assert nvidia is not None
    title = f"NVIDIA driver {known.version}" if known.version else f"NVIDIA driver {known.at_least} or newer"
    supports = f"supports CUDA {nvidia.cuda_driver_version}; " if nvidia.cuda_driver_version else ""
    return Finding("nvidia.driver", "ok", title, supports + gpu_list(facts), area="nvidia", about="labs",
                   evidence=quote(facts, *DRIVER_LINES, "CUDA used to build PyTorch", "Is CUDA available"))


def gpu_list(facts: HostFacts) -> str:
    gpus = facts.nvidia.gpus if facts.nvidia else ()
    if not gpus:
        return "no GPU listed"
    names = [gpu.name + (f" (sm {gpu.compute_capability})" if gpu.compute_capability else "") for gpu in gpus]
    return f"{len(gpus)} GPU{'s' if len(gpus) > 1 else ''}: " + ", ".join(names)


def mig_findings(facts: HostFacts) -> list[Finding]:
    migs = [gpu for gpu in facts.nvidia.gpus if gpu.mig_mode and gpu.mig_mode.startswith("Enabled")] if facts.nvidia else []
    if not migs:
        return []
    return [Finding(
        "nvidia.mig-enabled", "warn", f"MIG is on for {len(migs)} GPU(s)",
        "A lab sees a MIG slice, not the whole GPU; with no MIG instances made, CUDA sees no device.",
        "Ask the machine's admin for a MIG instance, or turn MIG off: sudo nvidia-smi -i 0 -mig 0",
        "nvidia", evidence=quote(facts, GPUS_FIELD),
    )]


def driver_block(facts: HostFacts, torch_version: str) -> DriverBlock | None:
    """When every GPU has kernels in some build of the labs' torch but the driver runs none of those
    builds: the build with the lowest driver floor, and that floor."""
    release = compat.torch_release(torch_version)
    windows = uses_windows_driver(facts)
    builds = tuple(cuda for cuda in sorted(release.cuda_stable, key=compat.version_tuple) if gpus_have_kernels(
        facts, cuda, torch_version)) if release else ()
    floors = [(compat.min_driver(cuda, windows) or "", cuda) for cuda in builds]
    if not floors:
        return None
    floor, cuda = min(floors, key=lambda pair: compat.version_tuple(pair[0]))
    return DriverBlock(cuda, floor, builds)


def gpus_have_kernels(facts: HostFacts, cuda: str, torch_version: str) -> bool:
    arches = compat.build_arch_list(torch_version, cuda)
    return arches is None or all(compat.runs_on(cc, arches) for _, cc in gpu_capabilities(facts))


def labs_blockers(facts: HostFacts, plan: Plan, known: DriverKnown) -> list[Finding]:
    """Why a host with an NVIDIA driver and GPUs gets no GPU build of the labs' torch."""
    block = driver_block(facts, plan.torch_version)
    if block is not None and known.version is None:
        return [Finding(
            "nvidia.driver-unknown", "warn", "The report does not show the NVIDIA driver",
            f"{known.said[0].upper()}{known.said[1:]}; torch {plan.torch_version}'s builds for these GPUs (CUDA "
            f"{', '.join(block.builds)}) need driver {block.floor} or newer, so doctor cannot tell whether the labs "
            "get the GPU; the plan stays on the CPU.",
            f"Run `nvidia-smi` on that machine: with driver {block.floor} or newer the labs use cuda-{block.cuda}",
            "nvidia", "labs", quote(facts, *DRIVER_LINES, "CUDA used to build PyTorch", "Is CUDA available"),
        )]
    if block is not None:
        return [labs_driver_finding(facts, plan, known.said, compat.newest_cuda_for_driver(
            known.at_least, uses_windows_driver(facts)))]
    return arch_findings(facts, plan.torch_version) or [Finding(
        "nvidia.gpus-unplannable", "fail", f"No single build of torch {plan.torch_version} runs every GPU here",
        gpu_list(facts), "Choose one GPU for the labs (CUDA_VISIBLE_DEVICES), or use --variant cpu", "nvidia", "labs",
        quote(facts, GPUS_FIELD),
    )]


def labs_driver_finding(facts: HostFacts, plan: Plan, driver_said: str, runs_cuda: str | None) -> Finding:
    block = driver_block(facts, plan.torch_version)
    v = plan.torch_version
    evidence = quote(facts, *DRIVER_LINES, *(facts.torch.messages if facts.torch else ()))
    if block is None:
        release = compat.torch_release(v)
        return Finding("nvidia.driver-too-old", "fail", f"The NVIDIA driver is too old for torch {v}",
                       f"{driver_said}; torch {v} is built for CUDA {', '.join(release.cuda_stable if release else ())}.",
                       NVIDIA_DRIVER_FIX, "nvidia", "labs", evidence)
    gpus = ", ".join(f"{name} (sm_{cc.replace('.', '')})" for name, cc in gpu_capabilities(facts))
    only = "only build" if len(block.builds) == 1 else "builds"
    which = f"{only} with kernels for {gpus}" if gpus else f"CUDA {only} (the GPU's architecture is not known from its name)"
    runs = f" runs CUDA {runs_cuda} builds at most" if runs_cuda else " runs none of them"
    return Finding(
        "nvidia.driver-too-old", "fail",
        f"torchlab's labs need NVIDIA driver {block.floor} or newer (torch {v}, cuda-{block.cuda})",
        f"{driver_said[0].upper()}{driver_said[1:]}{runs}; torch {v}'s {which}: "
        f"CUDA {', '.join(block.builds)}, which needs driver {block.floor} or newer.",
        f"Update the NVIDIA driver to {block.floor} or newer ({NVIDIA_DRIVER_FIX})",
        "nvidia", "labs", evidence,
    )


def arch_findings(facts: HostFacts, torch_version: str) -> list[Finding]:
    """A GPU none of the labs' torch builds has kernels for (too old, or newer than every build)."""
    release = compat.torch_release(torch_version)
    lists = [compat.build_arch_list(torch_version, cuda) for cuda in (release.cuda_stable if release else ())]
    known = [arches for arches in lists if arches]
    found = []
    for name, cc in gpu_capabilities(facts):
        if not known or any(compat.runs_on(cc, arches) for arches in known):
            continue
        spans = "; ".join(compat.arch_span(arches) for arches in known)
        last = compat.builds_with_kernels_for(cc)
        older = (f"the newest torch wheel with kernels for it is torch {last[-1][0]} (CUDA {last[-1][1]})"
                 if last else "no torch wheel in torchlab's tables has kernels for it")
        found.append(Finding(
            "nvidia.gpu-arch-unsupported", "fail",
            f"{name} (compute capability {cc}) has no kernels in torch {torch_version}'s builds",
            f"torch {torch_version}'s CUDA builds cover {spans}; {older}.",
            "Labs run on the CPU here (--variant cpu); the GPU needs a torch that still supports it",
            "nvidia", "labs", quote(facts, GPUS_FIELD),
        ))
    return found


def amd_findings(facts: HostFacts, plan: Plan) -> list[Finding]:
    targets = amd_targets(facts)
    if not targets:
        return []
    found = []
    override = facts.amd.hsa_override_gfx_version if facts.amd else None
    if override:
        found.append(Finding(
            "rocm.hsa-override", "warn", f"HSA_OVERRIDE_GFX_VERSION={override} is set",
            "ROCm treats every GPU as that target; kernels may misbehave on a different chip.",
            "Unset it unless your GPU needs it (e.g. gfx1031 -> 10.3.0)", "amd",
        ))
    evidence = quote(facts, GPUS_FIELD, "ROCM used to build PyTorch")
    if plan.variant.startswith("rocm-"):
        return [Finding("rocm.gpu", "ok", f"AMD GPU {', '.join(sorted(set(targets)))}", plan.reasons["variant"],
                        area="amd", about="labs", evidence=evidence), *found]
    release = compat.torch_release(plan.torch_version)
    rocms = release.rocm if release else ()
    supported = sorted({gfx for rocm in rocms for gfx in compat.rocm_gfx(rocm) or ()})
    unsupported = sorted(set(targets) - set(supported)) or sorted(set(targets))
    if facts.os.system != "Linux":
        return found + [Finding(
            "rocm.not-linux", "warn", f"AMD {', '.join(unsupported)}: torch's ROCm builds are for Linux only",
            f"This is {facts.os.system}; labs run on the CPU.", "For the GPU, run the labs on Linux", "amd", "labs",
            evidence)]
    return found + [Finding(
        "rocm.gfx-unsupported", "fail",
        f"AMD {', '.join(unsupported)} is not a target of torch {plan.torch_version}'s ROCm build",
        f"ROCm {', '.join(rocms) or 'builds'} support {', '.join(supported)}.",
        override_fix(unsupported), "amd", "labs", evidence,
    )]


def override_fix(unsupported: list[str]) -> str:
    overrides = {gfx: compat.override_for(gfx) for gfx in unsupported}
    usable = [f"HSA_OVERRIDE_GFX_VERSION={value} (for {gfx})" for gfx, value in overrides.items() if value]
    if usable:
        return "Use --variant cpu; or try " + ", ".join(usable) + ", which runs the chip as its family's supported target"
    return "Use --variant cpu: no torch ROCm build has kernels for this chip"


def apple_findings(facts: HostFacts) -> list[Finding]:
    if facts.os.system != "Darwin":
        return []
    evidence = quote(facts, "OS", "Python platform", "PyTorch version")
    if mps_eligible(facts):
        return [Finding("mps.available", "ok", "Apple GPU (MPS) available", f"macOS {facts.apple.macos_version}",
                        area="apple", about="labs", evidence=evidence)]
    version = facts.apple.macos_version if facts.apple else facts.os.version
    if facts.os.arch == "x86_64" and (facts.cpu.model or "").startswith("Apple"):
        why = f"this Python is x86_64, running under Rosetta on an {facts.cpu.model}"
        fix = "Run torchlab from an arm64 Python (python.org's universal2 installer, Miniforge for arm64, or uv)"
    elif facts.os.arch == "x86_64":
        why, fix = "this Python is x86_64 (an Intel Mac, or Rosetta on Apple silicon)", "Labs run on the CPU here"
    else:
        why, fix = f"macOS {version} is older than 14", "Update macOS to 14 (Sonoma) or later"
    return [Finding("mps.unavailable", "warn", "No Apple GPU (MPS) for current torch",
                    why + "; labs run on the CPU." + your_torch_mps(facts), fix, "apple", "labs", evidence)]


def your_torch_mps(facts: HostFacts) -> str:
    """What the report's own torch could do with MPS: nothing before 1.12, nothing before macOS 12.3."""
    torch = facts.torch
    if torch is None or torch.version is None or facts.os.arch == "x86_64":
        return ""
    if compat.version_tuple(torch.version)[:2] < compat.version_tuple(compat.MPS_FIRST_TORCH):
        return f" The report's torch {torch.version} predates MPS (torch {compat.MPS_FIRST_TORCH})."
    macos = compat.version_tuple(facts.os.version or "0")[:2]
    if macos < compat.MPS_FIRST_MACOS:
        return f" MPS needs macOS {'.'.join(map(str, compat.MPS_FIRST_MACOS))} or later for any torch."
    return ""
