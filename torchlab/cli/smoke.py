"""`torchlab smoke LAB`: run a lab's smoke checks in this Python environment, through the lab runner."""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from torchlab.errors import CHECK_FAILED, HOST_UNFIT, OK, USAGE, UserError
from torchlab.labs import Lab, LabCatalog, find_lab, open_catalog
from torchlab.run import CommandResult, run_command

SMOKE_SCHEMA = "torchlab.smoke/1"
SMOKE_TIMEOUT_S = 600.0
STATUS_STYLE = {"pass": "green", "passed": "green", "fail": "red", "failed": "red", "skip": "yellow"}
RUNNER_PREFIX = "runner: error: "


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"


@dataclass(frozen=True)
class SmokeOutcome:
    """What the runner said: its JSON document (None when it gave none) and the exit code to pass on."""

    exit_code: int
    document: Optional[dict[str, object]]
    raw_json: str
    message: str  # one line for the user when there is no document


def runner_argv(catalog: LabCatalog, lab: Lab, device: str) -> list[str]:
    if not catalog.runner.is_file():
        raise UserError(f"labs folder {catalog.labs_dir}: no _smoke/runner.py; expected the shared smoke runner there")
    return [sys.executable, str(catalog.runner), str(lab.path), "--device", device, "--json"]


def require_torch(lab: Lab) -> None:
    if importlib.util.find_spec("torch") is None:
        raise UserError(
            f"torch is not installed in this Python ({sys.executable}), so {lab.id} cannot run here natively; "
            f"install it with `pip install torch`, or run the lab in a container with `torchlab up {lab.id}`",
            HOST_UNFIT,
        )


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def parse_document(stdout: str) -> Optional[dict[str, object]]:
    try:
        document = json.loads(stdout)
    except json.JSONDecodeError:
        return None
    if isinstance(document, dict) and document.get("schema") == SMOKE_SCHEMA:
        return document
    return None


def interpret(result: Optional[CommandResult], lab: Lab) -> SmokeOutcome:
    """Map the runner's exit and output to ours: 0 passed, 1 a check failed, 2 no such device."""
    if result is None:
        return SmokeOutcome(CHECK_FAILED, None, "", f"cannot start {sys.executable} to run the smoke checks")
    if result.returncode == USAGE:
        message = last_line(result.stderr).removeprefix(RUNNER_PREFIX)
        return SmokeOutcome(USAGE, None, "", message or f"the smoke runner refused {lab.id}")
    document = parse_document(result.stdout)
    if result.returncode in (OK, CHECK_FAILED) and document is not None:
        return SmokeOutcome(result.returncode, document, result.stdout.strip(), "")
    reason = last_line(result.stderr).removeprefix(RUNNER_PREFIX) or "no smoke report on stdout"
    return SmokeOutcome(
        CHECK_FAILED, None, "", f"the smoke runner for {lab.id} failed (exit {result.returncode}): {reason}"
    )


def print_report(document: dict[str, object]) -> None:
    """The checks as a table on stderr, for people; stdout stays for --json."""
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


def smoke(
    lab: str = typer.Argument(..., help="A lab id or alias, e.g. module-0."),
    device: Device = typer.Option(Device.auto, "--device", help="Where the checks run; auto picks the best found."),
    as_json: bool = typer.Option(False, "--json", help="Print the runner's one JSON document on stdout."),
    labs_dir: Optional[Path] = typer.Option(None, "--labs-dir", help="Another labs folder."),
) -> None:
    """Run a lab's smoke checks in this Python environment; exit 1 if a check failed."""
    catalog = open_catalog(labs_dir)
    found = find_lab(catalog, lab)
    from torchlab.running import smoke_in_running_lab  # noqa: PLC0415 - in the lab's own environment when it is up

    result = smoke_in_running_lab(found, catalog.runner, device.value)
    if result is None:
        argv = runner_argv(catalog, found, device.value)
        require_torch(found)
        result = run_command(argv, timeout=SMOKE_TIMEOUT_S)
    outcome = interpret(result, found)
    if outcome.document is None:
        raise UserError(outcome.message, outcome.exit_code)
    print_report(outcome.document)
    if as_json:
        typer.echo(outcome.raw_json)
    raise typer.Exit(outcome.exit_code)
