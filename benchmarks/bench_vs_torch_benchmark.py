"""bench's fp32 matmul figure on CPU against the best rate torch.utils.benchmark finds, same sizes, same run.

Goal (bench issue): bench reaches at least 0.95 of torch.utils.benchmark's best torch.matmul rate,
so its warm-up, rotation and verification cost it nothing it should not. Run by hand:
    python benchmarks/bench_vs_torch_benchmark.py [--rounds 10] [--quick] [--budget quick|full] [--threads N]
and record the figures with the machine in docs/PERFORMANCE.md. Exit 1 when the goal is missed.

Each round runs both on each size, alternating which goes first, for the same time (bench's quick
budget by default); each side keeps its best round. Many short rounds give both sides the same
chances at a quiet moment on a shared machine, where other processes slow whatever runs beside them.
"""

from __future__ import annotations

import argparse
import sys

import torch
from torch.utils.benchmark import Timer

from torchlab.bench import measure

GOAL = 0.95


def bench_rate(target: measure.Target, n: int, budget: measure.Budget) -> float:
    """bench's own matmul measurement (rotated inputs, median, verified), in TFLOP/s."""
    result = measure.matmul(target, "fp32", n, budget)
    if result.status != "ok":
        sys.exit(f"bench's matmul {n} failed its check: {result.detail}")
    return result.value


def timer_rate(n: int, min_run_time: float) -> float:
    """torch.utils.benchmark on the same size, torch's own thread count: the better of blocked and adaptive."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    timer = Timer("torch.matmul(a, b)", globals={"torch": torch, "a": a, "b": b}, num_threads=torch.get_num_threads())
    medians = [timer.blocked_autorange(min_run_time=min_run_time).median,
               timer.adaptive_autorange(threshold=0.1, max_run_time=4 * min_run_time).median]
    return 2 * n**3 / min(medians) / 1e12


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--threads", type=int, help="torch.set_num_threads for both sides (default: torch's own)")
    parser.add_argument("--quick", action="store_true", help="bench's --quick sizes (default: the full run's)")
    parser.add_argument("--budget", choices=["quick", "full"], default="quick",
                        help="seconds per measurement on both sides: bench's --quick budget (default) or the full one")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    host = measure.host_facts()
    target, _ = measure.device_facts("cpu", host)
    sizes = (measure.QUICK_SIZES if args.quick else measure.MATMUL_SIZES)["cpu"]
    budget = measure.QUICK if args.budget == "quick" else measure.FULL
    best: dict[str, dict[int, float]] = {"bench": {}, "timer": {}}
    for round_ in range(args.rounds):
        for n in sizes:  # interleaved per size, alternating who goes first: drift hits both alike
            sides = [("bench", lambda: bench_rate(target, n, budget)), ("timer", lambda: timer_rate(n, budget.measure_s))]
            for name, rate in sides if (round_ + sizes.index(n)) % 2 == 0 else sides[::-1]:
                best[name][n] = max(best[name].get(n, 0.0), rate())
    best_bench, best_timer = best["bench"], best["timer"]
    cpu = host["cpu"]
    print(f"machine: {cpu.get('model')} ({host['machine']}), {cpu.get('cores')} cores at {cpu.get('clock_mhz')} MHz; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.rounds} rounds")
    for n in sizes:
        print(f"  {n}^3 fp32: bench {best_bench[n] * 1e3:.1f} GFLOP/s, "
              f"torch.utils.benchmark {best_timer[n] * 1e3:.1f} GFLOP/s")
    bench, timer = max(best_bench.values()), max(best_timer.values())
    ratio = bench / timer
    print(f"best: bench {bench * 1e3:.1f} GFLOP/s / torch.utils.benchmark {timer * 1e3:.1f} GFLOP/s = {ratio:.3f} "
          f"(goal >= {GOAL}): {'met' if ratio >= GOAL else 'MISSED'}")
    return 0 if ratio >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
