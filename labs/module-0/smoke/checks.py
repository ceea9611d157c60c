"""Smoke checks for module-0 (Getting started): torch imports, the device is there, data crosses over intact."""

from __future__ import annotations

import os
import re

import torch

from smoke_api import SmokeFailure

COURSE_MIN_TORCH = (2, 1)


def torch_release(version: str) -> tuple[int, int]:
    match = re.match(r"(\d+)\.(\d+)", version)
    if match is None:
        raise SmokeFailure(f"cannot read torch version {version!r}")
    return int(match.group(1)), int(match.group(2))


def torch_build() -> str:
    if torch.version.cuda:
        return f"CUDA {torch.version.cuda} build"
    if getattr(torch.version, "hip", None):
        return f"ROCm (HIP {torch.version.hip}) build"
    return "CPU build"


def check_import(device: str) -> str:
    release = torch_release(torch.__version__)
    if release < COURSE_MIN_TORCH:
        raise SmokeFailure(
            f"torch {torch.__version__} is older than the course's {COURSE_MIN_TORCH[0]}.{COURSE_MIN_TORCH[1]}"
        )
    total = torch.arange(1, 101).sum().item()
    if total != 5050:  # 1 + 2 + ... + 100
        raise SmokeFailure(f"torch.arange(1, 101).sum() gave {total}, expected 5050")
    return f"torch {torch.__version__}, {torch_build()}"


def describe_cuda() -> str:
    count = torch.cuda.device_count()
    if count < 1:
        raise SmokeFailure("torch.cuda.is_available() is True but device_count() is 0")
    props = torch.cuda.get_device_properties(0)
    arch = (
        getattr(props, "gcnArchName", "") if getattr(torch.version, "hip", None) else f"sm_{props.major}{props.minor}"
    )
    return f"{count} GPU(s); cuda:0 {props.name} ({arch}, {props.total_memory / 2**30:.1f} GiB)"


def describe_device(device: str) -> str:
    if device == "cuda":
        return describe_cuda()
    if device == "mps":
        return "Apple GPU through Metal (MPS)"
    capability = torch.backends.cpu.get_cpu_capability() if hasattr(torch.backends, "cpu") else "unknown"
    return f"CPU, {os.cpu_count() or 'unknown'} logical cores, vector ISA {capability}"


def check_device_discovery(device: str) -> str:
    described = describe_device(device)
    ones = torch.ones(1000, device=device)
    if ones.device.type != device:
        raise SmokeFailure(f"a tensor made with device={device!r} landed on {ones.device}")
    total = ones.sum().item()
    if total != 1000.0:
        raise SmokeFailure(f"sum of 1000 ones on {device} gave {total}")
    return described


ROUND_TRIP_DTYPES = (
    torch.float32,
    torch.float64,
    torch.float16,
    torch.bfloat16,
    torch.int64,
    torch.int32,
    torch.uint8,
    torch.bool,
)


def storable(dtype: torch.dtype, device: str) -> bool:
    """Whether the device holds this dtype at all (MPS has no float64, older macOS no bfloat16)."""
    try:
        torch.zeros(1, dtype=dtype, device=device)
    except (RuntimeError, TypeError):
        return False
    return True


def sample(dtype: torch.dtype, shape: tuple[int, ...]) -> torch.Tensor:
    if dtype.is_floating_point:
        return torch.randn(shape).to(dtype)
    if dtype == torch.bool:
        return torch.rand(shape) > 0.5
    return torch.randint(0, 100, shape).to(dtype)


def check_round_trip(device: str) -> str:
    dtypes = [dtype for dtype in ROUND_TRIP_DTYPES if storable(dtype, device)]
    if torch.float32 not in dtypes:
        raise SmokeFailure(f"{device} cannot even hold a float32 tensor")
    for dtype in dtypes:
        host = sample(dtype, (256, 257))
        for name, source in (("contiguous", host), ("transposed", host.t())):
            back = source.to(device).to("cpu")
            if back.dtype != dtype or not torch.equal(back, source):
                raise SmokeFailure(f"{dtype} {name} tensor changed on its way to {device} and back")
    if device == "cuda":
        pinned = torch.randn(1 << 18).pin_memory()
        on_gpu = pinned.to(device, non_blocking=True)
        torch.cuda.synchronize()
        if not torch.equal(on_gpu.cpu(), pinned):
            raise SmokeFailure("pinned, non-blocking copy to cuda changed the data")
    n = 4096
    total = torch.arange(1, n + 1, dtype=torch.float32, device=device).sum().item()
    if total != n * (n + 1) / 2:  # exact in float32 below 2**24
        raise SmokeFailure(f"sum 1..{n} on {device} gave {total}, expected {n * (n + 1) // 2}")
    missing = [str(dtype).replace("torch.", "") for dtype in ROUND_TRIP_DTYPES if dtype not in dtypes]
    note = f" ({', '.join(missing)} not supported on {device})" if missing else ""
    return f"{len(dtypes)} dtypes bit-exact both ways{note}"
