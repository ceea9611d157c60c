"""Time `torchlab doctor --json` against `python -m torch.utils.collect_env`, in one run, same machine.

Goal (doctor issue): doctor takes at most a fifth of collect_env's time. Run by hand:
    python benchmarks/doctor_vs_collect_env.py [--runs 5]
and record the figures with the machine in docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import time

GOAL = 0.2


def seconds(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def median_of(argv: list[str], runs: int) -> float:
    seconds(argv)  # warm the file cache, as a second run by a user would
    return statistics.median(seconds(argv) for _ in range(runs))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    torchlab = shutil.which("torchlab") or sys.exit("torchlab is not installed: pip install -e .")
    doctor = median_of([torchlab, "doctor", "--json"], args.runs)
    collect_env = median_of([sys.executable, "-m", "torch.utils.collect_env"], args.runs)
    ratio = doctor / collect_env
    print(f"machine: {platform.node()} {platform.machine()} {platform.processor() or ''} python {platform.python_version()}")
    print(f"torchlab doctor --json   median {doctor:6.2f} s over {args.runs} runs")
    print(f"torch collect_env        median {collect_env:6.2f} s over {args.runs} runs")
    print(f"ratio {ratio:.3f} (goal <= {GOAL}): {'ok' if ratio <= GOAL else 'OVER'}")
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
