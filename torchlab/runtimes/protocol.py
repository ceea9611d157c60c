"""The shape of a runtime: what every one of them (docker, native) does for a lab, and the plain
data that goes in and comes out. Like JupyterHub's Spawner: the caller never asks which one it has.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from torchlab.config import Config
from torchlab.decide.choice import Choice
from torchlab.decide.runspec import lab_url
from torchlab.lab.catalog import Lab
from torchlab.run import CommandResult
from torchlab.runtimes.jupyter import answers

Say = Callable[[str], None]


@dataclass(frozen=True)
class LabStart:
    """What `up` asks a runtime to start: this lab, in this build, on this workspace."""

    lab: Lab
    choice: Choice
    workspace: Path
    token: str  # JupyterLab's, made by `up`
    port: int | None = None  # --port; None: a free one
    jupyter: bool = True  # False: --no-jupyter


@dataclass(frozen=True)
class RunningLab:
    """A lab as its runtime finds it (Docker's labels, a native pid file)."""

    lab: str
    version: str
    runtime: str  # the name it has in torchlab.runtimes.RUNTIMES
    variant: str
    device: str
    workspace: str
    state: str  # "running" | "exited (137)" | "gone"
    started_at: float | None  # epoch seconds
    port: int | None = None
    token: str | None = None
    container: str | None = None  # docker: the container's name
    user: str | None = None  # docker: "uid:gid"
    pid: int | None = None  # native: JupyterLab's pid
    env: str | None = None  # native: the environment's folder
    log: str | None = None  # native: JupyterLab's log file

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def url(self) -> str | None:
        return lab_url(self.port, self.token) if self.port else None

    @property
    def place(self) -> dict[str, Any]:
        """Where it runs, as the JSON documents say it: its container, else JupyterLab's pid."""
        return {"container": self.container} if self.container is not None else {"pid": self.pid}

    @property
    def workspace_gone(self) -> bool:
        """Its workspace folder was deleted (or replaced) while it ran: the lab is broken."""
        return bool(self.workspace) and not os.path.isdir(self.workspace)

    def fix(self) -> str | None:
        """What to do about a broken lab, in one line; None when nothing is wrong with it."""
        if self.running and self.workspace_gone:
            return (f"its workspace {self.workspace} is gone (deleted while the lab ran): "
                    f"`torchlab down {self.lab}`, then `torchlab up {self.lab}` makes a fresh one")
        return None

    def health(self) -> str:
        """ok: JupyterLab answers with the token; else what is wrong."""
        if not self.running:
            return "stopped"
        if self.workspace_gone:
            return "broken: workspace gone"
        if self.port is None:
            return "no jupyter"
        return "ok" if answers(self.port, self.token) else "not answering"

    def to_json(self, now: float | None = None) -> dict[str, Any]:
        now = time.time() if now is None else now
        uptime = round(now - self.started_at) if self.started_at and self.running else None
        return {"lab": self.lab, "version": self.version, "runtime": self.runtime, "variant": self.variant,
                "device": self.device, "url": self.url, **self.place, "workspace": self.workspace,
                "state": self.state, "uptime_s": uptime, "health": self.health(), "fix": self.fix()}


@dataclass(frozen=True)
class ShellCommand:
    """An interactive shell in the lab: run on this terminal, as the lab's user, in its workspace."""

    argv: list[str]
    env: dict[str, str]
    cwd: str | None


class Runtime(Protocol):
    """One way to run labs. Made with the settings and the environment variables to act under."""

    name: str

    def __init__(self, config: Config, env: Mapping[str, str]) -> None: ...

    def start(self, start: LabStart, say: Say) -> RunningLab:
        """Make what the lab needs (an image, an environment), then start it; JupyterLab may still
        be starting when this returns."""

    def stop(self, lab: str) -> bool:
        """Stop the lab and forget it (its workspace stays); False when it was not there."""

    def find(self, lab: str | None = None) -> list[RunningLab]:
        """The labs this runtime has (of this data folder): one, or all; stopped ones too."""

    def why_stopped(self, running: RunningLab) -> str | None:
        """None while the lab runs; else what happened to it, in one line."""

    def python(self, running: RunningLab) -> str:
        """The lab environment's interpreter, as a command run in the lab names it."""

    def smoke_files(self, running: RunningLab, runner: Path, lab_dir: Path) -> tuple[str, str]:
        """The shared smoke runner and the lab's folder (torchlab's copies here) as the lab sees them."""

    def copy_in(self, running: RunningLab, file: Path, what: str) -> str:
        """Make a host file readable in the lab; its path there. `what` names the work, for errors."""

    def run_in(self, running: RunningLab, argv: list[str], timeout: float, what: str) -> CommandResult | None:
        """Run a command in the lab, as its user, and capture it; None when it cannot be started."""

    def logs(self, running: RunningLab, follow: bool) -> Iterator[bytes]:
        """What the lab's JupyterLab printed; with follow, the new output too until the lab stops."""

    def shell(self, running: RunningLab, tty: bool) -> ShellCommand: ...
