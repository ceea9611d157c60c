"""Each command imports only what it uses: `--version` not even typer; `--help` no command module;
a command its own module only; `--version`, `--help` and `labs` no docker-py, rich, psutil or NVML;
doctor no torch without --torch, no docker-py when the engine is on a unix socket (it asks the
socket with the standard library), and none when it reads a report; none of them pydantic.
Measured as a user runs torchlab: `python -m torchlab ...` in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import typer.main
from typer.core import TyperGroup

from torchlab.cli.root import COMMANDS, LazyCommands, LazyGroup, app

SLOW = {"docker", "requests", "rich", "psutil", "pynvml", "torch"}  # what a command must earn
NEVER = {"pydantic"}  # typer 0.29 imports it to read any option with a value (pyproject pins typer below)
COMMAND_MODULES = {command.target.partition(":")[0] for command in COMMANDS}

# `python -m torchlab ARGS`, writing at exit every module it imported (sys.modules: -X importtime
# misses modules loaded with importlib.import_module, as the command table loads commands).
AS_A_USER = ("import atexit, os, runpy, sys\n"
             "atexit.register(lambda: open(os.environ['IMPORTED_TO'], 'w').write('\\n'.join(sorted(sys.modules))))\n"
             "sys.argv[0] = 'torchlab'\n"
             "runpy.run_module('torchlab', run_name='__main__', alter_sys=True)\n")


def imported(args: list[str], home: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """The run, and every module it imported (dotted names)."""
    listing = home / "imported.txt"
    env = {**os.environ, "TORCHLAB_CONFIG": str(home / "none.toml"), "TORCHLAB_DATA_DIR": str(home / "data"),
           "IMPORTED_TO": str(listing), **env}
    done = subprocess.run([sys.executable, "-c", AS_A_USER, *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    return done, set(listing.read_text(encoding="utf-8").split())


def packages(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["labs", "--json"], ["config", "show", "--json"]])
def test_commands_that_need_no_engine_import_nothing_slow(args: list[str], tmp_path: Path) -> None:
    done, names = imported(args, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "torchlab" in packages(names) and packages(names) & (SLOW | NEVER) == set()


def test_version_is_answered_without_typer(tmp_path: Path) -> None:
    done, names = imported(["--version"], tmp_path)
    assert done.stdout.startswith("torchlab ") and done.returncode == 0
    assert "typer" not in packages(names) and names & COMMAND_MODULES == set()


def test_help_lists_the_commands_without_importing_them(tmp_path: Path) -> None:
    done, names = imported(["--help"], tmp_path)
    assert done.returncode == 0 and "doctor" in done.stdout and "classroom" in done.stdout
    assert names & COMMAND_MODULES == set()


@pytest.mark.parametrize("args,module", [(["labs", "--json"], "labs"), (["config", "show", "--json"], "config"),
                                         (["doctor", "--json"], "doctor")])
def test_a_command_imports_its_own_module_only(args: list[str], module: str, tmp_path: Path) -> None:
    done, names = imported(args, tmp_path)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    assert names & COMMAND_MODULES == {f"torchlab.cli.{module}"}


def test_doctor_asks_a_unix_socket_engine_without_docker_py(tmp_path: Path) -> None:
    done, names = imported(["doctor", "--json"], tmp_path, DOCKER_HOST="unix:///var/run/docker.sock")
    assert done.returncode in (0, 1), done.stderr[-2000:]
    assert "torchlab.probe.docker" in names
    assert packages(names) & {"docker", "requests", "torch", *NEVER} == set()  # docker-py: not for a unix socket
    assert "torchlab.doctor.collect_env" not in names  # it reads pasted reports: --from only


def test_doctor_asks_a_tcp_engine_through_docker_py(tmp_path: Path) -> None:
    done, names = imported(["doctor", "--json"], tmp_path, DOCKER_HOST="tcp://127.0.0.1:9")  # nothing listens there
    assert done.returncode in (0, 1), done.stderr[-2000:]
    assert {"docker", "torchlab.engine"} <= names
    assert json.loads(done.stdout)["docker"]["state"] in ("daemon-down", "missing")  # refused (or no docker CLI)


def test_doctor_from_a_report_probes_nothing(tmp_path: Path) -> None:
    done, _ = imported(["doctor", "--json"], tmp_path)
    report = tmp_path / "report.json"
    report.write_text(done.stdout, encoding="utf-8")
    again, names = imported(["doctor", "--from", str(report), "--json"], tmp_path)
    assert again.returncode in (0, 1), again.stderr[-2000:]
    assert packages(names) & {"docker", "requests", "pynvml", "torch", "rich"} == set()
    assert "torchlab.probe.docker" not in names


def test_the_table_says_what_each_command_says_of_itself() -> None:
    """`--help` lists the table's summaries; each is the first paragraph of the command's own help."""
    for command in COMMANDS:
        loaded = LazyCommands((command,))[command.name]
        assert " ".join((loaded.help or "").split("\n\n")[0].split()) == command.summary, command.name


def commands_section(format_commands: Callable[..., None], width: int) -> str:
    group = typer.main.get_command(app)
    ctx = group.make_context("torchlab", [], resilient_parsing=True, terminal_width=width)
    formatter = ctx.make_formatter()
    format_commands(group, ctx, formatter)
    return formatter.getvalue()


@pytest.mark.parametrize("width", [50, 80, 200])
def test_the_list_from_the_table_is_clicks_list_of_the_loaded_commands(width: int) -> None:
    from_table = commands_section(LazyGroup.format_commands, width)
    loaded = commands_section(TyperGroup.format_commands, width)  # builds every command, as click lists them
    assert from_table == loaded and from_table.count("\n") == len(COMMANDS) + 1
