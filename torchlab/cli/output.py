"""How every command prints: one JSON document on stdout, everything for people on stderr."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:  # pragma: no cover - types only
    from rich.console import Console


def echo_json(document: dict[str, Any]) -> None:
    typer.echo(json.dumps(document, indent=2))


def stdout_console() -> Console:
    """rich on stdout, for what a command shows as its result (a listing)."""
    from rich.console import Console  # start-up: rich only for output meant for people

    return Console(soft_wrap=True)


def stderr_console(soft_wrap: bool = False) -> Console:
    """rich on stderr; colours follow the terminal (NO_COLOR respected)."""
    from rich.console import Console  # start-up: rich only for output meant for people

    return Console(stderr=True, highlight=False, soft_wrap=soft_wrap)
