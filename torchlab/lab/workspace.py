"""Lab workspaces: the learner's copy of a lab's files, and safe upgrades to newer lab versions.

A workspace is a folder with the lab's workspace files and a record, .torchlab/workspace.json,
of the lab id and version it was made from and the sha256 of each file torchlab wrote there.
A file whose bytes still match the record is the user's untouched copy and may be replaced; any
other file is the user's and is never overwritten, moved or deleted. Plans are data computed
first (pure functions of the record, the disk's hashes and the lab); applying them writes each
file atomically and the record last, so rerunning an interrupted upgrade completes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from torchlab.config import Config
from torchlab.errors import HOST_UNFIT, UserError
from torchlab.files import host_error, kind_of, read_text, set_aside
from torchlab.lab.catalog import SEMVER, Lab, semver_key

SCHEMA = "torchlab.workspace/1"
RECORD = PurePosixPath(".torchlab", "workspace.json")
STATE_DIR = ".torchlab"
SKIPPED_NAMES = frozenset({"__pycache__", ".ipynb_checkpoints", ".DS_Store", STATE_DIR})
SHA256 = re.compile(r"^[0-9a-f]{64}$")
NOT_A_FILE = "not-a-file"  # the "hash" of a folder or other non-file sitting where a file goes

HashOf = Callable[[str], "str | None"]  # relpath -> sha256 of what is on disk, None if nothing
WriteFile = Callable[[Path, str, bytes], None]  # (workspace, relpath, bytes)


@dataclass(frozen=True)
class WorkspaceRecord:
    lab: str
    version: str
    files: Mapping[str, str]  # relpath (posix) -> sha256 of the bytes torchlab wrote there

    def to_dict(self) -> dict[str, object]:
        files = dict(sorted(self.files.items()))
        return {"schema": SCHEMA, "lab": self.lab, "version": self.version, "files": files}


@dataclass(frozen=True)
class FileWrite:
    dest: str  # relpath in the workspace
    source: Path  # the lab's file


@dataclass(frozen=True)
class Conflict:
    path: str  # the user's file, kept as it is
    side_file: str  # where the new version was written instead


class DamagedRecord(UserError):
    """The workspace record cannot be trusted: torchlab sets it aside (NAME.corrupt) and goes on."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"{path}: {why}; the workspace record is damaged")
        self.path = path
        self.why = why


@dataclass(frozen=True)
class SetAside:
    """A damaged record moved out of the way (kept for a look, never deleted)."""

    path: Path
    moved_to: Path
    why: str

    def describe(self) -> str:
        return (f"the workspace record {self.path} was damaged ({self.why}); set aside as {self.moved_to}: "
                "files that match the lab are torchlab's again, every other file is kept as yours")


@dataclass(frozen=True)
class InitResult:
    lab: str
    path: Path
    version: str  # the workspace's version (not the shipped one when they differ)
    created: bool
    added: tuple[str, ...]
    shipped_version: str
    set_aside: SetAside | None = None


@dataclass(frozen=True)
class UpgradeResult:
    lab: str
    path: Path
    from_version: str
    to_version: str
    updated: tuple[str, ...] = ()
    kept: tuple[Conflict, ...] = ()  # changed by the user; the new version lies beside
    added: tuple[str, ...] = ()
    removed_upstream: tuple[str, ...] = ()  # no longer in the lab; left in place
    deleted_by_user: tuple[str, ...] = ()  # stays deleted
    unchanged: tuple[str, ...] = ()
    set_aside: SetAside | None = None


@dataclass(frozen=True)
class UpgradePlan:
    result: UpgradeResult
    writes: tuple[FileWrite, ...]
    record: WorkspaceRecord


# --- reading: the lab's files, the record, the disk ----------------------------------------


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def lab_files(lab: Lab) -> dict[str, Path]:
    """relpath -> file, for every file the lab gives a learner (caches and checkpoints left out)."""
    root = lab.workspace_dir
    files: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_NAMES)
        for name in sorted(filenames):
            if name not in SKIPPED_NAMES and not name.endswith(".pyc"):
                path = Path(dirpath, name)
                files[path.relative_to(root).as_posix()] = path
    return files


def lab_hashes(files: Mapping[str, Path]) -> dict[str, str]:
    return {rel: sha256_bytes(path.read_bytes()) for rel, path in files.items()}


def disk_hasher(root: Path) -> HashOf:
    def hash_of(rel: str) -> str | None:
        path = root / rel
        if path.is_symlink() or (path.exists() and not path.is_file()):
            return NOT_A_FILE
        try:
            return sha256_bytes(path.read_bytes())
        except (FileNotFoundError, NotADirectoryError):
            return None

    return hash_of


def is_safe_relpath(rel: object) -> bool:
    if not isinstance(rel, str) or not rel or "\\" in rel:
        return False
    parts = PurePosixPath(rel).parts
    return not PurePosixPath(rel).is_absolute() and ".." not in parts and parts[0] != STATE_DIR


def parse_record(data: object, record_path: Path) -> WorkspaceRecord:
    def bad(what: str) -> UserError:
        return DamagedRecord(record_path, what)

    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise bad(f'expected a JSON object with "schema": "{SCHEMA}"')
    if not isinstance(data.get("lab"), str) or not data["lab"]:
        raise bad(f'lab: expected a lab id, got {json.dumps(data.get("lab"))}')
    if not isinstance(data.get("version"), str) or not SEMVER.match(data["version"]):
        raise bad(f'version: expected a semver like "1.2.0", got {json.dumps(data.get("version"))}')
    files = data.get("files")
    if not isinstance(files, dict):
        raise bad("files: expected an object of relative path -> sha256")
    for rel, sha in files.items():
        if not is_safe_relpath(rel) or not isinstance(sha, str) or not SHA256.match(sha):
            raise bad(f"files: {json.dumps(rel)}: expected a relative path inside the workspace -> sha256")
    return WorkspaceRecord(lab=data["lab"], version=data["version"], files=dict(files))


def read_record(root: Path) -> WorkspaceRecord | None:
    """The workspace's record; None when root holds none; a damaged one raises DamagedRecord (a
    UserError), one this user may not read a UserError of exit 3."""
    state_dir, record_path = root / STATE_DIR, root / RECORD
    try:
        if not stat.S_ISDIR(os.stat(state_dir).st_mode):
            raise DamagedRecord(state_dir, "a file where torchlab keeps its folder")
        mode = os.lstat(record_path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    if not stat.S_ISREG(mode):
        raise DamagedRecord(record_path, f"{kind_of(mode)}, not a file")
    if not os.access(record_path, os.R_OK):
        raise UserError(f"{record_path}: you may not read this workspace record; make the workspace yours (chown)",
                        HOST_UNFIT)
    try:
        text = read_text(record_path, "it")
    except UserError as exc:
        raise DamagedRecord(record_path, exc.format_message()) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DamagedRecord(record_path, f"not valid JSON ({exc})") from None
    return parse_record(data, record_path)


def record_or_set_aside(root: Path) -> tuple[WorkspaceRecord | None, SetAside | None]:
    """The record; a damaged one is renamed to NAME.corrupt (never deleted) and reported."""
    try:
        return read_record(root), None
    except DamagedRecord as damaged:
        try:
            moved = set_aside(damaged.path)
        except OSError as exc:
            raise host_error(damaged.path, exc, "cannot set aside the damaged workspace record") from None
        return None, SetAside(damaged.path, moved, damaged.why)


def default_workspace_dir(config: Config, lab_id: str) -> Path:
    return config.data_dir / "workspaces" / lab_id


def holds_only_state(root: Path) -> bool:
    """True when root is missing or empty apart from torchlab's own .torchlab folder."""
    if not root.exists():
        return True
    if not root.is_dir():
        raise UserError(f"workspace {root}: is a file; expected a folder")
    return all(entry.name == STATE_DIR for entry in root.iterdir())


# --- writing: each file atomically, through a temp file in .torchlab/tmp --------------------


def write_atomic(root: Path, rel: str, data: bytes) -> None:
    """Write root/rel so that it is either absent/old or complete, never half-written."""
    dest = root / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = root / STATE_DIR / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=tmp_dir)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_record(root: Path, record: WorkspaceRecord, write: WriteFile) -> None:
    text = json.dumps(record.to_dict(), indent=2) + "\n"
    write(root, RECORD.as_posix(), text.encode("utf-8"))


def apply_writes(root: Path, writes: tuple[FileWrite, ...], write: WriteFile) -> None:
    for item in writes:
        try:
            write(root, item.dest, item.source.read_bytes())
        except OSError as exc:
            raise host_error(root / item.dest, exc, f"workspace {root}: cannot write") from None


@contextlib.contextmanager
def writing(root: Path) -> Iterator[None]:
    """Any OSError while making or changing a workspace (a full disk, a read-only folder) is one
    line naming the path and the fix, exit 3."""
    try:
        yield
    except OSError as exc:
        raise host_error(root, exc, f"workspace {root}: cannot write") from None


def clear_leftovers(root: Path) -> None:
    """Temp files of an interrupted write are torchlab's, never the user's."""
    shutil.rmtree(root / STATE_DIR / "tmp", ignore_errors=True)


# --- init -----------------------------------------------------------------------------------


def plan_missing(lab: Lab, record: WorkspaceRecord, hash_of: HashOf) -> tuple[tuple[FileWrite, ...], WorkspaceRecord]:
    """The lab's files missing on disk (never one that is there), and the record that lists them."""
    files = lab_files(lab)
    hashes = lab_hashes(files)
    missing = tuple(FileWrite(rel, files[rel]) for rel in files if hash_of(rel) is None)
    recorded = {**record.files, **{w.dest: hashes[w.dest] for w in missing}}
    return missing, WorkspaceRecord(record.lab, record.version, recorded)


def check_same_lab(record: WorkspaceRecord, lab: Lab, root: Path) -> None:
    if record.lab != lab.id:
        raise UserError(
            f"workspace {root}: holds lab {record.lab}, not {lab.id}; choose another folder with --dir"
        )


def init_workspace(lab: Lab, root: Path, write: WriteFile = write_atomic) -> InitResult:
    """Create lab's workspace at root, or add the files missing from an existing one of it. A
    damaged record is set aside and the workspace adopted: nothing in it is overwritten."""
    with writing(root):
        record, aside = record_or_set_aside(root)
        if aside is not None:
            adopted = adopt_workspace(lab, root, write)
            return InitResult(lab.id, root, lab.version, False, adopted.added, lab.version, aside)
        return init_with_record(lab, root, record, write)


def init_with_record(lab: Lab, root: Path, record: WorkspaceRecord | None, write: WriteFile) -> InitResult:
    if record is None and not holds_only_state(root):
        raise UserError(
            f"workspace {root}: not empty and not a torchlab workspace (no {RECORD}); "
            "expected a new or empty folder (--dir)"
        )
    created = record is None
    if record is None:
        record = WorkspaceRecord(lab.id, lab.version, {})
    check_same_lab(record, lab, root)
    writes: tuple[FileWrite, ...] = ()
    if record.version == lab.version:
        writes, record = plan_missing(lab, record, disk_hasher(root))
    clear_leftovers(root)
    if created or writes:
        write_record(root, record, write)  # first: an interrupted init is then rerun as "add missing"
    apply_writes(root, writes, write)
    added = tuple(w.dest for w in writes)
    return InitResult(lab.id, root, record.version, created, added, lab.version)


# --- upgrade --------------------------------------------------------------------------------


def side_file_name(rel: str, version: str, counter: int = 1) -> str:
    """notebooks/intro.ipynb -> notebooks/intro.v1.1.0.ipynb (then intro.v1.1.0-2.ipynb, ...)."""
    path = PurePosixPath(rel)
    tag = f".v{version}" + (f"-{counter}" if counter > 1 else "")
    return str(path.with_name(f"{path.stem}{tag}{path.suffix}"))


def choose_side_file(rel: str, version: str, new_sha: str, hash_of: HashOf, taken: set[str]) -> str:
    """The first side name that is free, or already holds exactly the new version (a rerun)."""
    counter = 1
    while True:
        name = side_file_name(rel, version, counter)
        if name not in taken and hash_of(name) in (None, new_sha):
            return name
        counter += 1


@dataclass
class _Draft:
    """The plan being built, one path at a time (private to plan_upgrade)."""

    updated: list[str] = field(default_factory=list)
    kept: list[Conflict] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed_upstream: list[str] = field(default_factory=list)
    deleted_by_user: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    writes: list[FileWrite] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)


def plan_upgrade(
    record: WorkspaceRecord, new_files: Mapping[str, Path], new_hashes: Mapping[str, str],
    new_version: str, hash_of: HashOf, root: Path,
) -> UpgradePlan:
    """What an upgrade to new_version does to each path; a pure function of its arguments."""
    draft = _Draft()
    taken = set(record.files) | set(new_files)
    for rel in sorted(set(record.files) | set(new_files)):
        old_sha, new_sha, disk_sha = record.files.get(rel), new_hashes.get(rel), hash_of(rel)
        if new_sha is None:
            _plan_removed(draft, rel, old_sha, disk_sha)
        elif old_sha is None:
            _plan_added(draft, rel, new_files[rel], new_sha, disk_sha, new_version, hash_of, taken)
        else:
            _plan_kept_path(draft, rel, new_files[rel], old_sha, new_sha, disk_sha, new_version, hash_of, taken)
    result = UpgradeResult(
        record.lab, root, record.version, new_version, tuple(draft.updated), tuple(draft.kept),
        tuple(draft.added), tuple(draft.removed_upstream), tuple(draft.deleted_by_user), tuple(draft.unchanged),
    )
    return UpgradePlan(result, tuple(draft.writes), WorkspaceRecord(record.lab, new_version, draft.files))


def _plan_removed(draft: _Draft, rel: str, old_sha: str | None, disk_sha: str | None) -> None:
    if disk_sha is None:
        return  # gone from the lab and from the disk: nothing left to track
    draft.removed_upstream.append(rel)
    assert old_sha is not None
    draft.files[rel] = old_sha  # still ours while untouched: a later version may bring it back


def _conflict(draft: _Draft, rel: str, source: Path, new_sha: str, version: str, hash_of: HashOf,
              taken: set[str]) -> None:
    side = choose_side_file(rel, version, new_sha, hash_of, taken)
    taken.add(side)
    draft.kept.append(Conflict(rel, side))
    if hash_of(side) != new_sha:
        draft.writes.append(FileWrite(side, source))


def _plan_added(draft: _Draft, rel: str, source: Path, new_sha: str, disk_sha: str | None,
                version: str, hash_of: HashOf, taken: set[str]) -> None:
    if disk_sha is None or disk_sha == new_sha:
        draft.added.append(rel)
        draft.files[rel] = new_sha
        if disk_sha is None:
            draft.writes.append(FileWrite(rel, source))
    else:  # a file of the user's already sits there
        _conflict(draft, rel, source, new_sha, version, hash_of, taken)


def _plan_kept_path(draft: _Draft, rel: str, source: Path, old_sha: str, new_sha: str,
                    disk_sha: str | None, version: str, hash_of: HashOf, taken: set[str]) -> None:
    if disk_sha is None:
        draft.deleted_by_user.append(rel)
        draft.files[rel] = new_sha  # recorded, so that it stays deleted in later upgrades too
    elif disk_sha == new_sha:
        (draft.unchanged if old_sha == new_sha else draft.updated).append(rel)
        draft.files[rel] = new_sha
    elif disk_sha == old_sha:
        draft.updated.append(rel)
        draft.files[rel] = new_sha
        draft.writes.append(FileWrite(rel, source))
    else:  # changed by the user
        draft.files[rel] = old_sha
        _conflict(draft, rel, source, new_sha, version, hash_of, taken)


def open_workspace_for_upgrade(lab: Lab, root: Path) -> WorkspaceRecord:
    record = read_record(root)
    if record is None:
        raise UserError(
            f"workspace {root}: not a torchlab workspace (no {RECORD}); "
            f"create one with `torchlab labs init {lab.id}`"
        )
    check_same_lab(record, lab, root)
    if semver_key(record.version) > semver_key(lab.version):
        raise UserError(
            f"workspace {root}: at version {record.version}, newer than the shipped {lab.id} {lab.version}; "
            "expected an older workspace (nothing changed)"
        )
    return record


def upgrade_workspace(lab: Lab, root: Path, write: WriteFile = write_atomic) -> UpgradeResult:
    """Bring the workspace at root to lab.version; no byte the user wrote is lost. A damaged record
    is set aside and the workspace adopted (as if upgraded from nothing)."""
    with writing(root):
        if root.is_dir():
            record, aside = record_or_set_aside(root)
            if aside is not None:
                return replace(adopt_workspace(lab, root, write), from_version="unknown", set_aside=aside)
        return upgrade_from(open_workspace_for_upgrade(lab, root), lab, root, write)


def adopt_workspace(lab: Lab, root: Path, write: WriteFile) -> UpgradeResult:
    """A workspace without a trustworthy record: files that match the lab become torchlab's, missing
    ones are written, and a file of the user's where a lab file goes gets the lab's beside it."""
    return upgrade_from(WorkspaceRecord(lab.id, "0.0.0", {}), lab, root, write)


def upgrade_from(record: WorkspaceRecord, lab: Lab, root: Path, write: WriteFile) -> UpgradeResult:
    files = lab_files(lab)
    plan = plan_upgrade(record, files, lab_hashes(files), lab.version, disk_hasher(root), root)
    clear_leftovers(root)
    apply_writes(root, plan.writes, write)
    write_record(root, plan.record, write)  # last: until then a rerun finds the same work to do
    return plan.result
