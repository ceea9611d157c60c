"""What runs inside the hub process (its configuration file imports this): the seats' logins, and
the spawner settings that differ by seat. Only the hub imports it, so jupyterhub is imported here
at the top."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jupyterhub.auth import Authenticator
from traitlets import Unicode

from torchlab.classroom.logins import password_matches


def read_secret(path: str) -> str:
    return Path(path).read_text(encoding="utf-8").strip()


def merged(common: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """common with extra laid over it; mappings are merged key by key."""
    result = copy.deepcopy(dict(common))
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def per_seat(common: Mapping[str, Any], seats: Mapping[str, Mapping[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    """A DockerSpawner setting that is `common` for every seat, with the seat's own part over it."""

    def for_spawner(spawner: Any) -> dict[str, Any]:
        return merged(common, seats.get(spawner.user.name, {}))

    return for_spawner


class SeatAuthenticator(Authenticator):
    """Each seat logs in with its own password, checked against the hash torchlab saved."""

    passwords_file = Unicode("", config=True, help="The seats' password hashes: {seat: record} (JSON, mode 0600).")

    def records(self) -> dict[str, Any]:
        try:
            return json.loads(Path(self.passwords_file).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.log.error("cannot read the seats' passwords from %s", self.passwords_file)
            return {}

    async def authenticate(self, handler: Any, data: dict[str, str]) -> str | None:
        name = self.normalize_username(data.get("username", ""))
        record = self.records().get(name)
        if record is not None and password_matches(data.get("password", ""), record):
            return name
        return None
