"""The errors a user sees: one line, a documented exit code, never a traceback."""

from __future__ import annotations

import sys
from typing import IO

from typer import Abort

try:  # newer typer carries its own copy of click; its runner catches that copy's exceptions
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - older typer on plain click
    from click.exceptions import ClickException, NoArgsIsHelpError, UsageError

# Exit codes (PRODUCT.md): 0 all good; 1 a check or smoke failed; 2 usage error or bad input;
# 3 the host cannot run labs at all.
OK = 0
CHECK_FAILED = 1
USAGE = 2
HOST_UNFIT = 3


class UserError(ClickException):
    """Bad input or an unfit host, said in one line that names the thing and what was expected.

    A ClickException, so the CLI (and the in-process test runner) prints it and exits with its code.
    """

    def __init__(self, message: str, exit_code: int = USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: IO[str] | None = None) -> None:
        print(f"torchlab: error: {self.format_message()}", file=file or sys.stderr)


def one_line(exc: ClickException) -> str:
    """Any CLI error as one line; a usage error also says where help is."""
    message = f"torchlab: error: {exc.format_message()}"
    if isinstance(exc, UsageError) and exc.ctx is not None:
        message += f" (see `{exc.ctx.command_path} --help`)"
    return message


__all__ = ["Abort", "ClickException", "NoArgsIsHelpError", "UserError", "one_line", "OK", "CHECK_FAILED", "USAGE", "HOST_UNFIT"]
