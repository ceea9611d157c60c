"""Time `torchlab doctor --json` against `python -m torch.utils.collect_env`, in one run, same machine;
and `torchlab --version` and `torchlab --help` against their own budget.

Goals (issue 15): doctor takes at most a tenth of collect_env's time; `--version` and `--help` each
take under 0.1 s. Run by hand:
    python benchmarks/doctor_vs_collect_env.py [--runs 7]
and record the figures with the machine and its load in docs/PERFORMANCE.md.

Honest on a shared machine: the commands take turns (doctor, collect_env, doctor, ...), so a change
of load hits both sides of the ratio alike; each figure is a median; the load average is printed
before and after. Both run from the same interpreter's folder (the `torchlab` console script beside
sys.executable, `sys.executable -m torch.utils.collect_env`): a pyenv or conda shim in front of
either would cost both the same, so it is left out of both. `python -c pass` is timed beside
`--version` and `--help`: the floor no command can go under on that machine at that load.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL = 0.1  # doctor / collect_env
START_GOAL_S = 0.1  # --version, --help


def seconds(argv: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    took = time.perf_counter() - start
    if done.returncode not in (0, 1):  # doctor exits 1 when a check fails: still a full run
        sys.exit(f"{' '.join(argv)} failed (exit {done.returncode}): {done.stderr.decode()[-1000:]}")
    return took


def medians_in_turns(commands: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Each command's median over `runs`, the commands taking turns; one warm-up round first (the
    file cache, as a user's second run finds it)."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_number in range(runs + 1):
        for name, argv in commands.items():
            took = seconds(argv)
            if round_number:
                times[name].append(took)
    return {name: statistics.median(values) for name, values in times.items()}


def torchlab_script() -> str:
    beside = Path(sys.executable).with_name("torchlab")
    if beside.exists():
        return str(beside)
    return shutil.which("torchlab") or sys.exit("torchlab is not installed: pip install -e .")


def load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    torchlab = torchlab_script()
    load_before = load()
    doctor = medians_in_turns({"doctor": [torchlab, "doctor", "--json"],
                               "collect_env": [sys.executable, "-m", "torch.utils.collect_env"]}, args.runs)
    start = medians_in_turns({"--version": [torchlab, "--version"], "--help": [torchlab, "--help"],
                              "python": [sys.executable, "-c", "pass"]}, args.runs)
    python = start.pop("python")  # the floor: Python's own start on this machine, under this load
    ratio = doctor["doctor"] / doctor["collect_env"]
    print(f"machine: {platform.node()} {platform.machine()} {platform.processor() or ''} "
          f"python {platform.python_version()} ({os.cpu_count()} cpus), "
          f"load average (1/5/15 min) {load_before} before, {load()} after")
    print(f"torchlab doctor --json   median {doctor['doctor']:6.3f} s over {args.runs} runs")
    print(f"torch collect_env        median {doctor['collect_env']:6.3f} s over {args.runs} runs")
    print(f"ratio {ratio:.3f} (goal <= {GOAL}): {'ok' if ratio <= GOAL else 'OVER'}")
    for name, took in start.items():
        verdict = "ok" if took < START_GOAL_S else "OVER"
        print(f"torchlab {name:<10}      median {took:6.3f} s (goal < {START_GOAL_S}): {verdict}")
    print(f"python -c pass (floor)   median {python:6.3f} s")
    met = ratio <= GOAL and all(took < START_GOAL_S for took in start.values())
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
