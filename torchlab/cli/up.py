"""`torchlab up LAB`: start a lab, wait for JupyterLab, prove it with the lab's smoke checks."""

from __future__ import annotations

import os
import webbrowser
from enum import Enum
from typing import TYPE_CHECKING, Any, Optional

import typer

from torchlab.cli.output import echo_json, stderr_console
from torchlab.cli.smoke import print_report
from torchlab.config import load_config
from torchlab.runtimes import RUNTIMES

if TYPE_CHECKING:  # pragma: no cover - types only
    from torchlab.up import UpResult


Runtime = Enum("Runtime", {name: name for name in ("auto", *RUNTIMES)}, type=str)  # type: ignore[misc]


class Variant(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    rocm = "rocm"


def up(
    lab: str = typer.Argument(..., help="A lab id or alias, e.g. module-1."),
    runtime: Runtime = typer.Option(Runtime.auto, "--runtime", help="docker, native, or auto (the doctor's plan)."),  # type: ignore[valid-type]
    variant: Variant = typer.Option(Variant.auto, "--variant", help="cpu, cuda, rocm, or auto (the best found)."),
    port: Optional[int] = typer.Option(
        None, "--port", min=1, max=65535, help="JupyterLab's port on 127.0.0.1 (default: a free one)."
    ),
    no_jupyter: bool = typer.Option(False, "--no-jupyter", help="Start the lab without JupyterLab (smoke checks, shell)."),
    no_smoke: bool = typer.Option(False, "--no-smoke", help="Do not run the lab's smoke checks."),
    open_browser: bool = typer.Option(False, "--open", help="Open JupyterLab in the browser."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document (torchlab.up/1) on stdout."),
) -> None:
    """Start LAB (image, workspace, JupyterLab) and run its smoke checks in it.

    Exit codes: 0 up and smoke passed, 1 a smoke check failed, 2 bad input, 3 the host cannot run it.
    """
    from rich.markup import escape  # start-up: rich only for `up`'s own output

    from torchlab.up import UpRequest, up as start_lab  # start-up: probes and runtimes only for `up`

    console = stderr_console()
    request = UpRequest(lab, runtime.value, variant.value, port, not no_jupyter, not no_smoke)
    result = start_lab(request, load_config(), os.environ, lambda line: console.print(f"[dim]{escape(line)}[/]"))
    print_result(result, console)
    if json_out:
        echo_json(result.to_json())
    if open_browser and result.lab.url:
        webbrowser.open(result.lab.url)
    raise typer.Exit(result.exit_code)


def print_result(result: UpResult, console: Any) -> None:
    from rich.markup import escape  # start-up: rich only for `up`'s own output

    lab = result.lab
    smoke = result.smoke
    if smoke.get("checks"):
        print_report(smoke)
    elif smoke.get("detail"):
        console.print(f"[red]smoke checks: {escape(str(smoke['detail']))}[/]")
    where = lab.container or (f"pid {lab.pid}" if lab.pid else "no server")
    state = "already running" if result.already_running else "up"
    console.print(f"[bold]{escape(lab.lab)} {escape(lab.version)}[/] {state}: {lab.runtime} ({escape(str(where))}), "
                  f"{escape(lab.variant)} on {escape(lab.device)}, smoke {escape(str(smoke.get('status')))}")
    console.print(f"  workspace {escape(lab.workspace)}")
    if lab.url:
        console.print(f"  JupyterLab [bold cyan]{escape(lab.url)}[/]", soft_wrap=True)
