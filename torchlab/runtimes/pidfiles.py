"""A native lab's pid file, <data_dir>/run/<lab>.json: what runs, where, and how to reach it.

It is checked against the process itself (pid, start time and command line,
torchlab.runtimes.processes.is_ours), so a stale file never shows a lab that has gone and never
lets torchlab signal a stranger. A damaged file (not JSON, a field of the wrong kind, a pid of -1)
is said on stderr and set aside as NAME.corrupt, never trusted and never fatal. It holds the lab's
token, so only its owner reads it.
"""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from torchlab.errors import UserError
from torchlab.files import host_error, read_text, set_aside

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
    command: tuple[str, ...] | None = None  # its command line as the OS shows it; None (an older file): not ours


def run_file(data_dir: Path, lab: str) -> Path:
    return data_dir / "run" / f"{lab}.json"


def log_file(data_dir: Path, lab: str) -> Path:
    return data_dir / "logs" / f"{lab}.log"


def write_run(data_dir: Path, run: NativeRun) -> None:
    path = run_file(data_dir, run.lab)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the token
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"schema": RUN_SCHEMA, **asdict(run)}, handle, indent=2)
        os.replace(tmp, path)
    except OSError as exc:
        raise host_error(path, exc, "cannot write the pid file") from None


# --- reading: every field checked; a damaged file is set aside ----------------------------------


def is_number(value: object, positive: bool = True) -> bool:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return ok and (value > 0 or not positive)  # type: ignore[operator]


def is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


TEXT_FIELDS = ("lab", "version", "variant", "device", "workspace", "env", "log")


def run_problem(data: object, lab: str) -> str | None:
    """What is wrong with a pid file's JSON; None when every field is of its kind."""
    if not isinstance(data, dict) or data.get("schema") != RUN_SCHEMA:
        return f'expected a JSON object with "schema": "{RUN_SCHEMA}"'
    for name in TEXT_FIELDS:
        if not isinstance(data.get(name), str):
            return f"{name}: expected a string, got {json.dumps(data.get(name))}"
    if data["lab"] != lab:
        return f'lab: expected "{lab}" (the file\'s name), got {json.dumps(data["lab"])}'
    checks: dict[str, tuple[Any, str]] = {
        "pid": (lambda v: v is None or is_count(v), "a process id (a whole number > 0) or null"),
        "create_time": (lambda v: (v is None and data.get("pid") is None) or is_number(v),
                        "the process's start time (seconds > 0)"),
        "port": (lambda v: v is None or (is_count(v) and v < 65536), "a port (1-65535) or null"),
        "token": (lambda v: v is None or isinstance(v, str), "a string or null"),
        "started_at": (lambda v: is_number(v, positive=False), "a time in seconds"),
        "command": (lambda v: v is None or (isinstance(v, list) and v and all(isinstance(p, str) for p in v)),
                    "a command line (a list of strings) or null"),
    }
    for name, (ok, expected) in checks.items():
        if not ok(data.get(name)):
            return f"{name}: expected {expected}, got {json.dumps(data.get(name))}"
    unknown = sorted(set(data) - {"schema", *TEXT_FIELDS, *checks})
    return f"{unknown[0]}: unknown field" if unknown else None


def to_run(data: dict[str, Any]) -> NativeRun:
    fields = {key: value for key, value in data.items() if key != "schema"}
    fields["command"] = tuple(fields["command"]) if fields.get("command") else None
    return NativeRun(**fields)


def read_run(data_dir: Path, lab: str) -> NativeRun | None:
    """The lab's pid file; None when there is none, or when it was damaged (then it is set aside
    and said on stderr)."""
    path = run_file(data_dir, lab)
    if not os.path.lexists(path):
        return None
    try:
        data = json.loads(read_text(path, "it"))
    except UserError as exc:
        problem: str | None = exc.format_message()
    except json.JSONDecodeError as exc:
        problem = f"not valid JSON ({exc})"
    else:
        problem = run_problem(data, lab)
    if problem is None:
        return to_run(data)
    set_aside_damaged(path, problem)
    return None


def set_aside_damaged(path: Path, problem: str) -> None:
    try:
        moved = f"set aside as {set_aside(path)}"
    except OSError as exc:
        moved = f"could not set it aside ({exc.strerror or exc})"
    print(f"torchlab: warning: pid file {path} is damaged ({problem}); {moved}; no process was signalled "
          "for it (if its JupyterLab still runs, stop it yourself)", file=sys.stderr)


def all_runs(data_dir: Path) -> list[NativeRun]:
    folder = data_dir / "run"
    try:
        names = sorted(path.stem for path in folder.glob("*.json")) if folder.is_dir() else []
    except OSError:
        names = []
    runs = [read_run(data_dir, name) for name in names]
    return [run for run in runs if run is not None]
