"""What torchlab knows about GPUs, drivers and torch builds, as sourced data (stdlib only).

Each table is a tuple of frozen dataclass rows; every row names its `source` (a URL, or
"owner/repo path@commit") and says whether that source was read for the row (`verified`), with a
`note` where the row is inferred or the sources disagree. docs/COMPAT.md explains every table and
how to update it when torch, CUDA or NVIDIA's lists change.

    nvidia_gpus   compute capability per NVIDIA GPU marketing name, and the name matcher
    amd_gpus      gfx target per AMD GPU marketing name (for reports that name the GPU only)
    torch_builds  per torch release: CUDA/ROCm builds, arch lists, gfx targets, the PyPI build
    cuda_drivers  minimum NVIDIA driver per torch CUDA build (minor-version compatibility floors)
    platforms     macOS / MPS facts
"""

from __future__ import annotations

from torchlab.knowledge.amd_gpus import AMD_GPUS, AmdGpuFamily, amd_gfx
from torchlab.knowledge.cuda_drivers import CUDA_DRIVER_FLOORS, CudaDriverFloor, driver_floor, min_driver
from torchlab.knowledge.nvidia_gpus import GPUS, Gpu, compute_capability, find_gpu
from torchlab.knowledge.platforms import MACOS_X86_LAST_TORCH, MPS_MIN_MACOS
from torchlab.knowledge.torch_builds import (
    CUDA_ARCH_LISTS,
    PYPI_CUDA_BUILDS,
    ROCM_TARGETS,
    TORCH_RELEASES,
    CudaArchList,
    PypiBuild,
    RocmTargets,
    TorchRelease,
    arch_list,
    arch_list_row,
    capability_supported,
    cuda_builds,
    parse_torch_version,
    ptx_capabilities,
    pypi_cuda_build,
    rocm_gfx,
    sm_capabilities,
    to_arch_list,
    torch_release,
)

__all__ = [
    "AMD_GPUS",
    "AmdGpuFamily",
    "amd_gfx",
    "CUDA_ARCH_LISTS",
    "CUDA_DRIVER_FLOORS",
    "GPUS",
    "MACOS_X86_LAST_TORCH",
    "MPS_MIN_MACOS",
    "PYPI_CUDA_BUILDS",
    "ROCM_TARGETS",
    "TORCH_RELEASES",
    "CudaArchList",
    "CudaDriverFloor",
    "Gpu",
    "PypiBuild",
    "RocmTargets",
    "TorchRelease",
    "arch_list",
    "arch_list_row",
    "capability_supported",
    "compute_capability",
    "cuda_builds",
    "driver_floor",
    "find_gpu",
    "min_driver",
    "parse_torch_version",
    "ptx_capabilities",
    "pypi_cuda_build",
    "rocm_gfx",
    "sm_capabilities",
    "to_arch_list",
    "torch_release",
]
