"""What the fault tests share: a tmpfs of a given size (root only), a disk filled to the byte, one
torchlab run checked as a user must see its failure, and a tree of files to prove nothing was lost."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from labkit import REAL_LABS

from conftest import IN_CI, missing


def need_root(what: str) -> None:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        missing(f"{what} needs root and mount(8) (CI runs as root)")


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted at where (a fresh folder), unmounted after."""
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0777", "tmpfs", str(where)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        message = f"cannot mount a tmpfs here ({done.stderr.strip()})"
        if IN_CI:
            raise AssertionError(f"CI=true but {message}")
        import pytest  # noqa: PLC0415

        pytest.skip(message)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(folder: Path, leave: int = 0) -> Path:
    """Fill the disk holding folder to the last byte with one file, then give back `leave` bytes."""
    filler = folder / ".filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 4096, 1):  # big steps, then a page, then a byte: to the very last one
            chunk = b"\0" * size
            while True:
                try:
                    if os.write(fd, chunk) == 0:
                        break
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                    break
        if leave:
            os.ftruncate(fd, max(0, os.fstat(fd).st_size - leave))
    finally:
        os.close(fd)
    return filler


def free_bytes(folder: Path) -> int:
    info = os.statvfs(folder)
    return info.f_bavail * info.f_frsize


def one_error(done: subprocess.CompletedProcess, code: int, *words: str) -> str:
    """The run failed as a user must see it: its exit code, its last stderr line `torchlab: error: ...`
    naming each of words, no traceback."""
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == code, f"exit {done.returncode}: {done.stderr[-2000:]}"
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("torchlab: error: "), done.stderr[-2000:]
    for word in words:
        assert word in line, line
    return line


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root (torchlab's own .torchlab folder left out), by relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".torchlab" not in p.relative_to(root).parts}


def newer_labs(where: Path, grow: int = 0) -> Path:
    """A copy of the shipped labs whose module-1 is one version newer, each workspace file changed
    (and `grow` bytes longer: an upgrade then writes that much)."""
    shutil.copytree(REAL_LABS, where, ignore=shutil.ignore_patterns("__pycache__"))
    toml = where / "module-1" / "lab.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(re.sub(r'^version = "[^"]+"', 'version = "9.0.0"', text, count=1, flags=re.M), encoding="utf-8")
    for path in (where / "module-1" / "workspace").iterdir():
        if path.suffix == ".ipynb":  # still JSON: only its metadata grows
            path.write_text(path.read_text(encoding="utf-8").rstrip()[:-1] + f', "pad": "{"x" * grow}"}}\n', encoding="utf-8")
        else:
            path.write_bytes(path.read_bytes() + b"\n# v9\n" + b"#" * grow + b"\n")
    return where
