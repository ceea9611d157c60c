"""Findings: what is right and wrong with a host, each with its fix. Pure functions of the facts."""

from __future__ import annotations

from dataclasses import replace

from torchlab import compat
from torchlab.decide import Finding, Plan, amd_targets, gpu_capabilities, mps_eligible, uses_windows_driver
from torchlab.facts import HostFacts

GIB = 1024**3
DISK_WARN_GIB, DISK_FAIL_GIB = 20, 5  # an image with torch is ~1.5-6 GB; workspaces need room too
MEMORY_WARN_GIB, MEMORY_FAIL_GIB = 8, 4
NVIDIA_DRIVER_FIX = "Install the current NVIDIA driver: https://www.nvidia.com/Download/index.aspx (Linux: your distribution's nvidia-driver package), then reboot"


def collect_findings(facts: HostFacts, plan: Plan) -> list[Finding]:
    """Every finding for this host, grouped by area in the order a person reads them."""
    return merge_same_id([
        *system_findings(facts),
        *no_gpu_findings(facts, plan),
        *nvidia_findings(facts, plan),
        *amd_findings(facts, plan),
        *apple_findings(facts),
        *wsl_findings(facts),
        *docker_findings(facts),
        *torch_findings(facts),
    ])


def merge_same_id(findings: list[Finding]) -> list[Finding]:
    """One finding per id: the labs' plan and the installed torch can both find a too-old driver."""
    merged: dict[str, Finding] = {}
    for finding in findings:
        first = merged.get(finding.id)
        if first is None:
            merged[finding.id] = finding
        elif finding.detail and finding.detail not in first.detail:
            merged[finding.id] = replace(first, detail=f"{first.detail} {finding.detail}".strip())
    return list(merged.values())


def system_findings(facts: HostFacts) -> list[Finding]:
    found = [Finding("os.detected", "ok", f"{facts.os.name} ({facts.os.arch or 'unknown arch'})", area="system")]
    if facts.os.wsl == 1:
        found.append(Finding(
            "wsl.version-1", "fail", "WSL 1 cannot run GPU labs or Docker",
            "WSL 1 has no GPU support and no Linux kernel for containers.",
            "In PowerShell: wsl --set-version <distro> 2", "wsl"))
    if facts.os.system == "Darwin" and facts.os.arch == "x86_64":
        found.append(Finding(
            "macos.intel", "warn", "Intel Mac: torch stopped at 2.2 here",
            f"PyTorch publishes no macOS x86_64 wheels after {compat.MACOS_X86_LAST_TORCH}; the labs need {compat.LAB_TORCH_VERSION}.",
            "Use a Linux machine, a cloud notebook, or a Mac with Apple silicon", "system"))
    return found + memory_findings(facts) + disk_findings(facts)


def no_gpu_findings(facts: HostFacts, plan: Plan) -> list[Finding]:
    some_gpu = facts.nvidia or facts.amd or facts.os.system == "Darwin" or set(facts.pci_gpu_vendors) & {"nvidia", "amd"}
    if plan.device != "cpu" or some_gpu:
        return []
    cpu = facts.cpu.model or "the CPU"
    return [Finding("gpu.none", "warn", "No GPU found: labs run on the CPU",
                    f"No NVIDIA, AMD or Apple GPU is visible; {cpu} runs every lab, slower.",
                    "Nothing to fix for the course; for speed use a machine with an NVIDIA or AMD GPU, or Apple silicon", "system")]


def memory_findings(facts: HostFacts) -> list[Finding]:
    total = facts.memory.total_bytes
    if total is None:
        return []
    gib = total / GIB
    detail = f"{gib:.1f} GiB in all, {(facts.memory.available_bytes or 0) / GIB:.1f} GiB available"
    if gib < MEMORY_FAIL_GIB:
        return [Finding("memory.low", "fail", f"Only {gib:.1f} GiB of memory", detail,
                        f"The labs need at least {MEMORY_FAIL_GIB} GiB; close other programs or use a larger machine", "system")]
    if gib < MEMORY_WARN_GIB:
        return [Finding("memory.low", "warn", f"{gib:.1f} GiB of memory is tight", detail,
                        f"Modules 3-6 want {MEMORY_WARN_GIB} GiB; close other programs while they run", "system")]
    return [Finding("memory.ok", "ok", f"{gib:.0f} GiB of memory", detail, area="system")]


def disk_findings(facts: HostFacts) -> list[Finding]:
    found = []
    for disk in facts.disks:
        if disk.free_bytes is None:
            continue
        free = disk.free_bytes / GIB
        docker = disk.purpose == "docker"
        where = f"{disk.path} ({'Docker images' if docker else 'torchlab data'})"
        prefix = "disk.docker-" if docker else "disk."
        status = "fail" if free < DISK_FAIL_GIB else "warn" if free < DISK_WARN_GIB else "ok"
        if status == "ok":
            found.append(Finding(prefix + "ok", "ok", f"{free:.0f} GiB free for {where}", area="system"))
            continue
        fix = "docker system prune (removes unused images)" if docker else "Free space, or set TORCHLAB_DATA_DIR to a larger disk"
        found.append(Finding(prefix + "low", status, f"Only {free:.1f} GiB free for {where}",
                             f"A lab image with torch takes 1.5-6 GB; keep {DISK_WARN_GIB} GiB free.", fix, "system"))
    return found


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
            "nvidia.driver-too-old", "fail", f"NVIDIA driver {nvidia.driver_version} is too old for torch {plan.torch_version}",
            f"torch {plan.torch_version} is built for CUDA {', '.join(cudas)}; the oldest needs driver {lowest} or newer. " + gpu_list(facts),
            NVIDIA_DRIVER_FIX, "nvidia")
        return [too_old, *mig_findings(facts)]
    return [driver_ok(facts), *mig_findings(facts), *arch_findings(facts, plan.torch_version, cudas)]


def driver_ok(facts: HostFacts) -> Finding:
    nvidia = facts.nvidia
    assert nvidia is not None
    return Finding("nvidia.driver", "ok", f"NVIDIA driver {nvidia.driver_version}",
                   f"supports CUDA {nvidia.cuda_driver_version or 'unknown'}; " + gpu_list(facts), area="nvidia")


def driver_missing(facts: HostFacts) -> list[Finding]:
    nvidia = facts.nvidia
    if nvidia is None and "nvidia" not in facts.pci_gpu_vendors:
        return []
    why = nvidia.error if nvidia and nvidia.error else "an NVIDIA GPU is in the machine but no driver answers"
    if nvidia and nvidia.error and "mismatch" in nvidia.error.lower():
        return [Finding("nvidia.driver-mismatch", "fail", "NVIDIA driver and library versions differ", why,
                        "Reboot (the driver was upgraded while the old kernel module stayed loaded)", "nvidia")]
    if facts.source != "collect_env" or (nvidia and nvidia.gpus):
        return [Finding("nvidia.driver-missing", "fail", "No working NVIDIA driver", why, NVIDIA_DRIVER_FIX, "nvidia")]
    # A report (collect_env) cannot tell a broken driver from a machine with no NVIDIA GPU at all.
    return [Finding("nvidia.driver-missing", "warn", "No working NVIDIA driver, or no NVIDIA GPU", why,
                    "If the machine has an NVIDIA GPU: " + NVIDIA_DRIVER_FIX + "; otherwise labs run on the CPU", "nvidia")]


def gpu_list(facts: HostFacts) -> str:
    gpus = facts.nvidia.gpus if facts.nvidia else ()
    if not gpus:
        return "no GPU listed"
    names = [f"{gpu.name}" + (f" (sm {gpu.compute_capability})" if gpu.compute_capability else "") for gpu in gpus]
    return f"{len(gpus)} GPU{'s' if len(gpus) > 1 else ''}: " + ", ".join(names)


def mig_findings(facts: HostFacts) -> list[Finding]:
    migs = [gpu for gpu in facts.nvidia.gpus if gpu.mig_mode and gpu.mig_mode.startswith("Enabled")] if facts.nvidia else []
    if not migs:
        return []
    return [Finding("nvidia.mig-enabled", "warn", f"MIG is on for {len(migs)} GPU(s)",
                    "A lab sees a MIG slice, not the whole GPU; with no MIG instances made, CUDA sees no device.",
                    "Ask the machine's admin for a MIG instance, or turn MIG off: sudo nvidia-smi -i 0 -mig 0", "nvidia")]


def arch_findings(facts: HostFacts, torch_version: str, cudas: tuple[str, ...]) -> list[Finding]:
    found = []
    for name, capability in gpu_capabilities(facts):
        rows = [compat.cuda_arches(cuda, torch_version) for cuda in cudas]
        if any(row is None or compat.capability_supported(capability, row.arches, row.ptx) for row in rows):
            continue
        oldest = min((min(row.arches, key=compat.version_tuple) for row in rows if row), key=compat.version_tuple)
        found.append(Finding(
            "nvidia.gpu-arch-unsupported", "fail", f"{name} (compute capability {capability}) is too old for torch {torch_version}",
            f"torch {torch_version}'s CUDA builds start at compute capability {oldest}.",
            "Use --variant cpu, or an older torch that still supports this GPU (torch 2.7 cu118 supports 3.7+)", "nvidia"))
    return found


def amd_findings(facts: HostFacts, plan: Plan) -> list[Finding]:
    targets = amd_targets(facts)
    if not targets:
        return []
    found = []
    override = facts.amd.hsa_override_gfx_version if facts.amd else None
    if override:
        found.append(Finding("rocm.hsa-override", "warn", f"HSA_OVERRIDE_GFX_VERSION={override} is set",
                             "ROCm treats every GPU as that target; kernels may misbehave on a different chip.",
                             "Unset it unless your GPU needs it (e.g. gfx1031 -> 10.3.0)", "amd"))
    if plan.variant.startswith("rocm-"):
        return [Finding("rocm.gpu", "ok", f"AMD GPU {', '.join(sorted(set(targets)))}", plan.reasons["variant"], area="amd"), *found]
    release = compat.torch_release(plan.torch_version)
    rocms = release.rocm if release else ()
    supported = sorted({gfx for rocm in rocms for gfx in compat.rocm_gfx(rocm) or ()})
    unsupported = sorted(set(targets) - set(supported))
    return found + [Finding(
        "rocm.gfx-unsupported", "fail", f"AMD {', '.join(unsupported or targets)} is not a target of torch {plan.torch_version}'s ROCm build",
        f"ROCm {', '.join(rocms) or 'builds'} support {', '.join(supported)}.",
        "Use --variant cpu; for RDNA2 cards close to gfx1030, HSA_OVERRIDE_GFX_VERSION=10.3.0 often works", "amd")]


def apple_findings(facts: HostFacts) -> list[Finding]:
    if facts.os.system != "Darwin":
        return []
    if mps_eligible(facts):
        return [Finding("mps.available", "ok", "Apple GPU (MPS) available", f"macOS {facts.apple.macos_version}", area="apple")]
    version = facts.apple.macos_version if facts.apple else facts.os.version
    why = "this Mac has an Intel CPU" if facts.os.arch == "x86_64" else f"macOS {version} is older than 14"
    fix = "Update macOS to 14 (Sonoma) or later" if facts.os.arch != "x86_64" else "Labs run on the CPU here"
    return [Finding("mps.unavailable", "warn", "No Apple GPU (MPS) for current torch", why + "; labs run on the CPU.", fix, "apple")]


def wsl_findings(facts: HostFacts) -> list[Finding]:
    nvidia = facts.nvidia
    if facts.os.wsl != 2 or nvidia is None or nvidia.wsl_libcuda is not False:
        return []
    return [Finding("wsl.cuda-libs-missing", "fail", "WSL2 cannot see the Windows NVIDIA driver",
                    "/usr/lib/wsl/lib/libcuda.so.1 is missing: the Windows driver provides it to WSL2.",
                    "Install the NVIDIA driver on Windows (not inside WSL), then `wsl --shutdown` and reopen", "wsl")]


def docker_findings(facts: HostFacts) -> list[Finding]:
    docker = facts.docker
    if docker is None:
        return []
    if docker.state == "missing":
        return [Finding("docker.missing", "warn", "Docker is not installed", "Labs will run natively in a virtual environment.",
                        "Install Docker Engine (Linux: sudo apt-get install docker.io) or Docker Desktop", "docker")]
    if docker.state == "daemon-down":
        return [Finding("docker.daemon-down", "warn", "The Docker daemon is not running", docker.detail or "",
                        "sudo systemctl start docker  (Docker Desktop: start the app)", "docker")]
    if docker.state == "permission-denied":
        return [Finding("docker.permission-denied", "warn", f"No permission to use Docker's socket {docker.socket or ''}".strip(),
                        docker.detail or "", "sudo usermod -aG docker $USER, then log out and back in", "docker")]
    if docker.state == "error":
        return [Finding("docker.error", "warn", "Docker did not answer", docker.detail or "", "docker info  (shows what the engine says)", "docker")]
    kind = "rootless " if docker.rootless else "Docker Desktop " if docker.desktop else ""
    found = [Finding("docker.ok", "ok", f"Docker {docker.server_version} ({kind}engine, API {docker.api_version})".replace("( ", "("), area="docker")]
    return found + docker_gpu_findings(facts)


def docker_gpu_findings(facts: HostFacts) -> list[Finding]:
    docker = facts.docker
    if docker is None or not facts.nvidia or not facts.nvidia.gpus:
        return []
    if docker.nvidia_toolkit or "nvidia" in docker.runtimes or docker.desktop:
        return [Finding("docker.nvidia-runtime", "ok", "NVIDIA Container Toolkit present", area="docker")]
    return [Finding("docker.nvidia-runtime-missing", "fail", "Containers cannot reach the NVIDIA GPU",
                    "The NVIDIA Container Toolkit is not installed; `docker run --gpus` fails with 'could not select device driver'.",
                    "Install nvidia-container-toolkit, then: sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker",
                    "docker")]


def torch_findings(facts: HostFacts) -> list[Finding]:
    torch = facts.torch
    if torch is None:
        return []
    if torch.version is None:
        return [Finding("torch.not-installed", "skip", "torch is not installed in this Python",
                        "Not needed here: the labs bring their own.", area="torch")]
    found = [Finding("torch.installed", "ok", f"torch {torch.version}", torch_build_text(torch), area="torch")]
    return found + torch_driver_findings(facts) + torch_gpu_findings(facts)


def torch_build_text(torch) -> str:
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
        driver is not None and floor is not None and not compat.driver_at_least(driver, floor))
    if too_old:
        have = f"driver {driver}" if driver else f"a driver for CUDA {torch.driver_cuda_found}"
        return [Finding("nvidia.driver-too-old", "fail", f"The NVIDIA driver is too old for this torch (CUDA {torch.cuda_build})",
                        f"torch {torch.version} needs driver {floor or 'newer'}+; this machine has {have}.",
                        NVIDIA_DRIVER_FIX + ", or install a torch built for an older CUDA", "nvidia")]
    if torch.cuda_available is False and driver is None and not any(f for f in (nvidia,) if f and f.error):
        return [Finding("nvidia.driver-missing", "fail", "torch is built for CUDA but finds no working driver",
                        torch.init_error or "CUDA is not available and no NVIDIA driver answers.", NVIDIA_DRIVER_FIX, "nvidia")]
    return []


def torch_gpu_findings(facts: HostFacts) -> list[Finding]:
    torch = facts.torch
    gpu_host = bool(facts.nvidia and facts.nvidia.driver_version) or bool(amd_targets(facts))
    if torch is None or not gpu_host:
        return []
    if torch.cuda_build is None and torch.hip_build is None:
        return [Finding("torch.cpu-build-on-gpu-host", "fail", f"torch {torch.version} is a CPU build on a machine with a GPU",
                        "It will never use the GPU.", "pip install torch --index-url https://download.pytorch.org/whl/<cu126|rocm7.2>  (or: torchlab up)", "torch")]
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
    return [Finding("nvidia.gpu-arch-unsupported", "fail", f"{name} (compute capability {cc}) is not supported by torch {torch.version}",
                    f"This build has kernels for {', '.join(known)}.", "Install a torch build that lists this GPU's architecture, or use --variant cpu", "nvidia")
            for name, cc in gpu_capabilities(facts) if not compat.capability_supported(cc, known, ptx)]


def torch_gfx_findings(facts: HostFacts) -> list[Finding]:
    torch = facts.torch
    supported = tuple(a.split(":")[0] for a in torch.arch_list) or compat.rocm_gfx(torch.hip_build) or ()
    if not supported:
        return []
    return [Finding("rocm.gfx-unsupported", "fail", f"AMD {gfx} is not a target of torch {torch.version}",
                    f"This ROCm {torch.hip_build} build has kernels for {', '.join(supported)}.",
                    "Use --variant cpu; RDNA2 cards near gfx1030 often work with HSA_OVERRIDE_GFX_VERSION=10.3.0", "amd")
            for gfx in sorted(set(amd_targets(facts))) if gfx not in supported]
