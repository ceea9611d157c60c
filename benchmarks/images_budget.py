"""The cpu lab image against its budgets, on this machine's engine, in one run.

Goals (budgets issue, item 3): image size <= 1.2 GB uncompressed, the compressed size reported
beside it; cold build with the local wheelhouse <= 60 s; an unchanged rebuild is a cache hit in
seconds; a rebuild after a lab-package change reuses the torch layer. Run by hand (the engine,
the base image and the wheelhouse as .ci/run makes them):
    python benchmarks/images_budget.py [--base-image torchlab-ci/debian:bookworm]
        [--wheelhouse $PIP_FIND_LINKS] [--ca-bundle $PIP_CERT] [--registry 127.0.0.1:5000/torchlab]
        [--gzip] [--keep]
and record the figures with the machine in docs/PERFORMANCE.md. "Cold" means no layer cache
from the base image on (the base image itself is already on the engine). Besides the totals it
reports each build step that took 0.5 s or more, each layer's size (what `docker history`
shows; a file a later layer changes counts twice) and the load average before and after: on a
shared machine the build's time follows the load. --gzip also counts `docker save | gzip -c`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from torchlab import engine
from torchlab.config import load_config
from torchlab.decide.choice import VariantChoice
from torchlab.images.inputs import read_inputs
from torchlab.images.progress import PlainProgress
from torchlab.images.spec import make_build_spec
from torchlab.images.store import build, run_build
from torchlab.lab.catalog import load_catalog, shipped_labs_dir

SIZE_GOAL_GB = 1.2
COLD_GOAL_S = 60.0
STEP_SHOWN_S = 0.5
CPU = VariantChoice("cpu", "cpu", "2.13.0", "budget run")


def complete(folder: Path) -> bool:
    """A lab folder with all its parts (one being written in the checkout may lack some yet)."""
    return all((folder / part).exists() for part in ("lab.toml", "workspace", "smoke/checks.py"))


def labs_copy(root: Path, packages: str = "[]") -> Path:
    """The shipped labs, marked so that this run's images are its own; module-0's packages set."""
    target = root / f"labs-{uuid.uuid4().hex[:8]}"
    source = shipped_labs_dir()
    target.mkdir()
    for folder in sorted(p for p in source.iterdir() if p.is_dir()):
        if folder.name.startswith(("_", ".")) or complete(folder):
            shutil.copytree(folder, target / folder.name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            print(f"images_budget: {folder.name} left out (not a complete lab yet)", file=sys.stderr)
    (target / "module-0" / "workspace" / "budget-marker.txt").write_text(target.name, encoding="utf-8")
    toml = target / "module-0" / "lab.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("packages = []", f"packages = {packages}"), encoding="utf-8")
    return target


def spec_for(args: argparse.Namespace, labs: Path):
    env = {
        "TORCHLAB_CONFIG": str(labs.parent / "no-config.toml"),  # no such file: no settings from one
        "TORCHLAB_BASE_IMAGE": args.base_image,
        "TORCHLAB_WHEELHOUSE": args.wheelhouse,
        "TORCHLAB_CA_BUNDLE": args.ca_bundle,
    }
    config = load_config(env=env)
    return make_build_spec(CPU, config, read_inputs(config, load_catalog(labs)))


class StepTimer(PlainProgress):
    """Times each build step: from its "Step N/M" line to the next one (or the build's end)."""

    def __init__(self) -> None:
        super().__init__(open(os.devnull, "w"))  # noqa: SIM115 - the build's own lines are not the point here
        self.starts: list[tuple[str, float]] = []

    def event(self, event: dict) -> None:
        for line in str(event.get("stream", "")).splitlines():
            if line.startswith("Step "):
                self.starts.append((line.strip(), time.monotonic()))

    def seconds(self, ended: float) -> list[tuple[str, float]]:
        ends = [started for _, started in self.starts[1:]] + [ended]
        return [(step, round(end - started, 1)) for (step, started), end in zip(self.starts, ends)]


def cold_build(client, spec) -> tuple[float, list[tuple[str, float]]]:
    """A build that uses no cached layer at all, timed from sending the context to the image;
    (seconds, each step's seconds)."""
    timer = StepTimer()
    started = time.monotonic()
    run_build(client, spec, timer.event, no_cache=True)
    ended = time.monotonic()
    return ended - started, timer.seconds(ended)


def layer_sizes(client, name: str) -> list[tuple[float, str]]:
    """(MB, what made it) for each layer with bytes, base first, as `docker history` shows them."""
    rows = [(round(row["Size"] / 1e6, 1), " ".join(row["CreatedBy"].split())) for row in client.api.history(name)]
    return [(size, made_by.replace("/bin/sh -c #(nop) ", "")[-110:]) for size, made_by in reversed(rows) if size > 0]


def gzip_size(client, name: str) -> int:
    """Bytes of `docker save NAME | gzip -c` (default level, as registries compress layers)."""
    counted = Counter()
    with gzip.GzipFile(fileobj=counted, mode="wb") as packed:
        for chunk in client.api.get_image(name):
            packed.write(chunk)
    return counted.bytes


class Counter:
    """A write-only file that keeps only the number of bytes written."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, data: bytes) -> int:
        self.bytes += len(data)
        return len(data)

    def flush(self) -> None:
        pass


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-image", default=os.environ.get("TORCHLAB_TEST_BASE_IMAGE", "torchlab-ci/debian:bookworm"))
    parser.add_argument("--wheelhouse", default=os.environ.get("TORCHLAB_WHEELHOUSE") or os.environ.get("PIP_FIND_LINKS"))
    parser.add_argument("--ca-bundle", default=os.environ.get("PIP_CERT", "/etc/ssl/certs/ca-certificates.crt"))
    parser.add_argument("--registry", default=os.environ.get("TORCHLAB_TEST_REGISTRY"),
                        help="also push the image there and report its compressed (download) size")
    parser.add_argument("--gzip", action="store_true", help="also count the bytes of `docker save | gzip -c`")
    parser.add_argument("--keep", action="store_true", help="keep the images this run makes")
    args = parser.parse_args()
    client = engine.connect(timeout=engine.LONG_TIMEOUT)
    progress = PlainProgress(open(os.devnull, "w"))  # noqa: SIM115 - the build's own lines are not the point here
    made: list[str] = []
    print(f"images_budget: load average before {load_average()}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as root:
        try:
            figures = measure(client, args, Path(root), progress, made)
        finally:
            for name in made if not args.keep else ():
                engine.remove_image(client, name)
    report(figures)
    ok = figures["size_gb"] <= SIZE_GOAL_GB and figures["cold_build_s"] <= COLD_GOAL_S
    return 0 if ok and figures["unchanged_rebuild_cached"] and figures["torch_layer_reused"] else 1


class StepLog(PlainProgress):
    """Keeps the build's lines, to tell which steps came from the cache."""

    def __init__(self) -> None:
        super().__init__(open(os.devnull, "w"))  # noqa: SIM115
        self.lines: list[str] = []

    def event(self, event: dict) -> None:
        self.lines += str(event.get("stream", "")).splitlines()

    def rebuilt_steps(self) -> list[str]:
        """The steps that ran (no "Using cache" line before the next step)."""
        steps = "\n".join(self.lines).split("Step ")[1:]
        return [step.splitlines()[0] for step in steps if " RUN " in step.splitlines()[0] or " COPY " in step.splitlines()[0]
                if "Using cache" not in step]


def measure(client, args, root: Path, progress, made: list[str]) -> dict[str, object]:
    first_labs = labs_copy(root)
    first = spec_for(args, first_labs)
    made.append(first.name)
    load_before = load_average()
    cold, steps = cold_build(client, first)
    load_after = load_average()
    info = engine.image_info(client, first.name)
    again = build(client, spec_for(args, first_labs), progress)
    changed = spec_for(args, labs_copy(root, packages='["six"]'))
    made.append(changed.name)
    log = StepLog()
    rebuilt = build(client, changed, log)
    after = engine.image_info(client, changed.name)
    ran = log.rebuilt_steps()
    compressed = download_size(client, first, args.registry, made) if args.registry else None
    gzipped = gzip_size(client, first.name) if args.gzip else None
    return {
        "machine": f"{platform.node()} {platform.machine()} python {platform.python_version()} ({os.cpu_count()} cpus)",
        "image": first.name,
        "size_gb": round(info.size / 1e9, 3),
        "compressed_size_gb": round(compressed / 1e9, 3) if compressed else None,
        "docker_save_gzip_gb": round(gzipped / 1e9, 3) if gzipped else None,
        "layers": len(info.layers),
        "layer_sizes_mb": layer_sizes(client, first.name),
        "cold_build_s": round(cold, 1),
        "cold_build_load_average": f"{load_before} before, {load_after} after",
        "cold_build_steps_s": [(step[:110], seconds) for step, seconds in steps if seconds >= STEP_SHOWN_S],
        "unchanged_rebuild_s": round(again.seconds, 2),
        "unchanged_rebuild_cached": again.cached and again.image == first.name,
        "lab_package_change_rebuild_s": round(rebuilt.seconds, 1),
        # Every step before the labs' packages (system, torch, JupyterLab) came from the cache: the
        # first to run again is the copy of lab-requirements.txt. (Another build on this engine may
        # have given that cache, so layer ids are reported, not required.)
        "torch_layer_reused": bool(ran) and "lab-requirements.txt" in ran[0],
        "steps_run_after_package_change": ran,
        "layers_shared_with_first_image": shared(info.layers, after.layers),
    }


def download_size(client, spec, registry: str, made: list[str]) -> int:
    """Push to a plain-http registry (127.0.0.1) and add up the compressed layers of its manifest."""
    remote = spec.remote_name(registry)
    made.append(remote)
    engine.tag_image(client, spec.name, remote)
    engine.push_image(client, remote, lambda event: None)
    host, path = remote.split("/", 1)
    repository, tag = path.rsplit(":", 1)
    request = urllib.request.Request(f"http://{host}/v2/{repository}/manifests/{tag}",
                                     headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return sum(layer["size"] for layer in json.load(answer)["layers"])


def shared(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """How many layers, from the base up, two images have in common."""
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def report(figures: dict[str, object]) -> None:
    print(json.dumps(figures, indent=2))
    print(f"size {figures['size_gb']} GB (goal <= {SIZE_GOAL_GB}; {figures['compressed_size_gb']} GB to download); cold build {figures['cold_build_s']} s "
          f"(goal <= {COLD_GOAL_S:g}); unchanged rebuild {figures['unchanged_rebuild_s']} s, "
          f"cache hit: {figures['unchanged_rebuild_cached']}; after a lab-package change "
          f"{figures['lab_package_change_rebuild_s']} s, torch layer reused: {figures['torch_layer_reused']}",
          file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
