"""The root app: wires one file per command (each a thin layer over the library)."""

from __future__ import annotations

import typer

from torchlab import __version__
from torchlab.cli import doctor

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
    """torchlab doctor | labs | up | smoke | bench | images."""


app.command("doctor")(doctor.doctor)


def main() -> None:
    app()
