"""`torchlab status`: every lab that runs from this data folder, and whether it answers."""

from __future__ import annotations

import os
import time

import typer

from torchlab.cli.output import echo_json, stderr_console
from torchlab.config import load_config

SCHEMA = "torchlab.status/1"
HEALTH_STYLE = {"ok": "green", "no jupyter": "", "not answering": "yellow", "stopped": "red",
                "broken: workspace gone": "red"}


def uptime_text(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def status(json_out: bool = typer.Option(False, "--json", help="Print one JSON document (torchlab.status/1) on stdout.")) -> None:
    """List the labs: runtime, variant, device, URL, uptime and health."""
    from torchlab.runtimes import all_labs  # start-up: docker-py and psutil only for the commands that act on labs

    now = time.time()
    labs = [lab.to_json(now) for lab in all_labs(load_config(), os.environ)]
    if json_out:
        echo_json({"schema": SCHEMA, "labs": labs})
        return
    show(labs)


def show(labs: list[dict]) -> None:
    from rich.text import Text  # start-up: rich only for people (not for --json)

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
        if lab.get("fix"):
            console.print(f'  fix: {lab["fix"]}', soft_wrap=True, highlight=False, markup=False)
