"""`torchlab down LAB|--all`: stop a lab; its workspace stays as it is."""

from __future__ import annotations

import os
from typing import Optional

import typer

from torchlab.config import load_config
from torchlab.errors import USAGE, UserError
from torchlab.labs import find_lab, open_catalog
from torchlab.launch import take_down
from torchlab.lock import lab_lock
from torchlab.render import stderr_console
from torchlab.running import all_labs


def down(
    lab: Optional[str] = typer.Argument(None, help="A lab id or alias, e.g. module-1."),
    every: bool = typer.Option(False, "--all", help="Stop every lab that runs from this data folder."),
) -> None:
    """Stop LAB (or --all); the workspace is kept."""
    if (lab is None) == (not every):
        raise UserError("down: name one lab (torchlab down module-1) or give --all", USAGE)
    config = load_config()
    console = stderr_console()
    if lab is not None:
        lab = find_lab(open_catalog(config=config), lab).id
    found = all_labs(config.data_dir, os.environ, lab)
    if not found:
        console.print(f"{lab} is not running" if lab else "no lab is running")
        return
    for item in found:
        with lab_lock(config.data_dir, item.lab, console.print):
            take_down(item.lab, item.runtime, config.data_dir, os.environ)
        console.print(f"{item.lab} stopped ({item.runtime}); workspace kept: {item.workspace}")
