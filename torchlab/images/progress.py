"""Progress of a build, pull or push, on stderr: a live rich display when stderr is a terminal,
plain lines otherwise (logs, CI, --json). Both read the engine's own messages (plain dicts)."""

from __future__ import annotations

import re
import sys
from typing import Any, Optional, Protocol, TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # the engine colours a step's stderr red
LAYER_DONE = ("Pull complete", "Already exists", "Pushed", "Layer already exists", "Mounted from")


class ImageProgress(Protocol):
    def event(self, event: dict[str, Any]) -> None: ...

    def say(self, line: str) -> None: ...

    def close(self) -> None: ...


def layer_line(event: dict[str, Any]) -> Optional[str]:
    """One line for a pull/push message ("layer 1a2b3c: Pull complete"), None for a progress tick."""
    status, layer = str(event.get("status", "")), event.get("id")
    if not status or event.get("progressDetail", {}).get("current"):
        return None
    return f"layer {layer}: {status}" if layer else status


class PlainProgress:
    """Build output and layer states as lines; each layer's ticks are left out."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.seen: set[str] = set()

    def event(self, event: dict[str, Any]) -> None:
        for line in ANSI.sub("", str(event.get("stream", ""))).splitlines():
            if line.strip():
                self._print(line if line.startswith("Step ") else f"    {line}")
        line = layer_line(event)
        if line and line not in self.seen:
            self.seen.add(line)
            self._print(line)

    def say(self, line: str) -> None:
        self._print(f"torchlab: {line}")

    def close(self) -> None:
        self.stream.flush()

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


class RichProgress:
    """A spinner naming the build step, a bar per layer being pulled or pushed."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[amount]}"),
            console=console, transient=True,
        )
        self.step = self.progress.add_task("starting", total=None, amount="")
        self.layers: dict[str, Any] = {}
        self.progress.start()

    def event(self, event: dict[str, Any]) -> None:
        for line in str(event.get("stream", "")).splitlines():
            if line.startswith("Step "):
                self.console.print(f"[dim]{escape(line)}[/]")
                self.progress.update(self.step, description=escape(line[:70]))
        layer = event.get("id")
        if layer and event.get("status"):
            self._layer(str(layer), str(event["status"]), event.get("progressDetail") or {})

    def _layer(self, layer: str, status: str, detail: dict[str, Any]) -> None:
        task = self.layers.get(layer)
        if task is None:
            task = self.layers[layer] = self.progress.add_task(f"layer {layer}", total=None, amount="")
        total, current = detail.get("total"), detail.get("current")
        done = any(status.startswith(mark) for mark in LAYER_DONE)
        amount = f"{(current or 0) / 1e6:.0f}/{total / 1e6:.0f} MB" if total else ""
        self.progress.update(task, description=f"layer {layer}: {status}", total=total or None,
                             completed=(total if done and total else current or 0), amount=amount)

    def say(self, line: str) -> None:
        self.console.print(f"torchlab: {escape(line)}")

    def close(self) -> None:
        if self.progress.live.is_started:
            self.progress.stop()


def progress_for(json_output: bool, stream: TextIO | None = None) -> ImageProgress:
    """Rich when stderr is a terminal and --json is off; plain lines otherwise."""
    stream = stream or sys.stderr
    if not json_output and stream.isatty():
        return RichProgress(Console(file=stream, highlight=False))
    return PlainProgress(stream)
