"""The cuda-13.0 lab image against its budget, on this machine's engine, in one run.

Goal (issue 16, item 3): at most 6 GB uncompressed, with nothing torch needs on a GPU removed;
the compressed size (`docker save | gzip -1 | wc -c`) beside it; a cold build from PyPI; a rebuild
after a lab-package change that reuses the torch layer (the same layer ID). Run by hand, with the
engine, the base image and a reachable PyPI index (as .ci/run has them):
    python benchmarks/cuda_image_budget.py [--base-image torchlab-ci/debian:bookworm]
        [--index-url https://pypi.org/simple] [--ca-bundle $PIP_CERT] [--keep]
and record the figures with the machine in docs/PERFORMANCE.md. "Cold" means no layer cache from
the base image on (the base image itself is on the engine): the system layer, ~3.5 GB of wheels
from PyPI (torch, triton and the nvidia-* CUDA libraries), JupyterLab and the labs' packages.
Besides the totals it reports each build step that took 0.5 s or more, each layer's size, and
what the venv holds: the size of each installed distribution of 20 MB or more (every nvidia-*
one) and of the largest CUDA libraries. It needs no GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

from imagebench import SETTLE_S, StepLog, cold_build, gzip_size, labs_copy, load_average, settle, shared_count
from torchlab import engine
from torchlab.config import load_config
from torchlab.decide.choice import VariantChoice
from torchlab.images.inputs import read_inputs
from torchlab.images.spec import BuildSpec, make_build_spec
from torchlab.images.store import build
from torchlab.lab.catalog import load_catalog

SIZE_GOAL_GB = 6.0
STEP_SHOWN_S = 0.5
CUDA = VariantChoice("cuda-13.0", "cu130", "2.13.0", "budget run", "cuda")

# Run in the image: each installed distribution's size (its RECORD), and the largest CUDA libraries.
CONTENTS = r"""
import json, os, importlib.metadata as md
site = os.path.dirname(os.path.dirname(__import__("torch").__file__))
dists = {}
for dist in md.distributions():
    size = sum((dist.locate_file(f).stat().st_size for f in dist.files or () if dist.locate_file(f).is_file()))
    dists[f"{dist.metadata['Name']}=={dist.version}"] = size
libs = {}
for folder in ("nvidia", "torch/lib", "triton"):
    for root, _, files in os.walk(os.path.join(site, folder)):
        for name in files:
            path = os.path.join(root, name)
            if ".so" in name or name.endswith(".a"):
                libs[os.path.relpath(path, site)] = os.path.getsize(path)
print(json.dumps({"distributions": dists, "libraries": libs}))
"""


def spec_for(args: argparse.Namespace, labs: Path) -> BuildSpec:
    env = {
        "TORCHLAB_CONFIG": str(labs.parent / "no-config.toml"),  # no such file: no settings from one
        "TORCHLAB_BASE_IMAGE": args.base_image,
        "TORCHLAB_INDEX_URL": args.index_url,
        "TORCHLAB_CA_BUNDLE": args.ca_bundle,
    }
    config = load_config(env=env)
    spec = make_build_spec(CUDA, config, read_inputs(config, load_catalog(labs)))
    assert spec.torch_spec == "torch==2.13.0", spec.torch_spec  # PyPI's build, from the index
    return spec


def history(client, name: str) -> list[dict]:
    """`docker history`, base first: each step's image ID (legacy builder), size and command."""
    rows = [{"id": row["Id"], "mb": round(row["Size"] / 1e6, 1), "by": " ".join(row["CreatedBy"].split())}
            for row in client.api.history(name)]
    return list(reversed(rows))


def torch_layer(rows: list[dict]) -> dict:
    """The layer torch is installed in (its own RUN step, from the index): the largest one."""
    return max(rows, key=lambda row: row["mb"])


def contents(client, name: str) -> dict[str, object]:
    """What the venv holds, measured inside the image as an unprivileged user."""
    output = client.containers.run(name, ["python", "-c", CONTENTS], user="4321:4321", remove=True, stderr=False)
    found = json.loads(output)
    dists = sorted(found["distributions"].items(), key=lambda item: -item[1])
    libs = sorted(found["libraries"].items(), key=lambda item: -item[1])
    nvidia = [(name, size) for name, size in dists if name.lower().startswith(("nvidia", "cuda"))]
    return {
        "distributions_mb": [(name, round(size / 1e6, 1)) for name, size in dists if size >= 20e6],
        "nvidia_and_cuda_distributions_mb": [(name, round(size / 1e6, 1)) for name, size in nvidia],
        "nvidia_and_cuda_total_mb": round(sum(size for _, size in nvidia) / 1e6, 1),
        "venv_total_mb": round(sum(found["distributions"].values()) / 1e6, 1),
        "largest_libraries_mb": [(path, round(size / 1e6, 1)) for path, size in libs[:15]],
    }


def measure(client, args: argparse.Namespace, root: Path, made: list[str]) -> dict[str, object]:
    first = spec_for(args, labs_copy(root))
    made.append(first.name)
    settled = settle(client, args.settle)
    load_before = load_average()
    cold, steps = cold_build(client, first, STEP_SHOWN_S)
    load_after = load_average()
    info = engine.image_info(client, first.name)
    changed = spec_for(args, labs_copy(root, packages='["six"]'))
    made.append(changed.name)
    log = StepLog()
    rebuilt = build(client, changed, log)
    before, after = history(client, first.name), history(client, changed.name)
    torch_before, torch_after = torch_layer(before), torch_layer(after)
    after_info = engine.image_info(client, changed.name)
    return {
        "machine": f"{platform.node()} {platform.machine()} python {platform.python_version()} ({os.cpu_count()} cpus)",
        "image": first.name,
        "torch": first.torch_spec + f" from {first.torch_source}",
        "size_gb": round(info.size / 1e9, 3),
        "docker_save_gzip1_gb": round(gzip_size(client, first.name, level=1) / 1e9, 3),
        "layers": len(info.layers),
        "layer_sizes_mb": [(row["mb"], row["by"].replace("/bin/sh -c #(nop) ", "")[-100:]) for row in before if row["mb"] > 0],
        "contents": contents(client, first.name),
        "cold_build_s": round(cold, 1),
        "cold_build_load_average": f"{load_before} before, {load_after} after",
        "waited_before_cold_build_s": settled,
        "cold_build_steps_s": steps,
        "lab_package_change_rebuild_s": round(rebuilt.seconds, 1),
        "steps_run_after_package_change": log.rebuilt_steps(),
        # The step image that holds the torch stage's venv: the same ID in both images is the same layer.
        "torch_layer": {"mb": torch_before["mb"], "id_first": torch_before["id"], "id_after_change": torch_after["id"]},
        "layers_shared_with_first_image": f"{shared_count(info.layers, after_info.layers)} of {len(after_info.layers)}",
        "torch_layer_reused": torch_before["id"] == torch_after["id"] and torch_before["id"] != "<missing>",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-image", default=os.environ.get("TORCHLAB_TEST_BASE_IMAGE", "torchlab-ci/debian:bookworm"))
    parser.add_argument("--index-url", default="https://pypi.org/simple")
    parser.add_argument("--ca-bundle", default=os.environ.get("PIP_CERT", "/etc/ssl/certs/ca-certificates.crt"))
    parser.add_argument("--settle", type=float, default=SETTLE_S, metavar="SECONDS",
                        help="on a journal-less ext4 data root, wait until the engine's last removal is this old "
                             f"(default {SETTLE_S:g}; 0: build at once; imagebench.settle says why)")
    parser.add_argument("--keep", action="store_true", help="keep the images this run makes")
    args = parser.parse_args()
    client = engine.connect(timeout=engine.LONG_TIMEOUT)
    made: list[str] = []
    with tempfile.TemporaryDirectory() as root:
        try:
            figures = measure(client, args, Path(root), made)
        finally:
            for name in made if not args.keep else ():
                engine.remove_image(client, name)
    print(json.dumps(figures, indent=2))
    print(f"size {figures['size_gb']} GB (goal <= {SIZE_GOAL_GB:g}; docker save | gzip -1: "
          f"{figures['docker_save_gzip1_gb']} GB); cold build {figures['cold_build_s']} s; after a lab-package change "
          f"{figures['lab_package_change_rebuild_s']} s, torch layer reused: {figures['torch_layer_reused']}", file=sys.stderr)
    return 0 if figures["size_gb"] <= SIZE_GOAL_GB and figures["torch_layer_reused"] else 1


if __name__ == "__main__":
    sys.exit(main())
