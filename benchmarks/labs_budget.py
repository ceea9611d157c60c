"""Each lab against its CPU budgets: smoke checks <= 20 s, all notebooks <= 60 s (kernel starts included).

Run by hand on the machine whose figures you record (docs/PERFORMANCE.md):
    python benchmarks/labs_budget.py [--labs module-0 module-3] [--cold-compile] [--threads N]
        [--skip-notebooks] [--image IMAGE]

The smoke time is the wall time of `python labs/_smoke/runner.py LAB --device cpu --json` as a
subprocess (interpreter start and imports included); the CPU time beside it (user + system, the
runner and the processes it waited for) is the steadier figure on a shared machine. The notebook
time is the sum over the lab's notebooks, each executed headless with nbclient in a temporary copy
of the workspace.
--cold-compile gives each smoke run an empty inductor cache and an empty temporary folder (where
inductor keeps its precompiled headers), as on a learner's first run; without it the user's
caches are used.
--image IMAGE runs each lab's smoke checks in a fresh container of that lab image instead, as
`torchlab up` does (its runner and labs, shared memory sized for DataLoader workers, no network),
with only the caches the image ships: the bytecode and inductor caches start empty unless the
image holds them. The time then includes starting the container. Notebooks are not run there.
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
IMAGE_PYTHON = "python"  # the lab image's venv is first on its PATH
IMAGE_RUNNER = "/opt/torchlab/smoke/runner.py"
IMAGE_LABS = "/opt/torchlab/labs"
IMAGE_SHM_SIZE = "2g"  # as `torchlab up` gives a lab
# Runs the runner as a child and adds its CPU time (and its waited-for children's) to stderr's last line.
TIMED = (
    "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print(f'cpu-seconds {usage.ru_utime + usage.ru_stime:.2f}', file=sys.stderr); sys.exit(done.returncode)"
)
SMOKE_BUDGET_S = 20.0
NOTEBOOKS_BUDGET_S = 60.0
CELL_TIMEOUT_S = 600


@dataclass(frozen=True)
class LabTiming:
    lab: str
    smoke_s: float
    smoke_cpu_s: float | None  # user + system seconds of the runner and its children
    smoke_status: str  # "passed" | "failed" | "error: ..."
    notebooks_s: float | None  # None when not measured
    notebooks_status: str

    @property
    def within_budget(self) -> bool:
        smoke_ok = self.smoke_s <= SMOKE_BUDGET_S
        return smoke_ok and (self.notebooks_s is None or self.notebooks_s <= NOTEBOOKS_BUDGET_S)


def child_env(threads: int | None, cold_folder: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    if cold_folder is not None:
        env["TORCHINDUCTOR_CACHE_DIR"] = str(Path(cold_folder) / "inductor")
        env["TMPDIR"] = str(Path(cold_folder) / "tmp")  # inductor's precompiled headers live under it
        Path(env["TMPDIR"]).mkdir()
    return env


def outcome(stdout: str, stderr: str) -> tuple[str, float | None]:
    """(the document's status or the error, the CPU seconds TIMED printed)."""
    lines = stderr.strip().splitlines()
    cpu = float(lines.pop().split()[1]) if lines and lines[-1].startswith("cpu-seconds ") else None
    try:
        return json.loads(stdout)["status"], cpu
    except (json.JSONDecodeError, KeyError):
        return "error: " + (lines or ["no output"])[-1], cpu


def time_smoke(lab: str, env: dict[str, str]) -> tuple[float, float | None, str]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", TIMED, sys.executable, str(RUNNER), str(LABS / lab), "--device", "cpu", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    seconds = time.perf_counter() - started
    status, cpu = outcome(result.stdout, result.stderr)
    return seconds, cpu, status


def time_smoke_in_image(lab: str, image: str, threads: int | None) -> tuple[float, float | None, str]:
    """The lab's smoke checks in a fresh container of the image, timed from creating it to its end."""
    import docker  # torchlab's own dependency; only this mode needs it

    client = docker.from_env(timeout=900)
    command = ["python", "-c", TIMED, IMAGE_PYTHON, IMAGE_RUNNER, f"{IMAGE_LABS}/{lab}", "--device", "cpu", "--json"]
    environment = {"OMP_NUM_THREADS": str(threads)} if threads is not None else {}
    started = time.perf_counter()
    container = client.containers.run(
        image, command, detach=True, shm_size=IMAGE_SHM_SIZE, network_disabled=True, environment=environment
    )
    try:
        container.wait(timeout=900)
        seconds = time.perf_counter() - started
        stdout = container.logs(stdout=True, stderr=False).decode("utf-8", "replace")
        stderr = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")
    finally:
        container.remove(force=True)
    status, cpu = outcome(stdout, stderr)
    return seconds, cpu, status


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
    lines = [f"{'lab':<10} {'smoke s':>8} {'cpu s':>6} {'budget':>7} {'notebooks s':>12} {'budget':>7}  ok?  status"]
    for t in timings:
        notebooks = "-" if t.notebooks_s is None else f"{t.notebooks_s:.1f}"
        cpu = "-" if t.smoke_cpu_s is None else f"{t.smoke_cpu_s:.1f}"
        status = t.smoke_status if t.notebooks_s is None else f"{t.smoke_status} / {t.notebooks_status}"
        lines.append(
            f"{t.lab:<10} {t.smoke_s:>8.1f} {cpu:>6} {SMOKE_BUDGET_S:>7.0f} {notebooks:>12} {NOTEBOOKS_BUDGET_S:>7.0f}  "
            f"{'yes' if t.within_budget else 'NO ':<4} {status}"
        )
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labs", nargs="*", default=sorted(p.parent.name for p in LABS.glob("module-*/lab.toml")))
    parser.add_argument("--cold-compile", action="store_true",
                        help="an empty inductor cache and temporary folder for each smoke run")
    parser.add_argument("--image", help="run the smoke checks in a fresh container of this lab image instead")
    parser.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS for the runs")
    parser.add_argument("--skip-notebooks", action="store_true")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    caches = f"a fresh container of {args.image}" if args.image else (
        "empty inductor cache and temporary folder" if args.cold_compile else "warm (the user's caches)")
    print(
        f"{os.cpu_count()} CPUs, load average {load_average()}, threads {args.threads or 'default'}, caches: {caches}",
        file=sys.stderr,
    )
    timings = []
    for lab in args.labs:
        if args.image:
            smoke_s, smoke_cpu, smoke_status = time_smoke_in_image(lab, args.image, args.threads)
        else:
            with tempfile.TemporaryDirectory() as cold:
                env = child_env(args.threads, cold if args.cold_compile else None)
                smoke_s, smoke_cpu, smoke_status = time_smoke(lab, env)
        notebooks_s, notebooks_status = (
            (None, "") if args.skip_notebooks or args.image else time_notebooks(lab, child_env(args.threads, None))
        )
        timings.append(LabTiming(lab, smoke_s, smoke_cpu, smoke_status, notebooks_s, notebooks_status))
        print(render(timings[-1:]).splitlines()[-1], file=sys.stderr)
    print(render(timings))
    print(f"load average after: {load_average()}", file=sys.stderr)
    failed = any(t.smoke_status != "passed" or t.notebooks_status not in ("ok", "") for t in timings)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
