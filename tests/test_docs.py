"""Docs as tests: every command, subcommand and option appears in the README."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.main

from torchlab.cli import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def commands(group, path=("torchlab",)):
    for name, command in sorted(getattr(group, "commands", {}).items()):
        yield (*path, name), command
        yield from commands(command, (*path, name))


ALL = list(commands(typer.main.get_command(app)))


def test_the_readme_starts_with_the_two_setup_commands():
    blocks = [line.strip() for line in README.splitlines() if line.startswith("    ")]
    assert blocks[:3] == ['pip install -e ".[dev]"', "python -m pytest", "torchlab doctor"]


@pytest.mark.parametrize("path,command", ALL, ids=[" ".join(p) for p, _ in ALL])
def test_each_command_and_its_options_are_documented(path, command):
    assert " ".join(path) in README
    for param in command.params:
        for option in param.opts:
            if option.startswith("--") and option != "--help":
                assert option in README, f"{' '.join(path)} {option} is not in the README"
