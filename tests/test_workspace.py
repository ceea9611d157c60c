"""Workspaces: init, refusals that touch nothing, damaged records, and upgrades case by case."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from labkit import REAL_LABS, make_lab, tree

from torchlab.errors import USAGE, UserError
from torchlab.lab.catalog import Lab, load_catalog, load_lab
from torchlab.lab.workspace import (
    Conflict,
    init_workspace,
    plan_upgrade,
    read_record,
    sha256_bytes,
    side_file_name,
    upgrade_workspace,
    write_atomic,
)

V1 = {
    "intro.ipynb": b'{"cells": ["v1 intro"]}',
    "exercises/ex1.py": b"# v1 exercise 1\n",
    "exercises/ex2.py": b"# v1 exercise 2\n",
    "data/README.md": b"v1 data readme\n",
}


def bump(lab: Lab, version: str, changes: dict[str, bytes | None], root: Path) -> Lab:
    """A newer lab: a copy of lab's folder with its version bumped and files changed (None: removed)."""
    newer = root / lab.id
    shutil.copytree(lab.path, newer)
    toml = (newer / "lab.toml").read_text(encoding="utf-8")
    (newer / "lab.toml").write_text(toml.replace(f'"{lab.version}"', f'"{version}"'), encoding="utf-8")
    for rel, data in changes.items():
        path = newer / "workspace" / rel
        if data is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    return load_lab(newer)


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    return load_lab(make_lab(tmp_path / "labs", "module-1", "1.0.0", V1))


@pytest.fixture
def ws(tmp_path: Path, lab: Lab) -> Path:
    root = tmp_path / "ws"
    init_workspace(lab, root)
    return root


def test_init_copies_the_lab_and_records_each_hash(tmp_path: Path, lab: Lab) -> None:
    result = init_workspace(lab, tmp_path / "new" / "ws")
    root = tmp_path / "new" / "ws"
    assert tree(root) == V1
    assert (result.created, result.version, sorted(result.added)) == (True, "1.0.0", sorted(V1))
    record = json.loads((root / ".torchlab" / "workspace.json").read_text(encoding="utf-8"))
    assert record == {
        "schema": "torchlab.workspace/1",
        "lab": "module-1",
        "version": "1.0.0",
        "files": {rel: sha256_bytes(data) for rel, data in sorted(V1.items())},
    }
    assert not (root / ".torchlab" / "tmp").exists() or not any((root / ".torchlab" / "tmp").iterdir())


def test_init_again_adds_only_missing_files(ws: Path, lab: Lab) -> None:
    (ws / "intro.ipynb").write_bytes(b"my notes")
    (ws / "exercises" / "ex2.py").unlink()
    (ws / "mine.txt").write_bytes(b"mine")
    result = init_workspace(lab, ws)
    assert (result.created, result.added) == (False, ("exercises/ex2.py",))
    assert tree(ws) == {**V1, "intro.ipynb": b"my notes", "mine.txt": b"mine"}


def test_init_refuses_a_non_empty_folder_that_is_no_workspace(tmp_path: Path, lab: Lab) -> None:
    target = tmp_path / "thesis"
    target.mkdir()
    (target / "chapter1.tex").write_bytes(b"precious")
    with pytest.raises(UserError) as caught:
        init_workspace(lab, target)
    assert caught.value.exit_code == USAGE
    assert "not empty and not a torchlab workspace" in caught.value.format_message()
    assert [p.name for p in target.rglob("*")] == ["chapter1.tex"]
    assert (target / "chapter1.tex").read_bytes() == b"precious"


def test_init_refuses_a_workspace_of_another_lab(tmp_path: Path, ws: Path) -> None:
    other = load_lab(make_lab(tmp_path / "labs", "module-2", "1.0.0", {"x.py": b"x"}))
    before = tree(ws)
    with pytest.raises(UserError, match=r"holds lab module-1, not module-2"):
        init_workspace(other, ws)
    assert tree(ws) == before


def test_init_completes_after_an_interrupted_init(tmp_path: Path, lab: Lab) -> None:
    root = tmp_path / "ws"
    calls = []

    def write_then_fail(root_: Path, rel: str, data: bytes) -> None:
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(rel)
        write_atomic(root_, rel, data)

    with pytest.raises(KeyboardInterrupt):
        init_workspace(lab, root, write_then_fail)
    assert calls[0] == ".torchlab/workspace.json"  # the record comes first, so a rerun is "add missing"
    result = init_workspace(lab, root)
    assert len(result.added) == len(V1) - 1
    assert tree(root) == V1


def test_init_of_an_older_workspace_adds_nothing(tmp_path: Path, ws: Path, lab: Lab) -> None:
    newer = bump(lab, "1.1.0", {"new.py": b"new"}, tmp_path / "newer")
    (ws / "intro.ipynb").unlink()
    result = init_workspace(newer, ws)
    assert (result.version, result.shipped_version, result.added) == ("1.0.0", "1.1.0", ())
    assert "new.py" not in tree(ws) and "intro.ipynb" not in tree(ws)


DAMAGED = [
    ("not json", "not valid JSON"),
    ('{"schema": "torchlab.workspace/9", "lab": "module-1", "version": "1.0.0", "files": {}}', '"schema"'),
    ('["torchlab.workspace/1"]', '"schema"'),
    ('{"schema": "torchlab.workspace/1", "lab": "module-1", "version": "1.0.0", "files": []}', "files: expected"),
    ('{"schema": "torchlab.workspace/1", "lab": "module-1", "version": "v1", "files": {}}', "version: expected"),
    ('{"schema": "torchlab.workspace/1", "lab": 3, "version": "1.0.0", "files": {}}', "lab: expected"),
    ('{"schema": "torchlab.workspace/1", "lab": "module-1", "version": "1.0.0", "files": {"a": "xyz"}}', '"a"'),
    ('{"schema": "torchlab.workspace/1", "lab": "module-1", "version": "1.0.0", "files": {"../a": "'
     + "0" * 64 + '"}}', '"../a"'),
]


@pytest.mark.parametrize(("text", "named"), DAMAGED)
@pytest.mark.parametrize("operation", [init_workspace, upgrade_workspace])
def test_a_damaged_record_is_set_aside_and_no_file_of_the_users_is_touched(
    ws: Path, lab: Lab, text: str, named: str, operation: object
) -> None:
    record = ws / ".torchlab" / "workspace.json"
    record.write_text(text, encoding="utf-8")
    (ws / "intro.ipynb").unlink()
    (ws / "exercises" / "ex1.py").write_bytes(b"my answer")
    (ws / "notes.md").write_bytes(b"mine")
    before = {rel: data for rel, data in tree(ws).items() if not rel.startswith(".torchlab/")}
    result = operation(lab, ws)  # type: ignore[operator]
    assert result.set_aside is not None and result.set_aside.path == record and named in result.set_aside.why
    assert result.set_aside.moved_to == record.with_name("workspace.json.corrupt")
    assert result.set_aside.moved_to.read_text(encoding="utf-8") == text  # kept for a look, never deleted
    after = tree(ws)
    assert {rel: after[rel] for rel in before} == before  # every byte of the user's as it was
    assert after["intro.ipynb"] == V1["intro.ipynb"]  # the missing lab file is back
    assert after["exercises/ex1.v1.0.0.py"] == V1["exercises/ex1.py"]  # the lab's beside the user's change
    adopted = read_record(ws)
    assert adopted is not None and (adopted.lab, adopted.version) == ("module-1", "1.0.0")
    assert "exercises/ex1.py" not in adopted.files and "exercises/ex2.py" in adopted.files
    again = operation(lab, ws)  # type: ignore[operator]
    assert again.set_aside is None and tree(ws) == after


@pytest.mark.parametrize("make_damage", [
    lambda record: (record.unlink(), record.mkdir()),
    lambda record: record.write_bytes(b"\xff\xfe\x00binary"),
    lambda record: (shutil.rmtree(record.parent), record.parent.write_bytes(b"a file")),
])
def test_a_record_that_is_a_folder_binary_or_under_a_file_is_set_aside_too(ws: Path, lab: Lab, make_damage) -> None:
    record = ws / ".torchlab" / "workspace.json"
    make_damage(record)
    result = init_workspace(lab, ws)
    assert result.set_aside is not None and result.set_aside.moved_to.name.endswith(".corrupt")
    assert read_record(ws) is not None and tree(ws)["intro.ipynb"] == V1["intro.ipynb"]


# --- upgrade, case by case ------------------------------------------------------------------


def test_untouched_files_are_updated_and_the_record_follows(tmp_path: Path, ws: Path, lab: Lab) -> None:
    newer = bump(lab, "1.1.0", {"exercises/ex1.py": b"# v2 exercise 1\n"}, tmp_path / "newer")
    result = upgrade_workspace(newer, ws)
    assert (result.from_version, result.to_version) == ("1.0.0", "1.1.0")
    assert result.updated == ("exercises/ex1.py",)
    assert result.unchanged == ("data/README.md", "exercises/ex2.py", "intro.ipynb")
    assert (result.kept, result.added, result.removed_upstream, result.deleted_by_user) == ((), (), (), ())
    assert tree(ws) == {**V1, "exercises/ex1.py": b"# v2 exercise 1\n"}
    record = read_record(ws)
    assert record is not None and record.version == "1.1.0"
    assert record.files["exercises/ex1.py"] == sha256_bytes(b"# v2 exercise 1\n")


def test_a_changed_file_is_kept_and_the_new_one_goes_beside_it(tmp_path: Path, ws: Path, lab: Lab) -> None:
    (ws / "intro.ipynb").write_bytes(b"my answers")
    newer = bump(lab, "1.1.0", {"intro.ipynb": b'{"cells": ["v2 intro"]}'}, tmp_path / "newer")
    result = upgrade_workspace(newer, ws)
    assert result.kept == (Conflict("intro.ipynb", "intro.v1.1.0.ipynb"),)
    assert (ws / "intro.ipynb").read_bytes() == b"my answers"
    assert (ws / "intro.v1.1.0.ipynb").read_bytes() == b'{"cells": ["v2 intro"]}'
    again = upgrade_workspace(newer, ws)  # a rerun reuses the side file, writes no second one
    assert again.kept == result.kept and len(tree(ws)) == len(V1) + 1


def test_a_taken_side_file_name_gets_a_counter(tmp_path: Path, ws: Path, lab: Lab) -> None:
    (ws / "exercises" / "ex1.py").write_bytes(b"# mine\n")
    (ws / "exercises" / "ex1.v1.1.0.py").write_bytes(b"# also mine\n")
    newer = bump(lab, "1.1.0", {"exercises/ex1.py": b"# v2\n"}, tmp_path / "newer")
    result = upgrade_workspace(newer, ws)
    assert result.kept == (Conflict("exercises/ex1.py", "exercises/ex1.v1.1.0-2.py"),)
    assert (ws / "exercises" / "ex1.v1.1.0.py").read_bytes() == b"# also mine\n"
    assert (ws / "exercises" / "ex1.v1.1.0-2.py").read_bytes() == b"# v2\n"


def test_new_files_are_added_and_a_user_file_in_the_way_is_kept(tmp_path: Path, ws: Path, lab: Lab) -> None:
    (ws / "solutions.py").write_bytes(b"my solutions")
    changes = {"solutions.py": b"official solutions", "exercises/ex3.py": b"# v2 exercise 3\n"}
    result = upgrade_workspace(bump(lab, "1.1.0", changes, tmp_path / "newer"), ws)
    assert result.added == ("exercises/ex3.py",)
    assert result.kept == (Conflict("solutions.py", "solutions.v1.1.0.py"),)
    assert tree(ws) == {
        **V1, "exercises/ex3.py": b"# v2 exercise 3\n",
        "solutions.py": b"my solutions", "solutions.v1.1.0.py": b"official solutions",
    }


def test_files_removed_upstream_are_left_and_reported(tmp_path: Path, ws: Path, lab: Lab) -> None:
    (ws / "exercises" / "ex2.py").write_bytes(b"# my work on ex2\n")
    newer = bump(lab, "1.1.0", {"data/README.md": None, "exercises/ex2.py": None}, tmp_path / "newer")
    result = upgrade_workspace(newer, ws)
    assert result.removed_upstream == ("data/README.md", "exercises/ex2.py")
    assert tree(ws) == {**V1, "exercises/ex2.py": b"# my work on ex2\n"}


def test_a_file_the_user_deleted_stays_deleted(tmp_path: Path, ws: Path, lab: Lab) -> None:
    (ws / "data" / "README.md").unlink()
    v11 = bump(lab, "1.1.0", {"data/README.md": b"v2 readme\n"}, tmp_path / "v11")
    assert upgrade_workspace(v11, ws).deleted_by_user == ("data/README.md",)
    v12 = bump(v11, "1.2.0", {"data/README.md": b"v3 readme\n"}, tmp_path / "v12")
    assert upgrade_workspace(v12, ws).deleted_by_user == ("data/README.md",)
    assert "data/README.md" not in tree(ws)


def test_a_removed_file_brought_back_later_is_updated_if_untouched(tmp_path: Path, ws: Path, lab: Lab) -> None:
    v11 = bump(lab, "1.1.0", {"exercises/ex2.py": None}, tmp_path / "v11")
    upgrade_workspace(v11, ws)
    v12 = bump(v11, "1.2.0", {"exercises/ex2.py": b"# v3 exercise 2\n"}, tmp_path / "v12")
    assert upgrade_workspace(v12, ws).updated == ("exercises/ex2.py",)
    assert (ws / "exercises" / "ex2.py").read_bytes() == b"# v3 exercise 2\n"


def test_an_interrupted_upgrade_completes_when_rerun(tmp_path: Path, ws: Path, lab: Lab) -> None:
    (ws / "intro.ipynb").write_bytes(b"mine")
    changes = {"intro.ipynb": b"v2 intro", "exercises/ex1.py": b"v2 ex1", "exercises/ex2.py": b"v2 ex2",
               "new.py": b"v2 new"}
    newer = bump(lab, "1.1.0", changes, tmp_path / "newer")
    written: list[str] = []

    def write_then_fail(root: Path, rel: str, data: bytes) -> None:
        if len(written) == 2:
            raise OSError("disk full")
        written.append(rel)
        write_atomic(root, rel, data)

    with pytest.raises(UserError, match="cannot write"):
        upgrade_workspace(newer, ws, write_then_fail)
    assert read_record(ws).version == "1.0.0"  # type: ignore[union-attr]
    upgrade_workspace(newer, ws)
    assert tree(ws) == {**V1, **changes, "intro.ipynb": b"mine", "intro.v1.1.0.ipynb": b"v2 intro"}
    assert read_record(ws).version == "1.1.0"  # type: ignore[union-attr]


def test_upgrade_needs_a_workspace_of_an_older_version(tmp_path: Path, ws: Path, lab: Lab) -> None:
    with pytest.raises(UserError, match=r"not a torchlab workspace .*torchlab labs init module-1"):
        upgrade_workspace(lab, tmp_path / "elsewhere")
    newer = bump(lab, "2.0.0", {}, tmp_path / "newer")
    upgrade_workspace(newer, ws)
    before = tree(ws)
    with pytest.raises(UserError, match=r"at version 2\.0\.0, newer than the shipped module-1 1\.0\.0"):
        upgrade_workspace(lab, ws)
    assert tree(ws) == before


def test_the_plan_is_data_computed_from_hashes_alone(tmp_path: Path, ws: Path, lab: Lab) -> None:
    record = read_record(ws)
    assert record is not None
    disk = {**record.files, "intro.ipynb": sha256_bytes(b"edited")}
    new_files = {rel: tmp_path / rel for rel in ("intro.ipynb", "exercises/ex1.py")}
    new_hashes = {"intro.ipynb": "1" * 64, "exercises/ex1.py": record.files["exercises/ex1.py"]}
    plan = plan_upgrade(record, new_files, new_hashes, "1.1.0", disk.get, ws)
    assert plan.result.kept == (Conflict("intro.ipynb", "intro.v1.1.0.ipynb"),)
    assert plan.result.unchanged == ("exercises/ex1.py",)
    assert plan.result.removed_upstream == ("data/README.md", "exercises/ex2.py")
    assert [w.dest for w in plan.writes] == ["intro.v1.1.0.ipynb"]
    assert tree(ws) == V1  # planning wrote nothing


@pytest.mark.parametrize(
    ("rel", "side"),
    [("intro.ipynb", "intro.v1.1.0.ipynb"), ("a/b/Makefile", "a/b/Makefile.v1.1.0"),
     ("x.tar.gz", "x.tar.v1.1.0.gz"), (".gitignore", ".gitignore.v1.1.0")],
)
def test_side_file_names(rel: str, side: str) -> None:
    assert side_file_name(rel, "1.1.0") == side


def test_real_labs_make_workspaces_and_upgrade(tmp_path: Path) -> None:
    catalog = load_catalog(REAL_LABS)
    if not catalog.labs:
        pytest.skip("no labs in the checkout yet")
    for real in catalog.labs:
        root = tmp_path / "ws" / real.id
        result = init_workspace(real, root)
        assert result.created and tree(root) == {rel: (real.workspace_dir / rel).read_bytes() for rel in result.added}
        assert result.added, f"{real.id} gives a learner no workspace files"
        first = sorted(result.added)[0]
        (root / first).write_bytes(b"learner's work")
        newer = bump(real, "99.0.0", {first: b"newer"}, tmp_path / "newer")
        assert upgrade_workspace(newer, root).kept == (Conflict(first, side_file_name(first, "99.0.0")),)
        assert (root / first).read_bytes() == b"learner's work"
