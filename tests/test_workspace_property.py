"""Property: over any history of user edits, new lab versions and (interrupted) upgrades,
no byte the user wrote is lost or moved, and every file the user never touched is the newest."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from conftest import need_module

need_module("hypothesis", 'pip install -e ".[dev]"')

from hypothesis import HealthCheck, settings  # noqa: E402 - after the check above
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from labkit import make_lab, tree

from torchlab.errors import UserError
from torchlab.lab.catalog import Lab, load_lab
from torchlab.lab.workspace import init_workspace, read_record, upgrade_workspace, write_atomic

LAB_PATHS = ("a.txt", "b.py", "nb/c.ipynb", "nb/d.ipynb", "e", "f/g/h.md")
# The user also picks names torchlab uses for side files (a.v1.2.0.txt is where v1.2.0 of a.txt goes).
USER_PATHS = (*LAB_PATHS, "a.v1.2.0.txt", "nb/c.v1.3.0.ipynb", "b.v1.2.0.py", "notes.md")


class Interrupted(Exception):
    """A crash in the middle of an upgrade."""


def interrupting_writer(successes: int):
    """write_atomic that completes `successes` writes, then leaves a half-written temp and stops."""
    done: list[str] = []

    def write(root: Path, rel: str, data: bytes) -> None:
        if len(done) >= successes:
            tmp = root / ".torchlab" / "tmp"
            tmp.mkdir(parents=True, exist_ok=True)
            (tmp / "half-written").write_bytes(data[: len(data) // 2])
            raise Interrupted(rel)
        done.append(rel)
        write_atomic(root, rel, data)

    return write


class WorkspaceHistory(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="torchlab-prop-"))
        self.ws = self.tmp / "ws"
        self.minor = 1
        self.content = {rel: self.lab_bytes(rel) for rel in LAB_PATHS[:3]}
        self.lab = self.make_version()
        self.user: dict[str, bytes] = {}  # what the user last wrote at each path
        self.touched: set[str] = set()  # every path the user edited, deleted or added
        self.deleted: set[str] = set()  # torchlab's files the user deleted, still in every version since
        self.writes = 0
        init_workspace(self.lab, self.ws)

    def teardown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def lab_bytes(self, rel: str) -> bytes:
        return f"lab 1.{self.minor}.0 {rel}\n".encode()

    def make_version(self) -> Lab:
        labs = self.tmp / f"labs-{self.minor}"
        return load_lab(make_lab(labs, "module-1", f"1.{self.minor}.0", self.content))

    def user_bytes(self) -> bytes:
        self.writes += 1
        return f"user wrote this, #{self.writes}\n".encode()

    def existing(self) -> list[str]:
        return sorted(tree(self.ws))

    # --- what the user does -------------------------------------------------------------

    @precondition(lambda self: bool(tree(self.ws)))
    @rule(data=st.data())
    def user_edits_a_file(self, data: st.DataObject) -> None:
        rel = data.draw(st.sampled_from(self.existing()))
        self.user[rel] = self.user_bytes()
        (self.ws / rel).write_bytes(self.user[rel])
        self.touched.add(rel)

    @precondition(lambda self: bool(tree(self.ws)))
    @rule(data=st.data())
    def user_deletes_a_file(self, data: st.DataObject) -> None:
        rel = data.draw(st.sampled_from(self.existing()))
        record = read_record(self.ws)
        if record is not None and rel in record.files and rel in self.content:
            self.deleted.add(rel)
        (self.ws / rel).unlink()
        self.user.pop(rel, None)
        self.touched.add(rel)

    @rule(rel=st.sampled_from(USER_PATHS))
    def user_adds_a_file(self, rel: str) -> None:
        path = self.ws / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        self.user[rel] = self.user_bytes()
        path.write_bytes(self.user[rel])
        self.touched.add(rel)
        self.deleted.discard(rel)

    # --- what the course authors do -----------------------------------------------------

    @rule(
        changed=st.sets(st.sampled_from(LAB_PATHS)),
        removed=st.sets(st.sampled_from(LAB_PATHS)),
    )
    def a_new_lab_version(self, changed: set[str], removed: set[str]) -> None:
        self.minor += 1
        for rel in sorted(changed):  # changes an existing file or adds a new one
            self.content[rel] = self.lab_bytes(rel)
        for rel in sorted(removed - changed):
            self.content.pop(rel, None)
            self.deleted.discard(rel)
        self.lab = self.make_version()

    # --- what torchlab does ---------------------------------------------------------------

    @rule()
    def upgrade(self) -> None:
        upgrade_workspace(self.lab, self.ws)
        self.check_up_to_date()

    @rule(successes=st.integers(min_value=0, max_value=6))
    def interrupted_upgrade_then_rerun(self, successes: int) -> None:
        try:
            upgrade_workspace(self.lab, self.ws, interrupting_writer(successes))
        except (Interrupted, UserError):
            pass
        self.check_no_user_byte_lost()
        upgrade_workspace(self.lab, self.ws)
        self.check_up_to_date()

    def check_up_to_date(self) -> None:
        on_disk = tree(self.ws)
        for rel, data in self.content.items():
            if rel not in self.touched:
                assert on_disk.get(rel) == data, f"{rel} was never touched by the user, yet is not the newest"
        for rel in self.deleted:
            assert rel not in on_disk, f"{rel} was deleted by the user, yet came back"
        record = read_record(self.ws)
        assert record is not None and record.version == self.lab.version

    @invariant()
    def check_no_user_byte_lost(self) -> None:
        on_disk = tree(self.ws)
        for rel, data in self.user.items():
            assert on_disk.get(rel) == data, f"the user's {rel} was changed, moved or deleted"


TestWorkspaceHistory = pytest.mark.slow(WorkspaceHistory.TestCase)
TestWorkspaceHistory.settings = settings(
    max_examples=60,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
