"""Files and folders as torchlab meets them from the user: read safely, checked before writing,
and torchlab's own damaged state set aside instead of trusted or deleted.

    read_text        a regular file only, at most a few MB, UTF-8 (or UTF-16 with its BOM): never
                     a hang on a FIFO, never gigabytes from /dev/zero, a decoding error is bad input
    check_folder     a setting or flag naming a folder: there and a folder (or makeable)
    check_writable   a place torchlab is about to write: exit 3 with the path and the fix if it cannot
    host_error       an OSError met while writing, as the one line a user sees (exit 3)
    set_aside        a damaged state file renamed to NAME.corrupt, never deleted
    check_replaceable  before writing a file the user may have edited: refused when it differs, unless forced
    write_whole      a file written whole or not at all (a temporary file renamed over it)
"""

from __future__ import annotations

import codecs
import errno
import os
import stat
from pathlib import Path

from torchlab.errors import HOST_UNFIT, USAGE, UserError

MAX_TEXT_BYTES = 4 * 1024 * 1024  # a report, a config or a saved run is a few KB; 4 MB is generous
CORRUPT_SUFFIX = ".corrupt"
BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def read_bytes(path: Path, what: str, limit: int = MAX_TEXT_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; a UserError (exit 2) naming `what`
    otherwise. Opened without blocking, so a FIFO or a device is refused, never waited on."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise UserError(f"{what}: cannot read it ({exc.strerror or exc})", USAGE) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise UserError(f"{what}: {kind_of(mode)}, not a regular file; expected a file", USAGE)
    with os.fdopen(fd, "rb") as handle:
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise UserError(f"{what}: cannot read it ({exc.strerror or exc})", USAGE) from None
    if len(data) > limit:
        raise UserError(f"{what}: larger than {limit // (1024 * 1024)} MB; expected a text file of a few KB", USAGE)
    return data


def read_text(path: Path, what: str, limit: int = MAX_TEXT_BYTES) -> str:
    """A text file as read_bytes reads it, decoded: UTF-8, or UTF-16 when it starts with its BOM
    (PowerShell's `>` writes that); binary or undecodable bytes are bad input."""
    return decode_text(read_bytes(path, what, limit), what)


def decode_text(data: bytes, what: str) -> str:
    encoding = next((name for bom, name in BOMS if data.startswith(bom)), "utf-8")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UserError(f"{what}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                        "expected a text file", USAGE) from None
    if "\x00" in text:
        raise UserError(f"{what}: a binary file (it holds NUL bytes); expected a text file", USAGE)
    return text


def kind_of(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a special file"


def nearest_existing(path: Path) -> Path:
    """path itself, or the closest folder above it that exists."""
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(path.anchor or ".")


def path_problem(value: str, must_exist: bool, want: str) -> str | None:
    """What is wrong with a path naming a folder (want="folder") or a file (want="file"); None if fine.
    A folder that is not there yet is fine when must_exist is False and it could be made."""
    if not value.strip():
        return "empty"
    if "\x00" in value:
        return "holds a NUL byte"
    path = Path(value).expanduser()
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if must_exist:
            return "not found"
        above = nearest_existing(path.parent)
        if not above.is_dir():
            return f"{above} is a file, so nothing can be under it"
        return None
    except NotADirectoryError:
        return f"{nearest_file(path)} is a file, so nothing can be under it"
    except OSError as exc:
        return f"cannot be looked at ({exc.strerror or exc})"
    if want == "folder" and not stat.S_ISDIR(mode):
        return f"not a folder but {'a file' if stat.S_ISREG(mode) else kind_of(mode)}"
    if want == "file" and not stat.S_ISREG(mode):
        return f"{kind_of(mode)}, not a regular file"
    return None


def nearest_file(path: Path) -> Path:
    """The first part of path that is a file where a folder was meant (the cause of ENOTDIR)."""
    for candidate in reversed((path, *path.parents)):
        if candidate.is_file():
            return candidate
    return path


def check_folder(path: Path, what: str, must_exist: bool = True) -> None:
    """A UserError (exit 2) naming `what` when path is no folder (or, unless must_exist, no makeable one)."""
    problem = path_problem(str(path), must_exist, "folder")
    if problem:
        raise UserError(f"{what}: {problem}; expected a folder", USAGE)


WRITE_FIX = {
    errno.ENOSPC: "the disk is full: free some space on it, or set {setting} to a folder on another disk",
    errno.EDQUOT: "your disk quota is used up: free some space, or set {setting} to a folder on another disk",
    errno.EROFS: "it is on a read-only file system: set {setting} to a folder on a writable disk",
    errno.EACCES: "you may not write there: set {setting} to a folder you own, or make this one yours (chown)",
    errno.EPERM: "you may not write there: set {setting} to a folder you own, or make this one yours (chown)",
}
DATA_DIR = "TORCHLAB_DATA_DIR"


def host_error(path: Path | str, exc: OSError, doing: str = "cannot write", setting: str = DATA_DIR) -> UserError:
    """An OSError met while writing under path, as one line with the fix (exit 3)."""
    where = exc.filename if isinstance(exc.filename, str) and exc.filename else str(path)
    fix = WRITE_FIX.get(exc.errno or 0, "check that {where} is a folder you can write to, or set {setting} elsewhere")
    return UserError(f"{doing} {where} ({exc.strerror or exc}); {fix.format(setting=setting, where=where)}", HOST_UNFIT)


def check_writable(path: Path, what: str, setting: str = DATA_DIR) -> None:
    """Before writing under path (made if missing): a folder there or above it that this user may
    write, on a disk with room. Else exit 3 naming the path and the fix (set `setting` elsewhere)."""
    check_folder(path, what, must_exist=False)
    above = nearest_existing(path)
    if no_room_for_files(above):
        raise UserError(f"{what}: {above} is on a file system of the kernel (like /proc) that holds no files; "
                        "expected a folder on a disk", USAGE)
    if not os.access(above, os.W_OK | os.X_OK):
        code = errno.EROFS if read_only(above) else errno.EACCES
        raise host_error(path, OSError(code, os.strerror(code), str(above)), f"{what}: cannot write", setting)
    if free_bytes(above) == 0:
        raise host_error(path, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(above)), f"{what}: cannot write", setting)


def read_only(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def no_room_for_files(path: Path) -> bool:
    """/proc, /sys and their like: a size of 0 blocks, nothing can be made there."""
    try:
        return os.statvfs(path).f_blocks == 0
    except (OSError, AttributeError):
        return False


def free_bytes(path: Path) -> int | None:
    try:
        info = os.statvfs(path)
    except (OSError, AttributeError):
        return None
    blocks = info.f_bfree if getattr(os, "geteuid", lambda: -1)() == 0 else info.f_bavail  # root may use the reserve
    return blocks * info.f_frsize


def set_aside(path: Path) -> Path:
    """Rename a damaged state file (or folder) to NAME.corrupt (NAME.corrupt-2, ... when taken) and
    return where it went: kept for a look, never deleted, never trusted again."""
    counter = 1
    while True:
        target = path.with_name(path.name + CORRUPT_SUFFIX + (f"-{counter}" if counter > 1 else ""))
        if not os.path.lexists(target):
            os.replace(path, target)
            return target
        counter += 1


def check_replaceable(path: Path, text: str, force: bool, fix: str) -> str:
    """What writing text to path does: "written", "unchanged" or "replaced" (only when forced). A file
    there that differs may be the user's work: a UserError (exit 2) ending in `fix` unless forced."""
    if path.is_dir() or (path.exists() and not path.is_file()):
        raise UserError(f"{path}: {kind_of(path.stat().st_mode)}, not a file; expected a {path.name} there, or nothing", USAGE)
    if not path.exists():
        return "written"
    try:
        same = path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        same = False
    if same:
        return "unchanged"
    if not force:
        raise UserError(f"{path}: exists and differs from what torchlab writes there; nothing was changed ({fix})", USAGE)
    return "replaced"


def write_whole(path: Path, text: str) -> None:
    """Whole or not at all: a temporary file beside it, then renamed over it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise host_error(path, exc) from None
