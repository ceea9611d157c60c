"""`torchlab logs LAB [-f]`: what the lab's JupyterLab and kernels printed."""

from __future__ import annotations

import os
import sys

import typer

from torchlab.config import load_config
from torchlab.errors import USAGE, UserError
from torchlab.lab.catalog import find_lab, open_catalog


def logs(
    lab: str = typer.Argument(..., help="A lab id or alias, e.g. module-1."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines until the lab stops (Ctrl-C ends)."),
) -> None:
    """Print LAB's logs (stdout and stderr of its JupyterLab)."""
    from torchlab.runtimes import all_labs, runtime_of  # start-up: docker-py and psutil only for the commands that act on labs

    config = load_config()
    lab_id = find_lab(open_catalog(config=config), lab).id
    found = all_labs(config, os.environ, lab_id)
    if not found:
        raise UserError(f"{lab_id} is not running, so it has no logs; start it with `torchlab up {lab_id}`", USAGE)
    out = sys.stdout.buffer
    try:
        for chunk in runtime_of(found[0], config, os.environ).logs(found[0], follow):
            out.write(chunk)
            out.flush()
    except KeyboardInterrupt:
        pass
