"""`torchlab down LAB|--all`: stop a lab; its workspace stays as it is."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from torchlab.cli.output import stderr_console
from torchlab.config import load_config
from torchlab.errors import USAGE, UserError
from torchlab.lab.catalog import find_lab, open_catalog


def down(
    lab: Optional[str] = typer.Argument(None, help="A lab id or alias, e.g. module-1."),
    every: bool = typer.Option(False, "--all", help="Stop every lab that runs from this data folder."),
) -> None:
    """Stop LAB (or --all); the workspace is kept."""
    from torchlab.runtimes import all_labs, runtime_of  # start-up: docker-py and psutil only for the commands that act on labs
    from torchlab.runtimes.lock import lab_lock

    if (lab is None) == (not every):
        raise UserError("down: name one lab (torchlab down module-1) or give --all", USAGE)
    config = load_config()
    console = stderr_console()
    if lab is not None:
        lab = find_lab(open_catalog(config=config), lab).id
    found = all_labs(config, os.environ, lab)
    if not found:
        console.print(f"{lab} is not running" if lab else "no lab is running")
        return
    for item in found:
        with lab_lock(config.data_dir, item.lab, console.print):
            runtime_of(item, config, os.environ).stop(item.lab)
        console.print(f"{item.lab} stopped ({item.runtime}); {workspace_words(item.workspace)}", markup=False)


def workspace_words(workspace: str) -> str:
    """What became of the workspace: kept, or (deleted while the lab ran) already gone."""
    if workspace and not Path(workspace).is_dir():
        return f"its workspace {workspace} was already gone; `torchlab up` makes a fresh one"
    return f"workspace kept: {workspace}"
