"""What a lab's smoke/checks.py may use: the two outcomes besides success, and a tolerant compare.

A check is `def check_<name>(device: str) -> str | None`. It returns an optional one-line detail
when the result is right, raises SmokeFailure (or AssertionError) with a one-line reason when it
is wrong, and raises SmokeSkip("reason") when it cannot apply on this device or platform.

This file needs only the standard library at import time; `assert_close` imports torch when called.
"""

from __future__ import annotations

from typing import Any


class SmokeSkip(Exception):
    """The check does not apply here; the message says why (e.g. bfloat16 unsupported on this GPU)."""


class SmokeFailure(AssertionError):
    """The check ran and the result is wrong; the message says what differed."""


# Relative and absolute tolerances against a float64 reference, per dtype name. Half-precision
# types keep 11 (float16) or 8 (bfloat16) significant bits, so their errors are far larger.
TOLERANCES: dict[str, tuple[float, float]] = {
    "float64": (1e-10, 1e-10),
    "float32": (1e-4, 1e-5),
    "float16": (1e-2, 1e-2),
    "bfloat16": (4e-2, 4e-2),
}


def tolerances(dtype: Any) -> tuple[float, float]:
    """(rtol, atol) for comparing a result computed in `dtype` with a float64 reference."""
    name = str(dtype).replace("torch.", "")
    if name not in TOLERANCES:
        raise SmokeFailure(f"no tolerance defined for dtype {name}")
    return TOLERANCES[name]


def assert_close(actual: Any, expected: Any, what: str, rtol: float, atol: float) -> float:
    """Compare two tensors in float64 on the CPU; raise SmokeFailure naming `what` and the worst error.

    Returns the largest absolute difference, handy for a check's detail line.
    """
    import torch

    got = actual.detach().to("cpu", torch.float64)
    want = expected.detach().to("cpu", torch.float64)
    if got.shape != want.shape:
        raise SmokeFailure(f"{what}: shape {tuple(got.shape)}, expected {tuple(want.shape)}")
    diff = (got - want).abs().max().item() if got.numel() else 0.0
    # torch.testing.assert_close's rule (|got - want| <= atol + rtol * |want|, NaN never close) without
    # its first call's cost: it imports torch.distributed's DTensor to unwrap inputs (~0.45 CPU-s of
    # every smoke run, on the path of a warm `up`).
    if not torch.isclose(got, want, rtol=rtol, atol=atol).all():
        raise SmokeFailure(f"{what}: max abs diff {diff:.3g} beyond rtol {rtol:g}, atol {atol:g}")
    return diff
