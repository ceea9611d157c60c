"""Findings about the accelerators: NVIDIA driver, MIG and architectures, AMD gfx targets, Apple MPS."""

from __future__ import annotations

from torchlab.decide import compat
from torchlab.decide.findings.finding import Finding
from torchlab.decide.plan import Plan, amd_targets, gpu_capabilities, mps_eligible, uses_windows_driver
from torchlab.facts import HostFacts

NVIDIA_DRIVER_FIX = (
    "Install the current NVIDIA driver: https://www.nvidia.com/Download/index.aspx"
    " (Linux: your distribution's nvidia-driver package), then reboot"
)


def nvidia_findings(facts: HostFacts, plan: Plan) -> list[Finding]:
    nvidia = facts.nvidia
    if nvidia is None or nvidia.driver_version is None:
        return driver_missing(facts)
    if plan.variant.startswith("cuda-"):
        return [driver_ok(facts), *mig_findings(facts)]
    release = compat.torch_release(plan.torch_version)
    cudas = release.cuda_stable if release else ()
    floors = [compat.min_driver(cuda, uses_windows_driver(facts)) for cuda in cudas]
    lowest = min((f for f in floors if f), key=compat.version_tuple, default=None)
    if lowest and not compat.driver_at_least(nvidia.driver_version, lowest):
        too_old = Finding(
            "nvidia.driver-too-old",
            "fail",
            f"NVIDIA driver {nvidia.driver_version} is too old for torch {plan.torch_version}",
            f"torch {plan.torch_version} is built for CUDA {', '.join(cudas)}; the oldest needs driver {lowest} or newer. "
            + gpu_list(facts),
            NVIDIA_DRIVER_FIX,
            "nvidia",
        )
        return [too_old, *mig_findings(facts)]
    return [driver_ok(facts), *mig_findings(facts), *arch_findings(facts, plan.torch_version, cudas)]


def driver_ok(facts: HostFacts) -> Finding:
    nvidia = facts.nvidia
    assert nvidia is not None
    return Finding(
        "nvidia.driver",
        "ok",
        f"NVIDIA driver {nvidia.driver_version}",
        f"supports CUDA {nvidia.cuda_driver_version or 'unknown'}; " + gpu_list(facts),
        area="nvidia",
    )


def driver_missing(facts: HostFacts) -> list[Finding]:
    nvidia = facts.nvidia
    if nvidia is None and "nvidia" not in facts.pci_gpu_vendors:
        return []
    why = nvidia.error if nvidia and nvidia.error else "an NVIDIA GPU is in the machine but no driver answers"
    if nvidia and nvidia.error and "mismatch" in nvidia.error.lower():
        return [
            Finding(
                "nvidia.driver-mismatch",
                "fail",
                "NVIDIA driver and library versions differ",
                why,
                "Reboot (the driver was upgraded while the old kernel module stayed loaded)",
                "nvidia",
            )
        ]
    if facts.source != "collect_env" or (nvidia and nvidia.gpus):
        return [
            Finding(
                "nvidia.driver-missing", "fail", "No working NVIDIA driver", why, NVIDIA_DRIVER_FIX, "nvidia"
            )
        ]
    # A report (collect_env) cannot tell a broken driver from a machine with no NVIDIA GPU at all.
    return [
        Finding(
            "nvidia.driver-missing",
            "warn",
            "No working NVIDIA driver, or no NVIDIA GPU",
            why,
            "If the machine has an NVIDIA GPU: " + NVIDIA_DRIVER_FIX + "; otherwise labs run on the CPU",
            "nvidia",
        )
    ]


def gpu_list(facts: HostFacts) -> str:
    gpus = facts.nvidia.gpus if facts.nvidia else ()
    if not gpus:
        return "no GPU listed"
    names = [
        f"{gpu.name}" + (f" (sm {gpu.compute_capability})" if gpu.compute_capability else "") for gpu in gpus
    ]
    return f"{len(gpus)} GPU{'s' if len(gpus) > 1 else ''}: " + ", ".join(names)


def mig_findings(facts: HostFacts) -> list[Finding]:
    migs = (
        [gpu for gpu in facts.nvidia.gpus if gpu.mig_mode and gpu.mig_mode.startswith("Enabled")]
        if facts.nvidia
        else []
    )
    if not migs:
        return []
    return [
        Finding(
            "nvidia.mig-enabled",
            "warn",
            f"MIG is on for {len(migs)} GPU(s)",
            "A lab sees a MIG slice, not the whole GPU; with no MIG instances made, CUDA sees no device.",
            "Ask the machine's admin for a MIG instance, or turn MIG off: sudo nvidia-smi -i 0 -mig 0",
            "nvidia",
        )
    ]


def arch_findings(facts: HostFacts, torch_version: str, cudas: tuple[str, ...]) -> list[Finding]:
    found = []
    for name, capability in gpu_capabilities(facts):
        rows = [compat.cuda_arches(cuda, torch_version) for cuda in cudas]
        if any(row is None or compat.capability_supported(capability, row.arches, row.ptx) for row in rows):
            continue
        oldest = min(
            (min(row.arches, key=compat.version_tuple) for row in rows if row), key=compat.version_tuple
        )
        found.append(
            Finding(
                "nvidia.gpu-arch-unsupported",
                "fail",
                f"{name} (compute capability {capability}) is too old for torch {torch_version}",
                f"torch {torch_version}'s CUDA builds start at compute capability {oldest}.",
                "Use --variant cpu, or an older torch that still supports this GPU (torch 2.7 cu118 supports 3.7+)",
                "nvidia",
            )
        )
    return found


def amd_findings(facts: HostFacts, plan: Plan) -> list[Finding]:
    targets = amd_targets(facts)
    if not targets:
        return []
    found = []
    override = facts.amd.hsa_override_gfx_version if facts.amd else None
    if override:
        found.append(
            Finding(
                "rocm.hsa-override",
                "warn",
                f"HSA_OVERRIDE_GFX_VERSION={override} is set",
                "ROCm treats every GPU as that target; kernels may misbehave on a different chip.",
                "Unset it unless your GPU needs it (e.g. gfx1031 -> 10.3.0)",
                "amd",
            )
        )
    if plan.variant.startswith("rocm-"):
        return [
            Finding(
                "rocm.gpu",
                "ok",
                f"AMD GPU {', '.join(sorted(set(targets)))}",
                plan.reasons["variant"],
                area="amd",
            ),
            *found,
        ]
    release = compat.torch_release(plan.torch_version)
    rocms = release.rocm if release else ()
    supported = sorted({gfx for rocm in rocms for gfx in compat.rocm_gfx(rocm) or ()})
    unsupported = sorted(set(targets) - set(supported))
    return found + [
        Finding(
            "rocm.gfx-unsupported",
            "fail",
            f"AMD {', '.join(unsupported or targets)} is not a target of torch {plan.torch_version}'s ROCm build",
            f"ROCm {', '.join(rocms) or 'builds'} support {', '.join(supported)}.",
            "Use --variant cpu; for RDNA2 cards close to gfx1030, HSA_OVERRIDE_GFX_VERSION=10.3.0 often works",
            "amd",
        )
    ]


def apple_findings(facts: HostFacts) -> list[Finding]:
    if facts.os.system != "Darwin":
        return []
    if mps_eligible(facts):
        return [
            Finding(
                "mps.available",
                "ok",
                "Apple GPU (MPS) available",
                f"macOS {facts.apple.macos_version}",
                area="apple",
            )
        ]
    version = facts.apple.macos_version if facts.apple else facts.os.version
    why = "this Mac has an Intel CPU" if facts.os.arch == "x86_64" else f"macOS {version} is older than 14"
    fix = "Update macOS to 14 (Sonoma) or later" if facts.os.arch != "x86_64" else "Labs run on the CPU here"
    return [
        Finding(
            "mps.unavailable",
            "warn",
            "No Apple GPU (MPS) for current torch",
            why + "; labs run on the CPU.",
            fix,
            "apple",
        )
    ]
