"""Faults around a running lab, on a Docker engine of the suite's own (tests/faults/spare_engine.py):
the engine stopped under the lab, the workspace deleted under it, a damaged lock and workspace
record, Ctrl-C at random moments of `up`. Each ends with an `up` that succeeds and a check that the
learner's files are all there. The labs run `--no-jupyter --no-smoke` (a `sleep` in the container)."""

from __future__ import annotations

import fcntl
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faultkit import one_error
from labkit import tree
from spare_engine import SpareEngine, has_link, load_image, start_spare_engine

from conftest import missing
from upkit import Torchlab, remove_home

pytestmark = [pytest.mark.faults, pytest.mark.docker, pytest.mark.slow]
UP = ("up", "module-0", "--runtime", "docker", "--variant", "cpu", "--no-jupyter", "--no-smoke")
SEED = int(os.environ.get("TORCHLAB_FAULT_SEED", str(int(time.time()))))


def lab_image_name(torchlab: Torchlab) -> str:
    """The image `up` will ask for under these settings, computed as `up` computes it."""
    from torchlab.config import load_config
    from torchlab.decide.choice import choose
    from torchlab.decide.plan import make_plan
    from torchlab.images.store import spec_for_lab
    from torchlab.lab.catalog import find_lab, open_catalog
    from torchlab.probe.host import probe_host

    config = load_config(torchlab.env)
    facts = probe_host(torchlab.env, config.data_dir)
    choice = choose(make_plan(facts), facts, "docker", "cpu")
    return spec_for_lab(config, choice, find_lab(open_catalog(config=config), "module-0")).name


@pytest.fixture(scope="module")
def spare() -> SpareEngine:
    base = os.environ.get("TORCHLAB_TEST_BASE_IMAGE")
    if not base or subprocess.run(["docker", "image", "inspect", base], capture_output=True).returncode != 0:
        missing(f"no base image {base!r} in the main engine (TORCHLAB_TEST_BASE_IMAGE; .ci/make-base-image)")
    main_bridge = has_link("docker0")
    engine = start_spare_engine()
    try:
        yield engine
    finally:
        engine.remove()
        assert has_link("docker0") == main_bridge, "the spare engine took the main engine's docker0 away"


@pytest.fixture
def learner(spare: SpareEngine, tmp_path: Path) -> Torchlab:
    """torchlab on the spare engine, with the lab image there (the base image under the lab's name)."""
    if not spare.answers():
        spare.start()
    home = tmp_path / "home"
    home.mkdir()
    torchlab = Torchlab(home, extra_env={"DOCKER_HOST": spare.host, "TORCHLAB_BASE_IMAGE": os.environ["TORCHLAB_TEST_BASE_IMAGE"]})
    name = lab_image_name(torchlab)
    if spare.docker("image", "inspect", name, check=False).returncode != 0:
        load_image(spare, os.environ["TORCHLAB_TEST_BASE_IMAGE"], name)
    yield torchlab
    if not spare.answers():
        spare.start()
    torchlab.run("down", "--all", timeout=180)
    remove_home(home)


def up_ok(torchlab: Torchlab) -> subprocess.CompletedProcess:
    done = torchlab.run(*UP, timeout=300)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-3000:]
    return done


def containers(spare: SpareEngine, torchlab: Torchlab) -> list[str]:
    done = spare.docker("ps", "-a", "--filter", f"label=torchlab.data_dir={torchlab.data_dir}", "--format", "{{.Names}}",
                        text=True)
    return done.stdout.split()


def workspace(torchlab: Torchlab, lab: str = "module-0") -> Path:
    return torchlab.data_dir / "workspaces" / lab


def clean_lines(done: subprocess.CompletedProcess) -> None:
    """No traceback; whatever torchlab says of a failure is its own one line."""
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    for line in done.stderr.splitlines():
        if "error" in line.lower() or "warning" in line.lower():
            assert line.startswith("torchlab: "), line


def test_the_engine_stopped_under_a_running_lab(spare: SpareEngine, learner: Torchlab) -> None:
    up_ok(learner)
    (workspace(learner) / "mine.txt").write_bytes(b"my work")
    before = tree(workspace(learner))
    spare.stop()
    status = learner.run("status")
    clean_lines(status)
    assert status.returncode == 0 and "the Docker engine does not answer" in status.stderr
    for args in (("status", "--json"), ("down", "module-0"), ("down", "--all")):
        done = learner.run(*args, timeout=120)
        clean_lines(done)
        assert done.returncode == 0, done.stderr
    clean_lines(shell := learner.run("shell", "module-0"))
    assert shell.returncode == 2
    one_error(learner.run(*UP, timeout=300), 3, "Docker")
    spare.start()
    up_ok(learner)
    assert tree(workspace(learner)) == before
    assert containers(spare, learner) == [name for name in containers(spare, learner) if name.startswith("torchlab-")]


def test_the_workspace_deleted_under_a_running_lab(spare: SpareEngine, learner: Torchlab) -> None:
    assert learner.run("labs", "init", "module-1").returncode == 0
    (workspace(learner, "module-1") / "mine.txt").write_bytes(b"another lab's work")
    others = tree(workspace(learner, "module-1"))
    up_ok(learner)
    shutil.rmtree(workspace(learner))
    _, status = learner.json("status")
    [entry] = status["labs"]
    assert entry["health"] == "broken: workspace gone" and "torchlab down module-0" in entry["fix"]
    text = learner.run("status")
    assert "broken: workspace gone" in text.stderr and "fix: its workspace" in text.stderr, text.stderr
    one_error(learner.run("shell", "module-0", stdin="true\n"), 3, "module-0 is broken", "torchlab down module-0")
    again = up_ok(learner)
    assert "starting it afresh" in " ".join(again.stderr.split())
    assert workspace(learner).is_dir()
    _, status = learner.json("status")
    assert [lab["health"] for lab in status["labs"]] == ["no jupyter"]
    shutil.rmtree(workspace(learner))
    down = learner.run("down", "module-0", timeout=120)
    assert down.returncode == 0 and "was already gone" in down.stderr and "workspace kept" not in down.stderr
    up_ok(learner)
    assert tree(workspace(learner, "module-1")) == others


def test_a_damaged_lock_and_workspace_record_do_not_stop_up(spare: SpareEngine, learner: Torchlab) -> None:
    assert learner.run("labs", "init", "module-0").returncode == 0
    (workspace(learner) / "mine.txt").write_bytes(b"my work")
    record = workspace(learner) / ".torchlab" / "workspace.json"
    record.write_text("{oops", encoding="utf-8")
    lock = learner.data_dir / "locks" / "module-0.lock"
    (lock / "inside").mkdir(parents=True)
    done = up_ok(learner)
    said = " ".join(done.stderr.split())
    assert f"the workspace record {record} was damaged" in said and f"set aside as {record}.corrupt" in said
    assert f"torchlab: warning: {lock} was a folder" in said and f"set aside as {lock}.corrupt" in said
    assert lock.is_file() and (Path(f"{lock}.corrupt") / "inside").is_dir()
    assert Path(f"{record}.corrupt").read_text(encoding="utf-8") == "{oops"
    assert (workspace(learner) / "mine.txt").read_bytes() == b"my work"
    again = up_ok(learner)
    assert "torchlab: warning" not in again.stderr and "was damaged" not in again.stderr, again.stderr


def lock_is_free(torchlab: Torchlab) -> bool:
    path = torchlab.data_dir / "locks" / "module-0.lock"
    if not path.exists():
        return True
    with open(path, "rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
    return True


def test_ctrl_c_at_random_moments_of_up_leaves_nothing_half_started(spare: SpareEngine, learner: Torchlab) -> None:
    rng = random.Random(SEED)
    print(f"TORCHLAB_FAULT_SEED={SEED}")
    started = time.monotonic()
    up_ok(learner)
    full = time.monotonic() - started
    (workspace(learner) / "mine.txt").write_bytes(b"my work")
    assert learner.run("down", "module-0", timeout=120).returncode == 0
    interrupted = 0
    for moment in sorted(rng.uniform(0.1, full * 1.1) for _ in range(6)):
        process = subprocess.Popen(learner.argv(*UP), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env=learner.env, cwd=str(learner.home), start_new_session=True)
        time.sleep(moment)
        os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole foreground group
        _, err = process.communicate(timeout=180)
        where = f"at {moment:.2f} s (seed {SEED}): exit {process.returncode}: {err[-2000:]}"
        if process.returncode == 0:  # it was done before the Ctrl-C
            assert learner.run("down", "module-0", timeout=120).returncode == 0
            continue
        # 130, or death by SIGINT once the command is over (which a shell shows as 130 too)
        assert process.returncode in (130, -signal.SIGINT), where
        if "torchlab: interrupted" not in err:  # only CPython's own start-up, before any torchlab code, may
            assert "/torchlab/" not in err and moment < 1.0, where  # say it otherwise (its KeyboardInterrupt)
        else:
            assert err.strip().splitlines()[-1] == "torchlab: interrupted" and "Traceback" not in err, where
        interrupted += 1
        assert containers(spare, learner) == [], f"a container was left {where}"
        run_dir = learner.data_dir / "run"
        assert not run_dir.exists() or not list(run_dir.glob("*.json")), where
        assert lock_is_free(learner), where
    assert interrupted >= 1, f"no moment fell inside `up` ({full:.1f} s long; seed {SEED})"
    up_ok(learner)
    assert (workspace(learner) / "mine.txt").read_bytes() == b"my work"
