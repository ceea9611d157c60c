"""The data folder on a disk that is full (0 bytes free, then a few KB), read-only for the learner,
or on a read-only file system: one line with exit 3 naming the path and the fix, no half-made
state that a rerun cannot finish, and nothing the learner made lost. Real tmpfs mounts (root)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from faultkit import fill, free_bytes, need_root, newer_labs, one_error, tmpfs
from labkit import tree

from conftest import missing
from upkit import Torchlab, make_torchlab, remove_home

pytestmark = [pytest.mark.faults]
NOTEBOOK = "01_tensor_basics.ipynb"
NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}  # nothing here needs one


def torchlab_on(home: Path, data_dir: Path, **extra: str) -> Torchlab:
    home.mkdir(parents=True, exist_ok=True)
    return Torchlab(home, extra_env={"TORCHLAB_DATA_DIR": str(data_dir), **NO_ENGINE, **extra})


def test_a_full_data_disk_is_exit_3_naming_it_and_a_rerun_succeeds_once_there_is_room(tmp_path: Path) -> None:
    need_root("a full tmpfs data folder")
    with tmpfs(tmp_path / "disk", "4m") as disk:
        learner = torchlab_on(tmp_path / "home", disk / "data")
        assert learner.run("labs", "init", "module-0").returncode == 0
        mine = disk / "data" / "workspaces" / "module-0" / "mine.txt"
        mine.write_bytes(b"my work")
        before = tree(mine.parent)
        filler = fill(disk)
        assert free_bytes(disk) == 0
        for args in (("labs", "init", "module-1"), ("up", "module-1", "--runtime", "docker", "--no-smoke")):
            one_error(learner.run(*args, timeout=120), 3, str(disk / "data"), "disk is full", "TORCHLAB_DATA_DIR")
        assert learner.run("status").returncode == 0 and learner.run("labs").returncode == 0
        assert not (disk / "data" / "workspaces" / "module-1").exists()
        filler.unlink()
        assert learner.run("labs", "init", "module-1").returncode == 0
        assert tree(mine.parent) == before


def test_an_upgrade_that_runs_out_of_room_half_way_is_exit_3_and_rerun_completes(tmp_path: Path) -> None:
    need_root("a nearly full tmpfs data folder")
    newer = newer_labs(tmp_path / "newer", grow=64 * 1024)
    with tmpfs(tmp_path / "disk", "8m") as disk:
        learner = torchlab_on(tmp_path / "home", disk / "data")
        assert learner.run("labs", "init", "module-1").returncode == 0
        workspace = disk / "data" / "workspaces" / "module-1"
        (workspace / NOTEBOOK).write_bytes(b'{"cells": ["my answers"]}')
        (workspace / "mine.py").write_bytes(b"print('mine')\n")
        users = {rel: data for rel, data in tree(workspace).items() if rel in (NOTEBOOK, "mine.py")}
        filler = fill(disk, leave=8 * 1024)
        assert 0 < free_bytes(disk) <= 16 * 1024
        upgrade = ("labs", "upgrade", "module-1")
        one_error(subprocess.run(learner.argv(*upgrade), capture_output=True, text=True, timeout=120, check=False,
                                 env={**learner.env, "TORCHLAB_LABS_DIR": str(newer)}),
                  3, str(workspace), "disk is full")
        assert {rel: tree(workspace)[rel] for rel in users} == users
        filler.unlink()
        done = subprocess.run(learner.argv(*upgrade, "--json"), capture_output=True, text=True, timeout=120,
                              check=False, env={**learner.env, "TORCHLAB_LABS_DIR": str(newer)})
        assert done.returncode == 0, done.stderr
        after = tree(workspace)
        assert {rel: after[rel] for rel in users} == users
        assert after["01_tensor_basics.v9.0.0.ipynb"] == (newer / "module-1" / "workspace" / NOTEBOOK).read_bytes()
        assert after["exercises.py"] == (newer / "module-1" / "workspace" / "exercises.py").read_bytes()


def test_a_read_only_file_system_is_exit_3_and_nothing_changes(tmp_path: Path) -> None:
    need_root("a read-only tmpfs")
    newer = newer_labs(tmp_path / "newer")
    with tmpfs(tmp_path / "disk", "8m") as disk:
        learner = torchlab_on(tmp_path / "home", disk / "data", TORCHLAB_LABS_DIR=str(newer))
        assert learner.run("labs", "init", "module-0").returncode == 0
        workspace = disk / "data" / "workspaces" / "module-0"
        before = tree(workspace)
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        try:
            one_error(learner.run("labs", "init", "module-1"), 3, "read-only file system", "TORCHLAB_DATA_DIR")
            one_error(learner.run("up", "module-1", "--runtime", "docker"), 3, "read-only file system")
            assert learner.run("status").returncode == 0
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
        assert tree(workspace) == before
        assert learner.run("labs", "init", "module-1").returncode == 0


def test_a_data_folder_the_learner_may_not_write_is_exit_3_and_reading_still_works(tmp_path: Path) -> None:
    learner = make_torchlab("torchlab-readonly-", with_docker=False, **NO_ENGINE)
    try:
        if learner.uid is None and os.geteuid() == 0:
            missing("an unprivileged user to run torchlab as (setpriv and uid 65534)")
        data = learner.data_dir
        data.mkdir()
        if learner.uid is not None:
            os.chown(data, learner.uid, learner.uid)
        assert learner.run("labs", "init", "module-0").returncode == 0
        os.chmod(data, 0o555)
        if os.geteuid() == 0:
            os.chown(data, 0, 0)  # root's now: the learner may read it, not write it
        for args in (("labs", "init", "module-1"), ("up", "module-1", "--runtime", "docker", "--no-smoke")):
            one_error(learner.run(*args, timeout=120), 3, str(data), "you may not write there")
        for args in (("status",), ("labs",), ("down", "--all")):
            done = learner.run(*args)
            assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        os.chmod(data, 0o755)
        if learner.uid is not None:
            os.chown(data, learner.uid, learner.uid)
        assert learner.run("labs", "init", "module-1").returncode == 0
        assert (data / "workspaces" / "module-0" / NOTEBOOK.replace("01_tensor_basics", "01_check_your_setup")).is_file()
    finally:
        remove_home(learner.home)
