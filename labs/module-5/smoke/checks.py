"""Smoke checks for module-5 (Advanced PyTorch): hooks, DDP on gloo, quantization, pruning, export, profiler."""

from __future__ import annotations

import socket
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch
from torch import nn

from smoke_api import SmokeFailure, SmokeSkip, assert_close, tolerances

RTOL, ATOL = tolerances(torch.float32)
DDP_WORLD_SIZE = 2
DDP_DEADLINE_S = 90.0


def small_model() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def check_forward_hooks(device: str) -> str:
    model = small_model().to(device)
    captured: dict[str, torch.Tensor] = {}
    handles = [
        layer.register_forward_hook(lambda _m, _inputs, output, name=name: captured.__setitem__(name, output.detach()))
        for name, layer in model.named_children()
    ]
    x = torch.randn(2, 4, device=device)
    out = model(x)
    shapes = {name: tuple(t.shape) for name, t in captured.items()}
    if shapes != {"0": (2, 8), "1": (2, 8), "2": (2, 3)}:
        raise SmokeFailure(f"hooks captured shapes {shapes}, expected 0:(2, 8) 1:(2, 8) 2:(2, 3)")
    assert_close(captured["1"], torch.relu(model[0](x)), "ReLU hook output vs relu(linear(x))", RTOL, ATOL)
    assert_close(captured["2"], out, "last hook output vs model output", RTOL, ATOL)
    for handle in handles:
        handle.remove()
    captured.clear()
    model(x)
    if captured:
        raise SmokeFailure(f"removed hooks still fired for layers {sorted(captured)}")
    return "3 forward hooks saw the right shapes and values, and stopped after remove()"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ranks_start_method() -> str:
    """forkserver on Linux (Python 3.14's default there), else spawn (the default on macOS and Windows). Plain fork hung about one run in six
    on Linux: this process has already run torch's thread pools, and a child forked while one of
    their locks is held never gets it. A fork server is a fresh single-threaded interpreter that
    imports torch and what DDP's constructor needs (torch._dynamo, ~2.5 s of CPU) once, then forks
    both ranks from that clean state; spawn would import them afresh twice at once (7-15 s on a
    loaded 2-core machine)."""
    return "forkserver" if sys.platform == "linux" else "spawn"


def run_ranks(out_dir: str) -> str:
    import torch.multiprocessing as mp
    from ddp_worker import average_gradients

    method = ranks_start_method()
    if method == "forkserver":
        mp.get_context("forkserver").set_forkserver_preload(["torch", "torch._dynamo", "torch.distributed", "ddp_worker"])

    context = mp.start_processes(
        average_gradients,
        args=(DDP_WORLD_SIZE, free_port(), out_dir),
        nprocs=DDP_WORLD_SIZE,
        join=False,
        start_method=method,
    )
    deadline = time.monotonic() + DDP_DEADLINE_S
    while not context.join(timeout=1.0):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.terminate()
            raise SmokeFailure(f"DDP ranks did not finish within {DDP_DEADLINE_S:.0f} s (gloo rendezvous on 127.0.0.1)")
    return method


def check_ddp_gloo(device: str) -> str:
    import torch.distributed as dist

    if not dist.is_available() or not dist.is_gloo_available():
        raise SmokeSkip("this torch build has no torch.distributed gloo backend")
    from ddp_worker import expected_gradient

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out_dir:
        method = run_ranks(out_dir)
        grads = [torch.load(Path(out_dir) / f"grad-rank{rank}.pt", weights_only=True) for rank in range(DDP_WORLD_SIZE)]
    expected = expected_gradient(DDP_WORLD_SIZE)
    for rank, grad in enumerate(grads):
        assert_close(grad, expected, f"rank {rank} gradient after all-reduce vs mean of inputs", RTOL, ATOL)
    seconds = time.perf_counter() - started
    return f"2 CPU processes ({method}) on gloo averaged gradients to {expected.flatten().tolist()} in {seconds:.1f} s"


def check_dynamic_quantization(device: str) -> str:
    quantization = getattr(getattr(torch, "ao", None), "quantization", None)
    if quantization is None or not hasattr(quantization, "quantize_dynamic"):
        raise SmokeSkip(f"torch {torch.__version__} has no torch.ao.quantization.quantize_dynamic (see torchao)")
    if set(torch.backends.quantized.supported_engines) <= {"none"}:
        raise SmokeSkip("this torch build has no quantized CPU engine")
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 16)).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization announces its move to torchao
        quantized = quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
        x = torch.randn(32, 64)
        expected, actual = model(x), quantized(x)
    int8_layers = [layer for layer in quantized.children() if "quantized" in type(layer).__module__]
    if len(int8_layers) != 2 or any(type(layer) is nn.Linear for layer in quantized.modules()):
        raise SmokeFailure(f"quantize_dynamic should replace both Linear layers; got {quantized}")
    scale = expected.abs().max().item()
    error = (actual - expected).abs().max().item()
    if error > 0.05 * scale:
        raise SmokeFailure(
            f"int8 output differs from float by {error:.3g}, more than 5% of the output scale {scale:.3g}"
        )
    return f"int8 Linear layers (engine {torch.backends.quantized.engine}, on CPU) within {error / scale:.1%} of float"


def check_pruning(device: str) -> str:
    from torch.nn.utils import prune

    layer = nn.Linear(10, 10).to(device)
    original = layer.weight.detach().clone()
    prune.l1_unstructured(layer, name="weight", amount=0.5)
    zeroed = layer.weight == 0
    if int(zeroed.sum()) != 50:
        raise SmokeFailure(f"l1_unstructured(amount=0.5) zeroed {int(zeroed.sum())} of 100 weights, expected 50")
    if original.abs()[zeroed].max() > original.abs()[~zeroed].min():
        raise SmokeFailure("pruning zeroed a weight larger than one it kept")
    prune.remove(layer, "weight")
    return "L1 pruning zeroed exactly the 50 smallest of 100 weights"


def check_export(device: str) -> str:
    export = getattr(torch, "export", None)
    if export is None or not hasattr(export, "export"):
        raise SmokeSkip(f"torch.export arrived in torch 2.1; this is {torch.__version__}")
    model = small_model().to(device).eval()
    x = torch.randn(5, 4, device=device)
    program = export.export(model, (x,))
    ops = {str(node.target) for node in program.graph.nodes if node.op == "call_function"}
    worst = assert_close(program.module()(x), model(x), "exported program vs eager", RTOL, ATOL)
    if not any("linear" in op or "addmm" in op for op in ops):
        raise SmokeFailure(f"the exported graph has no linear/addmm op: {sorted(ops)}")
    return f"{len(ops)} distinct ops in the graph, output equals eager (max abs diff {worst:.2g})"


def check_profiler(device: str) -> str:
    from torch.profiler import ProfilerActivity, profile, record_function

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == "cuda" else [])
    model = small_model().to(device)
    x = torch.randn(16, 4, device=device)
    with profile(activities=activities) as prof:
        with record_function("smoke_forward"):
            model(x).sum().backward()
        if device == "cuda":
            torch.cuda.synchronize()
    names = {event.key for event in prof.key_averages()}
    missing = {"smoke_forward", "aten::linear", "aten::relu"} - names
    if missing:
        raise SmokeFailure(f"the profiler did not record {sorted(missing)}")
    return f"recorded {len(names)} distinct events incl. smoke_forward, aten::linear, aten::relu"
