"""Measure this device with torch and the standard library only (it also runs inside lab containers).

Run it as `python -m torchlab.bench.measure --json` or as a plain file path. It prints a raw
document (schema torchlab.bench.measure/1): what the device is and what it reached. Peaks and
fractions are attached by the host (torchlab.bench.report), so nothing here imports torchlab.

Timing follows docs/BENCHMARKING.md: warm-up, synchronisation (CUDA events on CUDA and ROCm,
torch.mps.synchronize on MPS), rotated inputs larger than the last-level cache, random data,
median and relative IQR, and every kernel checked against a CPU float64 reference.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import Callable, Optional

import torch

SCHEMA = "torchlab.bench.measure/1"
DTYPES = {"fp32": torch.float32, "tf32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
TOLERANCE = {"fp32": 1e-4, "tf32": 1e-2, "fp16": 5e-3, "bf16": 2e-2}  # relative Frobenius error
TRAIN_TOLERANCE = {"fp32": 1e-3, "fp16": 5e-2, "bf16": 8e-2}
# Tile-aligned and large enough to be compute-bound, so rotated (cold) inputs cost the kernel nothing.
MATMUL_SIZES = {"cpu": (2048, 3072, 4096), "cuda": (2048, 4096, 8192), "mps": (1024, 2048, 4096)}
QUICK_SIZES = {"cpu": (2048,), "cuda": (4096,), "mps": (2048,)}
# (d_model, heads, feed-forward, layers, tokens per sequence, batch, vocabulary)
ENCODERS = {"cpu": (128, 4, 512, 2, 64, 8, 1024), "cuda": (512, 8, 2048, 4, 256, 32, 8192),
            "mps": (256, 4, 1024, 4, 128, 16, 4096)}
CPU_FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_fp16",
             "asimd", "bf16", "fphp", "sve")


class DeviceMissing(Exception):
    """The requested device is not present in this torch."""


@dataclass(frozen=True)
class Budget:
    """Seconds of warm-up and of timed calls per measurement; the whole run follows from these."""

    warmup_s: float
    measure_s: float
    device_warmup_s: float
    min_calls: int = 5
    max_calls: int = 2000


QUICK = Budget(warmup_s=0.15, measure_s=0.4, device_warmup_s=1.0)
FULL = Budget(warmup_s=0.4, measure_s=1.5, device_warmup_s=3.0)


@dataclass(frozen=True)
class Result:
    """One figure: `value` is the rate at the median call time `median` (s); `spread` is IQR/median."""

    kind: str
    dtype: Optional[str]
    size: Optional[int]
    unit: str
    value: Optional[float] = None
    median: Optional[float] = None
    spread: Optional[float] = None
    status: str = "ok"  # ok | skip | fail
    verified: Optional[bool] = None
    detail: str = ""
    flop_per_token: Optional[float] = None  # train-step only: what turns a FLOP/s peak into tokens/s


@dataclass(frozen=True)
class Target:
    """The device under test and what the timers need to know about it."""

    kind: str  # cpu | cuda | rocm | mps
    device: torch.device
    cache_bytes: int  # last-level cache, for rotation and array sizes
    memory_bytes: Optional[int]

    @property
    def family(self) -> str:  # the key of the size tables: rocm runs as cuda in torch
        return "cuda" if self.kind == "rocm" else self.kind


# ---------------------------------------------------------------- probe: host and device facts


def run_text(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def parse_cpuinfo(text: str, allowed: Optional[set[int]] = None) -> dict[str, object]:
    """/proc/cpuinfo: model, vendor, family, flags, clock and physical cores among `allowed` CPUs."""
    blocks = [dict(re.findall(r"^([^\t:\n]+?)\s*:\s*(.*)$", block, re.M)) for block in text.split("\n\n")]
    blocks = [b for b in blocks if "processor" in b]
    if not blocks:
        return {}
    mine = [b for b in blocks if allowed is None or int(b["processor"]) in allowed] or blocks
    first = mine[0]
    cores = {(b.get("physical id", "0"), b.get("core id", b["processor"])) for b in mine}
    flags = set((first.get("flags") or first.get("Features") or "").split())
    return {"model": first.get("model name") or first.get("CPU part"), "vendor": first.get("vendor_id"),
            "family": int(first["cpu family"]) if first.get("cpu family", "").isdigit() else None,
            "flags": sorted(f for f in flags if f in CPU_FLAGS), "cores": len(cores),
            "clock_mhz": float(first["cpu MHz"]) if "cpu MHz" in first else None}


def parse_sysctl(text: str) -> dict[str, str]:
    """`sysctl key ...` lines "key: value"."""
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in text.splitlines()) if v}


def parse_gpu_cores(text: str) -> Optional[int]:
    """`system_profiler SPDisplaysDataType`: the Apple GPU's "Total Number of Cores"."""
    match = re.search(r"Total Number of Cores:\s*(\d+)", text)
    return int(match.group(1)) if match else None


def linux_cpu() -> dict[str, object]:
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    facts = parse_cpuinfo(read_text("/proc/cpuinfo"), allowed)
    max_khz = read_text("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").strip()
    if max_khz.isdigit():
        facts.update(clock_mhz=int(max_khz) / 1000, clock_source="cpufreq cpuinfo_max_freq")
    elif facts.get("clock_mhz"):
        facts["clock_source"] = "/proc/cpuinfo cpu MHz (current clock; boost may run higher)"
    return facts


def mac_cpu() -> dict[str, object]:
    keys = ["machdep.cpu.brand_string", "hw.physicalcpu", "hw.cpufrequency_max", "machdep.cpu.features",
            "machdep.cpu.leaf7_features"]
    values = parse_sysctl(run_text(["sysctl", *keys]))
    words = " ".join(values.get(k, "") for k in keys[3:]).lower().replace(".", "_").split()
    flags = {"avx": "avx1_0", "avx2": "avx2", "fma": "fma", "avx512f": "avx512f"}
    found = [f for f, word in flags.items() if word in words]
    if platform.machine() == "arm64":
        found.append("asimd")
    hz = values.get("hw.cpufrequency_max", "")
    return {"model": values.get("machdep.cpu.brand_string"), "vendor": None, "family": None,
            "flags": sorted(found), "cores": int(values.get("hw.physicalcpu", "0")) or os.cpu_count(),
            "clock_mhz": int(hz) / 1e6 if hz.isdigit() else None,
            "clock_source": "sysctl hw.cpufrequency_max" if hz.isdigit() else None}


def cache_bytes() -> int:
    """The largest CPU cache sysfs lists (the LLC); 32 MiB when it says nothing."""
    sizes = []
    for index in range(6):
        text = read_text(f"/sys/devices/system/cpu/cpu0/cache/index{index}/size").strip()
        match = re.fullmatch(r"(\d+)([KMG]?)", text)
        if match:
            sizes.append(int(match.group(1)) * {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}[match.group(2)])
    return max(sizes, default=32 * 2**20)


def host_facts() -> dict[str, object]:
    cpu = mac_cpu() if sys.platform == "darwin" else linux_cpu() if sys.platform.startswith("linux") else {}
    cpu.setdefault("model", platform.processor() or None)
    cpu.setdefault("cores", os.cpu_count())
    return {"os": platform.platform(), "machine": platform.machine(), "python": platform.python_version(),
            "llc_bytes": cache_bytes(), "cpu": cpu}


def torch_facts() -> dict[str, object]:
    return {"version": torch.__version__, "cuda": torch.version.cuda, "hip": torch.version.hip,
            "threads": torch.get_num_threads()}


def resolve_kind(requested: str) -> str:
    """auto picks cuda (or ROCm), then MPS, then CPU; a named device must be present."""
    has_cuda = torch.cuda.is_available()
    has_mps = hasattr(torch.backends, "mps") and torch.backends.mps.is_available()
    if requested in ("cuda", "auto") and has_cuda:
        return "rocm" if torch.version.hip else "cuda"
    if requested in ("mps", "auto") and has_mps:
        return "mps"
    if requested in ("cpu", "auto"):
        return "cpu"
    what = "CUDA or ROCm GPU (torch.cuda.is_available() is False)" if requested == "cuda" else \
        "Apple GPU (torch.backends.mps.is_available() is False)"
    raise DeviceMissing(f"device {requested} is not present: torch {torch.__version__} sees no {what}")


def device_facts(kind: str, host: dict[str, object]) -> tuple[Target, dict[str, object]]:
    cpu = host["cpu"]
    if kind in ("cuda", "rocm"):
        props = torch.cuda.get_device_properties(0)
        facts = {"name": props.name or getattr(props, "gcnArchName", ""), "memory_bytes": props.total_memory,
                 "units": props.multi_processor_count, "capability": f"{props.major}.{props.minor}",
                 "arch": getattr(props, "gcnArchName", None), "count": torch.cuda.device_count(),
                 "l2_bytes": getattr(props, "L2_cache_size", None)}
        target = Target(kind, torch.device("cuda", 0), max(facts["l2_bytes"] or 0, 256 * 2**20), props.total_memory)
    elif kind == "mps":
        chip = parse_sysctl(run_text(["sysctl", "machdep.cpu.brand_string"])).get("machdep.cpu.brand_string")
        memory = torch.mps.recommended_max_memory() if hasattr(torch.mps, "recommended_max_memory") else None
        facts = {"name": chip, "gpu_cores": parse_gpu_cores(run_text(["system_profiler", "SPDisplaysDataType"])),
                 "memory_bytes": memory}
        target = Target(kind, torch.device("mps"), 256 * 2**20, memory)
    else:
        facts = {"name": cpu.get("model"), "cores": cpu.get("cores")}
        target = Target(kind, torch.device("cpu"), int(host["llc_bytes"]), None)
    return target, {"kind": kind, "torch_device": str(target.device), **facts}


# ---------------------------------------------------------------- timing


def synchronize(target: Target) -> None:
    if target.family == "cuda":
        torch.cuda.synchronize(target.device)
    elif target.kind == "mps":
        torch.mps.synchronize()


def warm_up(target: Target, call: Callable[[int], object], seconds: float) -> None:
    start, index = time.perf_counter(), 0
    while index < 2 or time.perf_counter() - start < seconds:
        call(index)
        synchronize(target)
        index += 1


def event_times(target: Target, call: Callable[[int], object], budget: Budget) -> list[float]:
    """CUDA/ROCm: an event pair around each call; at most two calls in flight, so the queue stays short."""
    pairs, start = [], time.perf_counter()
    while len(pairs) < budget.max_calls and (len(pairs) < budget.min_calls or time.perf_counter() - start < budget.measure_s):
        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        begin.record()
        call(len(pairs))
        end.record()
        if pairs:
            pairs[-1][1].synchronize()
        pairs.append((begin, end))
    torch.cuda.synchronize(target.device)
    return [b.elapsed_time(e) / 1e3 for b, e in pairs]


def host_times(target: Target, call: Callable[[int], object], budget: Budget) -> list[float]:
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < budget.max_calls and (len(times) < budget.min_calls or time.perf_counter() - start < budget.measure_s):
        synchronize(target)
        begin = time.perf_counter()
        call(len(times))
        synchronize(target)
        times.append(time.perf_counter() - begin)
    return times


def timed(target: Target, call: Callable[[int], object], budget: Budget) -> tuple[float, float]:
    """Median seconds per call and the relative IQR, after warm-up."""
    warm_up(target, call, budget.warmup_s)
    times = (event_times if target.family == "cuda" else host_times)(target, call, budget)
    quartiles = statistics.quantiles(times, n=4) if len(times) > 1 else [times[0]] * 3
    median = statistics.median(times)
    return median, (quartiles[2] - quartiles[0]) / median


def rotation(target: Target, one_set_bytes: int) -> int:
    """How many input sets to rotate so that their footprint is at least 2x the last-level cache."""
    return max(1, min(64, math.ceil(2 * target.cache_bytes / one_set_bytes)))


def fits(target: Target, nbytes: int) -> bool:
    return target.memory_bytes is None or nbytes <= target.memory_bytes // 4


def uniform(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return torch.empty(shape, dtype=dtype, device=device).uniform_(-1, 1)  # CUTLASS: Uniform[-1, 1]


def relative_error(out: torch.Tensor, ref: torch.Tensor) -> float:
    return float(torch.linalg.norm(out.cpu().double() - ref) / torch.linalg.norm(ref))


# ---------------------------------------------------------------- measurements


def matmul_unsupported(target: Target, dtype: str, cpu_flags: set[str]) -> Optional[str]:
    if dtype == "tf32":
        if target.kind != "cuda":
            return "tf32 is an NVIDIA tensor-core mode (measured on CUDA only)"
        major = torch.cuda.get_device_capability(target.device)[0]
        return None if major >= 8 else f"no tf32 before compute capability 8.0 (this GPU: {major}.x)"
    if target.family == "cuda" and dtype == "bf16" and not torch.cuda.is_bf16_supported(including_emulation=False):
        return "no native bf16 matmul on this GPU (torch would emulate it)"
    if target.kind == "mps" and dtype == "bf16":
        try:
            probe = torch.ones(2, 2, dtype=torch.bfloat16, device=target.device)
            probe @ probe
        except (RuntimeError, TypeError) as exc:
            return f"bf16 is not supported by this MPS ({str(exc).splitlines()[0]})"
    if target.kind == "cpu" and dtype == "fp16" and not cpu_flags & {"avx512_fp16", "amx_fp16", "fphp"}:
        return "no native fp16 on this CPU (avx512_fp16/amx_fp16 absent): torch falls back to a slow path"
    if target.kind == "cpu" and dtype == "bf16" and not cpu_flags & {"avx512_bf16", "amx_bf16", "bf16"}:
        return "no native bf16 on this CPU (avx512_bf16/amx_bf16 absent)"
    return None


class Precision:
    """Sets torch.backends.cuda.matmul.allow_tf32 explicitly for one measurement, then restores it."""

    def __init__(self, allow_tf32: bool) -> None:
        self.allow, self.saved = allow_tf32, torch.backends.cuda.matmul.allow_tf32

    def __enter__(self) -> None:
        torch.backends.cuda.matmul.allow_tf32 = self.allow

    def __exit__(self, *exc: object) -> None:
        torch.backends.cuda.matmul.allow_tf32 = self.saved


def spot_check(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> float:
    """Four random rows of the timed product against float64 on the CPU."""
    rows = torch.randint(0, a.shape[0], (4,))
    return relative_error(c[rows.to(c.device)], a[rows.to(a.device)].cpu().double() @ b.cpu().double())


def matmul(target: Target, dtype: str, n: int, budget: Budget) -> Result:
    torch_dtype, unit = DTYPES[dtype], "TFLOP/s"
    pair_bytes = 2 * n * n * torch_dtype.itemsize
    count = rotation(target, pair_bytes)
    if not fits(target, (count + 1) * pair_bytes):
        return Result("matmul", dtype, n, unit, status="skip", detail=f"{n}x{n} does not fit a quarter of device memory")
    with Precision(dtype == "tf32"):
        small = [uniform((256, 256), torch_dtype, target.device) for _ in range(2)]
        small_error = relative_error(small[0] @ small[1], small[0].cpu().double() @ small[1].cpu().double())
        inputs = [tuple(uniform((n, n), torch_dtype, target.device) for _ in "ab") for _ in range(count)]
        out = torch.empty((n, n), dtype=torch_dtype, device=target.device)
        last = [0]

        def call(i: int) -> None:
            last[0] = i % count
            torch.matmul(*inputs[last[0]], out=out)

        median, spread = timed(target, call, budget)
        big_error = spot_check(*inputs[last[0]], out)
    verified = max(small_error, big_error) <= TOLERANCE[dtype]
    detail = f"{n}x{n}x{n}, {count} rotated input pairs; error vs float64 {max(small_error, big_error):.1e}"
    return Result("matmul", dtype, n, unit, 2 * n**3 / median / 1e12, median, spread,
                  "ok" if verified else "fail", verified, detail)


def paced_matmul(target: Target, dtype: str, n: int, budget: Budget, seen: dict[str, tuple[int, float]]) -> Result:
    """Skips a size whose calls would outlast the budget, predicted from the last size (time ~ n^3)."""
    if dtype in seen:
        last_n, seconds = seen[dtype]
        predicted = seconds * (n / last_n) ** 3
        if predicted > budget.measure_s:
            return Result("matmul", dtype, n, "TFLOP/s", status="skip",
                          detail=f"{n}x{n} would take {predicted:.1f} s per call here, over the {budget.measure_s} s budget")
    result = matmul(target, dtype, n, budget)
    if result.median:
        seen[dtype] = (n, result.median)
    return result


def bandwidth_bytes(target: Target) -> int:
    """STREAM: arrays at least 4x the last-level cache (GPUs count 256 MiB or more of cache: 1 GiB arrays)."""
    size = max(4 * target.cache_bytes, 64 * 2**20)
    return size if target.memory_bytes is None else min(size, target.memory_bytes // 8)


def device_bandwidth(target: Target, budget: Budget) -> Result:
    nbytes = bandwidth_bytes(target)
    src = uniform((nbytes // 4,), torch.float32, target.device)
    dst = torch.empty_like(src)
    median, spread = timed(target, lambda i: dst.copy_(src), budget)
    verified = bool(torch.equal(dst, src))
    return Result("device-bandwidth", "fp32", nbytes, "GB/s", 2 * nbytes / median / 1e9, median, spread,
                  "ok" if verified else "fail", verified, f"copy of {nbytes / 2**20:.0f} MiB, read + write counted")


def host_copy(target: Target, direction: str, pinned: bool, budget: Budget, quick: bool) -> Result:
    label = "pinned" if pinned else "pageable"
    if target.kind == "cpu":
        return Result(direction, label, None, "GB/s", status="skip", detail="cpu: host and device are the same memory")
    nbytes = (64 if quick else 256) * 2**20
    try:
        host = torch.empty(nbytes // 4, dtype=torch.float32, pin_memory=pinned).uniform_(-1, 1)
    except RuntimeError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Result(direction, label, nbytes, "GB/s", status="skip", detail=f"no pinned memory here ({reason})")
    device = torch.empty(nbytes // 4, dtype=torch.float32, device=target.device)
    if direction == "d2h":
        device.copy_(host)
        host = torch.empty(nbytes // 4, dtype=torch.float32, pin_memory=pinned)
    dst, src = (device, host) if direction == "h2d" else (host, device)
    median, spread = timed(target, lambda i: dst.copy_(src, non_blocking=pinned), budget)
    verified = bool(torch.equal(dst.cpu(), src.cpu()))
    return Result(direction, label, nbytes, "GB/s", nbytes / median / 1e9, median, spread,
                  "ok" if verified else "fail", verified,
                  f"{label} host buffer of {nbytes / 2**20:.0f} MiB, allocated before timing")


def preferred_autocast(target: Target, cpu_flags: set[str]) -> tuple[str, Optional[str]]:
    """The device's autocast dtype, and why it is skipped where the device lacks it natively."""
    if target.family == "cuda":
        return ("bf16", None) if torch.cuda.is_bf16_supported(including_emulation=False) else ("fp16", None)
    if target.kind == "mps":
        return "fp16", None
    native = cpu_flags & {"avx512_bf16", "amx_bf16", "bf16"}
    return "bf16", None if native else "no native bf16 on this CPU (avx512_bf16/amx_bf16 absent)"


def encoder(shape: tuple[int, ...]) -> torch.nn.Module:
    d_model, heads, ff, layers, _, _, vocab = shape
    layer = torch.nn.TransformerEncoderLayer(d_model, heads, ff, dropout=0.0, batch_first=True)
    return torch.nn.Sequential(torch.nn.Embedding(vocab, d_model),
                               torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False),
                               torch.nn.Linear(d_model, vocab))


def flop_per_token(model: torch.nn.Module, shape: tuple[int, ...]) -> float:
    """6N + 12*L*d*T (PaLM appendix B, as nanoGPT's estimate_mfu); N counts matmul weights only."""
    d_model, _, _, layers, tokens, _, _ = shape
    weights = sum(p.numel() for name, p in model.named_parameters() if p.dim() == 2 and not name.startswith("0."))
    return 6.0 * weights + 12.0 * layers * d_model * tokens


def forward_error(model: torch.nn.Module, batch: torch.Tensor, target: Target, dtype: str) -> float:
    reference = copy.deepcopy(model).cpu().double()
    with torch.no_grad(), torch.autocast(target.device.type, DTYPES[dtype], enabled=dtype != "fp32"):
        out = model(batch[:2])
    with torch.no_grad():
        ref = reference(batch[:2].cpu())
    return relative_error(out.float(), ref)


def train_step(target: Target, dtype: str, budget: Budget) -> Result:
    shape = ENCODERS[target.family]
    _, _, _, _, tokens, batch_size, vocab = shape
    torch.manual_seed(0)
    model = encoder(shape).to(target.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    batches = [torch.randint(0, vocab, (batch_size, tokens + 1), device=target.device) for _ in range(4)]
    losses: list[torch.Tensor] = []

    def call(i: int) -> None:
        seq = batches[i % len(batches)]
        with torch.autocast(target.device.type, DTYPES[dtype], enabled=dtype != "fp32"):
            logits = model(seq[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, vocab), seq[:, 1:].reshape(-1))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.detach())

    with Precision(False):
        error = forward_error(model, batches[0][:, :-1], target, dtype)
        median, spread = timed(target, call, budget)
    verified = error <= TRAIN_TOLERANCE[dtype] and bool(torch.isfinite(losses[-1]))
    per_token = flop_per_token(model, shape)
    detail = (f"encoder d={shape[0]} L={shape[3]} T={tokens} B={batch_size}, AdamW, {per_token / 1e6:.1f} MFLOP/token "
              f"(6N + 12LdT); forward error vs float64 {error:.1e}, last loss {float(losses[-1]):.2f}")
    return Result("train-step", dtype, batch_size * tokens, "tokens/s", batch_size * tokens / median, median, spread,
                  "ok" if verified else "fail", verified, detail, per_token)


# ---------------------------------------------------------------- the run


@dataclass(frozen=True)
class Job:
    """One measurement, named before it runs so that progress knows the total."""

    label: str
    kind: str
    dtype: Optional[str]
    unit: str
    measure: Callable[[], Result]


def skipped(kind: str, dtype: Optional[str], unit: str, reason: str) -> Callable[[], Result]:
    return lambda: Result(kind, dtype, None, unit, status="skip", detail=reason)


def jobs(target: Target, cpu_flags: set[str], quick: bool, budget: Budget) -> list[Job]:
    sizes = (QUICK_SIZES if quick else MATMUL_SIZES)[target.family]
    seen: dict[str, tuple[int, float]] = {}
    plan: list[Job] = []
    for dtype in DTYPES:
        reason = matmul_unsupported(target, dtype, cpu_flags)
        if reason:
            plan.append(Job(f"matmul {dtype}", "matmul", dtype, "TFLOP/s", skipped("matmul", dtype, "TFLOP/s", reason)))
            continue
        plan += [Job(f"matmul {dtype} {n}", "matmul", dtype, "TFLOP/s",
                     lambda d=dtype, n=n: paced_matmul(target, d, n, budget, seen)) for n in sizes]
    plan.append(Job("device bandwidth", "device-bandwidth", "fp32", "GB/s", lambda: device_bandwidth(target, budget)))
    for direction in ("h2d", "d2h"):
        for label in ("pinned", "pageable"):
            plan.append(Job(f"{direction} {label}", direction, label, "GB/s",
                            lambda d=direction, p=label == "pinned": host_copy(target, d, p, budget, quick)))
    autocast, reason = preferred_autocast(target, cpu_flags)
    plan.append(Job("train-step fp32", "train-step", "fp32", "tokens/s", lambda: train_step(target, "fp32", budget)))
    mixed = skipped("train-step", autocast, "tokens/s", reason) if reason else lambda: train_step(target, autocast, budget)
    plan.append(Job(f"train-step {autocast}", "train-step", autocast, "tokens/s", mixed))
    return plan


def guarded(job: Job) -> Result:
    """Out of memory is a skip; any other error is a failed measurement, said in one line."""
    try:
        return job.measure()
    except Exception as exc:  # a failed measurement is a row, never a traceback (OutOfMemoryError included)
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "out of memory" in message.lower():
            return Result(job.kind, job.dtype, None, job.unit, status="skip", detail=f"out of device memory ({job.label})")
        return Result(job.kind, job.dtype, None, job.unit, status="fail", verified=False, detail=f"error: {message}")
    finally:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def device_warm_up(target: Target, seconds: float) -> None:
    """Back-to-back matmuls until clocks settle (CUTLASS: clocks move for the first ~3 s)."""
    if target.kind == "cpu":
        return
    a = uniform((4096, 4096), torch.float32, target.device)
    warm_up(target, lambda i: a @ a, seconds)


Progress = Callable[[str, int, int, Optional[Result]], None]


def run(requested: str = "auto", quick: bool = False, progress: Optional[Progress] = None) -> dict[str, object]:
    """Measure everything on the device; `progress(label, done, total, result)` hears each step."""
    kind = resolve_kind(requested)
    host = host_facts()
    target, device = device_facts(kind, host)
    budget = QUICK if quick else FULL
    plan = jobs(target, set(host["cpu"].get("flags", [])), quick, budget)
    notify = progress or (lambda *args: None)
    notify("device warm-up", 0, len(plan), None)
    device_warm_up(target, budget.device_warmup_s)
    results = []
    for done, job in enumerate(plan):
        notify(job.label, done, len(plan), None)
        torch.manual_seed(done)
        results.append(guarded(job))
        notify(job.label, done + 1, len(plan), results[-1])
    return {"schema": SCHEMA, "quick": quick, "device": device, "torch": torch_facts(), "host": host,
            "results": [asdict(r) for r in results]}


def print_progress(label: str, done: int, total: int, result: Optional[Result]) -> None:
    if result is not None:
        figure = f"{result.value:.4g} {result.unit}" if result.value is not None else result.status
        print(f"[{done}/{total}] {label}: {figure} {result.detail}", file=sys.stderr)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="measure", description="torchlab bench measurements (torch + stdlib).")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the raw document on stdout")
    args = parser.parse_args(argv)
    try:
        document = run(args.device, args.quick, print_progress)
    except DeviceMissing as exc:
        print(f"measure: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(document))
    return 1 if any(r["status"] == "fail" for r in document["results"]) else 0


if __name__ == "__main__":
    sys.exit(main())
