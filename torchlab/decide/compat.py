"""What changes with every PyTorch and driver release, as data, with the source beside each entry.

Facts and sources written up in docs/COMPAT.md. Re-check them there when a torch
or CUDA release comes out; code elsewhere only looks things up here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The torch release the labs are built and tested on (the CPU wheel our CI has on disk).
LAB_TORCH_VERSION = "2.13.0"


@dataclass(frozen=True)
class CudaBuild:
    index: str  # the wheel index tag: "cu126"
    cuda: str  # "12.6"
    min_driver_linux: str
    min_driver_windows: str
    source: str


# Minimum driver per torch CUDA index: the minor-version-compatibility floors (B1, B3).
_B3 = "docs/COMPAT.md B3: uv crates/uv-torch, light-the-torch; NVIDIA minor version compatibility"
CUDA_BUILDS: tuple[CudaBuild, ...] = (
    CudaBuild("cu132", "13.2", "580", "580", _B3),
    CudaBuild("cu130", "13.0", "580", "580", _B3),
    CudaBuild("cu129", "12.9", "525.60.13", "528.33", _B3),
    CudaBuild("cu128", "12.8", "525.60.13", "528.33", _B3),
    CudaBuild("cu126", "12.6", "525.60.13", "528.33", _B3),
    CudaBuild("cu124", "12.4", "525.60.13", "528.33", _B3),
    CudaBuild("cu121", "12.1", "525.60.13", "528.33", _B3),
    CudaBuild("cu120", "12.0", "525.60.13", "528.33", _B3),
    CudaBuild("cu118", "11.8", "450.80.02", "452.39", _B3),
    CudaBuild("cu117", "11.7", "450.80.02", "452.39", _B3),
    CudaBuild("cu116", "11.6", "450.80.02", "452.39", _B3),
    CudaBuild("cu113", "11.3", "450.80.02", "452.39", _B3),
    CudaBuild("cu111", "11.1", "450.80.02", "452.39", _B3),
    CudaBuild("cu110", "11.0", "450.36.06", "451.22", _B3),
    CudaBuild("cu102", "10.2", "440.33", "441.22", _B3),
    CudaBuild("cu101", "10.1", "418.39", "418.96", _B3),
    CudaBuild("cu100", "10.0", "410.48", "411.31", _B3),
    CudaBuild("cu92", "9.2", "396.26", "398.26", _B3),
    CudaBuild("cu91", "9.1", "390.46", "391.29", _B3),
    CudaBuild("cu90", "9.0", "384.81", "385.54", _B3),
    CudaBuild("cu80", "8.0", "375.26", "376.51", _B3),
)


@dataclass(frozen=True)
class TorchRelease:
    minor: str  # "2.13"
    cuda_stable: tuple[str, ...]
    cuda_experimental: tuple[str, ...]
    rocm: tuple[str, ...]
    source: str = "docs/COMPAT.md B5: pytorch RELEASE.md, Release Compatibility Matrix"


TORCH_RELEASES: tuple[TorchRelease, ...] = (
    TorchRelease("2.14", ("12.6", "13.0", "13.2"), (), ()),  # its ROCm entry reads "7.14": unverified
    TorchRelease("2.13", ("12.6", "13.0"), ("13.2",), ("7.2",)),
    TorchRelease("2.12", ("12.6", "13.0"), ("13.2",), ("7.2",)),
    TorchRelease("2.11", ("12.6", "12.8", "13.0"), (), ("7.2",)),
    TorchRelease("2.10", ("12.6", "12.8"), ("13.0",), ("7.1",)),
    TorchRelease("2.9", ("12.6", "12.8"), ("13.0",), ("6.4",)),
    TorchRelease("2.8", ("12.6", "12.8"), ("12.9",), ("6.4",)),
    TorchRelease("2.7", ("11.8", "12.6"), ("12.8",), ("6.3",)),
    TorchRelease("2.6", ("11.8", "12.4"), ("12.6",), ("6.2.4",)),
    TorchRelease("2.5", ("11.8", "12.1", "12.4"), (), ("6.2",)),
    TorchRelease("2.4", ("11.8", "12.1"), ("12.4",), ("6.1",)),
    TorchRelease("2.3", ("11.8",), ("12.1",), ("6.0",)),
)


@dataclass(frozen=True)
class CudaArches:
    """Compute capabilities compiled into a torch CUDA wheel; `ptx` can JIT to newer GPUs."""

    cuda: str
    torch_from: str  # first torch minor this row holds for ("2.8")
    torch_to: str  # last torch minor ("2.14")
    arches: tuple[str, ...]
    ptx: str | None
    source: str


_B6 = "docs/COMPAT.md B6: pytorch RELEASE.md support matrix"
CUDA_ARCHES: tuple[CudaArches, ...] = (
    CudaArches("12.6", "2.8", "2.14", ("5.0", "6.0", "7.0", "7.5", "8.0", "8.6", "9.0"), None, _B6),
    CudaArches("12.8", "2.8", "2.10", ("7.0", "7.5", "8.0", "8.6", "9.0", "10.0", "12.0"), None,
               _B6 + "; pytorch PR #158700"),
    CudaArches("12.9", "2.8", "2.10", ("7.0", "7.5", "8.0", "8.6", "9.0", "10.0", "12.0"), None,
               _B6 + "; pytorch PR #158700"),
    CudaArches("12.8", "2.11", "2.14", ("7.5", "8.0", "8.6", "9.0", "10.0", "12.0"), None,
               "docs/COMPAT.md B6: pytorch#172352 (Volta dropped from cu128 in 2.11)"),
    CudaArches("13.0", "2.9", "2.14", ("7.5", "8.0", "8.6", "9.0", "10.0", "12.0"), "12.0", _B6),
    CudaArches("13.2", "2.12", "2.14", ("7.5", "8.0", "8.6", "9.0", "10.0", "12.0"), "12.0", _B6),
)

_B7 = "docs/COMPAT.md B7: uv LINUX_AMD_GPU_DRIVERS (torch.cuda.get_arch_list of each wheel)"
_GFX_63 = ("gfx900", "gfx906", "gfx908", "gfx90a", "gfx942", "gfx1030", "gfx1100", "gfx1101",
           "gfx1102", "gfx1200", "gfx1201")
ROCM_GFX: dict[str, tuple[tuple[str, ...], str]] = {
    "7.2": (_GFX_63 + ("gfx950", "gfx1150", "gfx1151"), _B7),
    "7.1": (_GFX_63 + ("gfx950",), _B7),
    "7.0": (_GFX_63 + ("gfx950",), _B7),
    "6.4": (_GFX_63, _B7),
    "6.3": (_GFX_63, _B7),
    "6.2.4": (_GFX_63, _B7),
    "6.2": (("gfx900", "gfx906", "gfx908", "gfx90a", "gfx942", "gfx1030", "gfx1100"), _B7),
    "6.1": (("gfx900", "gfx906", "gfx908", "gfx90a", "gfx942", "gfx1030", "gfx1100", "gfx1101"), _B7),
    "6.0": (("gfx900", "gfx906", "gfx908", "gfx90a", "gfx942", "gfx1030", "gfx1100"), _B7),
}

# macOS: MPS needs arm64 and macOS 14+ for current torch; Intel Macs stop at torch 2.2 (B8).
MPS_MIN_MACOS = (14, 0)
MACOS_X86_LAST_TORCH = "2.2"

# GPU product name -> compute capability, for reports that name GPUs without their capability
# (collect_env). Source: NVIDIA, "CUDA GPUs - Compute Capability" (developer.nvidia.com/cuda-gpus).
# First match wins: the more specific patterns come first.
_CUDA_GPUS = "NVIDIA CUDA GPUs compute capability table (developer.nvidia.com/cuda-gpus)"
GPU_CAPABILITY: tuple[tuple[str, str], ...] = (
    (r"\bGH200\b|\bH100\b|\bH200\b|\bH800\b", "9.0"),
    (r"\bB200\b|\bB100\b|\bGB200\b", "10.0"),
    (r"RTX 50\d0|RTX PRO \d+ Blackwell", "12.0"),
    (r"RTX 40\d0|\bL40S?\b|\bL4\b|RTX \d+ Ada|RTX \d+ SFF Ada|RTX 2000 Ada", "8.9"),
    (r"\bA100\b|\bA30\b|\bA800\b", "8.0"),
    (r"RTX 30\d0|\bA10G?\b|\bA40\b|\bA16\b|\bA2\b|RTX A\d+", "8.6"),
    (r"RTX 20\d0|GTX 16\d0|\bT4\b|Quadro RTX|TITAN RTX|Graphics Device", "7.5"),
    (r"\bV100\b|TITAN V\b", "7.0"),
    (r"\bP100\b", "6.0"),
    (r"GTX 10\d0|GT 1030|\bP40\b|\bP4\b|Quadro P\d+|TITAN Xp|MX[1-4]\d0|GRID P4", "6.1"),
    (r"GTX 9\d0|\bM40\b|Quadro M\d+", "5.2"),
    (r"GTX 750|Quadro K\d+", "5.0"),
    (r"\bK80\b", "3.7"),
    (r"GTX 7[6-8]0|GTX 6\d0|GT 750M|\bK\d0\b", "3.0"),
)


def gpu_capability(name: str) -> str | None:
    """The compute capability of a GPU known by its product name, or None when unknown."""
    for pattern, capability in GPU_CAPABILITY:
        if re.search(pattern, name, re.IGNORECASE):
            return capability
    return None


def version_tuple(version: str) -> tuple[int, ...]:
    """'550.54.14' -> (550, 54, 14); '2.4.0+cu121' -> (2, 4, 0); unparsable parts stop it."""
    parts = []
    for part in re.split(r"[.+-]", version):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def torch_minor(version: str) -> str:
    major_minor = version_tuple(version)[:2]
    return ".".join(map(str, major_minor))


def torch_release(version: str) -> TorchRelease | None:
    minor = torch_minor(version)
    return next((release for release in TORCH_RELEASES if release.minor == minor), None)


def cuda_build(cuda: str) -> CudaBuild | None:
    """The build row for a CUDA version such as "12.6" or "12.6.3" ("12.1.105" -> cu121)."""
    major_minor = ".".join(map(str, version_tuple(cuda)[:2]))
    return next((build for build in CUDA_BUILDS if build.cuda == major_minor), None)


def min_driver(cuda: str, windows: bool = False) -> str | None:
    build = cuda_build(cuda)
    if build is None:
        return None
    return build.min_driver_windows if windows else build.min_driver_linux


def driver_at_least(driver: str, minimum: str) -> bool:
    return version_tuple(driver) >= version_tuple(minimum)


def cuda_arches(cuda: str, torch_version: str) -> CudaArches | None:
    """The compute capabilities of torch `torch_version`'s CUDA `cuda` wheel, when known."""
    minor = version_tuple(torch_minor(torch_version))
    cuda_mm = ".".join(map(str, version_tuple(cuda)[:2]))
    for row in CUDA_ARCHES:
        if row.cuda == cuda_mm and version_tuple(row.torch_from) <= minor <= version_tuple(row.torch_to):
            return row
    return None


def capability_supported(capability: str, arches: tuple[str, ...], ptx: str | None) -> bool:
    """A GPU runs a wheel if a compiled arch has its major and no higher minor, or PTX can JIT."""
    cc = version_tuple(capability)
    for arch in arches:
        compiled = version_tuple(arch)
        if compiled[0] == cc[0] and compiled <= cc:
            return True
    return ptx is not None and version_tuple(ptx) <= cc


def rocm_gfx(rocm: str) -> tuple[str, ...] | None:
    """gfx targets of the torch ROCm wheel for ROCm `rocm` ("6.3.42131" -> the 6.3 row)."""
    parts = version_tuple(rocm)
    for key in (".".join(map(str, parts[:3])), ".".join(map(str, parts[:2]))):
        if key in ROCM_GFX:
            return ROCM_GFX[key][0]
    return None


def gfx_from_override(value: str) -> str | None:
    """HSA_OVERRIDE_GFX_VERSION "10.3.0" -> "gfx1030" (minor and stepping in hex)."""
    parts = value.strip().split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    major, minor, stepping = (int(p) for p in parts)
    return f"gfx{major}{minor:x}{stepping:x}"
