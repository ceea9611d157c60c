"""A native lab's pid file, <data_dir>/run/<lab>.json: what runs, where, and how to reach it.

It is checked against the process itself (pid and start time, torchlab.runtimes.processes), so a
stale file never shows a lab that has gone. It holds the lab's token, so only its owner reads it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

RUN_SCHEMA = "torchlab.native-run/1"


@dataclass(frozen=True)
class NativeRun:
    """The pid file of a native lab: what runs, where, and how to reach it."""

    lab: str
    version: str
    variant: str
    device: str
    pid: int | None  # None: --no-jupyter, the environment only
    create_time: float | None  # the process's start time, guarding against a reused pid
    port: int | None
    token: str | None
    workspace: str
    env: str
    log: str
    started_at: float


def run_file(data_dir: Path, lab: str) -> Path:
    return data_dir / "run" / f"{lab}.json"


def log_file(data_dir: Path, lab: str) -> Path:
    return data_dir / "logs" / f"{lab}.log"


def write_run(data_dir: Path, run: NativeRun) -> None:
    path = run_file(data_dir, run.lab)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the token
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"schema": RUN_SCHEMA, **asdict(run)}, handle, indent=2)
    os.replace(tmp, path)


def read_run(data_dir: Path, lab: str) -> NativeRun | None:
    try:
        data = json.loads(run_file(data_dir, lab).read_text(encoding="utf-8"))
        data.pop("schema", None)
        return NativeRun(**data)
    except (OSError, ValueError, TypeError):
        return None


def all_runs(data_dir: Path) -> list[NativeRun]:
    folder = data_dir / "run"
    runs = [read_run(data_dir, path.stem) for path in sorted(folder.glob("*.json"))] if folder.is_dir() else []
    return [run for run in runs if run is not None]
