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


def start_background(
    argv: Sequence[str], log_path: str, env: Mapping[str, str] | None = None, cwd: str | None = None
) -> int:
    """Start a long-running program in a session of its own, its output appended to log_path;
    return its pid. Raises OSError when it cannot be started."""
    with open(log_path, "ab") as log:
        process = subprocess.Popen(  # noqa: S603 - an argument list, no shell
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,  # Ctrl-C in the terminal does not reach it; `down` stops it
        )
    return process.pid


def run_interactive(argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: str | None = None) -> int:
    """Run a program on this terminal (stdin, stdout, stderr inherited), e.g. a shell; its exit code.
    127 when it is not installed."""
    if shutil.which(argv[0], path=(env or {}).get("PATH")) is None:
        return 127
    return subprocess.call(list(argv), env=dict(env) if env is not None else None, cwd=cwd)  # noqa: S603
