"""What each torch, CUDA, ROCm and driver release supports: lookups in torchlab.knowledge.

The facts live as sourced data in `torchlab/knowledge/` and are written up in docs/COMPAT.md; this
module only asks them questions the decisions need ("which builds of torch 2.13 run on driver 570
and compute capability 12.0?"). It holds no table of its own besides the labs' torch release.
"""

from __future__ import annotations

import re

from torchlab import knowledge
from torchlab.knowledge import CudaDriverFloor, TorchRelease
from torchlab.knowledge.platforms import MACOS_X86_LAST_TORCH, MPS_FIRST_MACOS, MPS_FIRST_TORCH, MPS_MIN_MACOS

__all__ = ["MACOS_X86_LAST_TORCH", "MPS_FIRST_MACOS", "MPS_FIRST_TORCH", "MPS_MIN_MACOS"]

# The torch release the labs are built and tested on (the CPU wheel our CI has on disk).
LAB_TORCH_VERSION = "2.13.0"

# Where each kind of fact is written up, as docs/COMPAT.md labels its sections.
SOURCES = {
    "driver floors": "docs/COMPAT.md, 1. Minimum driver per CUDA build",
    "torch builds": "docs/COMPAT.md, 2. CUDA and ROCm builds of each torch release",
    "arch lists": "docs/COMPAT.md, 3. Compiled GPU architectures of each CUDA wheel",
    "gfx targets": "docs/COMPAT.md, 4. ROCm gfx targets of each ROCm build",
    "pypi builds": "docs/COMPAT.md, 5. Which CUDA build `pip install torch==X` gets from PyPI (Linux x86_64)",
    "gpu capabilities": "docs/COMPAT.md, 6. Compute capability of NVIDIA GPUs",
    "platforms": "docs/COMPAT.md, 7. Platform facts",
}
_RELEASE = re.compile(r"^\d+\.\d+(?:\.\d+)*(?:\+(?:cu\d+|cpu))?$")  # "2.6.0+cu126", "1.5.0": not a0/dev/git


def version_tuple(version: str) -> tuple[int, ...]:
    """'550.54.14' -> (550, 54, 14); '2.4.0+cu121' -> (2, 4, 0); unparsable parts stop it."""
    parts = []
    for part in re.split(r"[.+-]", version):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def torch_minor(version: str) -> str:
    return knowledge.parse_torch_version(version)[0]


def is_release(torch_version: str) -> bool:
    """A published wheel ("2.6.0+cu126", "1.5.0"); not a nightly or source build, whose arch lists differ."""
    return bool(_RELEASE.match(torch_version.strip()))


def torch_release(version: str) -> TorchRelease | None:
    return knowledge.torch_release(version)


def cuda_build(cuda: str) -> CudaDriverFloor | None:
    """The build row (index tag and driver floors) for a CUDA version: "12.6", "12.6.3", "12.1.105"."""
    return knowledge.driver_floor(cuda)


def min_driver(cuda: str, windows: bool = False) -> str | None:
    return knowledge.min_driver(cuda, windows)


def driver_at_least(driver: str, minimum: str) -> bool:
    return version_tuple(driver) >= version_tuple(minimum)


def newest_cuda_for_driver(driver: str, windows: bool = False) -> str | None:
    """The newest CUDA version whose floor the driver meets ("570.124.04" -> "12.9"), None below all."""
    fits = [row.cuda for row in knowledge.CUDA_DRIVER_FLOORS
            if driver_at_least(driver, row.min_driver_windows if windows else row.min_driver_linux)]
    return max(fits, key=version_tuple, default=None)


def gpu_capability(name: str) -> str | None:
    """The compute capability of a GPU known by its product name, or None when unknown."""
    return knowledge.compute_capability(name)


def build_arch_list(torch_version: str, cuda: str | None = None) -> tuple[str, ...] | None:
    """torch.cuda.get_arch_list() of a torch CUDA wheel ('2.6.0+cu126' or '1.5.0' with cuda '10.2'),
    None when the tables do not have it (a nightly, a source build, an untabled build)."""
    if not is_release(torch_version):
        return None
    return knowledge.arch_list(torch_version, cuda)


def runs_on(capability: str, arch_list: tuple[str, ...]) -> bool:
    """A GPU of this compute capability has kernels in a build with this arch list (SASS or PTX)."""
    return knowledge.capability_supported(capability, arch_list)


def newer_than(capability: str, arch_list: tuple[str, ...]) -> bool:
    """A GPU newer than every SASS arch of a build (it needs a newer torch, not an older one)."""
    sass = knowledge.sm_capabilities(arch_list)
    return bool(sass) and version_tuple(capability) > max(version_tuple(cc) for cc in sass)


def arch_span(arch_list: tuple[str, ...]) -> str:
    """('sm_50', ..., 'sm_90') -> 'sm_50 to sm_90'; with PTX: '..., and PTX for newer GPUs from compute_120'."""
    sass = [a for a in arch_list if a.startswith("sm_")]
    span = f"{sass[0]} to {sass[-1]}" if len(sass) > 1 else (sass[0] if sass else "no SASS")
    ptx = [a for a in arch_list if a.startswith("compute_")]
    return span + (f", and PTX ({ptx[-1]}) for newer GPUs" if ptx else "")


def builds_with_kernels_for(capability: str) -> list[tuple[str, str]]:
    """(torch minor, CUDA) of every tabled Linux wheel with SASS kernels for this capability (PTX JIT from
    an old arch does not count: torch warns on such GPUs), oldest torch first."""
    found: set[tuple[str, str]] = set()
    for row in knowledge.CUDA_ARCH_LISTS:
        sass = tuple(a for a in knowledge.to_arch_list(row.arch_list) if a.startswith("sm_"))
        if runs_on(capability, sass):
            found.update((minor, row.cuda) for minor in row.torch)
    return sorted(found, key=lambda pair: (version_tuple(pair[0]), version_tuple(pair[1])))


def cuda_index(cuda: str) -> str:
    """'12.8' -> 'cu128' (the wheel index tag)."""
    row = cuda_build(cuda)
    return row.index if row else "cu" + "".join(cuda.split(".")[:2])


def rocm_gfx(rocm: str) -> tuple[str, ...] | None:
    """gfx targets of torch's ROCm wheels for a ROCm version ("6.3.42131" -> the 6.3 row)."""
    return knowledge.rocm_gfx(rocm)


def gfx_from_override(value: str) -> str | None:
    """HSA_OVERRIDE_GFX_VERSION "10.3.0" -> "gfx1030" (minor and stepping in hex)."""
    parts = value.strip().split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    major, minor, stepping = (int(p) for p in parts)
    return f"gfx{major}{minor:x}{stepping:x}"


def override_for(gfx: str) -> str | None:
    """The HSA_OVERRIDE_GFX_VERSION people use to run a chip as its family's supported target: RDNA2
    gfx103x -> 10.3.0, RDNA3 gfx11xx -> 11.0.0, RDNA4 gfx12xx -> 12.0.0. None for others (RDNA1 gfx101x
    is reported to crash as 10.3.0)."""
    match = re.fullmatch(r"gfx(10|11|12)([0-9a-f])([0-9a-f])", gfx)
    if not match or (match.group(1) == "10" and match.group(2) != "3"):
        return None
    return {"10": "10.3.0", "11": "11.0.0", "12": "12.0.0"}[match.group(1)]
