"""What the image benchmarks (images_budget.py, cuda_image_budget.py) share: a marked copy of the
labs, a settled engine, a cold build timed step by step, the steps a rebuild ran, compressed and
shared sizes."""

from __future__ import annotations

import gzip
import os
import shutil
import sys
import time
import uuid
from pathlib import Path

from torchlab import engine
from torchlab.images.progress import PlainProgress
from torchlab.images.spec import BuildSpec
from torchlab.images.store import run_build
from torchlab.lab.catalog import shipped_labs_dir


def complete(folder: Path) -> bool:
    """A lab folder with all its parts (one being written in the checkout may lack some yet)."""
    return all((folder / part).exists() for part in ("lab.toml", "workspace", "smoke/checks.py"))


def labs_copy(root: Path, packages: str = "[]") -> Path:
    """The shipped labs, marked so that this run's images are its own; module-0's packages set."""
    target = root / f"labs-{uuid.uuid4().hex[:8]}"
    target.mkdir()
    for folder in sorted(p for p in shipped_labs_dir().iterdir() if p.is_dir()):
        if folder.name.startswith(("_", ".")) or complete(folder):
            shutil.copytree(folder, target / folder.name, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        else:
            print(f"{Path(sys.argv[0]).name}: {folder.name} left out (not a complete lab yet)", file=sys.stderr)
    (target / "module-0" / "workspace" / "budget-marker.txt").write_text(target.name, encoding="utf-8")
    toml = target / "module-0" / "lab.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("packages = []", f"packages = {packages}"), encoding="utf-8")
    return target


class StepLog(PlainProgress):
    """Keeps the build's lines and when each step started."""

    def __init__(self) -> None:
        super().__init__(open(os.devnull, "w"))  # noqa: SIM115 - the build's own lines are not the point here
        self.lines: list[str] = []
        self.starts: list[tuple[str, float]] = []
        self.last_event = 0.0

    def event(self, event: dict) -> None:
        self.last_event = time.monotonic()
        for line in str(event.get("stream", "")).splitlines():
            self.lines.append(line)
            if line.startswith("Step "):
                self.starts.append((line.strip(), self.last_event))

    def seconds(self, ended: float) -> list[tuple[str, float]]:
        """Each step, from its "Step N/M" line to the next one (the last: to the engine's last
        word), then what came after it: removing the steps' containers (engine.build_image)."""
        ends = [started for _, started in self.starts[1:]] + [self.last_event]
        steps = [(step[:110], round(end - started, 1)) for (step, started), end in zip(self.starts, ends)]
        return steps + [("(after the last step) removing the steps' containers", round(ended - self.last_event, 1))]

    def rebuilt_steps(self) -> list[str]:
        """The RUN and COPY steps that ran (no "Using cache" before the next step)."""
        steps = "\n".join(self.lines).split("Step ")[1:]
        heads = [(step.splitlines()[0], step) for step in steps]
        return [head for head, step in heads if (" RUN " in head or " COPY " in head) and "Using cache" not in step]


# On ext4 without a journal (the engine's data root on this project's machines: its
# /sys/fs/ext4/DEV/journal_task says "<none>"), the kernel avoids handing out an inode freed in the
# last 60 s (360 s while its inode-table block is unwritten) and, for every file it creates, scans
# past each such inode of the group (fs/ext4/ialloc.c: recently_deleted; perf put ~40% of the busy
# CPU there). A build started just after the engine removed an image or a build's containers ran
# 1.5-2x slower here. A data root with a journal (what Docker hosts have) never pays it.
SETTLE_S = 90.0  # RECENTCY_MIN (60 s) + one writeback period (vm.dirty_expire_centisecs: 30 s)


def journal_less_ext4(path: str) -> bool:
    """Is path on an ext4 file system mounted without a journal (as the kernel says in sysfs)?"""
    try:
        device = os.stat(path).st_dev
    except OSError:
        return False  # an engine elsewhere: its data root is not this machine's to look at
    name = os.path.basename(os.path.realpath(f"/sys/dev/block/{os.major(device)}:{os.minor(device)}"))
    task = Path(f"/sys/fs/ext4/{name}/journal_task")
    return task.is_file() and task.read_text(encoding="utf-8").strip() == "<none>"


def settle(client, seconds: float = SETTLE_S) -> float:
    """On a journal-less ext4 data root, wait until the engine last removed an image or a
    container `seconds` ago (its own events say when); the seconds waited."""
    if seconds <= 0 or not journal_less_ext4(str(engine.engine_info(client).get("DockerRootDir", ""))):
        return 0.0
    now = time.time()
    removals = client.events(since=int(now - 400), until=int(now), decode=True,
                             filters={"type": ["image", "container"], "event": ["delete", "destroy"]})
    last = max((float(event.get("time", 0)) for event in removals), default=0.0)
    wait = max(0.0, last + seconds - now)
    if wait:
        print(f"{Path(sys.argv[0]).name}: waiting {wait:.0f} s: the engine removed files {now - last:.0f} s ago, and "
              "its data root is ext4 without a journal, where new files are slow for a while after (imagebench.py says why)",
              file=sys.stderr)
        time.sleep(wait)
    return round(wait, 1)


def cold_build(client, spec: BuildSpec, shown_s: float = 0.0) -> tuple[float, list[tuple[str, float]]]:
    """A build that uses no cached layer at all, timed from sending the context to the image (the
    wheelhouse served meanwhile, as `torchlab images build` does); (seconds, the steps that took
    at least shown_s)."""
    log = StepLog()
    started = time.monotonic()
    run_build(client, spec, log.event, no_cache=True)
    ended = time.monotonic()
    return ended - started, [(step, s) for step, s in log.seconds(ended) if s >= shown_s]


class Counter:
    """A write-only file that keeps only the number of bytes written."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, data: bytes) -> int:
        self.bytes += len(data)
        return len(data)

    def flush(self) -> None:
        pass


def gzip_size(client, name: str, level: int = 6) -> int:
    """Bytes of `docker save NAME | gzip -LEVEL -c` (6, gzip's default, as registries compress layers)."""
    counted = Counter()
    with gzip.GzipFile(fileobj=counted, mode="wb", compresslevel=level) as packed:
        for chunk in client.api.get_image(name, chunk_size=1 << 20):
            packed.write(chunk)
    return counted.bytes


def shared_count(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """How many layers (diff IDs), from the base up, two images have in common."""
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())
