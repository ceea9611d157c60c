"""Read the text of `python -m torch.utils.collect_env` (PyTorch's bug template) into HostFacts.

`torchlab doctor --from FILE` diagnoses a learner's machine from the report they pasted. Facts
only: what the text does not say stays None. Layouts read (all seen in real reports): old (Yes/No,
no Python platform), new (CPU section from lscpu, PowerShell, wmic or sysctl), warnings before
"PyTorch version", single- and multi-line GPU lists, ROCm builds.
"""

from __future__ import annotations

import re

from torchlab.facts import (
    AmdFacts, AmdGPU, AppleFacts, CPUFacts, HostFacts, NvidiaFacts, NvidiaGPU, OSFacts, TorchFacts,
)
from torchlab.probe.system import matching_flags, wsl_version

_START = "PyTorch version:"
_FIELD = re.compile(r"(?P<key>[A-Za-z][\w .()/-]*?):(?:\s+(?P<value>.*))?$")
_GPU_LINE = re.compile(r"GPU (?P<index>\d+): (?P<name>.+?)(?: \(UUID: [^)]*\))?\s*$", re.M)
_VERSION = re.compile(r"\d+(?:\.\d+)+")
_ARCHES = "x86_64|aarch64|arm64|armv7l|armv6l|ppc64le|s390x|riscv64|i686|i386|AMD64|ARM64"
_OS_ARCH = re.compile(rf"(?P<name>.*?)\s*\((?P<arch>{_ARCHES})\)$")  # "Ubuntu 22.04 LTS (x86_64)"
_LINUX_PLATFORM = re.compile(rf"Linux-(?P<kernel>.+?)-(?P<arch>{_ARCHES})(?:-|$)")
_MAC_PLATFORM = re.compile(rf"(?:macOS|Darwin)-[\d.]+-(?P<arch>{_ARCHES})(?:-|$)")
_WINDOWS_SUFFIX = re.compile(r"\s*\(\d+\.\d+\.\d+[^)]*\)$")  # "(10.0.22631 64-bit)"
_WINDOWS_VERSION = re.compile(r"\b10\.0\.(?P<build>\d+)")
_SYSTEMS = {"Linux": "Linux", "macOS": "Darwin", "Darwin": "Darwin", "Windows": "Windows"}
_NOT_COLLECTED = {"", "n/a", "none", "no cuda", "could not collect"}  # collect_env's "unknown"
_GPUS = "GPU models and configuration"


def looks_like_collect_env(text: str) -> bool:
    """True when the text carries collect_env's first line and one of the lines after it."""
    return _START in text and bool(
        re.search(r"^(Is debug build|CUDA used to build PyTorch|OS):", text, re.M))


def parse_collect_env(text: str) -> HostFacts:
    """HostFacts from a collect_env report; ValueError (one line) when the text is not one."""
    fields, cpu_lines = _read_report(text)
    os_facts, cpu, torch = _os_facts(fields), _cpu_facts(cpu_lines), _torch_facts(fields, text)
    return HostFacts(
        os=os_facts, cpu=cpu, torch=torch, docker=None, source="collect_env",
        nvidia=_nvidia_facts(fields, torch), amd=_amd_facts(fields, torch),
        apple=_apple_facts(os_facts, cpu),
    )


def _read_report(text: str) -> tuple[dict[str, str], list[str]]:
    """The "Key: value" fields (with their continuation lines) and the CPU section's lines."""
    if not text.strip():
        raise ValueError("empty text: expected the output of python -m torch.utils.collect_env")
    start = text.find(_START)  # after any warnings; mid-line in some pastes
    if start < 0:
        what = "cut before" if "Collecting environment information" in text else "no"
        raise ValueError(f"not a collect_env report: {what} 'PyTorch version' line")
    fields, cpu_lines = _fields(text[start:])
    if not _known(fields.get("PyTorch version")):
        raise ValueError("collect_env report without a PyTorch version (torch not importable?)")
    if "OS" not in fields and "CUDA used to build PyTorch" not in fields:
        raise ValueError(
            "collect_env report truncated: no OS and no CUDA lines after PyTorch version")
    return fields, cpu_lines


def _fields(body: str) -> tuple[dict[str, str], list[str]]:
    fields: dict[str, str] = {}
    cpu_lines: list[str] = []
    current: str | None = None
    for line in body.splitlines():
        stripped = line.strip()
        if stripped.startswith("Versions of relevant libraries"):
            break
        if current == "CPU" and stripped:
            cpu_lines.append(stripped)
            continue
        match = _FIELD.match(stripped)
        if match and not _GPU_LINE.match(stripped):
            current = match["key"] if match["key"] not in fields else None
            if current:
                fields[current] = (match["value"] or "").strip()
        elif stripped and current:  # "GPU 1: ...", cuDNN paths, a hard-wrapped line
            fields[current] = f"{fields[current]}\n{stripped}".strip()
        else:
            current = None
    return fields, cpu_lines


def _known(value: str | None) -> str | None:
    """The value, or None where collect_env says it could not learn it."""
    if value is None or value.strip().lower() in _NOT_COLLECTED:
        return None
    return value.strip()


def _version_in(value: str | None) -> str | None:
    """The leading dotted version: "6.3.42131-fa1d09cbd" -> "6.3.42131"."""
    match = _VERSION.match(value or "")
    return match.group(0) if match else None


def _os_facts(fields: dict[str, str]) -> OSFacts:
    os_line = _known(fields.get("OS")) or ""
    platform = fields.get("Python platform", "")
    system = _system(os_line, platform, fields)
    arch_match = _OS_ARCH.match(os_line)
    name = _readable(arch_match["name"] if arch_match else _WINDOWS_SUFFIX.sub("", os_line))
    linux, mac = _LINUX_PLATFORM.match(platform), _MAC_PLATFORM.match(platform)
    windows = _WINDOWS_VERSION.search(f"{os_line} {platform}") if system == "Windows" else None
    kernel = linux["kernel"] if linux else None
    return OSFacts(
        system=system,
        name=name or "unknown",
        version=_os_version(system, name, windows),
        kernel=kernel,
        arch=_arch(arch_match or linux or mac, system, fields),
        wsl=wsl_version(kernel) if kernel else None,
        windows_build=windows["build"] if windows else None,
    )


def _system(os_line: str, platform: str, fields: dict[str, str]) -> str:
    """"Linux" | "Darwin" | "Windows", or "unknown" where the text does not say."""
    if platform.split("-", 1)[0] in _SYSTEMS:
        return _SYSTEMS[platform.split("-", 1)[0]]
    if "Windows" in os_line:
        return "Windows"
    if re.match(r"mac ?os", os_line, re.IGNORECASE):
        return "Darwin"
    if _OS_ARCH.match(os_line) or "glibc" in fields.get("Libc version", ""):
        return "Linux"
    return "unknown"


def _readable(name: str) -> str:
    """The name without leading words garbled by a wrong code page ("Њ ©Єа®б®дв Windows 10")."""
    words = name.split()
    while words and not words[0].isascii():
        words.pop(0)
    return " ".join(words) if words else name.strip()


def _os_version(system: str, name: str, windows: re.Match | None) -> str | None:
    """Windows: "10.0.22631"; others: the version in the name ("macOS 14.5", "Ubuntu 22.04.1")."""
    if system == "Windows":
        return windows.group(0) if windows else None
    match = _VERSION.search(name) or re.search(r"\b\d+\b", name)
    return match.group(0) if match else None


def _arch(match: re.Match | None, system: str, fields: dict[str, str]) -> str | None:
    """platform.machine() as the OS line or the platform says it; on Windows, as Python's build
    does ("[MSC v.1943 64 bit (AMD64)]")."""
    if match:
        return match["arch"]
    python = re.search(r"\((AMD64|ARM64)\)\]", fields.get("Python version", ""))
    return python.group(1) if python and system == "Windows" else None


def _cpu_facts(cpu_lines: list[str]) -> CPUFacts:
    """lscpu and PowerShell print "Key: value", wmic "Key=value", macOS the brand string alone."""
    values: dict[str, str] = {}
    for line in cpu_lines:
        match = re.match(r"([A-Za-z][\w ()/-]*?)\s*[:=]\s*(.*)$", line)
        if match:
            values.setdefault(match.group(1), match.group(2).strip())
    brand = cpu_lines[0] if len(cpu_lines) == 1 and not values else None
    sockets, per_socket = _int(values.get("Socket(s)")), _int(values.get("Core(s) per socket"))
    max_mhz = values.get("CPU max MHz") or values.get("MaxClockSpeed") or ""
    return CPUFacts(
        model=values.get("Model name") or values.get("Name") or brand,
        cores_physical=sockets * per_socket if sockets and per_socket else None,
        cores_logical=_int(values.get("CPU(s)")),
        flags=matching_flags(values.get("Flags", "").split()),
        max_mhz=float(max_mhz) if re.fullmatch(r"\d+(?:\.\d+)?", max_mhz) else None,
    )


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _torch_facts(fields: dict[str, str], text: str) -> TorchFacts:
    available = {"true": True, "yes": True, "false": False, "no": False}.get(
        fields.get("Is CUDA available", "").lower())
    warning = torch_cuda_warning(text)
    return TorchFacts(
        version=_known(fields.get("PyTorch version")),
        cuda_build=_version_in(_known(fields.get("CUDA used to build PyTorch"))),
        hip_build=_version_in(_known(fields.get("ROCM used to build PyTorch"))),
        cuda_available=available,
        device_count=_device_count(fields, available),
        init_error=warning,
        driver_cuda_found=driver_cuda_found(warning),
    )


def _device_count(fields: dict[str, str], available: bool | None) -> int | None:
    """torch's count: 0 when CUDA is unavailable (is_available() is count > 0); else the GPUs
    nvidia-smi -L listed. A ROCm build names device 0 only, without "GPU 0:": no count."""
    if available is False:
        return 0
    if available is None:
        return None
    return len(_GPU_LINE.findall(fields.get(_GPUS, ""))) or None


def torch_cuda_warning(text: str) -> str | None:
    """torch's CUDA initialisation warning or error in the text, without its source location."""
    for line in text.splitlines():
        match = re.search(r"\w*(?:Warning|Error): (.*(?:CUDA|NVIDIA).*)$", line)
        if match:
            return re.sub(r"\s*\(Triggered internally at .*$", "", match.group(1)).strip()
    return None


def driver_cuda_found(warning: str | None) -> str | None:
    """torch's "found version 9010" -> "9.1" (CUDA's packing: major * 1000 + minor * 10)."""
    match = re.search(r"found version (\d+)", warning or "")
    if not match:
        return None
    packed = int(match.group(1))
    return f"{packed // 1000}.{packed % 1000 // 10}"


def _nvidia_facts(fields: dict[str, str], torch: TorchFacts) -> NvidiaFacts | None:
    """The driver and GPUs nvidia-smi told collect_env (on WSL2, the Windows driver)."""
    driver_line = fields.get("Nvidia driver version", "")
    driver = driver_line if re.fullmatch(r"\d+\.\d+(?:\.\d+)?", driver_line) else None
    gpus = tuple(NvidiaGPU(index=int(m["index"]), name=m["name"])
                 for m in _GPU_LINE.finditer(fields.get(_GPUS, "")))
    error = None
    if driver_line.lower() == "could not collect" and torch.cuda_build:
        error = "collect_env could not collect the NVIDIA driver version (it asks nvidia-smi)"
    if not (driver or gpus or error or torch.driver_cuda_found):
        return None
    return NvidiaFacts(source="collect_env", driver_version=driver, gpus=gpus, error=error,
                       cuda_driver_version=torch.driver_cuda_found)


def _amd_facts(fields: dict[str, str], torch: TorchFacts) -> AmdFacts | None:
    """A ROCm build names device 0: "AMD Radeon RX 5700 XT (gfx1010:xnack-)"."""
    listed = _known(fields.get(_GPUS)) or ""
    target = re.search(r"\((gfx[0-9a-f]+)[^)]*\)", listed)
    if not (target or (torch.hip_build and listed and not _GPU_LINE.search(listed))):
        return None
    name = re.sub(r"\s*\(gfx[^)]*\)|NoGCNArchNameOnOldPyTorch", "", listed).strip()
    gpu = AmdGPU(index=0, gfx_target=target.group(1) if target else None, name=name or None)
    return AmdFacts(source="collect_env", gpus=(gpu,),
                    rocm_version=_version_in(_known(fields.get("HIP runtime version"))))


def _apple_facts(os_facts: OSFacts, cpu: CPUFacts) -> AppleFacts | None:
    if os_facts.system != "Darwin":
        return None
    chip = cpu.model if cpu.model and cpu.model.startswith("Apple") else None
    return AppleFacts(chip=chip, macos_version=os_facts.version, arm64=os_facts.arch == "arm64")
