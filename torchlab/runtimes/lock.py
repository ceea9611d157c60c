"""File locks under the data folder: two `torchlab up` of one lab, or two installs of one native
environment, take turns instead of racing. The kernel drops a lock when its process dies."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; one `up` at a time is the user's to keep
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def file_lock(path: Path, waiting: str, say: Callable[[str], None]) -> Iterator[None]:
    """Hold an exclusive lock on path; say `waiting` once when another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                say(waiting)
                fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)


def lab_lock(data_dir: Path, lab: str, say: Callable[[str], None]):
    return file_lock(data_dir / "locks" / f"{lab}.lock", f"another `torchlab` is starting or stopping {lab}; waiting for it", say)
