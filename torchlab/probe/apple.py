"""Apple: the chip, its GPU cores and memory, and the macOS version.

On macOS the probe asks system_profiler (SPHardwareDataType, SPDisplaysDataType) and, when
that gives no chip, sysctl. The parsers read recorded outputs of both, so they are tested
anywhere. `arm64` is the running Python's architecture: an x86_64 Python under Rosetta on an
Apple chip reports False while `chip` still names the Apple chip.
"""

from __future__ import annotations

import platform
import re
from dataclasses import dataclass

from torchlab.facts import AppleFacts
from torchlab.run import run_command

PROFILER_TIMEOUT_S = 30.0
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB)\b")
_UNITS = {"KB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40}


@dataclass(frozen=True)
class MacGPU:
    """One entry of `system_profiler SPDisplaysDataType`."""

    model: str  # "Apple M4", "Radeon Pro Vega 64"
    vendor: str | None = None  # "Apple (0x106b)", "AMD (0x1002)"
    cores: int | None = None  # Apple GPUs only: "Total Number of Cores"
    vram_bytes: int | None = None  # discrete GPUs only: "VRAM (Total)"

    @property
    def is_apple(self) -> bool:
        return (self.vendor or "").startswith("Apple")


def size_bytes(text: str | None) -> int | None:
    """"16 GB" -> 17179869184 (macOS counts in powers of 1024)."""
    match = _SIZE.search(text or "")
    return int(float(match.group(1)) * _UNITS[match.group(2)]) if match else None


def _key_values(lines: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.strip().partition(": ")
        if sep:
            values.setdefault(key, value.strip())
    return values


def parse_hardware_overview(text: str) -> AppleFacts:
    """`system_profiler [-detailLevel mini] SPHardwareDataType`: chip and memory."""
    values = _key_values(text.splitlines())
    return AppleFacts(chip=values.get("Chip"), memory_bytes=size_bytes(values.get("Memory")))


def parse_displays(text: str) -> tuple[MacGPU, ...]:
    """`system_profiler SPDisplaysDataType`: each GPU (4-space "Name:" line, 6-space details)."""
    blocks: list[list[str]] = []
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip(" "))
        if indent == 4 and line.rstrip().endswith(":"):
            blocks.append([])
        elif indent == 6 and blocks:
            blocks[-1].append(line)
    return tuple(gpu for gpu in (_mac_gpu(_key_values(block)) for block in blocks) if gpu)


def _mac_gpu(values: dict[str, str]) -> MacGPU | None:
    model = values.get("Chipset Model")
    if not model:
        return None
    cores = values.get("Total Number of Cores", "")
    return MacGPU(
        model=model,
        vendor=values.get("Vendor"),
        cores=int(cores) if cores.isdigit() else None,
        vram_bytes=size_bytes(values.get("VRAM (Total)") or values.get("VRAM (Dynamic, Max)")),
    )


def parse_sysctl_cpu(text: str) -> str | None:
    """`sysctl machdep.cpu`: the brand string, as printed ("Apple M1 Pro", "Apple processor")."""
    values = _key_values(text.splitlines())
    return values.get("machdep.cpu.brand_string") or None


def apple_facts(
    hardware: str | None,
    displays: str | None,
    brand: str | None,
    macos_version: str | None,
    machine: str,
) -> AppleFacts:
    """Combine what system_profiler and sysctl printed with platform's answers."""
    overview = parse_hardware_overview(hardware or "")
    apple_gpu = next((gpu for gpu in parse_displays(displays or "") if gpu.is_apple), None)
    return AppleFacts(
        chip=overview.chip or (apple_gpu.model if apple_gpu else None) or brand,
        macos_version=macos_version or None,
        arm64=machine == "arm64",
        gpu_cores=apple_gpu.cores if apple_gpu else None,
        memory_bytes=overview.memory_bytes,
    )


def probe_apple() -> AppleFacts | None:
    """None when not on macOS."""
    if platform.system() != "Darwin":
        return None
    hardware = _profiler("SPHardwareDataType")
    displays = _profiler("SPDisplaysDataType")
    brand = None
    if "Chip:" not in (hardware or ""):
        sysctl = run_command(["sysctl", "machdep.cpu.brand_string"], timeout=5.0)
        brand = parse_sysctl_cpu(sysctl.stdout) if sysctl is not None and sysctl.ok else None
    return apple_facts(hardware, displays, brand, platform.mac_ver()[0], platform.machine())


def _profiler(data_type: str) -> str | None:
    result = run_command(["system_profiler", "-detailLevel", "mini", data_type], timeout=PROFILER_TIMEOUT_S)
    return result.stdout if result is not None and result.ok else None
