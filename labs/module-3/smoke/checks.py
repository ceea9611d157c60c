"""Smoke checks for module-3 (Training workflows): a loss that falls, DataLoader workers, autocast, compile."""

from __future__ import annotations

import copy
import multiprocessing
import os
import platform
import shutil
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from smoke_api import SmokeFailure, SmokeSkip, assert_close, tolerances

RTOL, ATOL = tolerances(torch.float32)
AUTOCAST_DTYPES = {"cpu": torch.bfloat16, "cuda": torch.float16, "mps": torch.float16}


def regression_data(n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(n, 4)
    y = x @ torch.tensor([[1.5], [-2.0], [0.5], [3.0]]) + 0.7 + 0.05 * torch.randn(n, 1)
    return x, y


def train(
    model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, steps: int
) -> list[float]:
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    return losses


def fitted_losses(device: str, make_optimizer, steps: int = 30) -> list[float]:
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))
    x, y = regression_data()
    model, x, y = model.to(device), x.to(device), y.to(device)
    return train(model, make_optimizer(model.parameters()), x, y, steps)


def check_training_loss_falls(device: str) -> str:
    optimizers = {
        "SGD+momentum": lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.9),
        "AdamW": lambda params: torch.optim.AdamW(params, lr=0.05, weight_decay=0.01),
    }
    summary = []
    for name, make in optimizers.items():
        losses = fitted_losses(device, make)
        if not losses[-1] < 0.2 * losses[0]:
            raise SmokeFailure(
                f"{name}: loss went from {losses[0]:.3f} to {losses[-1]:.3f} in 30 steps, expected a fall of 5x"
            )
        if device != "cpu":
            reference = fitted_losses("cpu", make)
            assert_close(
                torch.tensor(losses[:5]), torch.tensor(reference[:5]), f"{name} first losses vs CPU", 1e-3, 1e-4
            )
        summary.append(f"{name} {losses[0]:.2f} -> {losses[-1]:.3f}")
    return "; ".join(summary)


def check_lr_schedule(device: str) -> str:
    param = nn.Parameter(torch.zeros(1, device=device))
    optimizer = torch.optim.SGD([param], lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
    for _ in range(35):
        optimizer.step()
        scheduler.step()
    lr = optimizer.param_groups[0]["lr"]
    if abs(lr - 0.1 * 0.5**3) > 1e-12:
        raise SmokeFailure(f"StepLR(step_size=10, gamma=0.5) after 35 steps gave lr {lr}, expected 0.0125")
    return "StepLR after 35 steps: 0.1 * 0.5^3"


def check_gradient_accumulation(device: str) -> str:
    model = nn.Linear(4, 1).to(device)
    x, y = (t.to(device) for t in regression_data(16))
    nn.functional.mse_loss(model(x), y).backward()
    full = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    for part_x, part_y in zip(x.chunk(2), y.chunk(2)):  # two micro-batches, each loss halved
        (nn.functional.mse_loss(model(part_x), part_y) / 2).backward()
    for name, (p, expected) in zip(("weight", "bias"), zip(model.parameters(), full)):
        assert_close(p.grad, expected, f"accumulated gradient of {name}", RTOL, ATOL)
    return "two half-batches accumulate to the full-batch gradient"


def check_dataloader_workers(device: str) -> str:
    """Batches from two worker processes travel through shared memory (/dev/shm in containers).

    128 MiB of batches are kept alive at once, more than Docker's default 64 MiB /dev/shm.
    """
    items, item_floats, batch = 32, 1 << 20, 8
    data = torch.arange(items, dtype=torch.float32).unsqueeze(1).expand(items, item_floats).contiguous()
    loader = DataLoader(
        TensorDataset(data, torch.arange(items)), batch_size=batch, num_workers=2, pin_memory=device == "cuda"
    )
    try:
        batches = [(features.to(device), labels) for features, labels in loader]
    except RuntimeError as exc:
        hint = (
            " (shared memory too small? containers need a bigger --shm-size)" if "bus error" in str(exc).lower() else ""
        )
        raise SmokeFailure(f"DataLoader with 2 workers failed: {str(exc).splitlines()[0]}{hint}") from None
    labels = torch.cat([labels for _, labels in batches])
    if not torch.equal(labels, torch.arange(items)):
        raise SmokeFailure(f"the workers delivered items {labels.tolist()}, expected 0..{items - 1} in order")
    for features, labels in batches:
        if not torch.equal(features[:, :: item_floats // 4].cpu(), labels.float().unsqueeze(1).expand(-1, 4)):
            raise SmokeFailure(f"a batch's features do not match its labels {labels.tolist()}")
    start = multiprocessing.get_start_method(allow_none=True) or multiprocessing.get_context().get_start_method()
    return f"2 workers ({start}), {len(batches)} batches, {items * item_floats * 4 >> 20} MiB through shared memory"


def autocast_available(device: str) -> bool:
    checker = getattr(torch.amp, "is_autocast_available", None)
    return checker(device) if checker is not None else device in ("cpu", "cuda")


def check_autocast(device: str) -> str:
    if not autocast_available(device):
        raise SmokeSkip(f"torch {torch.__version__} has no autocast for {device}")
    dtype = AUTOCAST_DTYPES[device]
    model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 8)).to(device)
    x = torch.randn(16, 32, device=device)
    with torch.autocast(device_type=device, dtype=dtype):
        out = model(x)
        loss = out.float().pow(2).mean()
    if out.dtype != dtype:
        raise SmokeFailure(f"Linear under autocast({dtype}) returned {out.dtype}")
    loss.backward()
    if any(p.grad is None or p.grad.dtype != torch.float32 for p in model.parameters()):
        raise SmokeFailure("parameter gradients under autocast are missing or not float32")
    worst = assert_close(out, model(x), f"autocast {dtype} against float32", *tolerances(dtype))
    return f"{dtype} on {device}, float32 gradients, max abs diff {worst:.2g}"


def cxx_compiler() -> str | None:
    candidates = [os.environ.get("CXX"), "g++", "clang++", "c++", "cl"]
    return next((found for name in candidates if name and (found := shutil.which(name))), None)


def compile_unavailable_reason(device: str) -> str | None:
    import torch._dynamo

    if not torch._dynamo.is_dynamo_supported():
        return f"torch.compile does not support this Python/platform with torch {torch.__version__}"
    if device == "cpu" and cxx_compiler() is None:
        return "no C++ compiler (g++ or clang++) on PATH; torch.compile's CPU backend needs one"
    if device == "cuda":
        from torch.utils._triton import has_triton

        if not has_triton():
            return "Triton is not available for this GPU; torch.compile's GPU backend needs it"
    return None


def probe_vector_isas_two_at_a_time() -> None:
    """Inductor's first CPU compile in a fresh cache builds one tiny C++ program per vector ISA the
    CPU claims, one after the other (~5 s on 2 cores; cached afterwards). Built here first, two at a
    time (each in its own cache file), inductor then finds them built: only the order changes, it
    runs the same probe. A private API of torch: on any error here inductor probes as usual."""
    try:
        from concurrent.futures import ThreadPoolExecutor

        from torch._inductor import codecache, cpp_builder, cpu_vec_isa  # noqa: F401 - imported here, not in the threads

        flags = cpu_vec_isa.x86_isa_checker() if platform.machine() in ("x86_64", "AMD64") else []
        isas = [isa for isa in cpu_vec_isa.supported_vec_isa_list if all(f in flags for f in str(isa).split())]
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(bool, isas))  # bool(isa) is inductor's own cached "does it build and load"
    except Exception:  # noqa: BLE001, S110 - a shortcut only
        pass


def check_compile(device: str) -> str:
    """Last on purpose. The first compile in a fresh environment probes the CPU's vector ISA and then
    builds the kernels, all cached in inductor's cache folder (in the lab image: the learner's home,
    a volume that outlives the container); the detail says whether the kernels came from there. The
    model is the smallest that still gives inductor a fused C++ kernel in the forward and one in the
    backward (no bias: no separate reduction kernels), and precompiled headers are off: building one
    (~150 MB, ~11 s) costs more than it saves on two kernels, and inductor builds it in every new
    environment even when every kernel comes from its cache."""
    reason = compile_unavailable_reason(device)
    if reason is not None:
        raise SmokeSkip(reason)
    from torch._dynamo.utils import counters
    from torch._inductor import config as inductor_config

    model = nn.Sequential(nn.Linear(8, 16, bias=False), nn.GELU(), nn.Linear(16, 4, bias=False)).to(device)
    x = torch.randn(5, 8, device=device)
    twin = copy.deepcopy(model)
    torch._dynamo.reset()
    hits_before = counters["inductor"]["fxgraph_cache_hit"]
    started = time.perf_counter()
    if device == "cpu":
        probe_vector_isas_two_at_a_time()
    try:
        with inductor_config.patch(cpp_cache_precompile_headers=False):
            out = torch.compile(twin)(x)
            out.pow(2).sum().backward()
    except Exception as exc:
        if device != "mps":
            raise
        # inductor's MPS backend is still experimental: its refusal is news, not a broken lab
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        raise SmokeSkip(
            f"torch.compile on mps failed ({type(exc).__name__}: {first_line}); its MPS backend is experimental"
        ) from None
    finally:
        torch._dynamo.reset()
    seconds = time.perf_counter() - started
    cached = counters["inductor"]["fxgraph_cache_hit"] - hits_before
    expected = model(x)
    expected.pow(2).sum().backward()
    worst = assert_close(out, expected, "torch.compile output vs eager", RTOL, ATOL)
    for (name, param), twin_param in zip(model.named_parameters(), twin.parameters()):
        worst = max(worst, assert_close(twin_param.grad, param.grad, f"compiled gradient of {name}", RTOL, ATOL))
    source = f"{cached} of 2 graphs from inductor's cache" if cached else "kernels built now"
    return (
        f"inductor compiled forward and backward in {seconds:.1f} s ({source}), "
        f"both match eager (max abs diff {worst:.2g})"
    )
