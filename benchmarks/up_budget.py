"""`torchlab up module-1` against its budgets, on this machine's engine, as a learner runs it.

Goals: a warm `up` (image, workspace and the learner's home volume present from an earlier `up`,
the lab not running) until JupyterLab answers and the smoke checks passed <= 2 s, the median of
several runs (issue 15); a cold `up` (no image, no layer cache past the base image) with the local
wheelhouse <= 120 s (the up issue). The load average is printed beside the figures: on a shared
machine a warm `up` is as fast as the cores JupyterLab and the smoke checks get.
Run by hand (the engine, the base image and the wheelhouse as .ci/run makes them):
    python benchmarks/up_budget.py [--runs 5] [--no-cold] [--base-image torchlab-ci/debian:bookworm]
        [--wheelhouse $PIP_FIND_LINKS] [--ca-bundle $PIP_CERT]
and record the figures with the machine in docs/PERFORMANCE.md. Each `up` is timed from the
command's start to its exit: its JSON says that JupyterLab answered and the smoke status, and
the URL is fetched once more with its token to be sure. "Cold" gets a CA bundle of its own (the
system bundle and a unique comment line), so every layer after the base image is built afresh;
that image is removed afterwards (the torch stage's untagged layers stay as the engine's cache).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from torchlab import engine
from torchlab.runtimes.jupyter import http_status

WARM_GOAL_S = 2.0
COLD_GOAL_S = 120.0


def torchlab_env(data_dir: Path, args: argparse.Namespace, ca_bundle: str) -> dict[str, str]:
    return {**os.environ, "TORCHLAB_DATA_DIR": str(data_dir), "NO_COLOR": "1",
            "TORCHLAB_CONFIG": str(data_dir / "no-config.toml"),  # none: the defaults
            "TORCHLAB_BASE_IMAGE": args.base_image, "TORCHLAB_WHEELHOUSE": args.wheelhouse,
            "TORCHLAB_CA_BUNDLE": ca_bundle}


def timed_up(env: dict[str, str]) -> tuple[float, dict, bool]:
    """Seconds from `torchlab up module-1 --json` starting to its exit, its document, and whether
    it had to build the image (the labs or the recipe changed meanwhile: not a warm up)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "torchlab", "up", "module-1", "--json"], env=env,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"torchlab up failed (exit {done.returncode}): {done.stderr[-2000:]}")
    doc = json.loads(done.stdout)
    if doc["smoke"]["status"] != "passed" or http_status(doc["url"]) != 200:
        sys.exit(f"up did not give a passing, answering lab: smoke {doc['smoke']['status']}")
    return seconds, doc, "building torchlab/" in done.stderr


def down(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "torchlab", "down", "module-1"], env=env, capture_output=True, check=False)


def remove_home_volumes(root: Path) -> None:
    """The learner's home volumes this run's data folders made (warm and cold)."""
    from torchlab.decide.runspec import home_volume  # noqa: PLC0415
    from torchlab.runtimes.docker import the_lab_user  # noqa: PLC0415

    client = engine.connect(timeout=120)
    try:
        for data_dir in (root / "warm", root / "cold"):
            engine.remove_volume(client, home_volume(data_dir, the_lab_user(os.environ)[0]))
    finally:
        client.close()


def warm_figures(args: argparse.Namespace, root: Path) -> dict[str, object]:
    env = torchlab_env(root / "warm", args, args.ca_bundle)
    first, doc, _ = timed_up(env)  # makes the workspace, and the image if this engine lacks it
    down(env)
    times, rebuilt, loads = [], [], []
    while len(times) < args.runs and len(rebuilt) < args.runs:
        loads.append(os.getloadavg()[0])
        seconds, doc, built = timed_up(env)
        (rebuilt if built else times).append(seconds)
        down(env)
    if not times:
        sys.exit("every run had to build the image: are the labs or images/ changing?")
    checks = doc["smoke"]["checks"]
    return {"first_up_s": round(first, 2), "warm_up_s": [round(t, 2) for t in times],
            "left_out_runs_that_built_s": [round(t, 1) for t in rebuilt],
            "warm_up_median_s": round(statistics.median(times), 2), "warm_up_min_s": round(min(times), 2),
            "load_average_1min": f"{min(loads):.1f}-{max(loads):.1f}",
            "smoke_checks": len(checks), "smoke_seconds": round(sum(c["seconds"] for c in checks), 2)}


def cold_figures(args: argparse.Namespace, root: Path) -> dict[str, object]:
    bundle = root / "cold-ca.pem"
    bundle.write_text(Path(args.ca_bundle).read_text(encoding="utf-8") + f"\n# up_budget {uuid.uuid4()}\n", encoding="utf-8")
    env = torchlab_env(root / "cold", args, str(bundle))
    image = image_for(env)
    client = engine.connect(timeout=600)  # removing a 1.4 GB image on a busy engine takes a while
    try:
        if engine.image_info(client, image) is not None:
            sys.exit(f"{image} exists already: this would not be a cold up")
        try:
            seconds, _, _ = timed_up(env)
        finally:
            down(env)
            engine.remove_image(client, image)
    finally:
        client.close()
    return {"cold_up_s": round(seconds, 1), "cold_image": image}


def image_for(env: dict[str, str]) -> str:
    """The image `up` will want under these settings (as torchlab.image_store names it)."""
    from torchlab.decide.choice import Choice  # noqa: PLC0415
    from torchlab.config import load_config  # noqa: PLC0415
    from torchlab.images.store import spec_for_lab  # noqa: PLC0415
    from torchlab.lab.catalog import find_lab, open_catalog  # noqa: PLC0415

    config = load_config(env)
    lab = find_lab(open_catalog(config=config), "module-1")
    return spec_for_lab(config, Choice("docker", "cpu", "cpu", "cpu", "2.13.0", ()), lab).name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-cold", action="store_true", help="skip the cold up (it builds an image)")
    parser.add_argument("--base-image", default=os.environ.get("TORCHLAB_TEST_BASE_IMAGE", "torchlab-ci/debian:bookworm"))
    parser.add_argument("--wheelhouse", default=os.environ.get("TORCHLAB_WHEELHOUSE") or os.environ.get("PIP_FIND_LINKS"))
    parser.add_argument("--ca-bundle", default=os.environ.get("PIP_CERT", "/etc/ssl/certs/ca-certificates.crt"))
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="torchlab-up-budget-"))
    try:
        figures = {"machine": f"{platform.node()} {platform.machine()} python {platform.python_version()} "
                              f"({os.cpu_count()} cpus), load {os.getloadavg()[0]:.1f}"}
        figures.update(warm_figures(args, root))
        if not args.no_cold:
            figures.update(cold_figures(args, root))
    finally:
        remove_home_volumes(root)
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(figures, indent=2))
    warm_ok = figures["warm_up_median_s"] <= WARM_GOAL_S
    cold_ok = args.no_cold or figures["cold_up_s"] <= COLD_GOAL_S
    print(f"warm up median {figures['warm_up_median_s']} s (goal <= {WARM_GOAL_S:g})"
          + ("" if args.no_cold else f"; cold up {figures['cold_up_s']} s (goal <= {COLD_GOAL_S:g})"), file=sys.stderr)
    return 0 if warm_ok and cold_ok else 1


if __name__ == "__main__":
    sys.exit(main())
