"""`torchlab classroom up LAB --seats N`: the seat image -> the class's network -> the hub's files
(configuration, secrets, per-seat password hashes) -> JupyterHub started -> a user and a token per
seat -> every seat's server spawned through the hub -> each answers through the proxy with its own
token -> its smoke checks pass in its container.

A class already up is proven and reported (two `up` at once take turns under one lock); a class
whose hub died is restarted on the same files, and the hub adopts the seats that still run
(nothing is spawned twice). A fresh start that fails half-way takes down what it started.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import sys
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

from torchlab import engine
from torchlab.classroom.access import Access, check_access
from torchlab.classroom.gpus import GpuSlot, Seat, assign, gpu_slots, parse_gpus_option, seat_names
from torchlab.classroom.hub import (
    check_hub_installed, log_tail, proxy_command, running_hub, start_hub, stop_hub, stop_leftovers, wait_until_up,
)
from torchlab.classroom.hubapi import HubApi, HubApiError, seat_status, tls_context, wait_for_servers
from torchlab.classroom.hubconfig import NETWORK_OPTIONS, HubPlan, container_name, render_config
from torchlab.classroom.logins import hash_password, new_password
from torchlab.classroom.manage import remove_seats
from torchlab.classroom.seatimage import ensure_seat_image
from torchlab.classroom.state import (
    ClassPaths, class_paths, forget_hub, make_private_dir, read_class, read_hub_record, read_logins, write_class,
    write_logins,
    write_private,
)
from torchlab.config import Config
from torchlab.decide.choice import Choice, choose
from torchlab.decide.plan import make_plan
from torchlab.decide.runspec import LabTarget, RunSpec, build_runspec, short_hash
from torchlab.errors import CHECK_FAILED, HOST_UNFIT, OK, USAGE, UserError
from torchlab.facts import HostFacts
from torchlab.images.store import connect_engine
from torchlab.lab.catalog import Lab, LabCatalog, find_lab, open_catalog
from torchlab.lab.smoke import smoke_summary
from torchlab.lab.workspace import init_workspace
from torchlab.probe.host import probe_host
from torchlab.runtimes import run_smoke
from torchlab.runtimes.docker import DockerRuntime, engine_trouble, give_to_lab_user, host_gpu_groups, the_lab_user
from torchlab.runtimes.lock import file_lock
from torchlab.runtimes.ports import free_port
from torchlab.runtimes.protocol import RunningLab

SCHEMA = "torchlab.classroom/1"
MAX_SEATS = 200
SPAWN_TIMEOUT_S = 900.0
SMOKE_WORKERS = 2  # smoke checks are CPU work: two at a time keep a small server responsive
Say = Callable[[str], None]


@dataclass(frozen=True)
class ClassRequest:
    lab: str
    seats: int
    gpus: str = "all"
    access: Access = Access()
    smoke: bool = True


@dataclass(frozen=True)
class SeatResult:
    name: str
    password: str
    token: str
    url: str
    gpu: GpuSlot
    state: str  # running | stopped | not answering
    smoke: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "password": self.password, "token": self.token, "url": self.url,
                "gpu": self.gpu.name, "state": self.state, "smoke": self.smoke}


@dataclass(frozen=True)
class ClassResult:
    lab: str
    hub_url: str
    variant: str
    image: str
    seats: tuple[SeatResult, ...]
    already_running: bool = False
    logins_file: str = ""

    @property
    def exit_code(self) -> int:
        proven = all(s.state == "running" and s.smoke.get("status") in ("passed", "skipped") for s in self.seats)
        return OK if proven else CHECK_FAILED

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "lab": self.lab, "hub_url": self.hub_url, "variant": self.variant,
                "image": self.image, "already_running": self.already_running, "logins_file": self.logins_file,
                "seats": [seat.to_json() for seat in self.seats]}


# --- the request --------------------------------------------------------------------------------


def check_request(request: ClassRequest, say: Say) -> None:
    if not 1 <= request.seats <= MAX_SEATS:
        raise UserError(f"--seats {request.seats}: expected a number of seats from 1 to {MAX_SEATS}", USAGE)
    parse_gpus_option(request.gpus)
    warning = check_access(request.access)
    if warning:
        say(warning)


def classroom_up(request: ClassRequest, config: Config, env: Mapping[str, str], say: Say) -> ClassResult:
    check_request(request, say)
    catalog = open_catalog(config=config)
    lab = find_lab(catalog, request.lab)
    paths = class_paths(config.data_dir)
    waiting = "another `torchlab classroom` is starting or stopping the class; waiting for it"
    with file_lock(paths.lock, waiting, say), trouble_said():
        record = read_class(paths)
        if record is not None:
            return resume(record, request, lab, catalog, config, env, say)
        return start_fresh(request, lab, catalog, config, env, say)


@contextlib.contextmanager
def trouble_said() -> Iterator[None]:
    """The hub or the engine failing mid-way is said in one line (exit 3), never as a traceback."""
    try:
        yield
    except HubApiError as exc:
        raise UserError(f"the class's JupyterHub failed: {exc}", HOST_UNFIT) from None
    except engine.ENGINE_ERRORS as exc:
        raise UserError(f"the Docker engine failed: {engine.api_error_text(exc)}", HOST_UNFIT) from None


# --- a fresh class ------------------------------------------------------------------------------


def class_choice(facts: HostFacts, gpus: str) -> Choice:
    """The plan's build for a GPU class; the CPU build for --gpus none."""
    return choose(make_plan(facts), facts, "docker", "cpu" if gpus == "none" else "auto")


def plan_seats(request: ClassRequest, facts: HostFacts, choice: Choice) -> tuple[Seat, ...]:
    wanted = parse_gpus_option(request.gpus)
    if choice.device == "cpu" and isinstance(wanted, tuple):
        gpu_slots(facts, wanted)  # says which of them this host lacks, if it does
        raise UserError(f"--gpus {request.gpus}: torch cannot use this host's GPUs ({choice.reason}); "
                        "see `torchlab doctor`, or give the class no GPU: --gpus none", HOST_UNFIT)
    if choice.device == "cpu":
        wanted = "none"  # the plan found no GPU torch can use here: a CPU class
    return assign(seat_names(request.seats), gpu_slots(facts, wanted))


def protections(lab: Lab, choice: Choice, image: str, data_dir: Path, env: Mapping[str, str]) -> RunSpec:
    """The lab's container as `up` makes it: the learner's uid, caps dropped, shm, environment."""
    target = LabTarget(lab.id, lab.version, choice.variant, choice.device, data_dir, data_dir)
    return build_runspec(target, image, the_lab_user(env), "", None, jupyter=False, groups=host_gpu_groups())


def hub_version() -> str:
    return installed_version("jupyterhub")


def start_fresh(request: ClassRequest, lab: Lab, catalog: LabCatalog, config: Config, env: Mapping[str, str],
                say: Say) -> ClassResult:
    check_hub_installed()
    proxy = proxy_command(env)
    client = engine_client(env)
    try:
        request.access.check_port()
        facts = probe_host(env, config.data_dir)
        choice = class_choice(facts, request.gpus)
        seats = plan_seats(request, facts, choice)
        image = ensure_seat_image(config, choice, lab, hub_version(), env, say)
        paths = class_paths(config.data_dir)
        network = network_name(config.data_dir)
        with engine_trouble("making the class's network"):
            gateway = engine.ensure_network(client, network, NETWORK_OPTIONS, class_labels(config.data_dir))
        plan = hub_plan(request, lab, choice, image, seats, paths, config.data_dir, gateway, proxy, env)
    finally:
        client.close()
    prepare_files(plan, lab, seats, paths, env)
    write_class(paths, class_document(lab, choice, image, seats, plan, request))
    say(f"starting JupyterHub for {len(seats)} seats of {lab.id} ({choice.variant})")
    with undone_on_failure(lambda: tear_down(paths, env), say):
        return bring_up(paths, lab, catalog, config, env, say, request.smoke, fresh=True)


def engine_client(env: Mapping[str, str]) -> Any:
    return connect_engine(env, 120, "")


def network_name(data_dir: Path) -> str:
    return f"torchlab-classroom-{short_hash(str(data_dir))}"


def seat_prefix(data_dir: Path) -> str:
    return f"torchlab-seat-{short_hash(str(data_dir))}"


def class_labels(data_dir: Path) -> dict[str, str]:
    return {"torchlab.classroom": str(data_dir)}


def free_port_on(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def hub_plan(request: ClassRequest, lab: Lab, choice: Choice, image: str, seats: tuple[Seat, ...], paths: ClassPaths,
             data_dir: Path, gateway: str, proxy: tuple[str, ...], env: Mapping[str, str]) -> HubPlan:
    access = request.access
    groups = host_gpu_groups()
    return HubPlan(
        lab=lab.id, image=image, seats=seats, protections=protections(lab, choice, image, data_dir, env),
        files=paths.hub_files(), public_url=access.bind_url, hub_url=f"http://{gateway}:{free_port_on(gateway)}",
        proxy_api_port=free_port(), proxy_command=proxy, python=sys.executable, network=network_name(data_dir),
        prefix=seat_prefix(data_dir), seats_dir=str(paths.seats_dir), labels=class_labels(data_dir),
        amd_groups=tuple(gid for gid in (groups.video, groups.render) if gid is not None), tls=access.tls,
    )


def prepare_files(plan: HubPlan, lab: Lab, seats: tuple[Seat, ...], paths: ClassPaths, env: Mapping[str, str]) -> None:
    """The hub's folder and secrets, the seats' password hashes (the passwords go to the logins
    file once the tokens exist), and a workspace per seat."""
    forget_hub(paths)
    make_private_dir(paths.hub_dir)
    write_private(Path(plan.files.service_token), secrets.token_hex(32) + "\n")
    passwords = {seat.name: new_password() for seat in seats}
    hashes = {name: hash_password(password) for name, password in passwords.items()}
    write_private(Path(plan.files.passwords), json.dumps(hashes, indent=2) + "\n")
    write_logins(paths, {name: {"password": password, "token": ""} for name, password in passwords.items()})
    write_private(paths.config, render_config(plan))
    for seat in seats:
        workspace = paths.seats_dir / seat.name
        init_workspace(lab, workspace)
        give_to_lab_user(workspace, env)


def class_document(lab: Lab, choice: Choice, image: str, seats: tuple[Seat, ...], plan: HubPlan,
                   request: ClassRequest) -> dict[str, Any]:
    return {"lab": lab.id, "version": lab.version, "variant": choice.variant, "device": choice.device,
            "image": image, "hub_url": request.access.hub_url, "check_url": request.access.check_url,
            "api_url": f"{plan.hub_url}/hub/api", "tls_cert": plan.tls[0] if plan.tls else None,
            "network": plan.network, "prefix": plan.prefix, "user": plan.protections.user,
            "seats": [{"name": seat.name, "gpu": seat.gpu.to_json()} for seat in seats], "smoke": {}}


# --- a class that exists -------------------------------------------------------------------------


def resume(record: dict[str, Any], request: ClassRequest, lab: Lab, catalog: LabCatalog, config: Config,
           env: Mapping[str, str], say: Say) -> ClassResult:
    """The class is up (prove and report it), or its hub died (start it again on the same files)."""
    seats = record.get("seats", [])
    if record.get("lab") != lab.id or len(seats) != request.seats:
        raise UserError(f"a class of {record.get('lab')} with {len(seats)} seats is already set up here; "
                        "`torchlab classroom down` first to start another", USAGE)
    paths = class_paths(config.data_dir)
    if running_hub(paths) is not None:
        say(f"the class of {lab.id} is already running; proving its seats")
        return bring_up(paths, lab, catalog, config, env, say, request.smoke, fresh=False, already=True)
    say("the class's hub is not running: starting it again; it adopts the seats that still run")
    engine_client(env).close()  # the engine must answer before anything starts
    dead = read_hub_record(paths)
    if dead is not None and stop_leftovers(paths, dead):
        say("stopped the proxy and idle culler the killed hub had left running")
    request.access.check_port()
    return bring_up(paths, lab, catalog, config, env, say, request.smoke, fresh=False)


# --- hub, seats, proof ---------------------------------------------------------------------------


@contextlib.contextmanager
def undone_on_failure(undo: Callable[[], None], say: Say) -> Iterator[None]:
    """A fresh start stopped half-way (an error, Ctrl-C) takes down what it started."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            undo()
            say("took the half-started class down; `torchlab classroom up` again starts afresh")
        raise


def bring_up(paths: ClassPaths, lab: Lab, catalog: LabCatalog, config: Config, env: Mapping[str, str], say: Say,
             smoke: bool, fresh: bool, already: bool = False) -> ClassResult:
    record = read_class(paths) or {}
    hub = running_hub(paths)
    if hub is None:
        hub = start_hub(paths, env, record["hub_url"], record["api_url"])
        wait_until_up(paths, hub)
    api = HubApi(record["api_url"], Path(paths.hub_files().service_token).read_text(encoding="utf-8").strip())
    names = [seat["name"] for seat in record["seats"]]
    logins = ensure_logins(api, paths, names, fresh)
    states = spawn_all(api, names, paths, say)
    results = prove_seats(record, states, logins, lab, catalog, config, env, say, smoke)
    ran = {r.name: r.smoke for r in results if r.smoke.get("status") != "skipped"}
    write_class(paths, {**record, "smoke": {**record.get("smoke", {}), **ran}})
    return ClassResult(lab.id, record["hub_url"], record["variant"], record["image"], tuple(results),
                       already_running=already, logins_file=str(paths.logins))


def ensure_logins(api: HubApi, paths: ClassPaths, names: list[str], fresh: bool) -> dict[str, dict[str, str]]:
    """Each seat's user and API token (made by the hub, for that user only): once, at a fresh start."""
    logins = read_logins(paths)
    if fresh or not all(logins.get(name, {}).get("token") for name in names):
        api.ensure_users(names)
        for name in names:
            logins.setdefault(name, {"password": "", "token": ""})["token"] = api.new_token(name, "torchlab classroom seat")
        write_logins(paths, logins)
    return logins


def spawn_all(api: HubApi, names: list[str], paths: ClassPaths, say: Say) -> dict[str, str]:
    """Every seat's server, spawned by the hub where it is not running; their states when settled."""
    current = wait_for_servers(api, names, SPAWN_TIMEOUT_S)  # a seat still starting is waited for
    stopped = [name for name, state in current.items() if state == "stopped"]
    if stopped:
        say(f"spawning {len(stopped)} seat{'s' if len(stopped) != 1 else ''} through the hub: {', '.join(stopped)}")
    for name in stopped:
        api.start_server(name)
    states = wait_for_servers(api, names, SPAWN_TIMEOUT_S)
    failed = [name for name, state in states.items() if state != "running"]
    if failed:
        say(f"seats not running: {', '.join(failed)}; the hub's log says: {log_tail(paths)}")
    return states


def seat_container(record: dict[str, Any], name: str) -> str:
    return container_name(record["prefix"], name)


def running_seat(record: dict[str, Any], name: str, paths: ClassPaths) -> RunningLab:
    """A seat as the docker runtime sees a lab: its container and user, for run_in (smoke checks)."""
    return RunningLab(lab=record["lab"], version=record["version"], runtime="docker", variant=record["variant"],
                      device=record["device"], workspace=str(paths.seats_dir / name), state="running",
                      started_at=None, container=seat_container(record, name), user=record["user"])


def container_id(record: dict[str, Any], name: str, env: Mapping[str, str]) -> str | None:
    client = engine.connect(env, timeout=30)
    try:
        state = engine.get_container(client, seat_container(record, name))
    finally:
        client.close()
    return state.id if state is not None else None


def seat_smoke(record: dict[str, Any], name: str, lab: Lab, catalog: LabCatalog, config: Config,
               env: Mapping[str, str]) -> dict[str, Any]:
    """The lab's smoke checks in the seat's container (skipped when they passed in this very container)."""
    earlier = record.get("smoke", {}).get(name) or {}
    try:
        current = container_id(record, name, env)
        if current and earlier.get("container") == current and earlier.get("status") == "passed":
            return earlier
        result = run_smoke(DockerRuntime(config, env), running_seat(record, name, class_paths(config.data_dir)),
                           catalog, lab, record["device"])
        summary = smoke_summary(result, lab)
    except Exception as exc:  # the container went away meanwhile: reported, not raised from a thread
        return {"status": "error", "checks": [], "detail": f"{type(exc).__name__}: {exc}", "container": None}
    return {**summary, "container": current}


def seat_state(record: dict[str, Any], name: str, state: str, token: str) -> str:
    if state != "running":
        return state
    context = tls_context(record.get("tls_cert"))
    return "running" if seat_status(record["check_url"], name, token, context) == 200 else "not answering"


def prove_seats(record: dict[str, Any], states: dict[str, str], logins: dict[str, dict[str, str]], lab: Lab,
                catalog: LabCatalog, config: Config, env: Mapping[str, str], say: Say, smoke: bool) -> list[SeatResult]:
    """Each seat answers through the proxy with its own token; then its smoke checks, two at a time."""
    answered = {name: seat_state(record, name, state, logins.get(name, {}).get("token", ""))
                for name, state in states.items()}
    to_smoke = [name for name, state in answered.items() if state == "running"] if smoke else []
    if to_smoke:
        say(f"running {lab.id}'s smoke checks in {len(to_smoke)} seat{'s' if len(to_smoke) != 1 else ''}")
    with ThreadPoolExecutor(max_workers=SMOKE_WORKERS) as pool:
        runs = dict(zip(to_smoke, pool.map(lambda n: seat_smoke(record, n, lab, catalog, config, env), to_smoke)))
    gpus = {seat["name"]: GpuSlot(**seat["gpu"]) for seat in record["seats"]}
    skipped = {"status": "skipped", "checks": []}
    return [SeatResult(name, logins.get(name, {}).get("password", ""), logins.get(name, {}).get("token", ""),
                       f"{record['hub_url']}/user/{name}/lab", gpus[name], answered[name], runs.get(name, skipped))
            for name in sorted(states)]


def tear_down(paths: ClassPaths, env: Mapping[str, str]) -> None:
    """The hub stopped, the seats' containers and the network removed, the hub's state forgotten;
    the seats' volumes and workspaces stay."""
    hub = running_hub(paths)
    if hub is not None:
        stop_hub(hub)
    remove_seats(paths, env)
    forget_hub(paths)

