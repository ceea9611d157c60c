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
Where the engine's data root is ext4 without a journal (this project's machines), the cold build
waits until the engine's last removal is 90 s old (imagebench.settle says why; --settle SECONDS).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import urllib.request
from pathlib import Path

from imagebench import SETTLE_S, StepLog, cold_build, gzip_size, labs_copy, load_average, settle, shared_count
from torchlab import engine
from torchlab.config import load_config
from torchlab.decide.choice import VariantChoice
from torchlab.images.inputs import read_inputs
from torchlab.images.progress import PlainProgress
from torchlab.images.spec import make_build_spec
from torchlab.images.store import build
from torchlab.lab.catalog import load_catalog

SIZE_GOAL_GB = 1.2
COLD_GOAL_S = 60.0
STEP_SHOWN_S = 0.5
CPU = VariantChoice("cpu", "cpu", "2.13.0", "budget run")


def spec_for(args: argparse.Namespace, labs: Path):
    env = {
        "TORCHLAB_CONFIG": str(labs.parent / "no-config.toml"),  # no such file: no settings from one
        "TORCHLAB_BASE_IMAGE": args.base_image,
        "TORCHLAB_WHEELHOUSE": args.wheelhouse,
        "TORCHLAB_CA_BUNDLE": args.ca_bundle,
    }
    config = load_config(env=env)
    return make_build_spec(CPU, config, read_inputs(config, load_catalog(labs)))


def layer_sizes(client, name: str) -> list[tuple[float, str]]:
    """(MB, what made it) for each layer with bytes, base first, as `docker history` shows them."""
    rows = [(round(row["Size"] / 1e6, 1), " ".join(row["CreatedBy"].split())) for row in client.api.history(name)]
    return [(size, made_by.replace("/bin/sh -c #(nop) ", "")[-110:]) for size, made_by in reversed(rows) if size > 0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-image", default=os.environ.get("TORCHLAB_TEST_BASE_IMAGE", "torchlab-ci/debian:bookworm"))
    parser.add_argument("--wheelhouse", default=os.environ.get("TORCHLAB_WHEELHOUSE") or os.environ.get("PIP_FIND_LINKS"))
    parser.add_argument("--ca-bundle", default=os.environ.get("PIP_CERT", "/etc/ssl/certs/ca-certificates.crt"))
    parser.add_argument("--registry", default=os.environ.get("TORCHLAB_TEST_REGISTRY"),
                        help="also push the image there and report its compressed (download) size")
    parser.add_argument("--gzip", action="store_true", help="also count the bytes of `docker save | gzip -c`")
    parser.add_argument("--settle", type=float, default=SETTLE_S, metavar="SECONDS",
                        help="on a journal-less ext4 data root, wait until the engine's last removal is this old "
                             f"(default {SETTLE_S:g}; 0: build at once; imagebench.settle says why)")
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


def measure(client, args, root: Path, progress, made: list[str]) -> dict[str, object]:
    first_labs = labs_copy(root)
    first = spec_for(args, first_labs)
    made.append(first.name)
    settled = settle(client, args.settle)
    load_before = load_average()
    cold, steps = cold_build(client, first, STEP_SHOWN_S)
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
        "waited_before_cold_build_s": settled,
        "cold_build_steps_s": [(step[:110], seconds) for step, seconds in steps if seconds >= STEP_SHOWN_S],
        "unchanged_rebuild_s": round(again.seconds, 2),
        "unchanged_rebuild_cached": again.cached and again.image == first.name,
        "lab_package_change_rebuild_s": round(rebuilt.seconds, 1),
        # Every step before the labs' packages (system, torch) came from the cache: the
        # first to run again is the copy of lab-requirements.txt. (Another build on this engine may
        # have given that cache, so layer ids are reported, not required.)
        "torch_layer_reused": bool(ran) and "lab-requirements.txt" in ran[0],
        "steps_run_after_package_change": ran,
        "layers_shared_with_first_image": shared_count(info.layers, after.layers),
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


def report(figures: dict[str, object]) -> None:
    print(json.dumps(figures, indent=2))
    print(f"size {figures['size_gb']} GB (goal <= {SIZE_GOAL_GB}; {figures['compressed_size_gb']} GB to download); cold build {figures['cold_build_s']} s "
          f"(goal <= {COLD_GOAL_S:g}); unchanged rebuild {figures['unchanged_rebuild_s']} s, "
          f"cache hit: {figures['unchanged_rebuild_cached']}; after a lab-package change "
          f"{figures['lab_package_change_rebuild_s']} s, torch layer reused: {figures['torch_layer_reused']}",
          file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
