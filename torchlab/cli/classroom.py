"""`torchlab classroom up|status|seats|down|export`: a class on one server (a real JupyterHub that
spawns one lab container per seat), or the same class on Kubernetes (the Helm chart's values)."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Any, Optional

import typer

from torchlab.cli.output import echo_json, stderr_console
from torchlab.config import load_config

app = typer.Typer(
    help=(
        "A class on one server: a real JupyterHub (DockerSpawner) with a lab container, a login and a GPU "
        "share per seat, each seat proven by its smoke checks; or the same class on Kubernetes (values for "
        "the JupyterHub Helm chart).\n\n"
        "Exit codes: 0 done (every seat answers and passed its smoke checks); 1 a seat did not, or the "
        "exported pods did not validate; 2 a bad option; 3 the host cannot do it (Docker, JupyterHub or "
        "its proxy missing)."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)

JSON_OPTION = typer.Option(False, "--json", help="Print one JSON document on stdout; progress stays on stderr.")


class GpuKind(str, Enum):
    nvidia = "nvidia"
    amd = "amd"
    none = "none"


def say_dim(console: Any):
    from rich.markup import escape  # start-up: rich only for the classroom's own output

    return lambda line: console.print(f"[dim]{escape(line)}[/]")


@app.command("up")
def up(
    lab: str = typer.Argument(..., help="A lab id or alias, e.g. module-1."),
    seats: int = typer.Option(..., "--seats", help="How many learners: one JupyterHub user and lab container each."),
    gpus: str = typer.Option("all", "--gpus", help="all, none (a CPU class), or GPU indices: 0,1. Spread over seats."),
    port: int = typer.Option(8000, "--port", help="Where the hub's proxy listens (default 8000)."),
    listen: str = typer.Option("127.0.0.1", "--listen", help="The address to listen on; not loopback needs TLS."),
    tls_cert: Optional[Path] = typer.Option(None, "--tls-cert", help="The hub's TLS certificate (PEM)."),
    tls_key: Optional[Path] = typer.Option(None, "--tls-key", help="The hub's TLS key (PEM)."),
    insecure_http: bool = typer.Option(False, "--insecure-http", help="Listen on the network without TLS (warns)."),
    no_smoke: bool = typer.Option(False, "--no-smoke", help="Do not run the lab's smoke checks in each seat."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Start a JupyterHub with one seat per learner, each seat's lab proven by its smoke checks.

    The logins (a password and an API token per seat) are shown once and saved, mode 0600, under the
    data folder; `torchlab classroom seats` shows them again.
    """
    from torchlab.classroom.access import Access  # start-up: the classroom only for its commands
    from torchlab.classroom.up import ClassRequest, classroom_up

    console = stderr_console()
    access = Access(listen, port, str(tls_cert) if tls_cert else None, str(tls_key) if tls_key else None, insecure_http)
    request = ClassRequest(lab, seats, gpus, access, not no_smoke)
    result = classroom_up(request, load_config(), os.environ, say_dim(console))
    print_class(result, console)
    if json_out:
        echo_json(result.to_json())
    raise typer.Exit(result.exit_code)


def print_class(result: Any, console: Any) -> None:
    from rich.table import Table  # start-up: rich only for people

    table = Table(title=f"{result.lab}: {result.hub_url}", title_justify="left")
    for column in ("seat", "password", "token", "GPU", "state", "smoke"):
        table.add_column(column)
    for seat in result.seats:
        table.add_row(seat.name, seat.password, seat.token, seat.gpu.name, seat.state, str(seat.smoke.get("status")))
    console.print(table)
    state = "already running" if result.already_running else "up"
    console.print(f"class {state}: {len(result.seats)} seats; logins saved (mode 0600) in {result.logins_file}; "
                  "`torchlab classroom seats` shows them again", markup=False)


@app.command("status")
def status(json_out: bool = JSON_OPTION) -> None:
    """The class's seats: user, GPU, state, last activity and smoke checks, as the hub and Docker say."""
    from torchlab.classroom.manage import class_status  # start-up: docker-py only for the classroom

    document = class_status(load_config(), os.environ)
    if json_out:
        echo_json(document)
        return
    show_status(document)


def show_status(document: dict[str, Any]) -> None:
    from rich.table import Table  # start-up: rich only for people

    console = stderr_console()
    info = document["class"]
    if info is None:
        console.print("no class is set up here (start one with `torchlab classroom up LAB --seats N`)", markup=False)
        return
    table = Table(title=f"{info['lab']} ({info['variant']}): {info['hub_url']}, hub {info['hub']}", title_justify="left")
    for column in ("seat", "user", "GPU", "state", "container", "last activity", "smoke"):
        table.add_column(column)
    for seat in document["seats"]:
        table.add_row(seat["name"], seat["user"], seat["gpu"], seat["state"], seat["container"] or "-",
                      seat["last_activity"] or "-", seat["smoke"])
    console.print(table)


@app.command("seats")
def seats_command(json_out: bool = JSON_OPTION) -> None:
    """The seats' logins again: name, password, API token, URL (from the 0600 file under the data folder)."""
    from torchlab.classroom.manage import class_logins  # start-up: the classroom only for its commands

    document = class_logins(load_config())
    if json_out:
        echo_json(document)
        return
    console = stderr_console()
    for seat in document["seats"]:
        console.print(f"{seat['name']}  password {seat['password']}  token {seat['token']}  {seat['url']}", markup=False)


@app.command("down")
def down(json_out: bool = JSON_OPTION) -> None:
    """Stop the hub and every seat's server; the seats' volumes and workspaces are kept."""
    from torchlab.classroom.manage import class_down  # start-up: docker-py only for the classroom

    console = stderr_console()
    done = class_down(load_config(), os.environ, say_dim(console))
    if done is None:
        console.print("no class is set up here", markup=False)
    else:
        console.print(f"class of {done['lab']} down: the hub and {len(done['seats'])} seats stopped; their volumes "
                      f"and workspaces kept ({done['workspaces_kept']})", markup=False)
    if json_out:
        echo_json({"schema": "torchlab.classroom-down/1", **(done or {"lab": None, "seats": []})})


@app.command("export")
def export(
    lab: str = typer.Argument(..., help="A lab id or alias: the default profile (every lab gets one)."),
    kubernetes: Path = typer.Option(..., "--kubernetes", help="The folder to write values.yaml, README.md and the seat image's recipe to."),
    gpu: GpuKind = typer.Option(GpuKind.nvidia, "--gpu", help="The cluster's GPUs: nvidia, amd, or none (CPU)."),
    registry: Optional[str] = typer.Option(None, "--registry", help="Where the cluster pulls the seat image (default: TORCHLAB_REGISTRY)."),
    force: bool = typer.Option(False, "--force", help="Replace values.yaml, README.md or the recipe where they differ (edits there are lost)."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Values for the JupyterHub Helm chart (Zero to JupyterHub) and a README for the TA; each profile's
    pod is rendered by KubeSpawner and validated against the Kubernetes schemas, offline."""
    from torchlab.classroom.export import export_class  # start-up: the classroom only for its commands

    result = export_class(lab, kubernetes, gpu.value, registry, load_config(), force=force)
    console = stderr_console()
    console.print(f"wrote {', '.join(result.files)} to {result.folder}; seat image {result.image}", markup=False)
    document = result.to_json()
    check = document["validated"]
    if check is None:
        console.print(result.note, markup=False)
    elif check["errors"]:
        for error in check["errors"]:
            console.print(f"invalid: {error}", markup=False)
    else:
        console.print(f"{check['objects']} rendered objects valid against Kubernetes {check['kubernetes']}", markup=False)
    if json_out:
        echo_json(document)
    raise typer.Exit(result.exit_code)
