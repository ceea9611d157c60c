"""`torchlab shell LAB`: an interactive shell in the lab's environment, in its workspace."""

from __future__ import annotations

import os
import sys

import typer

from torchlab.config import load_config
from torchlab.errors import HOST_UNFIT, USAGE, UserError
from torchlab.lab.catalog import find_lab, open_catalog
from torchlab.run import run_interactive


def shell(lab: str = typer.Argument(..., help="A lab id or alias, e.g. module-1.")) -> None:
    """Open a shell in LAB (its container as the lab's user, or its native environment); exit with the shell's code."""
    from torchlab.runtimes import find_running, runtime_of  # start-up: docker-py and psutil only for the commands that act on labs

    config = load_config()
    lab_id = find_lab(open_catalog(config=config), lab).id
    running = find_running(config, lab_id, os.environ)
    if running is None:
        raise UserError(f"{lab_id} is not running; start it with `torchlab up {lab_id}`", USAGE)
    if running.fix():
        raise UserError(f"{lab_id} is broken: {running.fix()}", HOST_UNFIT)
    command = runtime_of(running, config, os.environ).shell(running, sys.stdin.isatty())
    code = run_interactive(command.argv, env=command.env, cwd=command.cwd)
    if code == 127:
        raise UserError(f"{command.argv[0]}: not found; `torchlab shell` needs it to enter the lab", HOST_UNFIT)
    raise typer.Exit(code)
