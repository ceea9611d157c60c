"""Smoke checks for module-2 (torch.nn): each layer's forward and backward on the device equal the CPU's.

A layer is built once on the CPU (fixed seed), copied to the device, and both copies see the same
input and the same upstream gradient; outputs, input gradients and parameter gradients must agree.
Some layers are also checked against their closed form.
"""

from __future__ import annotations

import copy
import io
import math
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from smoke_api import SmokeFailure, SmokeSkip, assert_close, tolerances

RTOL, ATOL = tolerances(torch.float32)


def forward_backward(module: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, dict]:
    x = x.clone()
    if x.is_floating_point():
        x.requires_grad_(True)
    out = module(x)
    upstream = torch.linspace(-1.0, 1.0, out.numel(), device=out.device).reshape(out.shape)
    (out * upstream).sum().backward()
    grads = {name: p.grad for name, p in module.named_parameters() if p.grad is not None}
    return out, x.grad, grads


def compare_with_cpu(build: Callable[[], nn.Module], x: torch.Tensor, device: str, what: str) -> float:
    """Run `build()` on CPU and a copy on `device`; compare forward and backward. Returns the worst diff."""
    cpu_module = build()
    device_module = copy.deepcopy(cpu_module).to(device)
    expected, expected_dx, expected_grads = forward_backward(cpu_module, x)
    actual, actual_dx, actual_grads = forward_backward(device_module, x.to(device))
    worst = assert_close(actual, expected, f"{what} forward", RTOL, ATOL)
    if expected_dx is not None:
        worst = max(worst, assert_close(actual_dx, expected_dx, f"{what} input gradient", RTOL, ATOL))
    if actual_grads.keys() != expected_grads.keys():
        raise SmokeFailure(
            f"{what}: parameters with gradients differ: {sorted(actual_grads)} vs {sorted(expected_grads)}"
        )
    for name, grad in expected_grads.items():
        worst = max(worst, assert_close(actual_grads[name], grad, f"{what} gradient of {name}", RTOL, ATOL))
    return worst


def with_random_affine(norm: nn.Module) -> nn.Module:
    """Norm layers start with weight 1 and bias 0; random values make their gradients tell more."""
    with torch.no_grad():
        for param in norm.parameters():
            param.copy_(torch.randn_like(param))
    return norm


def check_linear(device: str) -> str:
    worst = compare_with_cpu(lambda: nn.Linear(16, 8), torch.randn(4, 16), device, "Linear(16, 8)")
    return f"forward and backward match CPU, max abs diff {worst:.2g}"


def check_activations(device: str) -> str:
    layers = {
        "ReLU": nn.ReLU,
        "GELU": nn.GELU,
        "GELU(tanh)": lambda: nn.GELU(approximate="tanh"),
        "SiLU": nn.SiLU,
        "Tanh": nn.Tanh,
        "Softmax": lambda: nn.Softmax(dim=-1),
    }
    x = torch.randn(4, 32) * 3
    worst = max(compare_with_cpu(build, x, device, name) for name, build in layers.items())
    return f"{', '.join(layers)} match CPU, max abs diff {worst:.2g}"


def check_layer_norm(device: str) -> str:
    worst = compare_with_cpu(lambda: with_random_affine(nn.LayerNorm(16)), torch.randn(4, 5, 16), device, "LayerNorm")
    return f"forward and backward match CPU, max abs diff {worst:.2g}"


def check_rms_norm(device: str) -> str:
    if not hasattr(nn, "RMSNorm"):
        raise SmokeSkip(f"nn.RMSNorm arrived in torch 2.4; this is {torch.__version__}")
    x = torch.randn(4, 16)
    norm = with_random_affine(nn.RMSNorm(16, eps=1e-6)).to(device)
    closed_form = x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * norm.weight.detach().cpu()
    assert_close(norm(x.to(device)), closed_form, "RMSNorm against x / rms(x) * weight", RTOL, ATOL)
    worst = compare_with_cpu(lambda: with_random_affine(nn.RMSNorm(16, eps=1e-6)), x, device, "RMSNorm")
    return f"closed form and CPU agree, max abs diff {worst:.2g}"


def check_batch_norm(device: str) -> str:
    cpu_norm = with_random_affine(nn.BatchNorm1d(8))
    device_norm = copy.deepcopy(cpu_norm).to(device)
    x = torch.randn(16, 8) * 2 + 1
    worst = compare_with_cpu(lambda: copy.deepcopy(cpu_norm), x, device, "BatchNorm1d (train)")
    device_norm(x.to(device))  # one training step updates the running statistics
    cpu_norm(x)
    for name in ("running_mean", "running_var"):
        assert_close(getattr(device_norm, name), getattr(cpu_norm, name), f"BatchNorm1d {name}", RTOL, ATOL)
    device_norm.eval()
    y = torch.randn(4, 8)
    mean, var = cpu_norm.running_mean, cpu_norm.running_var
    closed_form = (y - mean) / torch.sqrt(var + cpu_norm.eps) * cpu_norm.weight.detach() + cpu_norm.bias.detach()
    assert_close(device_norm(y.to(device)), closed_form, "BatchNorm1d (eval) against its formula", RTOL, ATOL)
    return f"train step, running stats and eval formula agree, max abs diff {worst:.2g}"


def check_embedding(device: str) -> str:
    ids = torch.tensor([[1, 2, 2, 0], [5, 1, 0, 0]])  # repeats accumulate gradients; 0 is padding
    worst = compare_with_cpu(lambda: nn.Embedding(10, 8, padding_idx=0), ids, device, "Embedding")
    embedding = nn.Embedding(10, 8, padding_idx=0).to(device)
    embedding(ids.to(device)).sum().backward()
    counts = torch.bincount(ids.flatten(), minlength=10).float()
    counts[0] = 0.0  # the padding row never receives a gradient
    assert_close(embedding.weight.grad, counts.unsqueeze(1).expand(10, 8), "Embedding gradient counts", RTOL, ATOL)
    return f"lookup and gradient counts agree, max abs diff {worst:.2g}"


def check_dropout(device: str) -> str:
    dropout = nn.Dropout(p=0.5).to(device)
    x = torch.randn(64, 64, device=device)
    dropout.eval()
    if not torch.equal(dropout(x), x):
        raise SmokeFailure("Dropout in eval mode changed its input")
    dropout.train()
    out = dropout(x)
    kept = out != 0
    assert_close(out[kept], x[kept] * 2.0, "kept values scaled by 1/(1-p)", RTOL, ATOL)
    dropped = 1.0 - kept.float().mean().item()
    if not 0.4 < dropped < 0.6:
        raise SmokeFailure(f"Dropout(p=0.5) zeroed {dropped:.1%} of 4096 values")
    return f"eval is identity; train zeroed {dropped:.1%} and scaled the rest by 2"


def check_cross_entropy(device: str) -> str:
    logits = torch.randn(6, 5)
    targets = torch.tensor([0, 4, -100, 2, 2, -100])  # -100: ignored positions
    loss = F.cross_entropy(logits.to(device), targets.to(device), ignore_index=-100)
    keep = targets != -100
    picked = torch.log_softmax(logits.double(), dim=-1)[keep, targets[keep]]
    assert_close(loss, -picked.mean(), "cross_entropy with ignore_index against -mean(log_softmax)", RTOL, ATOL)
    summed = F.cross_entropy(logits.to(device), targets.to(device), ignore_index=-100, reduction="sum")
    assert_close(summed, -picked.sum(), "cross_entropy reduction='sum'", RTOL, ATOL)
    return f"loss {loss.item():.4f} equals the closed form over {int(keep.sum())} kept targets"


def small_model() -> nn.Sequential:
    return nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.GELU(), nn.Linear(8, 3))


def check_state_dict_round_trip(device: str) -> str:
    model = small_model().to(device)
    model(torch.randn(10, 6, device=device))  # a training-mode pass moves the BatchNorm buffers
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    restored = small_model()
    restored.load_state_dict(torch.load(buffer, map_location="cpu", weights_only=True))
    saved = model.state_dict()
    for name, tensor in restored.state_dict().items():
        if not torch.equal(tensor, saved[name].cpu()):
            raise SmokeFailure(f"state_dict entry {name} changed through save and load")
    model.eval()
    restored.eval()
    x = torch.randn(4, 6)
    worst = assert_close(model(x.to(device)), restored(x), "outputs after the round trip", RTOL, ATOL)
    entries = len(saved)
    return f"{entries} entries bit-exact, eval outputs agree (max abs diff {worst:.2g})"


def check_positional_encoding(device: str) -> str:
    positions, dim = 12, 8
    pos = torch.arange(positions, device=device, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    encoding = torch.zeros(positions, dim, device=device)
    encoding[:, 0::2] = torch.sin(pos * freq)
    encoding[:, 1::2] = torch.cos(pos * freq)
    expected = torch.tensor(
        [
            [
                math.sin(p / 10000 ** (i / dim)) if i % 2 == 0 else math.cos(p / 10000 ** ((i - 1) / dim))
                for i in range(dim)
            ]
            for p in range(positions)
        ],
        dtype=torch.float64,
    )
    worst = assert_close(encoding, expected, "sinusoidal positional encoding", RTOL, 1e-5)
    return f"sinusoidal table matches the formula, max abs diff {worst:.2g}"
