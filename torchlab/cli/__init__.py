"""The root app: wires one file per command (each a thin layer over the library).

Start-up: `torchlab --version` and `--help` import every command module, so a command module
imports at its top only typer, the standard library and light parts of torchlab; what a command
needs that is slow to import (docker-py, rich, psutil, torch) is imported inside it."""

from __future__ import annotations

import sys

import typer

from torchlab import __version__
from torchlab.cli import bench, config, doctor, down, images, labs, logs, shell, smoke, status, up
from torchlab.errors import OK, Abort, ClickException, NoArgsIsHelpError, one_line

app = typer.Typer(
    name="torchlab",
    help="A working, accelerated PyTorch course lab on the machine you own.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"torchlab {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Start with `torchlab doctor`, then `torchlab up module-0`."""


# In the order a learner meets them.
app.command("doctor")(doctor.doctor)
app.add_typer(labs.app, name="labs")
app.command("up")(up.up)
app.command("down")(down.down)
app.command("status")(status.status)
app.command("logs")(logs.logs)
app.command("shell")(shell.shell)
app.command("smoke")(smoke.smoke)
app.command("bench")(bench.bench)
app.add_typer(images.app, name="images")
app.add_typer(config.app, name="config")


def main() -> None:
    """The console script: every error is one line on stderr and a documented exit code."""
    try:
        code = app(standalone_mode=False)
    except NoArgsIsHelpError as exc:
        print(exc.format_message())
        sys.exit(OK)
    except ClickException as exc:
        print(one_line(exc), file=sys.stderr)
        sys.exit(exc.exit_code)
    except Abort:
        print("torchlab: aborted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else OK)
