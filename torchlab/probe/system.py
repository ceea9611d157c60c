"""OS, CPU, memory and disk facts. Parsers are pure; `probe_*` read the live system."""

from __future__ import annotations

import platform
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

import psutil

from torchlab.facts import CPUFacts, DiskFacts, MemoryFacts, OSFacts

# The CPU flags that change how torch runs here (vector units, matrix engines).
FLAGS_THAT_MATTER = (
    "avx",
    "avx2",
    "fma",
    "avx512f",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
    "neon",
    "asimd",
    "sve",
)


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value lines of /etc/os-release, quotes removed."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            values[key] = value.strip().strip("\"'")
    return values


def wsl_version(kernel_text: str) -> int | None:
    """WSL from a kernel release, `uname -a` or /proc/version: 2, 1, or None (not WSL).

    WSL2 kernels say "microsoft-standard" (older ones without the -WSL2 suffix); WSL1 says
    "Microsoft" with a capital M and no "standard".
    """
    if re.search(r"microsoft-standard|WSL2", kernel_text, re.IGNORECASE):
        return 2
    if "Microsoft" in kernel_text:
        return 1
    return None


def kernel_release(kernel_text: str) -> str | None:
    """The release from `uname -a` ("Linux host 5.15.0-48-generic ...") or /proc/version."""
    match = re.search(r"Linux version (\S+)", kernel_text) or re.match(r"Linux \S+ (\S+)", kernel_text)
    return match.group(1) if match else None


def in_container(root: Path = Path("/")) -> bool:
    """Docker and Podman leave a marker file; other engines show in PID 1's cgroup."""
    if (root / ".dockerenv").exists() or (root / "run/.containerenv").exists():
        return True
    try:
        cgroup = (root / "proc/1/cgroup").read_text(errors="replace")
    except OSError:
        return False
    return bool(re.search(r"docker|kubepods|containerd|libpod|lxc", cgroup))


def probe_os(root: Path = Path("/")) -> OSFacts:
    system = platform.system()
    if system == "Linux":
        return _linux_os(root)
    if system == "Darwin":
        version = platform.mac_ver()[0]
        return OSFacts(system, f"macOS {version}", version, "macos", platform.release(), platform.machine())
    version = platform.version()  # Windows: "10.0.22631"
    return OSFacts(
        system,
        f"Windows {platform.release()}",
        version,
        "windows",
        version,
        platform.machine(),
        windows_build=version.rsplit(".", 1)[-1],
    )


def _linux_os(root: Path) -> OSFacts:
    release = {}
    for candidate in ("etc/os-release", "usr/lib/os-release"):
        try:
            release = parse_os_release((root / candidate).read_text(errors="replace"))
            break
        except OSError:
            continue
    try:
        proc_version = (root / "proc/version").read_text(errors="replace")
    except OSError:
        proc_version = ""
    return OSFacts(
        system="Linux",
        name=release.get("PRETTY_NAME") or release.get("NAME") or "Linux",
        version=release.get("VERSION_ID"),
        distro=release.get("ID"),
        kernel=platform.release(),
        arch=platform.machine(),
        wsl=wsl_version(proc_version or platform.release()),
        in_container=in_container(root),
    )


def parse_cpuinfo(text: str) -> CPUFacts:
    """/proc/cpuinfo: model name, logical CPUs, the flags that matter."""
    model = None
    flags: set[str] = set()
    logical = 0
    for line in text.splitlines():
        key, _, value = (part.strip() for part in line.partition(":"))
        if key == "processor":
            logical += 1
        elif key in ("model name", "Model Name", "Processor") and model is None:
            model = value
        elif key in ("flags", "Features"):
            flags.update(value.split())
    return CPUFacts(model=model, cores_logical=logical or None, flags=matching_flags(flags))


def matching_flags(flags: Iterable[str]) -> tuple[str, ...]:
    present = set(flags)
    return tuple(flag for flag in FLAGS_THAT_MATTER if flag in present)


def probe_cpu(root: Path = Path("/")) -> CPUFacts:
    try:
        parsed = parse_cpuinfo((root / "proc/cpuinfo").read_text(errors="replace"))
    except OSError:
        parsed = CPUFacts(model=platform.processor() or None)
    freq = psutil.cpu_freq() if hasattr(psutil, "cpu_freq") else None
    return CPUFacts(
        model=parsed.model or platform.processor() or None,
        cores_physical=psutil.cpu_count(logical=False),
        cores_logical=psutil.cpu_count(logical=True),
        flags=parsed.flags or (("neon",) if platform.machine() == "arm64" else ()),
        max_mhz=(freq.max or None) if freq else None,
    )


def probe_memory() -> MemoryFacts:
    memory = psutil.virtual_memory()
    return MemoryFacts(total_bytes=memory.total, available_bytes=memory.available)


def probe_disk(purpose: str, path: Path) -> DiskFacts:
    """Free space where `path` lives (its nearest existing parent: the folder may not exist yet)."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        usage = shutil.disk_usage(existing)
    except OSError:
        return DiskFacts(purpose, str(path))
    return DiskFacts(purpose, str(path), usage.free, usage.total)
