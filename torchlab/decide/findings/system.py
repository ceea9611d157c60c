"""Findings about the machine itself: OS and WSL, memory, disk, whether it has a GPU at all."""

from __future__ import annotations

from torchlab.decide import compat
from torchlab.decide.findings.finding import Finding, quote
from torchlab.decide.plan import GPUS_FIELD, Plan, report_missing
from torchlab.facts import HostFacts

GIB = 1024**3
DISK_WARN_GIB, DISK_FAIL_GIB = 20, 5  # an image with torch is ~1.5-6 GB; workspaces need room too
MEMORY_WARN_GIB, MEMORY_FAIL_GIB = 8, 4


def system_findings(facts: HostFacts) -> list[Finding]:
    found = [Finding("os.detected", "ok", f"{os_words(facts)} ({facts.os.arch or 'unknown arch'})", area="system",
                     evidence=quote(facts, "OS", "Python platform"))]
    if facts.os.wsl == 1:
        found.append(Finding(
            "wsl.version-1", "fail", "WSL 1 cannot run GPU labs or Docker",
            "WSL 1 has no GPU support and no Linux kernel for containers.",
            "In PowerShell: wsl --set-version <distro> 2", "wsl", evidence=quote(facts, "Python platform"),
        ))
    if facts.os.system == "Darwin" and facts.os.arch == "x86_64":
        found.append(x86_python_on_a_mac(facts))
    return found + memory_findings(facts) + disk_findings(facts)


def os_words(facts: HostFacts) -> str:
    """The OS as a person would say it: a distribution under WSL says so ("Ubuntu 20.04.4 LTS on WSL2"),
    as its kernel release ("...-microsoft-standard-WSL2") shows, though /etc/os-release names only the distribution."""
    if facts.os.wsl and "WSL" not in facts.os.name:
        return f"{facts.os.name} on WSL{facts.os.wsl}"
    return facts.os.name


def x86_python_on_a_mac(facts: HostFacts) -> Finding:
    """An x86_64 Python on macOS: an Intel Mac, or an Intel Python under Rosetta on Apple silicon (the
    CPU section of a report tells them apart when it names the chip)."""
    cpu = facts.cpu.model or ""
    evidence = quote(facts, "OS", "Python platform", "CPU")
    arm64_python = ("Install an arm64 Python (python.org's universal2 installer, Miniforge for arm64, or uv) and torch "
                    "in it; `python -c \"import platform; print(platform.machine())\"` must print arm64")
    rosetta = ("An x86_64 Python runs under Rosetta 2: it sees macOS as an Intel Mac, torch cannot use the Apple GPU "
               f"(MPS) from it, and PyTorch publishes no macOS x86_64 wheels after {compat.MACOS_X86_LAST_TORCH}.")
    if cpu.startswith("Apple"):
        return Finding("macos.rosetta-python", "warn", f"An x86_64 Python under Rosetta on an {cpu}", rosetta,
                       arm64_python, "system", "torch", evidence)
    macos = compat.version_tuple(facts.os.version or "0")
    if "Intel" not in cpu and macos >= (11,):
        return Finding(
            "macos.rosetta-python", "warn",
            f"An x86_64 Python on macOS {facts.os.version}: Rosetta on Apple silicon, or an Intel Mac",
            "The report does not name the chip. On Apple silicon: " + rosetta,
            "If `sysctl -n machdep.cpu.brand_string` names an Apple chip: " + arm64_python, "system", "torch", evidence)
    return Finding(
        "macos.intel", "warn", f"Intel Mac: torch stopped at {compat.MACOS_X86_LAST_TORCH} here",
        f"PyTorch publishes no macOS x86_64 wheels after {compat.MACOS_X86_LAST_TORCH}; the labs need "
        f"{compat.LAB_TORCH_VERSION}.",
        "Use a Linux machine, a cloud notebook, or a Mac with Apple silicon", "system", "labs", evidence)


def no_gpu_findings(facts: HostFacts, plan: Plan) -> list[Finding]:
    some_gpu = (
        facts.nvidia
        or facts.amd
        or facts.os.system == "Darwin"
        or set(facts.pci_gpu_vendors) & {"nvidia", "amd"}
    )
    if plan.device != "cpu" or some_gpu or report_missing(facts, GPUS_FIELD):
        return []  # a report cut before its GPU lines says nothing of GPUs
    cpu = facts.cpu.model or "the CPU"
    return [
        Finding(
            "gpu.none",
            "warn",
            "No GPU found: labs run on the CPU",
            f"No NVIDIA, AMD or Apple GPU is visible; {cpu} runs every lab, slower.",
            "Every lab runs as it is; for speed, a machine with an NVIDIA or AMD GPU, or a Mac with Apple silicon",
            "system",
            "host",
            quote(facts, GPUS_FIELD, "Nvidia driver version"),
        )
    ]


def memory_findings(facts: HostFacts) -> list[Finding]:
    total = facts.memory.total_bytes
    if total is None:
        return []
    gib = total / GIB
    detail = f"{gib:.1f} GiB in all, {(facts.memory.available_bytes or 0) / GIB:.1f} GiB available"
    if gib < MEMORY_FAIL_GIB:
        return [
            Finding(
                "memory.low",
                "fail",
                f"Only {gib:.1f} GiB of memory",
                detail,
                f"The labs need at least {MEMORY_FAIL_GIB} GiB; close other programs or use a larger machine",
                "system",
            )
        ]
    if gib < MEMORY_WARN_GIB:
        return [
            Finding(
                "memory.low",
                "warn",
                f"{gib:.1f} GiB of memory is tight",
                detail,
                f"Modules 3-6 want {MEMORY_WARN_GIB} GiB; close other programs while they run",
                "system",
            )
        ]
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
        fix = (
            "docker system prune (removes unused images)"
            if docker
            else "Free space, or set TORCHLAB_DATA_DIR to a larger disk"
        )
        found.append(
            Finding(
                prefix + "low",
                status,
                f"Only {free:.1f} GiB free for {where}",
                f"A lab image with torch takes 1.5-6 GB; keep {DISK_WARN_GIB} GiB free.",
                fix,
                "system",
            )
        )
    return found


def wsl_findings(facts: HostFacts) -> list[Finding]:
    nvidia = facts.nvidia
    if facts.os.wsl != 2 or nvidia is None or nvidia.wsl_libcuda is not False:
        return []
    return [
        Finding(
            "wsl.cuda-libs-missing",
            "fail",
            "WSL2 cannot see the Windows NVIDIA driver",
            "/usr/lib/wsl/lib/libcuda.so.1 is missing: the Windows driver provides it to WSL2.",
            "Install the NVIDIA driver on Windows (not inside WSL), then `wsl --shutdown` and reopen",
            "wsl",
        )
    ]
