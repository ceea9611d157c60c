"""The root app: one entry per command in COMMANDS, each command's module imported only when it
runs. `torchlab --help` lists them from the table without importing any (start-up: the command
modules together take ~0.1 s to import, as long as Python's own start); `torchlab labs` imports
the labs command alone. tests/test_start_up.py checks what each command imports and that the
table says what the commands' own help says.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperGroup

from torchlab import __version__

try:  # newer typer carries its own copy of click
    from typer._click.utils import make_default_short_help
except ImportError:  # pragma: no cover - older typer on plain click
    from click.utils import make_default_short_help

HELP = "A working, accelerated PyTorch course lab on the machine you own."
SETTINGS: dict[str, Any] = {"add_completion": False, "pretty_exceptions_enable": False, "rich_markup_mode": None}


@dataclass(frozen=True)
class Command:
    name: str
    target: str  # "module:attribute": the command's function, or the typer.Typer of a group of them
    summary: str  # the first paragraph of its help: `torchlab --help` shows it without importing it


# In the order a learner meets them (typer lists single commands before groups).
COMMANDS: tuple[Command, ...] = (
    Command("doctor", "torchlab.cli.doctor:doctor",
            "Probe this host (OS, GPUs and drivers, Docker), print findings with fixes and the lab plan."),
    Command("up", "torchlab.cli.up:up", "Start LAB (image, workspace, JupyterLab) and run its smoke checks in it."),
    Command("down", "torchlab.cli.down:down", "Stop LAB (or --all); the workspace is kept."),
    Command("status", "torchlab.cli.status:status", "List the labs: runtime, variant, device, URL, uptime and health."),
    Command("logs", "torchlab.cli.logs:logs", "Print LAB's logs (stdout and stderr of its JupyterLab)."),
    Command("shell", "torchlab.cli.shell:shell",
            "Open a shell in LAB (its container as the lab's user, or its native environment); "
            "exit with the shell's code."),
    Command("smoke", "torchlab.cli.smoke:smoke",
            "Run a lab's smoke checks in this Python environment; exit 1 if a check failed."),
    Command("bench", "torchlab.cli.bench:bench",
            "Hardware smoke benchmarks: matmul, memory, host copies, a training step, each against the device's peak."),
    Command("labs", "torchlab.cli.labs:app", "The lab catalog: list labs, show one, create or upgrade its workspace."),
    Command("images", "torchlab.cli.images:app",
            "The images behind the labs: one recipe (images/Dockerfile) for cpu, cuda and rocm, named by a hash of "
            "all that goes into it and reused while that is unchanged."),
    Command("export", "torchlab.cli.export:app", "Export a lab for other tools."),
    Command("classroom", "torchlab.cli.classroom:app",
            "A class on one server: a real JupyterHub (DockerSpawner) with a lab container, a login and a GPU share "
            "per seat, each seat proven by its smoke checks; or the same class on Kubernetes (values for the "
            "JupyterHub Helm chart)."),
    Command("config", "torchlab.cli.config:app",
            "torchlab's settings: defaults < config file < TORCHLAB_* variables < flags."),
)


def load(command: Command) -> Any:
    """The command as click runs it: its module imported, registered on a root like ours."""
    module, _, attribute = command.target.partition(":")
    target = getattr(importlib.import_module(module), attribute)
    root = typer.Typer(**SETTINGS)
    root.callback()(lambda: None)  # a root with a callback keeps its one command a subcommand
    if isinstance(target, typer.Typer):
        root.add_typer(target, name=command.name)
    else:
        root.command(command.name)(target)
    return typer.main.get_command(root).commands[command.name]  # type: ignore[attr-defined]


class LazyCommands(Mapping[str, Any]):
    """The root's commands by name; each built the first time it is asked for."""

    def __init__(self, commands: tuple[Command, ...]) -> None:
        self.table = {command.name: command for command in commands}
        self.loaded: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self.loaded:
            self.loaded[name] = load(self.table[name])
        return self.loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.table)

    def __len__(self) -> int:
        return len(self.table)


class LazyGroup(TyperGroup):
    """typer's root group, with its commands from COMMANDS, loaded as they are used."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(COMMANDS)  # type: ignore[assignment]

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The list of commands, each summary shortened as click shortens a command's help."""
        limit = formatter.width - 6 - max(len(command.name) for command in COMMANDS)
        with formatter.section("Commands"):
            formatter.write_dl([(c.name, make_default_short_help(c.summary, limit)) for c in COMMANDS])


app = typer.Typer(name="torchlab", help=HELP, no_args_is_help=True, cls=LazyGroup, **SETTINGS)


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
