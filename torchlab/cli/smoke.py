"""`torchlab smoke LAB`: run a lab's smoke checks where the lab runs (in its container or environment
when it is up), else in this Python, through the lab runner."""

from __future__ import annotations

import os
from enum import Enum
from typing import Optional

import typer

from torchlab.cli.flags import path_flag
from torchlab.config import load_config
from torchlab.errors import UserError
from torchlab.lab.catalog import Lab, LabCatalog, find_lab, open_catalog
from torchlab.lab.smoke import SMOKE_TIMEOUT_S, argv_here, interpret, require_torch_here
from torchlab.run import CommandResult, run_command

STATUS_STYLE = {"pass": "green", "passed": "green", "fail": "red", "failed": "red", "skip": "yellow"}


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"


def print_report(document: dict[str, object]) -> None:
    """The checks as a table on stderr, for people; stdout stays for --json."""
    from rich.console import Console  # start-up: rich only when there is a report to show
    from rich.table import Table
    from rich.text import Text

    title = (
        f'{document.get("lab")} {document.get("version")} on {document.get("device")} '
        f'(torch {document.get("torch")}): {document.get("status")}'
    )
    table = Table(title=title, title_justify="left")
    for column in ("check", "status", "seconds"):
        table.add_column(column, no_wrap=True)
    table.add_column("detail", overflow="fold")
    for check in document.get("checks") or []:  # type: ignore[union-attr]
        status = str(check.get("status"))
        seconds = check.get("seconds")
        shown = f"{seconds:.2f}" if isinstance(seconds, (int, float)) else "-"
        table.add_row(  # Text, not markup: details hold brackets like tensor([1., 2.])
            Text(str(check.get("name"))), Text(status, style=STATUS_STYLE.get(status, "")), shown,
            Text(str(check.get("detail") or "")),
        )
    Console(stderr=True, soft_wrap=True).print(table)


def smoke_where_it_runs(catalog: LabCatalog, lab: Lab, device: str) -> Optional[CommandResult]:
    """In the lab's own runtime while it is up; else None."""
    from torchlab.runtimes import find_running, run_smoke, runtime_of  # start-up: docker-py only for smoke

    config, env = load_config(), os.environ
    running = find_running(config, lab.id, env)
    if running is None:
        return None
    return run_smoke(runtime_of(running, config, env), running, catalog, lab, device)


def smoke(
    lab: str = typer.Argument(..., help="A lab id or alias, e.g. module-0."),
    device: Device = typer.Option(Device.auto, "--device", help="Where the checks run; auto picks the best found."),
    as_json: bool = typer.Option(False, "--json", help="Print the runner's one JSON document on stdout."),
    labs_dir: Optional[str] = typer.Option(None, "--labs-dir", help="Another labs folder."),
) -> None:
    """Run a lab's smoke checks in this Python environment; exit 1 if a check failed."""
    catalog = open_catalog(path_flag(labs_dir, "--labs-dir"))
    found = find_lab(catalog, lab)
    result = smoke_where_it_runs(catalog, found, device.value)
    if result is None:
        argv = argv_here(catalog, found, device.value)
        require_torch_here(found)
        result = run_command(argv, timeout=SMOKE_TIMEOUT_S)
    outcome = interpret(result, found)
    if outcome.document is None:
        raise UserError(outcome.message, outcome.exit_code)
    print_report(outcome.document)
    if as_json:
        typer.echo(outcome.raw_json)
    raise typer.Exit(outcome.exit_code)
