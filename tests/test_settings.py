"""Each setting is checked once, by the rules of what it names: the values people really use pass,
and a bad one is one line naming the setting, where it was set, and what was expected."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from torchlab.config import image_problem, load_config, registry_problem, url_problem
from torchlab.errors import USAGE, UserError
from torchlab.files import check_writable, path_problem, read_text
from torchlab.runtimes.protocol import RunningLab

GOOD_IMAGES = ["python:3.11-slim", "debian", "torchlab-ci/debian:bookworm", "127.0.0.1:5000/torchlab/base:bookworm",
               "localhost:5000/a", "nvcr.io/nvidia/cuda:12.6.0-runtime-ubuntu22.04", "rocm/dev-ubuntu-22.04:6.2",
               "docker.io/library/python:3.12", "debian@sha256:" + "a" * 64, "ghcr.io/org/img:v1.2@sha256:" + "b" * 64,
               "[::1]:5000/x:y", "my_org/my-image__x.y:Tag_1"]
BAD_IMAGES = ["UPPER:case", "Python:3.11", "a b", "::bad", "debian:", ":latest", "-x", "x/", "debian@sha256:xyz",
              "debian:bad tag", "ghcr.io/Org/x", "x" * 300, ""]
GOOD_REGISTRIES = ["127.0.0.1:5000/torchlab", "127.0.0.1:5000", "ghcr.io/course/torchlab", "localhost:5000/",
                   "registry.example.org:443/a/b", "course"]
BAD_REGISTRIES = ["::bad", "UPPER/x", "reg istry/x", "127.0.0.1:5000/x@sha256:abc", "127.0.0.1:5000/x:tag", "a//b", ""]
GOOD_URLS = ["https://pypi.org/simple", "http://127.0.0.1:3141/simple/", "https://download.pytorch.org/whl/cpu",
             "file:///srv/simple", "none"]
BAD_URLS = ["pypi.org/simple", "ftp://x/simple", "https://", "http://host:port/", "https://a b/simple", "simple", ""]


@pytest.mark.parametrize("value", GOOD_IMAGES)
def test_image_references_people_use_pass(value: str) -> None:
    assert image_problem(value) is None


@pytest.mark.parametrize("value", BAD_IMAGES)
def test_malformed_image_references_are_refused(value: str) -> None:
    assert "expected [registry/]name[:tag]" in (image_problem(value) or "")


@pytest.mark.parametrize(("value", "good"), [(v, True) for v in GOOD_REGISTRIES] + [(v, False) for v in BAD_REGISTRIES])
def test_registries(value: str, good: bool) -> None:
    assert (registry_problem(value) is None) == good


@pytest.mark.parametrize(("value", "good"), [(v, True) for v in GOOD_URLS] + [(v, False) for v in BAD_URLS])
def test_index_urls(value: str, good: bool) -> None:
    assert (url_problem(value) is None) == good


def test_a_bad_setting_names_itself_its_origin_and_what_was_expected(tmp_path: Path) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text('base_image = "Debian:12"\n', encoding="utf-8")
    with pytest.raises(UserError) as caught:
        load_config({"TORCHLAB_CONFIG": str(config_file)})
    assert caught.value.exit_code == USAGE
    assert caught.value.format_message().startswith(f"base image Debian:12 (from config file {config_file}): ")
    with pytest.raises(UserError, match=r"^registry ::bad \(from env TORCHLAB_REGISTRY\): not a Docker registry"):
        load_config({"TORCHLAB_CONFIG": str(config_file), "TORCHLAB_BASE_IMAGE": "debian", "TORCHLAB_REGISTRY": "::bad"})
    with pytest.raises(UserError, match=r"^data folder .*afile \(from flag --data-dir\): not a folder but a file"):
        (tmp_path / "afile").write_text("x")
        load_config({"TORCHLAB_CONFIG": str(tmp_path / "none.toml")}, flags={"data_dir": str(tmp_path / "afile")})


def test_a_data_folder_not_made_yet_passes_and_paths_are_made_absolute(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config({"TORCHLAB_CONFIG": str(tmp_path / "none.toml"), "TORCHLAB_DATA_DIR": "not/made/yet"})
    assert config.data_dir == tmp_path / "not" / "made" / "yet"


def test_paths_under_a_file_empty_or_special_are_named(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    os.mkfifo(tmp_path / "fifo")
    assert path_problem(str(tmp_path / "afile" / "sub"), False, "folder") == f"{tmp_path / 'afile'} is a file, so nothing can be under it"
    assert path_problem("  ", False, "folder") == "empty"
    assert path_problem(str(tmp_path / "fifo"), True, "folder") == "not a folder but a FIFO (named pipe)"
    assert path_problem("/dev/null", True, "file") == "a character device, not a regular file"
    assert path_problem(str(tmp_path), True, "folder") is None


def test_safe_reading_refuses_what_is_no_small_text_file(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "big").write_bytes(b"x" * (4 * 1024 * 1024 + 1))
    (tmp_path / "latin1").write_bytes("café".encode("latin-1"))
    (tmp_path / "utf16").write_bytes("\ufeffPyTorch version: 2.5".encode("utf-16-le"))
    for name, words in (("fifo", "FIFO"), ("big", "larger than 4 MB"), ("latin1", "not UTF-8 text (byte 0xe9 at offset 3)")):
        with pytest.raises(UserError, match=re.escape(words)):
            read_text(tmp_path / name, name)
    with pytest.raises(UserError, match="a character device"):
        read_text(Path("/dev/zero"), "zero")
    assert read_text(tmp_path / "utf16", "utf16") == "PyTorch version: 2.5"  # PowerShell's `>` writes UTF-16


def test_a_folder_on_proc_is_refused_before_writing() -> None:
    with pytest.raises(UserError, match="/proc"):
        check_writable(Path("/proc/torchlab"), "--dir /proc/torchlab")


def test_a_running_lab_whose_workspace_vanished_is_broken_with_its_fix(tmp_path: Path) -> None:
    lab = RunningLab("module-1", "1.0.0", "docker", "cpu", "cpu", str(tmp_path / "gone"), "running", 1.0)
    assert lab.health() == "broken: workspace gone" and lab.workspace_gone
    assert lab.to_json(2.0)["fix"].endswith("`torchlab down module-1`, then `torchlab up module-1` makes a fresh one")
    kept = RunningLab("module-1", "1.0.0", "docker", "cpu", "cpu", str(tmp_path), "running", 1.0)
    assert kept.health() == "no jupyter" and kept.fix() is None
