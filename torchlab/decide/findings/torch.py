"""Findings about the torch installed in this Python, or in a learner's report."""

from __future__ import annotations

from torchlab.decide import compat
from torchlab.decide.findings.finding import Finding
from torchlab.decide.findings.gpu import NVIDIA_DRIVER_FIX
from torchlab.decide.plan import amd_targets, gpu_capabilities, uses_windows_driver
from torchlab.facts import HostFacts, TorchFacts


def torch_findings(facts: HostFacts) -> list[Finding]:
    torch = facts.torch
    if torch is None:
        return []
    if torch.version is None:
        return [
            Finding(
                "torch.not-installed",
                "skip",
                "torch is not installed in this Python",
                "Not needed here: the labs bring their own.",
                area="torch",
            )
        ]
    found = [
        Finding("torch.installed", "ok", f"torch {torch.version}", torch_build_text(torch), area="torch")
    ]
    return found + torch_driver_findings(facts) + torch_gpu_findings(facts)


def torch_build_text(torch: TorchFacts) -> str:
    if torch.cuda_build:
        return f"built for CUDA {torch.cuda_build}"
    return f"built for ROCm {torch.hip_build}" if torch.hip_build else "a CPU build"


def torch_driver_findings(facts: HostFacts) -> list[Finding]:
    torch, nvidia = facts.torch, facts.nvidia
    if torch is None or torch.cuda_build is None:
        return []
    driver = nvidia.driver_version if nvidia else None
    floor = compat.min_driver(torch.cuda_build, uses_windows_driver(facts))
    too_old = torch.driver_cuda_found is not None or (
        driver is not None and floor is not None and not compat.driver_at_least(driver, floor)
    )
    if too_old:
        have = f"driver {driver}" if driver else f"a driver for CUDA {torch.driver_cuda_found}"
        return [
            Finding(
                "nvidia.driver-too-old",
                "fail",
                f"The NVIDIA driver is too old for this torch (CUDA {torch.cuda_build})",
                f"torch {torch.version} needs driver {floor or 'newer'}+; this machine has {have}.",
                NVIDIA_DRIVER_FIX + ", or install a torch built for an older CUDA",
                "nvidia",
            )
        ]
    if torch.cuda_available is False and driver is None and not any(f for f in (nvidia,) if f and f.error):
        return [
            Finding(
                "nvidia.driver-missing",
                "fail",
                "torch is built for CUDA but finds no working driver",
                torch.init_error or "CUDA is not available and no NVIDIA driver answers.",
                NVIDIA_DRIVER_FIX,
                "nvidia",
            )
        ]
    return []


def torch_gpu_findings(facts: HostFacts) -> list[Finding]:
    torch = facts.torch
    gpu_host = bool(facts.nvidia and facts.nvidia.driver_version) or bool(amd_targets(facts))
    if torch is None or not gpu_host:
        return []
    if torch.cuda_build is None and torch.hip_build is None:
        return [
            Finding(
                "torch.cpu-build-on-gpu-host",
                "fail",
                f"torch {torch.version} is a CPU build on a machine with a GPU",
                "It will never use the GPU.",
                "pip install torch --index-url https://download.pytorch.org/whl/<cu126|rocm7.2>  (or: torchlab up)",
                "torch",
            )
        ]
    found = []
    if torch.cuda_build and facts.nvidia:
        found += torch_arch_findings(facts)
    if torch.hip_build and facts.amd:
        found += torch_gfx_findings(facts)
    return found


def torch_arch_findings(facts: HostFacts) -> list[Finding]:
    torch = facts.torch
    arches = tuple(a.removeprefix("sm_") for a in torch.arch_list if a.startswith("sm_"))
    row = compat.cuda_arches(torch.cuda_build, torch.version) if not arches else None
    if arches:
        known = tuple(f"{a[:-1]}.{a[-1]}" for a in arches)
        ptx = next((f"{a[:-1]}.{a[-1]}" for a in reversed(torch.arch_list) if a.startswith("compute_")), None)
    elif row:
        known, ptx = row.arches, row.ptx
    else:
        return []
    return [
        Finding(
            "nvidia.gpu-arch-unsupported",
            "fail",
            f"{name} (compute capability {cc}) is not supported by torch {torch.version}",
            f"This build has kernels for {', '.join(known)}.",
            "Install a torch build that lists this GPU's architecture, or use --variant cpu",
            "nvidia",
        )
        for name, cc in gpu_capabilities(facts)
        if not compat.capability_supported(cc, known, ptx)
    ]


def torch_gfx_findings(facts: HostFacts) -> list[Finding]:
    torch = facts.torch
    supported = tuple(a.split(":")[0] for a in torch.arch_list) or compat.rocm_gfx(torch.hip_build) or ()
    if not supported:
        return []
    return [
        Finding(
            "rocm.gfx-unsupported",
            "fail",
            f"AMD {gfx} is not a target of torch {torch.version}",
            f"This ROCm {torch.hip_build} build has kernels for {', '.join(supported)}.",
            "Use --variant cpu; RDNA2 cards near gfx1030 often work with HSA_OVERRIDE_GFX_VERSION=10.3.0",
            "amd",
        )
        for gfx in sorted(set(amd_targets(facts)))
        if gfx not in supported
    ]
