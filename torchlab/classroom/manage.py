"""`classroom status | seats | down`: the class as its hub and the engine say it is, its logins
again, and taking it down (the hub and the servers stop; the seats' volumes and workspaces stay)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torchlab import engine
from torchlab.classroom.hub import running_hub, stop_hub
from torchlab.classroom.hubapi import HubApi, HubApiError, server_state, wait_for_servers
from torchlab.classroom.hubconfig import container_name, volume_name
from torchlab.classroom.state import ClassPaths, class_paths, forget_hub, read_class, read_logins
from torchlab.config import Config
from torchlab.errors import HOST_UNFIT, USAGE, UserError
from torchlab.runtimes.lock import file_lock

STATUS_SCHEMA = "torchlab.classroom-status/1"
SEATS_SCHEMA = "torchlab.classroom-seats/1"
NO_CLASS = "no class is set up here (start one with `torchlab classroom up LAB --seats N`)"
Say = Callable[[str], None]


@dataclass(frozen=True)
class SeatStatus:
    name: str
    user: str  # the uid:gid the seat's container runs as
    gpu: str
    state: str  # running | starting | stopping | stopped | unknown (the hub is down)
    container: str | None  # "running", "exited (137)", None: no container
    last_activity: str | None
    smoke: str  # passed | failed | error | not run | stale (passed in an earlier container)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def service_api(paths: ClassPaths, record: dict[str, Any]) -> HubApi:
    token = Path(paths.hub_files().service_token).read_text(encoding="utf-8").strip()
    return HubApi(record["api_url"], token)


def hub_users(paths: ClassPaths, record: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
    """The hub's word on each seat; None when the hub is not running or does not answer."""
    if running_hub(paths) is None:
        return None
    try:
        return {user["name"]: user for user in service_api(paths, record).users()}
    except (HubApiError, OSError, KeyError):
        return None


def containers(record: dict[str, Any], env: Mapping[str, str]) -> dict[str, engine.ContainerState]:
    try:
        client = engine.connect(env, timeout=30)
        try:
            return {seat["name"]: state for seat in record["seats"]
                    if (state := engine.get_container(client, container_name(record["prefix"], seat["name"])))}
        finally:
            client.close()
    except engine.ENGINE_ERRORS:
        return {}


def smoke_word(record: dict[str, Any], name: str, container: engine.ContainerState | None) -> str:
    run = record.get("smoke", {}).get(name)
    if not run:
        return "not run"
    if container is None or run.get("container") != container.id:
        return f"stale ({run.get('status')} in an earlier container)"
    return str(run.get("status"))


def seat_statuses(record: dict[str, Any], users: dict[str, dict[str, Any]] | None,
                  found: dict[str, engine.ContainerState]) -> list[SeatStatus]:
    rows = []
    for seat in record["seats"]:
        name = seat["name"]
        user = (users or {}).get(name)
        state = "unknown" if users is None else server_state(user)
        box = found.get(name)
        shown = None if box is None else ("running" if box.status == "running" else f"{box.status} ({box.exit_code})")
        rows.append(SeatStatus(name, record.get("user", ""), seat["gpu"]["name"], state, shown,
                               (user or {}).get("last_activity"), smoke_word(record, name, box)))
    return rows


def class_status(config: Config, env: Mapping[str, str]) -> dict[str, Any]:
    paths = class_paths(config.data_dir)
    record = read_class(paths)
    if record is None:
        return {"schema": STATUS_SCHEMA, "class": None, "seats": []}
    hub = running_hub(paths)
    rows = seat_statuses(record, hub_users(paths, record), containers(record, env))
    return {"schema": STATUS_SCHEMA,
            "class": {"lab": record["lab"], "variant": record["variant"], "image": record["image"],
                      "hub_url": record["hub_url"], "hub": "running" if hub else "stopped",
                      "hub_pid": hub.pid if hub else None},
            "seats": [row.to_json() for row in rows]}


def class_logins(config: Config) -> dict[str, Any]:
    paths = class_paths(config.data_dir)
    record = read_class(paths)
    if record is None:
        raise UserError(NO_CLASS, USAGE)
    logins = read_logins(paths)
    seats = [{"name": seat["name"], "password": logins.get(seat["name"], {}).get("password", ""),
              "token": logins.get(seat["name"], {}).get("token", ""),
              "url": f"{record['hub_url']}/user/{seat['name']}/lab"} for seat in record["seats"]]
    return {"schema": SEATS_SCHEMA, "lab": record["lab"], "hub_url": record["hub_url"], "seats": seats}


def remove_seats(paths: ClassPaths, env: Mapping[str, str]) -> list[str]:
    """Every seat container of this class removed (their home volumes stay), and its network."""
    record = read_class(paths) or {}
    wanted = {"torchlab.classroom": str(paths.root.parent)}
    client = engine.connect(env, timeout=120)
    try:
        found = [state.name for state in engine.find_containers(client, wanted)]
        for name in found:
            with contextlib.suppress(*engine.ENGINE_ERRORS):  # the engine may be removing it already (auto-remove)
                engine.remove_container(client, name)
        deadline = time.monotonic() + 60
        while engine.find_containers(client, wanted) and time.monotonic() < deadline:
            time.sleep(0.5)
        if record.get("network"):
            engine.remove_network(client, record["network"])
    finally:
        client.close()
    return found


def stop_servers(paths: ClassPaths, record: dict[str, Any]) -> None:
    """Ask the hub to stop every seat's server (DockerSpawner removes the containers, not the volumes)."""
    api = service_api(paths, record)
    names = [seat["name"] for seat in record["seats"]]
    for name in names:
        api.stop_server(name)
    wait_for_servers(api, names, 120)


def class_down(config: Config, env: Mapping[str, str], say: Say) -> dict[str, Any] | None:
    paths = class_paths(config.data_dir)
    waiting = "another `torchlab classroom` is starting or stopping the class; waiting for it"
    with file_lock(paths.lock, waiting, say):
        record = read_class(paths)
        if record is None and not paths.hub_dir.exists():
            return None
        hub = running_hub(paths)
        if hub is not None and record is not None:
            try:
                stop_servers(paths, record)
            except (HubApiError, OSError) as exc:
                say(f"the hub did not stop the seats ({exc}); removing their containers")
        if hub is not None:
            stop_hub(hub)
        try:
            removed = remove_seats(paths, env)
        except engine.ENGINE_ERRORS as exc:
            raise UserError(f"removing the seats' containers: the Docker engine failed: {engine.api_error_text(exc)}",
                            HOST_UNFIT) from None
        forget_hub(paths)
    seats = [seat["name"] for seat in record["seats"]] if record else []
    kept = [volume_name(record["prefix"], name) for name in seats] if record else []
    return {"lab": (record or {}).get("lab"), "seats": seats, "hub_stopped": hub is not None,
            "containers_removed": removed, "volumes_kept": kept, "workspaces_kept": str(paths.seats_dir)}
