"""The errors a user sees: one line, a documented exit code, never a traceback."""

from __future__ import annotations

import sys
from typing import IO

import click

# Exit codes (PRODUCT.md): 0 all good; 1 a check or smoke failed; 2 usage error or bad input;
# 3 the host cannot run labs at all.
OK = 0
CHECK_FAILED = 1
USAGE = 2
HOST_UNFIT = 3


class UserError(click.ClickException):
    """Bad input or an unfit host, said in one line that names the thing and what was expected.

    A ClickException, so the CLI (and click's test runner) prints it and exits with its code.
    """

    def __init__(self, message: str, exit_code: int = USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: IO[str] | None = None) -> None:
        print(f"torchlab: error: {self.format_message()}", file=file or sys.stderr)
