"""Facts about a host: plain frozen data, no judgement.

Probes (torchlab.probe.*) and report readers (torchlab.doctor.collect_env, doctor.diagnose)
produce these; torchlab.decide turns them into a plan and findings. A value that could not be learned
is None, never a guess.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class OSFacts:
    system: str  # "Linux" | "Darwin" | "Windows"
    name: str  # a human name: "Debian GNU/Linux 12 (bookworm)", "macOS 14.5"
    version: str | None = None  # os-release VERSION_ID, macOS version, Windows version
    distro: str | None = None  # os-release ID: "debian", "ubuntu"
    kernel: str | None = None
    arch: str | None = None  # "x86_64", "arm64", "aarch64"
    wsl: int | None = None  # 1 or 2 under WSL, else None
    in_container: bool = False
    windows_build: str | None = None  # "22631"


@dataclass(frozen=True)
class CPUFacts:
    model: str | None = None
    cores_physical: int | None = None
    cores_logical: int | None = None
    flags: tuple[str, ...] = ()  # only the ones that matter: avx2, avx512f, amx_tile, neon ...
    max_mhz: float | None = None


@dataclass(frozen=True)
class MemoryFacts:
    total_bytes: int | None = None
    available_bytes: int | None = None


@dataclass(frozen=True)
class DiskFacts:
    purpose: str  # "data" (torchlab's data dir) or "docker" (the engine's storage root)
    path: str
    free_bytes: int | None = None
    total_bytes: int | None = None


@dataclass(frozen=True)
class NvidiaGPU:
    index: int
    name: str
    uuid: str | None = None
    compute_capability: str | None = None  # "8.6"
    memory_total_mib: int | None = None
    mig_mode: str | None = None  # "Enabled" | "Disabled" | "Enabled*"(pending) | None: no MIG


@dataclass(frozen=True)
class MigDevice:
    """A MIG instance (`nvidia-smi -L`): one learner's share of a GPU that has MIG on."""

    gpu_index: int
    profile: str  # "1g.10gb"
    uuid: str  # "MIG-..."


@dataclass(frozen=True)
class NvidiaFacts:
    """The NVIDIA driver and its GPUs; `error` says why the driver could not be asked."""

    source: str  # "nvml" | "nvidia-smi-xml" | "nvidia-smi" | "proc" | "collect_env" | ...
    driver_version: str | None = None  # "550.54.14"
    cuda_driver_version: str | None = None  # the newest CUDA the driver supports: "12.4"
    gpus: tuple[NvidiaGPU, ...] = ()
    error: str | None = None
    wsl_libcuda: bool | None = None  # WSL2 only: /usr/lib/wsl/lib/libcuda.so.1 present
    mig_devices: tuple[MigDevice, ...] = ()  # asked only when a GPU has MIG on


@dataclass(frozen=True)
class AmdGPU:
    index: int
    gfx_target: str | None = None  # "gfx90a"
    name: str | None = None
    vram_bytes: int | None = None
    device_id: int | None = None
    kfd_node: int | None = None


@dataclass(frozen=True)
class AmdFacts:
    source: str  # "kfd" | "rocm-smi" | "amd-smi" | "collect_env"
    gpus: tuple[AmdGPU, ...] = ()
    rocm_version: str | None = None
    driver_version: str | None = None
    hsa_override_gfx_version: str | None = None  # HSA_OVERRIDE_GFX_VERSION as set
    error: str | None = None


@dataclass(frozen=True)
class AppleFacts:
    chip: str | None = None  # "Apple M1 Pro"
    macos_version: str | None = None
    arm64: bool = False
    gpu_cores: int | None = None
    memory_bytes: int | None = None


DockerState = Literal["ok", "missing", "daemon-down", "permission-denied", "error"]


@dataclass(frozen=True)
class DockerFacts:
    state: DockerState
    detail: str | None = None  # why not "ok", in the engine's or the OS's words
    socket: str | None = None
    server_version: str | None = None
    api_version: str | None = None
    os_type: str | None = None  # "linux" | "windows"
    operating_system: str | None = None  # "Docker Desktop", "Debian GNU/Linux 12 (bookworm)"
    rootless: bool = False
    desktop: bool = False
    runtimes: tuple[str, ...] = ()
    default_runtime: str | None = None
    cdi_spec_dirs: tuple[str, ...] = ()
    storage_driver: str | None = None
    storage_root: str | None = None
    cgroup_version: str | None = None
    # the NVIDIA Container Toolkit on the host (nvidia-container-runtime-hook / nvidia-ctk on PATH)
    nvidia_toolkit: bool | None = None


@dataclass(frozen=True)
class TorchFacts:
    version: str | None = None  # "2.4.0+cu121"
    cuda_build: str | None = None  # the CUDA it was built with: "12.1"; None for cpu/rocm
    hip_build: str | None = None  # the ROCm/HIP it was built with: "6.3.42131"
    arch_list: tuple[str, ...] = ()  # torch.cuda.get_arch_list(): ("sm_50", ...) or ("gfx90a", ...)
    cuda_available: bool | None = None
    device_count: int | None = None
    mps_built: bool | None = None
    mps_available: bool | None = None
    init_error: str | None = None  # a CUDA initialisation warning or error, verbatim
    driver_cuda_found: str | None = None  # "found version 9010" in torch's warning -> "9.1"
    messages: tuple[str, ...] = ()  # torch's own warnings and errors in a report, verbatim, one per message


@dataclass(frozen=True)
class ReportFacts:
    """What a pasted report showed, and what it did not: where each fact was read (the report's lines,
    verbatim), the fields the text never reached, and what had to be undone to read it."""

    kind: str  # "collect_env"
    lines: tuple[tuple[str, str], ...] = ()  # (what was read, the line it was read from): ("PyTorch version", "PyTorch version: 2.6.0+cu126")
    missing: tuple[str, ...] = ()  # fields the text never reached: ("Nvidia driver version", ...)
    ends_inside: str | None = None  # "the GPU list": the text stops inside a field of several lines
    reports: int = 1  # collect_env reports in the paste; the first one is judged
    repaired: tuple[str, ...] = ()  # what was undone to read it: "full-width colons", "Markdown quote marks", ...


@dataclass(frozen=True)
class HostFacts:
    os: OSFacts
    cpu: CPUFacts = field(default_factory=CPUFacts)
    memory: MemoryFacts = field(default_factory=MemoryFacts)
    disks: tuple[DiskFacts, ...] = ()
    nvidia: NvidiaFacts | None = None
    amd: AmdFacts | None = None
    apple: AppleFacts | None = None
    docker: DockerFacts | None = None  # None: not probed (a collect_env text says nothing of it)
    torch: TorchFacts | None = None  # None: not probed (doctor without --torch)
    pci_gpu_vendors: tuple[str, ...] = ()  # "nvidia" | "amd" | "intel", from PCI display devices
    source: str = "probe"  # "probe" | "collect_env" | "report"
    report: ReportFacts | None = None  # a pasted report's lines and gaps (None when this machine was probed)


def to_dict(value: Any) -> Any:
    """Facts as JSON-ready data (tuples become lists)."""
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value


def from_dict(cls: type, data: Any) -> Any:
    """Rebuild a facts dataclass from `to_dict` output; unknown keys are ignored.

    Raises ValueError naming the field when a value has the wrong shape.
    """
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            values[f.name] = _coerce(hints[f.name], data[f.name], f"{cls.__name__}.{f.name}")
    try:
        return cls(**values)
    except TypeError as exc:
        raise ValueError(f"{cls.__name__}: {exc}") from None


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(inner[0], value, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{where}: expected a list")
        return tuple(_coerce(args[0], v, where) for v in value)
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value)
    if origin is Literal:
        if value not in args:
            raise ValueError(f"{where}: expected one of {', '.join(map(str, args))}")
        return value
    if hint in (int, float, str, bool) and not isinstance(value, hint):
        if hint is float and isinstance(value, int):
            return float(value)
        raise ValueError(f"{where}: expected {hint.__name__}, got {type(value).__name__}")
    return value
