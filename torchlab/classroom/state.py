"""The class's files under <data_dir>/classroom:

    hub/        the hub's state: its configuration, database, cookie secret, torchlab's service
                token, the seats' password hashes, the logins (passwords and tokens, shown once),
                the hub's pid file. Private to the user (0700, secrets 0600); `down` removes it,
                so the logins of a class end with it.
    hub.log     what the hub (and its proxy and culler) printed, appended run after run (0600).
    seats/NAME  each seat's workspace (mounted at /home/learner/work); kept by `down`.
    class.json  what the class is: lab, image, seats and their GPUs, each seat's last smoke checks.

The running hub is known from its pid file, checked against the process (pid and start time).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from torchlab.classroom.hubconfig import HubFiles

CLASS_SCHEMA = "torchlab.classroom-class/1"
HUB_SCHEMA = "torchlab.classroom-hub/1"
LOGINS_SCHEMA = "torchlab.classroom-logins/1"


@dataclass(frozen=True)
class ClassPaths:
    root: Path  # <data_dir>/classroom

    @property
    def hub_dir(self) -> Path:
        return self.root / "hub"

    @property
    def seats_dir(self) -> Path:
        return self.root / "seats"

    @property
    def record(self) -> Path:
        return self.root / "class.json"

    @property
    def config(self) -> Path:
        return self.hub_dir / "jupyterhub_config.py"

    @property
    def hub_record(self) -> Path:
        return self.hub_dir / "hub.json"

    @property
    def logins(self) -> Path:
        return self.hub_dir / "logins.json"

    @property
    def log(self) -> Path:
        """The hub's log: beside its state, not in it, so that it outlives a failed start."""
        return self.root / "hub.log"

    @property
    def lock(self) -> Path:
        return self.root.parent / "locks" / "classroom.lock"

    def hub_files(self) -> HubFiles:
        where = self.hub_dir
        return HubFiles(db=str(where / "jupyterhub.sqlite"), cookie_secret=str(where / "jupyterhub_cookie_secret"),
                        service_token=str(where / "service-token"), passwords=str(where / "seat-passwords.json"),
                        hub_pid=str(where / "jupyterhub.pid"), proxy_pid=str(where / "proxy.pid"))


def class_paths(data_dir: Path) -> ClassPaths:
    return ClassPaths(data_dir / "classroom")


def make_private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def write_json(path: Path, schema: str, data: dict[str, Any]) -> None:
    write_private(path, json.dumps({"schema": schema, **data}, indent=2) + "\n")


def read_json(path: Path, schema: str) -> dict[str, Any] | None:
    """The document, or None when it is missing, unreadable or of another kind."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("schema") == schema else None


@dataclass(frozen=True)
class HubRecord:
    """The hub's pid file: which process it is, how it was started, where it answers."""

    pid: int
    create_time: float
    argv: list[str]
    started_at: float
    hub_url: str  # the public URL, through the proxy
    api_url: str  # the hub's own URL, for torchlab's REST calls


def write_hub_record(paths: ClassPaths, record: HubRecord) -> None:
    write_json(paths.hub_record, HUB_SCHEMA, asdict(record))


def read_hub_record(paths: ClassPaths) -> HubRecord | None:
    data = read_json(paths.hub_record, HUB_SCHEMA)
    if data is None:
        return None
    data.pop("schema")
    try:
        return HubRecord(**data)
    except TypeError:
        return None


def read_class(paths: ClassPaths) -> dict[str, Any] | None:
    return read_json(paths.record, CLASS_SCHEMA)


def write_class(paths: ClassPaths, data: dict[str, Any]) -> None:
    data = {key: value for key, value in data.items() if key != "schema"}
    write_json(paths.record, CLASS_SCHEMA, data)


def read_logins(paths: ClassPaths) -> dict[str, dict[str, str]]:
    data = read_json(paths.logins, LOGINS_SCHEMA)
    return dict(data.get("seats", {})) if data else {}


def write_logins(paths: ClassPaths, seats: dict[str, dict[str, str]]) -> None:
    write_json(paths.logins, LOGINS_SCHEMA, {"seats": seats})


def forget_hub(paths: ClassPaths) -> None:
    """The hub's state goes (database, tokens, logins); the seats' workspaces stay."""
    shutil.rmtree(paths.hub_dir, ignore_errors=True)
    paths.record.unlink(missing_ok=True)
