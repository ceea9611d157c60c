"""Smoke checks for module-1 (Tensors): matmul and einsum per dtype, autograd, half precision.

Every result computed on the device is compared with a float64 reference computed on the CPU
from the same (already rounded) inputs, with tolerances that fit the dtype.
"""

from __future__ import annotations

import torch

from smoke_api import SmokeFailure, SmokeSkip, assert_close, tolerances


def unsupported_reason(dtype: torch.dtype, device: str) -> str | None:
    """Why `dtype` cannot do a matmul on `device`, or None when it can."""
    try:
        probe = torch.ones(4, 4, dtype=dtype, device=device)
        (probe @ probe).sum().item()
    except (RuntimeError, TypeError) as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None


def require_dtype(dtype: torch.dtype, device: str) -> None:
    reason = unsupported_reason(dtype, device)
    if reason is not None:
        raise SmokeSkip(f"{dtype} matmul is not supported on {device}: {reason}")


def products(a: torch.Tensor, b: torch.Tensor, q: torch.Tensor, k: torch.Tensor) -> dict[str, torch.Tensor]:
    """The same few products, whatever the dtype and device of the inputs."""
    return {
        "a @ b": a @ b,
        "torch.matmul batched (broadcast)": torch.matmul(a.expand(3, *a.shape), b),
        "einsum ij,jk->ik": torch.einsum("ij,jk->ik", a, b),
        "einsum bhqd,bhkd->bhqk": torch.einsum("bhqd,bhkd->bhqk", q, k),
    }


def matmul_against_fp64(device: str, dtype: torch.dtype) -> str:
    require_dtype(dtype, device)
    inputs = [torch.randn(8, 16), torch.randn(16, 12), torch.randn(2, 3, 5, 16), torch.randn(2, 3, 7, 16)]
    rounded = [t.to(dtype) for t in inputs]  # the reference sees exactly the values the device sees
    expected = products(*[t.double() for t in rounded])
    actual = products(*[t.to(device) for t in rounded])
    rtol, atol = tolerances(dtype)
    worst = 0.0
    for what, result in actual.items():
        if result.dtype != dtype or result.device.type != device:
            raise SmokeFailure(f"{what}: got {result.dtype} on {result.device}, expected {dtype} on {device}")
        worst = max(worst, assert_close(result, expected[what], f"{what} in {dtype}", rtol, atol))
    return f"4 products match float64 on CPU, max abs diff {worst:.2g}"


def check_matmul_float32(device: str) -> str:
    return matmul_against_fp64(device, torch.float32)


def check_matmul_float64(device: str) -> str:
    return matmul_against_fp64(device, torch.float64)


def check_matmul_float16(device: str) -> str:
    return matmul_against_fp64(device, torch.float16)


def check_matmul_bfloat16(device: str) -> str:
    return matmul_against_fp64(device, torch.bfloat16)


def check_autograd_closed_form(device: str) -> str:
    rtol, atol = tolerances(torch.float32)
    x = torch.randn(6, device=device, requires_grad=True)
    (x**3 + torch.sin(x)).sum().backward()
    assert_close(x.grad, 3 * x.detach() ** 2 + torch.cos(x.detach()), "d/dx sum(x^3 + sin x)", rtol, atol)

    a = torch.randn(3, 4, device=device, requires_grad=True)
    b = torch.randn(4, 2, device=device, requires_grad=True)
    (a @ b).sum().backward()  # dL/da = 1 @ b^T, dL/db = a^T @ 1
    assert_close(a.grad, b.detach().sum(dim=1).expand(3, 4), "d/da sum(a @ b)", rtol, atol)
    assert_close(b.grad, a.detach().sum(dim=0).unsqueeze(1).expand(4, 2), "d/db sum(a @ b)", rtol, atol)

    w = torch.randn(5, device=device, requires_grad=True)
    data = torch.randn(5, device=device)
    for _ in range(2):  # gradients accumulate until zeroed
        (w * data).sum().backward()
    assert_close(w.grad, 2 * data, "gradient accumulated over two backward calls", rtol, atol)

    with torch.no_grad():
        untracked = w * 2
    if untracked.requires_grad or w.detach().requires_grad:
        raise SmokeFailure("no_grad / detach still produced a tensor that requires grad")
    return "power/sin, matmul, accumulation and no_grad behave as the closed forms say"


def half_precision_math(device: str, dtype: torch.dtype) -> float:
    x = torch.randn(4, 64).to(dtype)
    reference = x.double()
    on_device = x.to(device)
    rtol, atol = tolerances(dtype)
    elementwise = torch.exp(on_device * 0.5) * torch.tanh(on_device)
    if elementwise.dtype != dtype:
        raise SmokeFailure(f"element-wise math on {dtype} returned {elementwise.dtype}")
    worst = assert_close(
        elementwise, torch.exp(reference * 0.5) * torch.tanh(reference), f"exp*tanh in {dtype}", rtol, atol
    )
    softmax = torch.softmax(on_device, dim=-1)
    worst = max(worst, assert_close(softmax, torch.softmax(reference, dim=-1), f"softmax in {dtype}", rtol, atol))
    mean = on_device.float().mean(dim=-1)  # reductions in float32 after a half-precision load
    return max(worst, assert_close(mean, reference.mean(dim=-1), f"mean of {dtype} data", *tolerances(torch.float32)))


def bf16_native_on_cuda() -> bool:
    try:
        return torch.cuda.is_bf16_supported(including_emulation=False)
    except TypeError:  # torch before 2.3 has no such argument
        return torch.cuda.is_bf16_supported()


def check_half_precision_support(device: str) -> str:
    supported, missing = [], []
    for dtype in (torch.float16, torch.bfloat16):
        if unsupported_reason(dtype, device) is None:
            half_precision_math(device, dtype)
            supported.append(str(dtype).replace("torch.", ""))
        else:
            missing.append(str(dtype).replace("torch.", ""))
    if not supported:
        raise SmokeSkip(f"neither float16 nor bfloat16 works on {device}")
    note = f"; not supported: {', '.join(missing)}" if missing else ""
    if device == "cuda" and "bfloat16" in supported and not bf16_native_on_cuda():
        note += " (bfloat16 emulated on this GPU)"
    return f"supported: {', '.join(supported)}{note}"
