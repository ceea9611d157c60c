"""kill -9 at random moments of the two commands that write what lasts: `labs upgrade` (the
learner's workspace) and `images build` (the engine's images). After each kill the learner's
files are there byte for byte, and a rerun of the same command succeeds."""

from __future__ import annotations

import os
import random
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from faultkit import newer_labs
from labkit import REAL_LABS, tree

from conftest import missing
from upkit import Torchlab, ca_bundle, wheelhouse

pytestmark = [pytest.mark.faults]
SEED = int(os.environ.get("TORCHLAB_FAULT_SEED", str(int(time.time()))))
NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
MINE = {"01_tensor_basics.ipynb": b'{"cells": ["my answers"]}', "mine.py": b"print('mine')\n"}


def killed_at(torchlab: Torchlab, moment: float, *args: str, env: dict[str, str] | None = None) -> int:
    process = subprocess.Popen(torchlab.argv(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**torchlab.env, **(env or {})}, cwd=str(torchlab.home))
    time.sleep(moment)
    process.send_signal(signal.SIGKILL)
    return process.wait(timeout=120)


def learner_workspace(torchlab: Torchlab, root: Path) -> Path:
    """A module-1 workspace of the shipped version, with the learner's changes in it."""
    shutil.rmtree(root, ignore_errors=True)
    assert torchlab.run("labs", "init", "module-1", "--dir", str(root)).returncode == 0
    for rel, data in MINE.items():
        (root / rel).write_bytes(data)
    return root


def test_kill_9_at_random_moments_of_labs_upgrade(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    print(f"TORCHLAB_FAULT_SEED={SEED}")
    newer = {"TORCHLAB_LABS_DIR": str(newer_labs(tmp_path / "newer", grow=256 * 1024))}
    torchlab = Torchlab(tmp_path, extra_env=NO_ENGINE)
    reference = learner_workspace(torchlab, tmp_path / "reference")
    started = time.monotonic()
    done = subprocess.run(torchlab.argv("labs", "upgrade", "module-1", "--dir", str(reference)), capture_output=True,
                          text=True, env={**torchlab.env, **newer}, timeout=120, check=False)
    full = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    expected = tree(reference)
    for moment in sorted(rng.uniform(0.05, full * 1.2) for _ in range(8)):
        root = learner_workspace(torchlab, tmp_path / "ws")
        killed_at(torchlab, moment, "labs", "upgrade", "module-1", "--dir", str(root), env=newer)
        now = tree(root)
        assert {rel: now.get(rel) for rel in MINE} == MINE, f"killed at {moment:.2f} s (seed {SEED})"
        rerun = subprocess.run(torchlab.argv("labs", "upgrade", "module-1", "--dir", str(root)), capture_output=True,
                               text=True, env={**torchlab.env, **newer}, timeout=120, check=False)
        assert rerun.returncode == 0 and "Traceback" not in rerun.stderr, rerun.stderr
        assert tree(root) == expected, f"killed at {moment:.2f} s (seed {SEED})"


@pytest.mark.docker
@pytest.mark.slow
def test_kill_9_at_random_moments_of_images_build(docker_engine, tmp_path: Path) -> None:
    from torchlab import engine

    base = os.environ.get("TORCHLAB_TEST_BASE_IMAGE")
    if not base or engine.image_info(docker_engine, base) is None:
        missing(f"no base image {base!r} in the engine (TORCHLAB_TEST_BASE_IMAGE; .ci/make-base-image)")
    if wheelhouse() is None:
        missing("no wheelhouse with torch (TORCHLAB_WHEELHOUSE or PIP_FIND_LINKS)")
    rng = random.Random(SEED)
    print(f"TORCHLAB_FAULT_SEED={SEED}")
    labs = tmp_path / "labs"  # the shipped labs and one file more: an image of its own, built here
    shutil.copytree(REAL_LABS, labs, ignore=shutil.ignore_patterns("__pycache__"))
    (labs / "module-0" / "workspace" / "fault-suite.txt").write_text(secrets.token_hex(8), encoding="utf-8")
    settings = {"TORCHLAB_BASE_IMAGE": base, "TORCHLAB_WHEELHOUSE": wheelhouse() or "", "TORCHLAB_LABS_DIR": str(labs),
                "TORCHLAB_CA_BUNDLE": ca_bundle() or ""}
    torchlab = Torchlab(tmp_path, extra_env={k: v for k, v in settings.items() if v})
    images_before = {image.id for image in docker_engine.images.list() if image.tags}
    name = None
    try:
        for moment in sorted(rng.uniform(0.5, 12.0) for _ in range(3)):
            killed_at(torchlab, moment, "images", "build", "--variant", "cpu", "--json")
        done, document = torchlab.json("images", "build", "--variant", "cpu", timeout=1800)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-3000:]
        name = document["image"]
        assert document["action"] in ("built", "cached") and engine.image_info(docker_engine, name) is not None
        assert images_before <= {image.id for image in docker_engine.images.list()}  # no image of anyone's lost
        again, second = torchlab.json("images", "build", "--variant", "cpu")
        assert again.returncode == 0 and second["action"] == "cached"
    finally:
        if name:
            engine.remove_image(docker_engine, name)
