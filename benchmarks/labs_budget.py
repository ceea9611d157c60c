"""Each lab against its CPU budgets: smoke checks <= 20 s, all notebooks <= 60 s (kernel starts included).

Run by hand on the machine whose figures you record (docs/PERFORMANCE.md):
    python benchmarks/labs_budget.py [--labs module-0 module-3] [--cold-compile] [--threads N]
        [--skip-notebooks]

The smoke time is the wall time of `python labs/_smoke/runner.py LAB --device cpu --json` as a
subprocess (interpreter start and imports included). The notebook time is the sum over the lab's
notebooks, each executed headless with nbclient in a temporary copy of the workspace.
--cold-compile gives the smoke run an empty inductor cache, as in a fresh lab container (torch.compile
in module-3 then probes the CPU and precompiles headers); without it the user's cache is used.
--threads sets OMP_NUM_THREADS for the runs, to see how much a busy machine's thread contention costs.
The load average is printed before and after: on a shared 2-core machine other work skews the times.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LABS = REPO / "labs"
RUNNER = LABS / "_smoke" / "runner.py"
SMOKE_BUDGET_S = 20.0
NOTEBOOKS_BUDGET_S = 60.0
CELL_TIMEOUT_S = 600


@dataclass(frozen=True)
class LabTiming:
    lab: str
    smoke_s: float
    smoke_status: str  # "passed" | "failed" | "error: ..."
    notebooks_s: float | None  # None when not measured
    notebooks_status: str

    @property
    def within_budget(self) -> bool:
        smoke_ok = self.smoke_s <= SMOKE_BUDGET_S
        return smoke_ok and (self.notebooks_s is None or self.notebooks_s <= NOTEBOOKS_BUDGET_S)


def child_env(threads: int | None, inductor_cache: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    if inductor_cache is not None:
        env["TORCHINDUCTOR_CACHE_DIR"] = inductor_cache
    return env


def time_smoke(lab: str, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(RUNNER), str(LABS / lab), "--device", "cpu", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    seconds = time.perf_counter() - started
    try:
        status = json.loads(result.stdout)["status"]
    except (json.JSONDecodeError, KeyError):
        status = "error: " + (result.stderr.strip().splitlines() or ["no output"])[-1]
    return seconds, status


def time_notebooks(lab: str, env: dict[str, str]) -> tuple[float, str]:
    import nbformat
    from nbclient import NotebookClient

    total, failures = 0.0, []
    with tempfile.TemporaryDirectory() as folder:
        shutil.copytree(LABS / lab / "workspace", folder, dirs_exist_ok=True)
        for path in sorted(Path(folder).glob("*.ipynb")):
            notebook = nbformat.read(str(path), as_version=4)
            client = NotebookClient(
                notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": folder}}
            )
            started = time.perf_counter()
            try:
                client.execute(env=env)
            except Exception as exc:  # a failing cell: report it, keep timing the others
                failures.append(f"{path.name}: {type(exc).__name__}")
            total += time.perf_counter() - started
    return total, "; ".join(failures) or "ok"


def load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def render(timings: list[LabTiming]) -> str:
    lines = [f"{'lab':<10} {'smoke s':>8} {'budget':>7} {'notebooks s':>12} {'budget':>7}  ok?  status"]
    for t in timings:
        notebooks = "-" if t.notebooks_s is None else f"{t.notebooks_s:.1f}"
        status = t.smoke_status if t.notebooks_s is None else f"{t.smoke_status} / {t.notebooks_status}"
        lines.append(
            f"{t.lab:<10} {t.smoke_s:>8.1f} {SMOKE_BUDGET_S:>7.0f} {notebooks:>12} {NOTEBOOKS_BUDGET_S:>7.0f}  "
            f"{'yes' if t.within_budget else 'NO ':<4} {status}"
        )
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labs", nargs="*", default=sorted(p.parent.name for p in LABS.glob("module-*/lab.toml")))
    parser.add_argument("--cold-compile", action="store_true", help="an empty inductor cache for each smoke run")
    parser.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS for the runs")
    parser.add_argument("--skip-notebooks", action="store_true")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    print(
        f"{os.cpu_count()} CPUs, load average {load_average()}, threads {args.threads or 'default'}, "
        f"inductor cache {'empty' if args.cold_compile else 'warm (the user cache)'}",
        file=sys.stderr,
    )
    timings = []
    for lab in args.labs:
        with tempfile.TemporaryDirectory() as cache:
            smoke_s, smoke_status = time_smoke(lab, child_env(args.threads, cache if args.cold_compile else None))
        notebooks_s, notebooks_status = (
            (None, "") if args.skip_notebooks else time_notebooks(lab, child_env(args.threads, None))
        )
        timings.append(LabTiming(lab, smoke_s, smoke_status, notebooks_s, notebooks_status))
        print(render(timings[-1:]).splitlines()[-1], file=sys.stderr)
    print(render(timings))
    print(f"load average after: {load_average()}", file=sys.stderr)
    failed = any(t.smoke_status != "passed" or t.notebooks_status not in ("ok", "") for t in timings)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
