"""The one subprocess wrapper: argument lists only, a timeout always, never a shell."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_command(
    argv: Sequence[str],
    timeout: float = 10.0,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> CommandResult | None:
    """Run a program and capture its output; None when the program is not installed.

    A timeout is reported as returncode 124 with the reason in stderr, like coreutils' timeout.
    """
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return CommandResult(tuple(argv), 124, "", f"{argv[0]} did not answer within {timeout:g} s")
    except OSError as exc:
        return CommandResult(tuple(argv), 126, "", f"{argv[0]}: {exc.strerror}")
    return CommandResult(tuple(argv), done.returncode, done.stdout, done.stderr)
