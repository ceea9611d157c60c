"""Read the text of `python -m torch.utils.collect_env` (PyTorch's bug template) into HostFacts.

`torchlab doctor --from FILE` diagnoses a learner's machine from the report they pasted. Facts
only: what the text does not say stays None, and what it never reached is listed as missing (a report
cut before its GPU lines says nothing about GPUs). Layouts read (all seen in real reports, torch 0.4 to
2.x): old (Yes/No, no Python platform), new (CPU section from lscpu, PowerShell, wmic or sysctl),
vLLM's sectioned copy ("Key   : value"), warnings before or inside the report, single- and
multi-line GPU lists, MIG lines, ROCm builds; pasted however people paste (see doctor.paste). Each fact
keeps the line it was read from, for the findings to quote.
"""

from __future__ import annotations

import re
from dataclasses import replace

from torchlab.decide.torch_words import Said, driver_cuda, said_in
from torchlab.doctor.paste import (
    GPU_LINE, GPUS, Field, Line, clean, cut_field_name, is_torch_version, read_fields, reports_in,
)
from torchlab.doctor.paste import looks_like_collect_env as looks_like_collect_env
from torchlab.facts import (
    AmdFacts, AmdGPU, AppleFacts, CPUFacts, HostFacts, NvidiaFacts, NvidiaGPU, OSFacts, ReportFacts, TorchFacts,
)
from torchlab.knowledge import amd_gfx
from torchlab.probe.system import matching_flags, wsl_version

_VERSION = re.compile(r"\d+(?:\.\d+)+")
_ARCHES = "x86_64|aarch64|arm64|armv7l|armv6l|ppc64le|s390x|riscv64|i686|i386|AMD64|ARM64"
_OS_ARCH = re.compile(rf"(?P<name>.*?)\s*\((?P<arch>{_ARCHES})\)$")  # "Ubuntu 22.04 LTS (x86_64)"
_LINUX_PLATFORM = re.compile(rf"Linux-(?P<kernel>.+?)-(?P<arch>{_ARCHES})(?:-|$)")
_MAC_PLATFORM = re.compile(rf"(?:macOS|Darwin)-[\d.]+-(?P<arch>{_ARCHES})(?:-|$)")
_WINDOWS_SUFFIX = re.compile(r"\s*\(\d+\.\d+\.\d+[^)]*\)$")  # "(10.0.22631 64-bit)"
_WINDOWS_VERSION = re.compile(r"\b10\.0\.(?P<build>\d+)")
# Old reports print "OS: Ubuntu 18.04.2 LTS" with no architecture and no platform line.
_LINUX_NAMES = re.compile(r"\b(Linux|Ubuntu|Debian|CentOS|Red Hat|Fedora|openSUSE|SUSE|Gentoo|Mint|Rocky|AlmaLinux)\b")
_SYSTEMS = {"Linux": "Linux", "macOS": "Darwin", "Darwin": "Darwin", "Windows": "Windows"}
_NOT_COLLECTED = {"", "n/a", "none", "no cuda", "could not collect"}  # collect_env's "unknown"
# What a report must show to be judged whole; anything else missing does not change a diagnosis.
ESSENTIAL = ("PyTorch version", "OS", "CUDA used to build PyTorch", "Is CUDA available", GPUS, "Nvidia driver version")


def parse_collect_env(text: str) -> HostFacts:
    """HostFacts from a collect_env report (the first, when the paste holds several); ValueError (one
    line) when the text holds no field of one."""
    if not text.strip():
        raise ValueError("empty text: expected the output of python -m torch.utils.collect_env")
    if not looks_like_collect_env(text):
        raise ValueError("not a collect_env report: no 'PyTorch version' line and too few of its other fields")
    paste = clean(text)
    reports = reports_in(paste.lines)
    fields, still_open = read_fields(reports[0])
    if not fields:
        what = "ends before" if any("Collecting environment" in line.raw for line in paste.lines) else "has no"
        raise ValueError(f"not a collect_env report: the text {what} its first field ('PyTorch version: ...')")
    said = _sayings(reports[0])
    values = {name: field.value for name, field in fields.items()}
    os_facts, cpu = _os_facts(values), _cpu_facts(fields.get("CPU"))
    torch = _torch_facts(values, said, text)
    return HostFacts(
        os=os_facts, cpu=cpu, torch=torch, docker=None, source="collect_env",
        nvidia=_nvidia_facts(values, torch, os_facts, said), amd=_amd_facts(values, torch),
        apple=_apple_facts(os_facts, cpu),
        report=_report_facts(fields, still_open, reports, said, paste.repaired, cpu.model),
    )


# --- what the report showed, and what it did not ---------------------------------------------------------
def _report_facts(fields: dict[str, Field], still_open: Field | None, reports: list[tuple[Line, ...]],
                  said: list[tuple[Said, list[Line]]], repaired: tuple[str, ...], cpu: str | None) -> ReportFacts:
    lines = [(name, line.raw.strip()) for name, field in fields.items() for line in _telling(field, cpu)]
    lines += [(saying.text, line.raw.strip()) for saying, spoken in said for line in spoken]
    lines += [("another report", line.raw.strip()) for other in reports[1:] for line in other if is_torch_version(line)]
    last = next((line for line in reversed(reports[0]) if line.text), None)
    lines += [("last line", last.raw.strip())] if last else []
    missing = tuple(name for name in ESSENTIAL if name not in fields or _cut_at(fields[name], reports[0]))
    return ReportFacts(
        kind="collect_env", lines=tuple(lines), missing=missing, ends_inside=_ends_inside(still_open, reports[0]),
        reports=len(reports), repaired=repaired,
    )


def _telling(field: Field, cpu: str | None) -> list[Line]:
    """The lines of a field worth quoting: all of them, but only the chip's line of a CPU section."""
    if field.name != "CPU":
        return field.lines
    return field.lines[:1] + [line for line in field.lines[1:] if cpu and cpu in line.text][:1]


def _cut_at(field: Field, lines: tuple[Line, ...]) -> bool:
    """A field whose name is the report's last line, without its value ("Nvidia driver version   :")."""
    last = [line for line in lines if line.text][-1:]
    return not field.value and bool(last) and field.lines[-1] is last[0]


def _ends_inside(still_open: Field | None, lines: tuple[Line, ...]) -> str | None:
    last = next((line for line in reversed(lines) if line.text), None)
    cut_name = cut_field_name(last.text) if last else None
    if cut_name:
        return f"the line '{last.text}' ({cut_name})"
    if still_open is not None and still_open.name == GPUS and still_open.lines[-1] is last:
        return "the GPU list"
    return None


def _sayings(lines: tuple[Line, ...]) -> list[tuple[Said, list[Line]]]:
    """torch's own warnings and errors in the report, each with the lines it spans."""
    text, starts, position = "", [], 0
    for line in lines:
        starts.append(position)
        text += line.text + "\n"
        position = len(text)
    found = []
    for start, end, saying in said_in(text):
        spoken = [line for line, at in zip(lines, starts) if at < end and at + len(line.text) + 1 > start]
        found.append((saying, spoken))
    return found


# --- fields -> facts -------------------------------------------------------------------------------------
def _known(value: str | None) -> str | None:
    """The value, or None where collect_env says it could not learn it."""
    if value is None or value.strip().lower() in _NOT_COLLECTED:
        return None
    return value.strip()


def _version_in(value: str | None) -> str | None:
    """The leading dotted version: "6.3.42131-fa1d09cbd" -> "6.3.42131"."""
    match = _VERSION.match(value or "")
    return match.group(0) if match else None


def _first_line(value: str | None) -> str:
    return (value or "").split("\n", 1)[0].strip()


def _os_facts(values: dict[str, str]) -> OSFacts:
    os_line = _known(_first_line(values.get("OS"))) or ""
    platform = _first_line(values.get("Python platform"))
    system = _system(os_line, platform, values)
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
        arch=_arch(arch_match or linux or mac, system, values),
        wsl=wsl_version(kernel) if kernel else None,
        windows_build=windows["build"] if windows else None,
    )


def _system(os_line: str, platform: str, values: dict[str, str]) -> str:
    """"Linux" | "Darwin" | "Windows", or "unknown" where the text does not say."""
    if platform.split("-", 1)[0] in _SYSTEMS:
        return _SYSTEMS[platform.split("-", 1)[0]]
    if "Windows" in os_line:
        return "Windows"
    if re.match(r"mac ?os", os_line, re.IGNORECASE):
        return "Darwin"
    if _OS_ARCH.match(os_line) or "glibc" in values.get("Libc version", "") or _LINUX_NAMES.search(os_line):
        return "Linux"
    return "unknown"


def _readable(name: str) -> str:
    """The name without leading words in another script or garbled by a wrong code page
    ("Њ ©Єа®б®дв Windows 10" -> "Windows 10")."""
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


def _arch(match: re.Match | None, system: str, values: dict[str, str]) -> str | None:
    """platform.machine() as the OS line or the platform says it; on Windows, as Python's build
    does ("[MSC v.1943 64 bit (AMD64)]")."""
    if match:
        return match["arch"]
    python = re.search(r"\((AMD64|ARM64)\)\]", values.get("Python version", ""))
    return python.group(1) if python and system == "Windows" else None


def _cpu_facts(section: Field | None) -> CPUFacts:
    """lscpu and PowerShell print "Key: value", wmic "Key=value", macOS the brand string alone."""
    cpu_lines = section.value.splitlines() if section else []
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


def _torch_facts(values: dict[str, str], said: list[tuple[Said, list[Line]]], text: str) -> TorchFacts:
    available = {"true": True, "yes": True, "false": False, "no": False}.get(
        _first_line(values.get("Is CUDA available")).lower())
    found = next((s.values["found"] for s, _ in said if s.kind == "driver-too-old"), None)
    arches = next((tuple(s.values["arches"].split()) for s, _ in said if s.kind == "arch-list"), ())
    return TorchFacts(
        version=_known(_first_line(values.get("PyTorch version"))),
        cuda_build=_version_in(_known(_first_line(values.get("CUDA used to build PyTorch")))),
        hip_build=_version_in(_known(_first_line(values.get("ROCM used to build PyTorch")))),
        arch_list=arches,
        cuda_available=available,
        device_count=_device_count(values, available),
        init_error=torch_cuda_warning(text),
        driver_cuda_found=driver_cuda(found) if found else None,
        messages=tuple(dict.fromkeys(s.text for s, _ in said)),
    )


def _device_count(values: dict[str, str], available: bool | None) -> int | None:
    """torch's count: 0 when CUDA is unavailable (is_available() is count > 0); else the GPUs
    nvidia-smi -L listed. A ROCm build names device 0 only, without "GPU 0:": no count."""
    if available is False:
        return 0
    if available is None:
        return None
    return sum(1 for line in values.get(GPUS, "").splitlines() if GPU_LINE.match(line)) or None


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
    return driver_cuda(match.group(1)) if match else None


# --- accelerators ---------------------------------------------------------------------------------------
def _nvidia_facts(values: dict[str, str], torch: TorchFacts, os_facts: OSFacts,
                  said: list[tuple[Said, list[Line]]]) -> NvidiaFacts | None:
    """The driver and GPUs nvidia-smi told collect_env (on WSL2, the Windows driver; on macOS, the
    "driver version" is NVIDIA's CUDA driver for macOS, not a driver release, so it is not kept)."""
    driver_line = _first_line(values.get("Nvidia driver version"))
    driver = driver_line if re.fullmatch(r"\d+\.\d+(?:\.\d+)?", driver_line) and os_facts.system != "Darwin" else None
    gpus = _with_capabilities(_nvidia_gpus(values.get(GPUS, ""), torch, os_facts), said)
    error = None
    if driver_line.lower() == "could not collect" and torch.cuda_build:
        error = "collect_env could not collect the NVIDIA driver version (it asks nvidia-smi)"
    if not (driver or gpus or error or torch.driver_cuda_found):
        return None
    return NvidiaFacts(source="collect_env", driver_version=driver, gpus=gpus, error=error,
                       cuda_driver_version=torch.driver_cuda_found)


def _nvidia_gpus(listed: str, torch: TorchFacts, os_facts: OSFacts) -> tuple[NvidiaGPU, ...]:
    """"GPU 0: NAME" lines (a "MIG ..." line under one: MIG is on); a bare name (old macOS reports)."""
    gpus: list[NvidiaGPU] = []
    for line in listed.splitlines():
        match = GPU_LINE.match(line)
        if match:
            gpus.append(NvidiaGPU(index=int(match["index"]), name=match["name"]))
        elif line.startswith("MIG ") and gpus:
            gpus[-1] = replace(gpus[-1], mig_mode="Enabled")
    bare = _known(_first_line(listed))
    if not gpus and bare and not torch.hip_build and "gfx" not in bare and not bare.startswith("AMD"):
        gpus.append(NvidiaGPU(index=0, name=bare))
    return tuple(gpus)


def _with_capabilities(gpus: tuple[NvidiaGPU, ...], said: list[tuple[Said, list[Line]]]) -> tuple[NvidiaGPU, ...]:
    """The compute capability torch named for a GPU ("... with CUDA capability sm_120", "Found GPU0 ...
    which is of cuda capability 3.0"); a GPU torch names that the list did not show is added."""
    named: list[tuple[str, str, int | None]] = []
    for saying, _ in said:
        if saying.kind == "arch-not-compatible":
            name = re.sub(r"^.*?(?:Warning|Error):\s*", "", saying.values.get("name", ""))
            named.append((name, f"{int(saying.values['sm'][:-1])}.{saying.values['sm'][-1]}", None))
        elif saying.kind == "gpu-too-old":
            named.append((saying.values["name"], saying.values["cc"], int(saying.values["index"])))
    found = list(gpus)
    for name, capability, index in named:
        hits = [i for i, gpu in enumerate(found) if gpu.name == name or (index is not None and gpu.index == index)]
        for i in hits:
            found[i] = replace(found[i], compute_capability=capability)
        if not hits and name:
            found.append(NvidiaGPU(index=index if index is not None else len(found), name=name,
                                   compute_capability=capability))
    return tuple(found)


def _amd_facts(values: dict[str, str], torch: TorchFacts) -> AmdFacts | None:
    """A ROCm build names device 0: "AMD Radeon RX 5700 XT (gfx1010:xnack-)"."""
    listed = _known(_first_line(values.get(GPUS))) or ""
    target = re.search(r"\((gfx[0-9a-f]+)[^)]*\)", listed)
    if not (target or (torch.hip_build and listed and not GPU_LINE.search(listed))):
        return None
    name = re.sub(r"\s*\(gfx[^)]*\)|NoGCNArchNameOnOldPyTorch", "", listed).strip()
    # collect_env before torch 2.2 names the GPU without its target: the name says which chip it is
    gfx = target.group(1) if target else amd_gfx(name)
    gpu = AmdGPU(index=0, gfx_target=gfx, name=name or None)
    return AmdFacts(source="collect_env", gpus=(gpu,),
                    rocm_version=_version_in(_known(_first_line(values.get("HIP runtime version")))))


def _apple_facts(os_facts: OSFacts, cpu: CPUFacts) -> AppleFacts | None:
    if os_facts.system != "Darwin":
        return None
    chip = cpu.model if cpu.model and cpu.model.startswith("Apple") else None
    return AppleFacts(chip=chip, macos_version=os_facts.version, arm64=os_facts.arch == "arm64")
