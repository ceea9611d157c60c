"""`torchlab status`: every lab that runs from this data folder, and whether it answers."""

from __future__ import annotations

import json
import os
import time

import typer
from rich.text import Text

from torchlab.config import load_config
from torchlab.render import stderr_console
from torchlab.running import all_labs

SCHEMA = "torchlab.status/1"
HEALTH_STYLE = {"ok": "green", "no jupyter": "", "not answering": "yellow", "stopped": "red"}


def uptime_text(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def status(json_out: bool = typer.Option(False, "--json", help="Print one JSON document (torchlab.status/1) on stdout.")) -> None:
    """List the labs: runtime, variant, device, URL, uptime and health."""
    now = time.time()
    labs = [lab.to_json(now) for lab in all_labs(load_config().data_dir, os.environ)]
    if json_out:
        typer.echo(json.dumps({"schema": SCHEMA, "labs": labs}, indent=2))
        return
    console = stderr_console()
    if not labs:
        console.print("no lab is running (start one with `torchlab up LAB`)")
        return
    for lab in labs:
        health = str(lab["health"])
        where = lab.get("container") or f'pid {lab.get("pid")}'
        line = Text.assemble(
            (f'{lab["lab"]} {lab["version"]}', "bold"),
            f'  {lab["runtime"]} ({where})  {lab["variant"]} on {lab["device"]}  up {uptime_text(lab["uptime_s"])}  ',
            (health, HEALTH_STYLE.get(health, "")),
        )
        console.print(line, soft_wrap=True)
        if lab["url"]:
            console.print(f'  {lab["url"]}', soft_wrap=True, highlight=False, markup=False)
