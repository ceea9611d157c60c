"""File locks under the data folder: two `torchlab up` of one lab, or two installs of one native
environment, take turns instead of racing. The kernel drops a lock when its process dies.

A lock file is empty: the only way it can be damaged is by something else sitting where it goes (a
folder, a link, a FIFO). That is set aside as NAME.corrupt, said on stderr, and a fresh lock made.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from torchlab.files import host_error, kind_of, set_aside

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; one `up` at a time is the user's to keep
    fcntl = None  # type: ignore[assignment]


def clear_the_way(path: Path) -> None:
    """Something that is not a plain file where the lock (or its folder) goes is set aside."""
    for place, want_dir in ((path.parent, True), (path, False)):
        try:  # the folder may be a link to another disk; the lock file itself is never a link
            mode = os.stat(place).st_mode if want_dir else os.lstat(place).st_mode
        except FileNotFoundError:
            continue
        fine = stat.S_ISDIR(mode) if want_dir else stat.S_ISREG(mode)
        if not fine:
            moved = set_aside(place)
            expected = "a folder" if want_dir else "an empty lock file"
            print(f"torchlab: warning: {place} was {kind_of(mode) if not stat.S_ISREG(mode) else 'a file'}, "
                  f"not {expected}; set aside as {moved}", file=sys.stderr)


def open_lock(path: Path) -> int:
    """The lock file, opened for locking (made if missing; a link is never followed)."""
    try:
        clear_the_way(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0), 0o644)
    except OSError as exc:
        raise host_error(path, exc, "cannot make the lock file") from None


@contextlib.contextmanager
def file_lock(path: Path, waiting: str, say: Callable[[str], None]) -> Iterator[None]:
    """Hold an exclusive lock on path; say `waiting` once when another process holds it."""
    fd = open_lock(path)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                say(waiting)
                fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def lab_lock(data_dir: Path, lab: str, say: Callable[[str], None]):
    return file_lock(data_dir / "locks" / f"{lab}.lock", f"another `torchlab` is starting or stopping {lab}; waiting for it", say)
