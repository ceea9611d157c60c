"""The lab container as data: a RunSpec you can print, compare with a golden file and assert on.

Pure: the caller gives every input (the plan's variant and device, the image, the workspace, the
user to run as, the token, the port); torchlab.engine turns a RunSpec into a container.
The defaults protect the learner: JupyterLab is published on 127.0.0.1 only, the lab runs as
the host user (never root), drops every capability, cannot gain privileges, never sees the
Docker socket, and the workspace is the only host folder mounted (read-write).

The learner's home in the container is a Docker volume of its own (no host folder): JupyterLab's
settings, downloaded datasets, inductor's compiled kernels and Python's bytecode cache outlive `down`.
The image ships no bytecode, so without it every `up` would compile torch and JupyterLab afresh
(seconds of CPU on each start).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from torchlab.decide.jupyter import start_command

JUPYTER_PORT = 8888
CONTAINER_HOME = "/home/learner"
CONTAINER_WORKSPACE = f"{CONTAINER_HOME}/work"
# Where the lab image (images/Dockerfile) puts the lab environment, the smoke runner and the labs.
IMAGE_PYTHON = "/opt/torchlab/venv/bin/python"
IMAGE_RUNNER = "/opt/torchlab/smoke/runner.py"
IMAGE_LABS = "/opt/torchlab/labs"
SCRATCH = "/tmp"  # the one folder of the image the lab user can surely write
JUPYTER_HOME = f"{SCRATCH}/torchlab-jupyter"  # the lab's kernelspec, written at each start
SHM_SIZE = "2g"  # DataLoader workers share batches through /dev/shm; Docker's 64 MB breaks them
FALLBACK_USER = (1000, 1000)  # the image's learner: a lab never runs as root
LABEL_PREFIX = "torchlab."
AMD_DEVICES = ("/dev/kfd", "/dev/dri")


@dataclass(frozen=True)
class LabTarget:
    """Which lab, in which build, where its files live: what the labels of its container say."""

    lab: str
    version: str
    variant: str  # "cpu" | "cuda-12.6" | "rocm-7.2"
    device: str  # "cpu" | "cuda"
    workspace: Path
    data_dir: Path


@dataclass(frozen=True)
class GpuGroups:
    """The host's group ids that own /dev/kfd and /dev/dri (AMD); None where the group is absent."""

    video: int | None = None
    render: int | None = None


@dataclass(frozen=True)
class PortBinding:
    container_port: int
    host_ip: str
    host_port: int | None  # None: the engine picks a free port


@dataclass(frozen=True)
class Mount:
    source: str  # a host folder (bind) or a volume's name (volume)
    target: str
    read_only: bool
    kind: str = "bind"  # "bind" | "volume"


@dataclass(frozen=True)
class RunSpec:
    image: str
    name: str
    labels: tuple[tuple[str, str], ...]
    user: str  # "uid:gid"
    command: tuple[str, ...]
    working_dir: str
    mounts: tuple[Mount, ...]
    ports: tuple[PortBinding, ...]
    environment: tuple[tuple[str, str], ...]
    shm_size: str = SHM_SIZE
    cap_drop: tuple[str, ...] = ("ALL",)
    security_opt: tuple[str, ...] = ("no-new-privileges",)
    privileged: bool = False
    init: bool = True  # reaps DataLoader workers' zombies, forwards SIGTERM to JupyterLab
    gpu_request: bool = False  # NVIDIA: a device request for capability "gpu", every GPU
    devices: tuple[str, ...] = ()
    group_add: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["labels"] = dict(self.labels)
        data["environment"] = dict(self.environment)
        return data

    def docker_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for docker-py's containers.create (plain data, no docker types)."""
        kwargs: dict[str, Any] = {
            "image": self.image,
            "name": self.name,
            "command": list(self.command),
            "labels": dict(self.labels),
            "user": self.user,
            "working_dir": self.working_dir,
            "environment": dict(self.environment),
            "volumes": {m.source: {"bind": m.target, "mode": "ro" if m.read_only else "rw"} for m in self.mounts},
            "ports": {f"{p.container_port}/tcp": (p.host_ip, p.host_port) for p in self.ports},
            "shm_size": self.shm_size,
            "cap_drop": list(self.cap_drop),
            "security_opt": list(self.security_opt),
            "privileged": self.privileged,
            "init": self.init,
            "detach": True,
        }
        if self.gpu_request:
            kwargs["device_requests"] = [{"count": -1, "capabilities": [["gpu"]]}]
        if self.devices:
            kwargs["devices"] = [f"{path}:{path}:rwm" for path in self.devices]
        if self.group_add:
            kwargs["group_add"] = list(self.group_add)
        return kwargs


def short_hash(text: str, length: int = 8) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def container_name(lab: str, data_dir: Path) -> str:
    """One container per lab and data folder: the engine refuses a second one of the same name."""
    return f"torchlab-{lab}-{short_hash(str(data_dir))}"


def home_volume(data_dir: Path, uid: int) -> str:
    """The learner's home volume: one per data folder and user id (files in it are that uid's)."""
    return f"torchlab-home-{short_hash(str(data_dir))}-{uid}"


def lab_user(euid: int, egid: int, env: Mapping[str, str]) -> tuple[int, int]:
    """The host user's uid:gid; under root, the user sudo came from, else the image's learner."""
    if euid != 0:
        return euid, egid
    sudo_uid, sudo_gid = env.get("SUDO_UID", ""), env.get("SUDO_GID", "")
    if sudo_uid.isdigit() and sudo_gid.isdigit() and int(sudo_uid) != 0:
        return int(sudo_uid), int(sudo_gid)
    return FALLBACK_USER


def lab_labels(target: LabTarget) -> tuple[tuple[str, str], ...]:
    values = {
        "lab": target.lab,
        "version": target.version,
        "workspace": str(target.workspace),
        "variant": target.variant,
        "device": target.device,
        "runtime": "docker",
        "data_dir": str(target.data_dir),
    }
    return tuple((LABEL_PREFIX + key, value) for key, value in values.items())


def jupyter_command(target: LabTarget, token: str) -> tuple[str, ...]:
    """JupyterLab on the lab's first notebook, its kernel named for the lab (decide.jupyter.START)."""
    jupyter = ("jupyter", "lab", "--ip", "0.0.0.0", "--port", str(JUPYTER_PORT), "--no-browser",
               f"--ServerApp.token={token}", f"--ServerApp.root_dir={CONTAINER_WORKSPACE}")
    return start_command(IMAGE_PYTHON, JUPYTER_HOME, CONTAINER_WORKSPACE, target.lab, target.device, jupyter)


def idle_command() -> tuple[str, ...]:
    """`--no-jupyter`: a container that only waits, for smoke checks and `torchlab shell`."""
    return ("sleep", "infinity")


def gpu_access(variant: str, groups: GpuGroups) -> dict[str, Any]:
    """NVIDIA: the device request; AMD: the devices and the groups that may open them."""
    if variant.startswith("cuda"):
        return {"gpu_request": True}
    if variant.startswith("rocm"):
        gids = tuple(str(gid) for gid in (groups.video, groups.render) if gid is not None)
        return {"devices": AMD_DEVICES, "group_add": gids}
    return {}


def lab_environment(target: LabTarget) -> tuple[tuple[str, str], ...]:
    # USER and LOGNAME: the host's uid has no name in the image, and getpass.getuser() (torch's
    # compile cache, Jupyter) would fail looking it up.
    env = [("TORCHLAB_LAB", target.lab), ("TORCHLAB_DEVICE", target.device), ("HOME", CONTAINER_HOME),
           ("USER", "learner"), ("LOGNAME", "learner")]
    if target.variant.startswith("cuda"):
        env.append(("NVIDIA_DRIVER_CAPABILITIES", "compute,utility"))
    return tuple(env)


def build_runspec(
    target: LabTarget,
    image: str,
    user: tuple[int, int],
    token: str,
    port: int | None = None,
    jupyter: bool = True,
    groups: GpuGroups = GpuGroups(),
) -> RunSpec:
    """The lab's container: its image, user, workspace, JupyterLab on 127.0.0.1 and its GPU."""
    uid, gid = user if user[0] != 0 else FALLBACK_USER
    return RunSpec(
        image=image,
        name=container_name(target.lab, target.data_dir),
        labels=lab_labels(target),
        user=f"{uid}:{gid}",
        command=jupyter_command(target, token) if jupyter else idle_command(),
        working_dir=CONTAINER_WORKSPACE,
        mounts=(Mount(str(target.workspace), CONTAINER_WORKSPACE, read_only=False),
                Mount(home_volume(target.data_dir, uid), CONTAINER_HOME, read_only=False, kind="volume")),
        ports=(PortBinding(JUPYTER_PORT, "127.0.0.1", port),) if jupyter else (),
        environment=lab_environment(target),
        **gpu_access(target.variant, groups),
    )


def token_from_command(command: list[str] | tuple[str, ...]) -> str | None:
    """The token back from a running container's command (the labels and command are the truth)."""
    for arg in command:
        if arg.startswith("--ServerApp.token="):
            return arg.split("=", 1)[1]
    return None


def lab_url(port: int, token: str | None) -> str:
    """JupyterLab's front door: it sends the browser (token and all) on to the lab's first page."""
    base = f"http://127.0.0.1:{port}/"
    return f"{base}?token={token}" if token else base


def probe_runspec(name: str, variant: str, image: str, user: tuple[int, int], command: tuple[str, ...],
                  groups: GpuGroups = GpuGroups()) -> RunSpec:
    """`doctor --gpu-probe`'s throw-away container: the lab's GPU access, nothing mounted or published."""
    uid, gid = user if user[0] != 0 else FALLBACK_USER
    return RunSpec(
        image=image, name=name, labels=((LABEL_PREFIX + "probe", "gpu"),), user=f"{uid}:{gid}", command=command,
        working_dir="/tmp", mounts=(), ports=(), environment=(("HOME", CONTAINER_HOME), ("USER", "learner")),
        **gpu_access(variant, groups),
    )
