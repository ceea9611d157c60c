"""The lab catalog: loading lab.toml, validation messages, ids and aliases, where labs live."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from labkit import BASE_TOML, REAL_LABS, make_lab, write_lab_toml

from torchlab.config import load_config
from torchlab.errors import USAGE, UserError
from torchlab.lab.catalog import (
    find_lab,
    load_catalog,
    load_lab,
    resolve_labs_dir,
    semver_key,
    shipped_labs_dir,
)


@pytest.fixture
def labs_dir(tmp_path: Path) -> Path:
    root = tmp_path / "labs"
    make_lab(root, "module-0", aliases=["m0", "start"], accelerator="optional")
    make_lab(root, "module-1", version="1.2.0", aliases=["m1", "tensors"], accelerator="recommended")
    make_lab(root, "module-4", aliases=["m4", "transformers"], accelerator="required")
    (root / "_smoke").mkdir()
    (root / "_smoke" / "runner.py").write_text("", encoding="utf-8")
    (root / ".git-stuff").mkdir()
    return root


def test_load_lab_reads_every_field(labs_dir: Path) -> None:
    lab = load_lab(labs_dir / "module-1")
    assert (lab.id, lab.version, lab.title, lab.summary) == ("module-1", "1.2.0", "Tensors", "Tensor basics.")
    assert lab.aliases == ("m1", "tensors")
    assert lab.packages == ("numpy",)
    assert (lab.min_torch, lab.accelerator) == ("2.1", "recommended")
    assert (lab.min_ram_gb, lab.min_vram_gb, lab.disk_gb) == (4.0, 0.0, 1.5)
    assert lab.workspace_dir == labs_dir / "module-1" / "workspace"
    assert lab.checks_file == labs_dir / "module-1" / "smoke" / "checks.py"


def test_catalog_skips_underscore_and_hidden_folders(labs_dir: Path) -> None:
    catalog = load_catalog(labs_dir)
    assert catalog.ids == ("module-0", "module-1", "module-4")
    assert catalog.runner == labs_dir / "_smoke" / "runner.py"


@pytest.mark.parametrize(
    ("name", "lab_id"),
    [("module-1", "module-1"), ("m1", "module-1"), ("Tensors", "module-1"), (" M4 ", "module-4"),
     ("start", "module-0")],
)
def test_find_lab_by_id_or_alias(labs_dir: Path, name: str, lab_id: str) -> None:
    assert find_lab(load_catalog(labs_dir), name).id == lab_id


def test_unknown_lab_names_the_nearest_ids(labs_dir: Path) -> None:
    with pytest.raises(UserError) as caught:
        find_lab(load_catalog(labs_dir), "modul-4")
    assert caught.value.exit_code == USAGE
    message = caught.value.format_message()
    assert message.startswith('unknown lab "modul-4"; did you mean module-4')
    assert message.endswith("(labs: module-0, module-1, module-4)")


def test_unknown_lab_far_from_every_name_lists_them_all(labs_dir: Path) -> None:
    with pytest.raises(UserError) as caught:
        find_lab(load_catalog(labs_dir), "zzz")
    assert caught.value.format_message() == 'unknown lab "zzz"; expected one of: module-0, module-1, module-4'


@pytest.mark.parametrize(
    ("field", "bad", "expected"),
    [
        ("version", "one", 'version: expected a semver like "1.2.0", got "one"'),
        ("version", "1.2", 'version: expected a semver like "1.2.0", got "1.2"'),
        ("title", "", 'title: expected a non-empty string, got ""'),
        ("summary", 3, "summary: expected a string, got 3"),
        ("aliases", "m1", 'aliases: expected a list of non-empty strings like ["m1"], got "m1"'),
        ("packages", ["torch", 2], 'packages: expected a list of non-empty strings like ["m1"], got ["torch", 2]'),
        ("min_torch", "latest", 'min_torch: expected a torch version like "2.1" or "2.1.0", got "latest"'),
        ("accelerator", "gpu", 'accelerator: expected one of "optional", "recommended", "required", got "gpu"'),
        ("min_ram_gb", -1, "min_ram_gb: expected a number >= 0 (GB), got -1"),
        ("min_vram_gb", "8", 'min_vram_gb: expected a number >= 0 (GB), got "8"'),
        ("disk_gb", True, "disk_gb: expected a number >= 0 (GB), got true"),
    ],
)
def test_malformed_field_is_named_with_what_was_expected(
    tmp_path: Path, field: str, bad: object, expected: str
) -> None:
    lab_dir = make_lab(tmp_path, "module-1", **{field: bad})
    with pytest.raises(UserError) as caught:
        load_lab(lab_dir)
    assert caught.value.exit_code == USAGE
    assert caught.value.format_message() == f"{lab_dir / 'lab.toml'}: {expected}"


def test_missing_and_unknown_keys_are_named(tmp_path: Path) -> None:
    lab_dir = make_lab(tmp_path, "module-1")
    write_lab_toml(lab_dir, {"id": "module-1", **{k: v for k, v in BASE_TOML.items() if k != "title"}})
    with pytest.raises(UserError, match=r"lab\.toml: title: missing; expected a non-empty string$"):
        load_lab(lab_dir)
    write_lab_toml(lab_dir, {"id": "module-1", "version": "1.0.0", **BASE_TOML, "gpus": 1})
    with pytest.raises(UserError, match=r"lab\.toml: gpus: unknown key; expected only id, title, version"):
        load_lab(lab_dir)


def test_id_must_match_the_folder(tmp_path: Path) -> None:
    lab_dir = make_lab(tmp_path, "module-1", id="module-9")
    with pytest.raises(UserError) as caught:
        load_lab(lab_dir)
    assert caught.value.format_message().endswith(
        "lab.toml: id: expected \"module-1\" (the folder's name), got \"module-9\""
    )


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    lab_dir = make_lab(tmp_path, "module-1")
    (lab_dir / "lab.toml").write_text('id = "module-1\n', encoding="utf-8")
    with pytest.raises(UserError, match=r"module-1/lab\.toml: not valid TOML"):
        load_lab(lab_dir)


@pytest.mark.parametrize("part", ["workspace", "smoke/checks.py"])
def test_missing_part_of_a_lab_is_named(tmp_path: Path, part: str) -> None:
    lab_dir = make_lab(tmp_path, "module-1")
    target = lab_dir / part
    target.rmdir() if target.is_dir() else target.unlink()
    with pytest.raises(UserError, match=f"module-1: missing {part}"):
        load_lab(lab_dir)


def test_an_alias_used_by_two_labs_is_refused(tmp_path: Path) -> None:
    make_lab(tmp_path, "module-1", aliases=["basics"])
    make_lab(tmp_path, "module-2", aliases=["basics"])
    with pytest.raises(UserError, match=r'module-2/lab\.toml: aliases: "basics" already names lab module-1'):
        load_catalog(tmp_path)


def test_missing_labs_folder_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="labs folder .*nowhere: not found"):
        load_catalog(tmp_path / "nowhere")


def test_semver_order() -> None:
    versions = ["1.10.0", "1.2.0", "1.2.0-rc1", "0.9.9", "2.0.0"]
    assert sorted(versions, key=semver_key) == ["0.9.9", "1.2.0-rc1", "1.2.0", "1.10.0", "2.0.0"]


def test_labs_dir_flag_beats_setting_beats_shipped(tmp_path: Path) -> None:
    (tmp_path / "env-labs").mkdir()
    (tmp_path / "flag-labs").mkdir()
    env = {"TORCHLAB_CONFIG": str(tmp_path / "none.toml"), "TORCHLAB_LABS_DIR": str(tmp_path / "env-labs")}
    config = load_config(env=env)
    assert resolve_labs_dir(tmp_path / "flag-labs", config) == tmp_path / "flag-labs"
    assert resolve_labs_dir(None, config) == tmp_path / "env-labs"
    plain = load_config(env={"TORCHLAB_CONFIG": str(tmp_path / "none.toml")})
    assert resolve_labs_dir(None, plain) == REAL_LABS


def test_shipped_labs_in_a_checkout_are_the_repo_labs_folder() -> None:
    assert shipped_labs_dir() == REAL_LABS


def test_shipped_labs_of_a_wheel_install_are_under_share(tmp_path: Path) -> None:
    package_file = tmp_path / "lib" / "site-packages" / "torchlab" / "__init__.py"
    found = shipped_labs_dir(str(package_file))
    assert found.parts[-3:] == ("share", "torchlab", "labs")
    assert found == Path(sys.prefix, "share", "torchlab", "labs") or found.is_dir()
