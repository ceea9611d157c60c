"""The hub's configuration as data, then as the jupyterhub_config.py JupyterHub reads. Pure.

What torchlab knows goes in here: the seat image, the protections of `up` (taken from the lab's
RunSpec: the learner's uid, every capability dropped, no-new-privileges, shm for DataLoader
workers, an init process), a home volume and a workspace per seat, each seat's GPU. What JupyterHub
and DockerSpawner do with it is theirs: logins, spawning, the proxy, the idle culler.

Seats run on a bridge network of their own with inter-container traffic off: the hub (on the
network's gateway) and the proxy reach every seat, no seat reaches another. Nothing of a seat is
published on the host; learners come in through the proxy only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from torchlab.classroom.gpus import Seat, docker_gpu
from torchlab.decide.runspec import CONTAINER_HOME, CONTAINER_WORKSPACE, RunSpec

HUB_SERVICE = "torchlab"  # the service torchlab acts as, through the REST API
CULLER_SERVICE = "idle-culler"
SEAT_PORT = 8888
NETWORK_OPTIONS = {"com.docker.network.bridge.enable_icc": "false"}  # seats cannot reach each other
SERVICE_SCOPES = ("list:users", "read:users", "admin:users", "admin:servers", "tokens")
CULLER_SCOPES = ("list:users", "read:users:activity", "read:servers", "delete:servers")


@dataclass(frozen=True)
class HubFiles:
    """Where the hub keeps its state (all under <data_dir>/classroom/hub)."""

    db: str
    cookie_secret: str
    service_token: str  # torchlab's API token (mode 0600)
    passwords: str  # the seats' password hashes (mode 0600)
    hub_pid: str
    proxy_pid: str


@dataclass(frozen=True)
class HubPlan:
    lab: str
    image: str  # the seat image: the lab image with jupyterhub-singleuser
    seats: tuple[Seat, ...]
    protections: RunSpec  # the lab's container as `up` makes it: user, caps, shm, environment
    files: HubFiles
    public_url: str  # where the proxy listens: http://127.0.0.1:8000
    hub_url: str  # where the hub listens for the proxy and the seats: http://<gateway>:<port>
    proxy_api_port: int
    proxy_command: tuple[str, ...]
    python: str  # the interpreter that runs the hub and its services
    network: str
    prefix: str  # containers and volumes are named <prefix>-<seat>
    seats_dir: str  # the host folder holding one workspace per seat
    labels: Mapping[str, str] = field(default_factory=dict)
    amd_groups: tuple[int, ...] = ()
    tls: tuple[str, str] | None = None  # (certificate, key) for https
    idle_timeout_s: int = 3600
    cull_every_s: int = 300


def container_name(prefix: str, seat: str) -> str:
    return f"{prefix}-{seat}"


def volume_name(prefix: str, seat: str) -> str:
    return f"{prefix}-{seat}-home"


def seat_environment(plan: HubPlan) -> dict[str, str]:
    """The lab's environment as `up` sets it (HOME, USER, the lab and its device)."""
    return dict(plan.protections.environment)


def common_create_kwargs(plan: HubPlan) -> dict[str, Any]:
    spec = plan.protections
    labels = {**plan.labels, "torchlab.seat": "{raw_username}", "torchlab.lab": plan.lab}
    return {"user": spec.user, "working_dir": CONTAINER_WORKSPACE, "labels": labels}


def common_host_config(plan: HubPlan) -> dict[str, Any]:
    """The protections of `up`, for every seat."""
    spec = plan.protections
    return {"cap_drop": list(spec.cap_drop), "security_opt": list(spec.security_opt), "shm_size": spec.shm_size,
            "init": spec.init, "privileged": spec.privileged}


def per_seat(plan: HubPlan) -> tuple[dict[str, Any], dict[str, Any]]:
    """(host config, create kwargs) that differ by seat: its GPU."""
    host: dict[str, Any] = {}
    create: dict[str, Any] = {}
    for seat in plan.seats:
        gpu_host, gpu_env = docker_gpu(seat.gpu, plan.amd_groups)
        if gpu_host:
            host[seat.name] = gpu_host
        if gpu_env:
            create[seat.name] = {"environment": gpu_env}
    return host, create


def volumes(plan: HubPlan) -> dict[str, str]:
    """A home volume and a workspace folder per seat (DockerSpawner fills in {raw_username})."""
    return {volume_name(plan.prefix, "{raw_username}"): CONTAINER_HOME,
            f"{plan.seats_dir}/{{raw_username}}": CONTAINER_WORKSPACE}


def roles(plan: HubPlan) -> list[dict[str, Any]]:
    return [{"name": "torchlab-classroom", "scopes": list(SERVICE_SCOPES), "services": [HUB_SERVICE]},
            {"name": "torchlab-idle-culler", "scopes": list(CULLER_SCOPES), "services": [CULLER_SERVICE]}]


def culler_command(plan: HubPlan) -> list[str]:
    return [plan.python, "-m", "jupyterhub_idle_culler", f"--timeout={plan.idle_timeout_s}",
            f"--cull-every={plan.cull_every_s}"]


def hub_settings(plan: HubPlan) -> dict[str, dict[str, Any]]:
    """Every setting, by class and trait, except the two that are code (services, per-seat callables)."""
    files = plan.files
    hub: dict[str, Any] = {
        "bind_url": plan.public_url, "hub_bind_url": plan.hub_url, "hub_connect_url": plan.hub_url,
        "db_url": f"sqlite:///{files.db}", "cookie_secret_file": files.cookie_secret, "pid_file": files.hub_pid,
        "cleanup_servers": False,  # a hub restarted adopts the running seats instead of stopping them
        "cleanup_proxy": True, "spawner_class": "dockerspawner.DockerSpawner",
        "authenticator_class": "torchlab.classroom.hubside.SeatAuthenticator",
        "load_roles": roles(plan), "last_activity_interval": 60,
    }
    if plan.tls:
        hub["ssl_cert"], hub["ssl_key"] = plan.tls
    spawner = {
        "image": plan.image, "network_name": plan.network, "use_internal_ip": True, "remove": True,
        "pull_policy": "never", "name_template": container_name(plan.prefix, "{raw_username}"),
        "volumes": volumes(plan), "cmd": ["jupyterhub-singleuser"], "notebook_dir": CONTAINER_WORKSPACE,
        "default_url": "/lab", "environment": seat_environment(plan), "port": SEAT_PORT,
        "start_timeout": 300, "http_timeout": 180, "poll_interval": 10,
    }
    return {
        "JupyterHub": hub,
        "Authenticator": {"allowed_users": sorted(seat.name for seat in plan.seats)},
        "SeatAuthenticator": {"passwords_file": files.passwords},
        "ConfigurableHTTPProxy": {"api_url": f"http://127.0.0.1:{plan.proxy_api_port}", "pid_file": files.proxy_pid,
                                  "command": list(plan.proxy_command)},
        "DockerSpawner": spawner,
    }


HEADER = '''\
# The JupyterHub of `torchlab classroom up {lab}`: written by torchlab at each fresh `up`
# (edits here are lost then). Secrets are not in this file: they are read from mode-0600 files.
from torchlab.classroom.hubside import per_seat, read_secret

'''


def render_config(plan: HubPlan) -> str:
    """jupyterhub_config.py: plain assignments, then the services and the per-seat settings."""
    lines = [HEADER.format(lab=plan.lab)]
    for cls, traits in hub_settings(plan).items():
        lines += [f"c.{cls}.{trait} = {value!r}\n" for trait, value in traits.items()]
    host, create = per_seat(plan)
    lines.append(f"c.DockerSpawner.extra_host_config = per_seat({common_host_config(plan)!r}, {host!r})\n")
    lines.append(f"c.DockerSpawner.extra_create_kwargs = per_seat({common_create_kwargs(plan)!r}, {create!r})\n")
    lines.append("c.JupyterHub.services = [\n"
                 f"    {{'name': {HUB_SERVICE!r}, 'api_token': read_secret({plan.files.service_token!r})}},\n"
                 f"    {{'name': {CULLER_SERVICE!r}, 'command': {culler_command(plan)!r}}},\n]\n")
    return "".join(lines)
