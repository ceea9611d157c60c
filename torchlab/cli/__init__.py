"""The console script: main() turns every error into one line and an exit code. The root app and
its table of commands (one file per command, each a thin layer over the library) are in root.py.

Start-up: `torchlab --version` is answered before typer is imported; `--help` lists the commands
without importing their modules; a command imports its own module only. A command module imports
at its top only typer, the standard library and light parts of torchlab; what a command needs that
is slow to import (docker-py, rich, psutil, torch) is imported inside it."""

from __future__ import annotations

import signal
import sys
from typing import Any

from torchlab import __version__


def __getattr__(name: str) -> Any:
    """`from torchlab.cli import app` (the tests run it in-process): built when first asked for."""
    if name == "app":
        from torchlab.cli.root import app  # start-up: typer and the command table, not for --version

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# What a command that was interrupted wants said on the one "interrupted" line (e.g. that a build's
# layers are cached); set by the command as it unwinds, read once by main().
INTERRUPTED_NOTES: list[str] = []


def interrupted_line() -> str:
    return "; ".join(["torchlab: interrupted", *INTERRUPTED_NOTES])


def main() -> None:
    """The console script: every error is one line on stderr and a documented exit code."""
    interrupted: list[bool] = []

    def on_ctrl_c(signum: int, frame: object) -> None:
        interrupted.append(True)
        raise KeyboardInterrupt  # every command undoes what it half-did; typer then answers 130

    signal.signal(signal.SIGINT, on_ctrl_c)
    if sys.argv[1:] == ["--version"]:  # answered before typer is imported: ~0.05 s instead of ~0.3 s
        print(f"torchlab {__version__}")
        return
    try:
        from torchlab.cli.root import app  # start-up: typer and the command table, after --version

        code = app(standalone_mode=False)
    except BaseException as exc:  # noqa: BLE001 - each is said in one line below, or raised again
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the command is over: a late Ctrl-C changes nothing
        sys.exit(said_in_one_line(exc))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if code == 130 and interrupted:
        print(interrupted_line(), file=sys.stderr)
    sys.exit(code if isinstance(code, int) else 0)


def said_in_one_line(exc: BaseException) -> int:
    """An error out of a command, as the one line a user sees; its exit code. Others are raised again."""
    if isinstance(exc, KeyboardInterrupt):  # also while the commands are still being imported
        print(interrupted_line(), file=sys.stderr)
        return 130
    from torchlab.errors import HOST_UNFIT, OK, Abort, ClickException, NoArgsIsHelpError, one_line  # start-up: typer's errors, not for --version

    if isinstance(exc, NoArgsIsHelpError):
        print(exc.format_message())
        return OK
    if isinstance(exc, ClickException):
        print(one_line(exc), file=sys.stderr)
        return exc.exit_code
    if isinstance(exc, Abort):
        print(interrupted_line(), file=sys.stderr)
        return 130
    if isinstance(exc, OSError):  # the host failed us where no command foresaw it (a full disk, a read-only folder)
        from torchlab.files import host_error  # start-up: only on this rare path

        print(one_line(host_error(exc.filename or "", exc, "cannot use")), file=sys.stderr)
        return HOST_UNFIT
    raise exc
