"""Findings about the learner's own torch: the one in this Python (--torch) or in a pasted report.

What torch said about itself (its warnings and errors in the paste) comes first; then what its
version, its build and the machine's driver and GPUs say together."""

from __future__ import annotations

from torchlab.decide import compat
from torchlab.decide.findings.finding import Finding, quote
from torchlab.decide.findings.gpu import NVIDIA_DRIVER_FIX, override_fix
from torchlab.decide.plan import GPUS_FIELD, amd_targets, gpu_capabilities, report_missing, uses_windows_driver
from torchlab.decide.torch_words import Said, capability_of, driver_cuda, understood
from torchlab.facts import HostFacts, TorchFacts

BUILD = ("PyTorch version", "CUDA used to build PyTorch")
AVAILABLE = ("Is CUDA available", GPUS_FIELD, "Nvidia driver version")
CPU_WHEEL = "pip install torch --index-url https://download.pytorch.org/whl/cpu"
INIT_FIX = ("Reload the NVIDIA UVM module (sudo rmmod nvidia_uvm && sudo modprobe nvidia_uvm) or reboot: CUDA often "
            "fails this way after a suspend or a driver update; then check with python -c \"import torch; torch.cuda.init()\"")
# Inside WSL2 there is no Linux NVIDIA driver or nvidia_uvm module: torch reaches the Windows driver through the
# libcuda.so.1 that WSL mounts in /usr/lib/wsl/lib, so that is what to check.
WSL_INIT_FIX = ("Inside WSL2 torch reaches the Windows NVIDIA driver through /usr/lib/wsl/lib/libcuda.so.1: check "
                "`ldconfig -p | grep libcuda` lists it (and no Linux NVIDIA driver or libcuda is installed inside WSL), "
                "update the driver on Windows, then run `wsl --shutdown` and reopen; then check with "
                "python -c \"import torch; torch.cuda.init()\"")


def init_fix(facts: HostFacts) -> str:
    """How to get a CUDA that fails to start going again, on this kind of host."""
    return WSL_INIT_FIX if facts.os.wsl == 2 else INIT_FIX


def torch_findings(facts: HostFacts) -> list[Finding]:
    torch = facts.torch
    if torch is None:
        return []
    if torch.version is None:
        return [not_installed(facts)]
    installed = Finding("torch.installed", "ok", f"torch {torch.version}", torch_build_text(torch), area="torch",
                        about="torch", evidence=quote(facts, *BUILD, "ROCM used to build PyTorch"))
    return [installed, *words_findings(facts), *driver_findings(facts), *gpu_findings(facts)]


def not_installed(facts: HostFacts) -> Finding:
    if facts.report is None:
        return Finding("torch.not-installed", "skip", "torch is not installed in this Python",
                       "Not needed here: the labs bring their own.", area="torch", about="torch")
    return Finding(
        "torch.not-installed", "warn", "torch could not be imported in the Python that made this report",
        "collect_env prints 'PyTorch version: N/A' when `import torch` fails in its Python: torch is missing there, "
        "or broken.",
        "Run collect_env with the Python that has torch (python -c \"import torch\" shows why it fails), or install torch",
        "torch", "torch", quote(facts, "PyTorch version", "Python version"),
    )


def torch_build_text(torch: TorchFacts) -> str:
    if torch.cuda_build:
        return f"built for CUDA {torch.cuda_build}"
    return f"built for ROCm {torch.hip_build}" if torch.hip_build else "a CPU build"


# --- torch's own words ------------------------------------------------------------------------------------
def words_findings(facts: HostFacts) -> list[Finding]:
    torch = facts.torch
    assert torch is not None
    found = []
    for message in torch.messages:
        said = understood(message)
        maker = SAID.get(said.kind) if said else None
        finding = maker(facts, said) if maker and said else None
        if finding:
            found.append(finding)
    return found


def said_arch(facts: HostFacts, said: Said) -> Finding:
    torch = facts.torch
    cc = capability_of(said.values["sm"])
    builds = f" This build has kernels for {compat.arch_span(torch.arch_list)}." if torch.arch_list else ""
    evidence = quote(facts, said.text, *arch_list_said(facts))
    return Finding(
        "nvidia.gpu-arch-unsupported", "fail",
        f"Your torch {torch.version} has no kernels for sm_{said.values['sm']} (compute capability {cc})",
        f"torch says: {said.text}{builds}", newer_build_fix(facts, cc), "nvidia", "torch", evidence,
    )


def arch_list_said(facts: HostFacts) -> tuple[str, ...]:
    torch = facts.torch
    return tuple(m for m in torch.messages if (s := understood(m)) and s.kind == "arch-list") if torch else ()


def said_gpu_too_old(facts: HostFacts, said: Said) -> Finding:
    torch = facts.torch
    cc = said.values.get("cc") or ""
    return Finding(
        "nvidia.gpu-arch-unsupported", "fail",
        f"Your torch {torch.version} dropped {said.values.get('name')} (compute capability {cc})",
        f"torch says: {said.text}", older_build_fix(cc), "nvidia", "torch", quote(facts, said.text),
    )


def said_needs_newer_cuda(facts: HostFacts, said: Said) -> Finding:
    torch = facts.torch
    return Finding(
        "nvidia.gpu-arch-unsupported", "fail", f"{said.values.get('name')} is newer than your torch {torch.version}'s CUDA",
        f"torch says: {said.text}", "Install a torch built for a newer CUDA (see https://pytorch.org/get-started/locally/)",
        "nvidia", "torch", quote(facts, said.text),
    )


def said_driver_too_old(facts: HostFacts, said: Said) -> Finding:
    torch = facts.torch
    found = said.values.get("found")
    has = f"a driver for CUDA {driver_cuda(found)} at most" if found else "an older driver than its CUDA runtime"
    floor = compat.min_driver(torch.cuda_build, uses_windows_driver(facts)) if torch.cuda_build else None
    needs = f" (driver {floor} or newer)" if floor else ""
    return Finding(
        "nvidia.driver-too-old", "fail",
        f"The NVIDIA driver is too old for your torch {torch.version} (CUDA {torch.cuda_build or 'build'})",
        f"torch says: {said.text}. The machine has {has}; torch needs CUDA {torch.cuda_build}{needs}.",
        NVIDIA_DRIVER_FIX + ", or install a torch built for an older CUDA", "nvidia", "torch",
        quote(facts, said.text, *BUILD, "Nvidia driver version"),
    )


def said_no_driver(facts: HostFacts, said: Said) -> Finding:
    return Finding("nvidia.driver-missing", "fail", "torch found no NVIDIA driver",
                   f"torch says: {said.text}", NVIDIA_DRIVER_FIX + "; without an NVIDIA GPU, install the CPU build: "
                   + CPU_WHEEL, "nvidia", "torch", quote(facts, said.text, *BUILD))


def said_init_failed(facts: HostFacts, said: Said) -> Finding:
    return Finding("nvidia.cuda-init-failed", "fail", "CUDA failed to start in your torch",
                   f"torch says: {said.text}", init_fix(facts), "nvidia", "torch", quote(facts, said.text, *AVAILABLE))


def said_no_kernel(facts: HostFacts, said: Said) -> Finding:
    torch = facts.torch
    arches = torch_arches(facts)
    gpus = gpu_capabilities(facts)
    if arches and gpus and all(compat.runs_on(cc, arches) for _, cc in gpus):
        detail = (f"torch {torch.version} itself has kernels for {', '.join(f'{n} ({cc})' for n, cc in gpus)} "
                  f"({compat.arch_span(arches)}): the kernel without code for this GPU comes from another package "
                  "(an extension or a library built for other GPUs).")
        fix = "Rebuild or reinstall that package for this GPU (TORCH_CUDA_ARCH_LIST with its compute capability)"
        return Finding("torch.no-kernel-image", "warn", "A CUDA kernel had no code for this GPU",
                       f"torch says: {said.text}. {detail}", fix, "torch", "torch", quote(facts, said.text, *BUILD))
    return Finding("torch.no-kernel-image", "warn", "A CUDA kernel had no code for this GPU",
                   f"torch says: {said.text}.", "Compare the GPU's compute capability with "
                   "python -c \"import torch; print(torch.cuda.get_arch_list())\"; install a build that lists it",
                   "torch", "torch", quote(facts, said.text, GPUS_FIELD))


def said_hip_no_binary(facts: HostFacts, said: Said) -> Finding:
    targets = sorted(set(amd_targets(facts)))
    return Finding("rocm.gfx-unsupported", "fail",
                   f"Your torch has no kernels for {', '.join(targets) or 'this AMD GPU'}",
                   f"torch says: {said.text}", override_fix(targets), "amd", "torch",
                   quote(facts, said.text, GPUS_FIELD, "ROCM used to build PyTorch"))


def said_no_hip_gpus(facts: HostFacts, said: Said) -> Finding:
    return Finding("rocm.no-gpu", "warn", "torch's ROCm build finds no AMD GPU", f"torch says: {said.text}",
                   "Check that /dev/kfd and /dev/dri exist and that you are in the video and render groups",
                   "amd", "torch", quote(facts, said.text))


SAID = {
    "arch-not-compatible": said_arch, "gpu-too-old": said_gpu_too_old, "gpu-needs-newer-cuda": said_needs_newer_cuda,
    "driver-too-old": said_driver_too_old, "driver-insufficient": said_driver_too_old, "no-driver": said_no_driver,
    "init-failed": said_init_failed, "no-kernel-image": said_no_kernel, "hip-no-binary": said_hip_no_binary,
    "no-hip-gpus": said_no_hip_gpus,
}


# --- the build against the driver ---------------------------------------------------------------------------
def driver_findings(facts: HostFacts) -> list[Finding]:
    """The learner's CUDA build against the driver the machine has (not on macOS, whose CUDA driver
    numbers differ)."""
    torch, nvidia = facts.torch, facts.nvidia
    if torch is None or torch.cuda_build is None or facts.os.system == "Darwin":
        return []
    driver = nvidia.driver_version if nvidia else None
    floor = compat.min_driver(torch.cuda_build, uses_windows_driver(facts))
    if driver and floor and not compat.driver_at_least(driver, floor):
        return [Finding(
            "nvidia.driver-too-old", "fail", f"NVIDIA driver {driver} is too old for your torch {torch.version}",
            f"torch {torch.version} is built for CUDA {torch.cuda_build}, which needs driver {floor} or newer.",
            f"{NVIDIA_DRIVER_FIX}, or install a torch built for an older CUDA", "nvidia", "torch",
            quote(facts, *BUILD, "Nvidia driver version"),
        )]
    if torch.cuda_available is not False or torch.driver_cuda_found or said_any(facts):
        return []
    return unavailable_findings(facts, driver, floor)


def said_any(facts: HostFacts) -> bool:
    """torch explained itself in the paste (a finding already quotes it)."""
    return bool(facts.torch and any((s := understood(m)) and s.kind in SAID for m in facts.torch.messages))


def unavailable_findings(facts: HostFacts, driver: str | None, floor: str | None) -> list[Finding]:
    """A CUDA build that says CUDA is not available, and torch did not say why."""
    torch, nvidia = facts.torch, facts.nvidia
    gpus = nvidia.gpus if nvidia else ()
    if gpus and driver:
        return [Finding(
            "nvidia.cuda-init-failed", "fail", f"Your torch {torch.version} cannot start CUDA, though the driver is new enough",
            f"nvidia-smi lists {len(gpus)} GPU(s) and driver {driver} meets CUDA {torch.cuda_build}'s floor "
            f"({floor}), yet CUDA is not available to torch.", init_fix(facts), "nvidia", "torch", quote(facts, *BUILD, *AVAILABLE),
        )]
    if gpus and report_missing(facts, "Nvidia driver version"):
        return [Finding(
            "nvidia.driver-too-old", "warn", f"The NVIDIA driver may be too old for your torch {torch.version}",
            f"nvidia-smi lists {len(gpus)} GPU(s), so a driver is loaded, but CUDA {torch.cuda_build} is not "
            f"available to torch, and the report ends before the driver line. The usual cause: a driver older than "
            f"{floor or 'that CUDA needs'}.", f"Check the driver with nvidia-smi; if it is older than {floor}: "
            + NVIDIA_DRIVER_FIX, "nvidia", "torch", quote(facts, *BUILD, *AVAILABLE),
        )]
    if report_missing(facts, GPUS_FIELD):
        return [Finding(
            "torch.cuda-unavailable", "warn", f"Your torch {torch.version} is a CUDA build, but CUDA is not available",
            "The report ends before the GPU and driver lines, which would say why.",
            "Paste the whole report, or run nvidia-smi on that machine", "torch", "torch", quote(facts, *BUILD, *AVAILABLE),
        )]
    if nvidia is None or not nvidia.error:
        probed = facts.report is None
        return [Finding(
            "nvidia.driver-missing", "fail" if probed else "warn",
            f"torch {torch.version} is built for CUDA, but no NVIDIA driver answers" + ("" if probed else " (or no NVIDIA GPU)"),
            torch.init_error or "CUDA is not available and nvidia-smi names no GPU and no driver.",
            NVIDIA_DRIVER_FIX + "; on a machine without an NVIDIA GPU, install the CPU build: " + CPU_WHEEL,
            "nvidia", "torch", quote(facts, *BUILD, *AVAILABLE),
        )]
    return []


# --- the build against the GPUs -------------------------------------------------------------------------------
def gpu_findings(facts: HostFacts) -> list[Finding]:
    torch = facts.torch
    assert torch is not None
    gpu_host = bool(facts.nvidia and (facts.nvidia.driver_version or facts.nvidia.gpus)) or bool(amd_targets(facts))
    if torch.cuda_build is None and torch.hip_build is None:
        return cpu_build_findings(facts, gpu_host)
    if torch.cuda_build and facts.nvidia:
        return arch_findings(facts)
    if torch.hip_build and facts.amd:
        return gfx_findings(facts)
    return []


def cpu_build_findings(facts: HostFacts, gpu_host: bool) -> list[Finding]:
    torch = facts.torch
    fix = "pip install torch --index-url https://download.pytorch.org/whl/<cu126|rocm7.2>  (or: torchlab up)"
    evidence = quote(facts, *BUILD, GPUS_FIELD, "Nvidia driver version")
    if gpu_host and facts.os.system != "Darwin":
        return [Finding("torch.cpu-build-on-gpu-host", "fail", f"Your torch {torch.version} is a CPU build on a machine with a GPU",
                        "It will never use the GPU.", fix, "torch", "torch", evidence)]
    if report_missing(facts, GPUS_FIELD) and facts.os.system in ("Linux", "Windows"):
        return [Finding(
            "torch.cpu-build-on-gpu-host", "warn", f"Your torch {torch.version} is a CPU build",
            "The report ends before its GPU lines: if this machine has an NVIDIA or AMD GPU, this torch never uses it.",
            "If it has one: " + fix, "torch", "torch", evidence)]
    return []


def torch_arches(facts: HostFacts) -> tuple[str, ...] | None:
    """What torch.cuda.get_arch_list() of the learner's torch reports: from torch's own words or the probe,
    else from the tables for a published wheel; None when neither knows (nightlies, source builds)."""
    torch = facts.torch
    if torch is None or torch.cuda_build is None:
        return None
    said = tuple(a for a in torch.arch_list if a.startswith(("sm_", "compute_")))
    return said or compat.build_arch_list(torch.version or "", torch.cuda_build)


def arch_findings(facts: HostFacts) -> list[Finding]:
    torch = facts.torch
    arches = torch_arches(facts)
    if not arches:
        return []
    windows = " (the arch list of the Linux wheel; Windows wheels were built from similar lists)" if (
        facts.os.system == "Windows" and not torch.arch_list) else ""
    return [
        Finding(
            "nvidia.gpu-arch-unsupported", "fail",
            f"{name} (compute capability {cc}) has no kernels in your torch {torch.version}",
            f"This build has kernels for {compat.arch_span(arches)}{windows}.",
            newer_build_fix(facts, cc) if compat.newer_than(cc, arches) else older_build_fix(cc),
            "nvidia", "torch", quote(facts, *BUILD, GPUS_FIELD),
        )
        for name, cc in gpu_capabilities(facts)
        if not compat.runs_on(cc, arches)
    ]


def newer_build_fix(facts: HostFacts, cc: str) -> str:
    """Install the first torch whose wheels have kernels for this GPU (with the driver it needs)."""
    builds = compat.builds_with_kernels_for(cc)
    if not builds:
        return "No torch wheel in torchlab's tables has kernels for it; build torch from source for it"
    minor, cuda = builds[0]
    floor = compat.min_driver(cuda, uses_windows_driver(facts))
    driver = facts.nvidia.driver_version if facts.nvidia else None
    update = (f"; it needs driver {floor} or newer" if floor and driver and not compat.driver_at_least(driver, floor)
              else "")
    index = compat.cuda_index(cuda)
    return (f"Install a {index} build, torch {minor} or newer: pip install torch --index-url "
            f"https://download.pytorch.org/whl/{index}{update}")


def older_build_fix(cc: str) -> str:
    builds = compat.builds_with_kernels_for(cc)
    if not builds:
        return "No torch wheel in torchlab's tables has kernels for it: use the CPU (--variant cpu), or a newer GPU"
    minor, cuda = builds[-1]
    return (f"The newest torch with kernels for compute capability {cc} is {minor} (CUDA {cuda}, "
            f"index {compat.cuda_index(cuda)}); or use the CPU (--variant cpu)")


def gfx_findings(facts: HostFacts) -> list[Finding]:
    torch = facts.torch
    supported = tuple(a.split(":")[0] for a in torch.arch_list if a.startswith("gfx")) or compat.rocm_gfx(
        torch.hip_build or "") or ()
    if not supported:
        return []
    unsupported = sorted(set(amd_targets(facts)) - set(supported))
    return [
        Finding(
            "rocm.gfx-unsupported", "fail", f"AMD {gfx} is not a target of your torch {torch.version}",
            f"This ROCm {torch.hip_build} build has kernels for {', '.join(supported)}.",
            override_fix([gfx]), "amd", "torch", quote(facts, "PyTorch version", "ROCM used to build PyTorch", GPUS_FIELD),
        )
        for gfx in unsupported
    ]
