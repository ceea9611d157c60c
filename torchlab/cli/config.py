"""`torchlab config show`: each effective setting, where it came from, and what it means."""

from __future__ import annotations

from typing import Any

import typer

from torchlab.cli.output import echo_json
from torchlab.config import SPECS, Config, load_config

app = typer.Typer(
    help="torchlab's settings: defaults < config file < TORCHLAB_* variables < flags.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def config_document(config: Config) -> dict[str, Any]:
    return {
        "schema": "torchlab.config/1",
        "config_file": str(config.config_file),
        "config_file_exists": config.config_file.is_file(),
        "settings": [
            {
                "name": spec.name,
                "value": config.get(spec.name),
                "origin": config.origin(spec.name),
                "env": spec.env,
                "meaning": spec.meaning,
            }
            for spec in SPECS
        ],
    }


@app.command("show")
def show(json_output: bool = typer.Option(False, "--json", help="Print one JSON document (torchlab.config/1) on stdout.")) -> None:
    """Each effective setting, its origin (default, config file, environment) and its meaning."""
    document = config_document(load_config())
    if json_output:
        echo_json(document)
        return
    from rich.console import Console  # start-up: rich only for people (not for --json)
    from rich.markup import escape
    from rich.table import Table

    state = "" if document["config_file_exists"] else " (not there: defaults and environment only)"
    table = Table(title=f"Settings · config file {document['config_file']}{state}", title_justify="left")
    for column in ("setting", "value", "origin", "meaning"):
        table.add_column(column, overflow="fold")
    for setting in document["settings"]:
        value = setting["value"] if setting["value"] is not None else "-"
        table.add_row(setting["name"], escape(value), escape(setting["origin"]), f"{setting['meaning']} ({setting['env']})")
    Console(stderr=True, highlight=False, soft_wrap=True).print(table)
