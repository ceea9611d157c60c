"""Minimum NVIDIA driver for each torch CUDA build (the wheel index tag: cu126, cu130, ...).

These are minor-version-compatibility floors: since CUDA 11 an application built with any toolkit of
a major family runs (with a limited feature set) on a driver at or above the family's floor. CUDA 10.2
and older have no such family rule; their floor is the driver that shipped with the toolkit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class CudaDriverFloor:
    index: str  # the wheel index tag, "cu126"
    cuda: str  # "12.6"
    min_driver_linux: str
    min_driver_windows: str
    source: str
    verified: bool = True
    note: str = ""


MINOR_COMPAT = "https://docs.nvidia.com/deploy/cuda-compatibility/minor-version-compatibility.html"
UV = "astral-sh/uv crates/uv-torch/src/backend.rs@6eeb4631b4850cbc509126116730a25824d37020 (LINUX_DRIVERS, WINDOWS_CUDA_VERSIONS)"
_12X = f"{UV}; {MINOR_COMPAT} (CUDA 12.x: >= 525)"
_11X = f"{UV}; {MINOR_COMPAT} (CUDA 11.x: 450.80.02 Linux / 452.39 Windows)"
_10X = f"{UV} (driver bundled with the toolkit, CUDA 10.2 release notes table 1)"

CUDA_DRIVER_FLOORS: tuple[CudaDriverFloor, ...] = (
    CudaDriverFloor("cu132", "13.2", "580", "580", MINOR_COMPAT,
                    note="CUDA 13.x: >= 580 on every OS; from CUDA 13.1 no Windows driver ships with the toolkit"),
    CudaDriverFloor("cu130", "13.0", "580", "580", MINOR_COMPAT,
                    note="CUDA 13.x: >= 580 on every OS"),
    CudaDriverFloor("cu129", "12.9", "525.60.13", "528.33", MINOR_COMPAT,
                    note="12.x family floor; uv's table at the cited commit stops at cu128"),
    CudaDriverFloor("cu128", "12.8", "525.60.13", "528.33", _12X),
    CudaDriverFloor("cu126", "12.6", "525.60.13", "528.33", _12X),
    CudaDriverFloor("cu124", "12.4", "525.60.13", "528.33", _12X),
    CudaDriverFloor("cu121", "12.1", "525.60.13", "528.33", _12X),
    CudaDriverFloor("cu120", "12.0", "525.60.13", "528.33", _12X),
    CudaDriverFloor("cu118", "11.8", "450.80.02", "452.39", _11X),
    CudaDriverFloor("cu117", "11.7", "450.80.02", "452.39", _11X),
    CudaDriverFloor("cu116", "11.6", "450.80.02", "452.39", _11X),
    CudaDriverFloor("cu115", "11.5", "450.80.02", "452.39", _11X),
    CudaDriverFloor("cu113", "11.3", "450.80.02", "452.39", _11X),
    CudaDriverFloor("cu111", "11.1", "450.80.02", "452.39", _11X),
    CudaDriverFloor("cu110", "11.0", "450.36.06", "451.22", UV,
                    note="11.0 shipped before the 11.x family floor; 450.80.02 / 452.39 also run it"),
    CudaDriverFloor("cu102", "10.2", "440.33", "441.22", _10X),
    CudaDriverFloor("cu101", "10.1", "418.39", "418.96", _10X),
    CudaDriverFloor("cu100", "10.0", "410.48", "411.31", _10X),
    CudaDriverFloor("cu92", "9.2", "396.26", "398.26", _10X),
    CudaDriverFloor("cu91", "9.1", "390.46", "391.29", _10X),
    CudaDriverFloor("cu90", "9.0", "384.81", "385.54", _10X),
    CudaDriverFloor("cu80", "8.0", "375.26", "376.51", _10X),
)


def _major_minor(cuda: str) -> str:
    """'12.6', '12.6.3', 'cu126', '12.1.105' -> '12.6' / '12.1'; 'cu92' -> '9.2'."""
    text = cuda.strip().lower()
    tag = re.fullmatch(r"cu(\d+)(\d)", text)
    if tag:
        return f"{int(tag.group(1))}.{tag.group(2)}"
    parts = re.findall(r"\d+", text)[:2]
    return ".".join(str(int(p)) for p in parts) if len(parts) == 2 else ""


def driver_floor(cuda: str) -> CudaDriverFloor | None:
    """The floor row for a CUDA version or index tag ("12.6", "12.6.3", "cu126")."""
    wanted = _major_minor(cuda)
    return next((row for row in CUDA_DRIVER_FLOORS if row.cuda == wanted), None)


def min_driver(cuda: str, windows: bool = False) -> str | None:
    row = driver_floor(cuda)
    if row is None:
        return None
    return row.min_driver_windows if windows else row.min_driver_linux
