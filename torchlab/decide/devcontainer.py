"""A lab as a Dev Container: the .devcontainer/devcontainer.json that VS Code and the Dev
Containers CLI (`devcontainer up`) start, made from the lab's run spec (decide.runspec), so that it
keeps every protection of `up`. Pure.

From the run spec: the lab image; the GPU request of the plan (`--gpus=all`, or /dev/kfd and
/dev/dri with the host's video and render groups); shared memory for DataLoader workers; every
capability dropped, no new privileges, an init process, never privileged; the user `up` runs the
lab as (the learner's uid:gid, never root: no image is rebuilt to change a user's uid); the
workspace as the only host folder, and the learner's home volume (the same one `up` uses). The
smoke checks run at each start (postStartCommand), beside JupyterLab, which listens inside the
container only (127.0.0.1) and reaches the host through the tool's port forwarding (forwardPorts),
with a token of its own (`jupyter server list` in the container shows its URL).
"""

from __future__ import annotations

import shlex
from typing import Any

from torchlab.decide.jupyter import start_command
from torchlab.decide.runspec import (
    IMAGE_LABS,
    IMAGE_PYTHON,
    IMAGE_RUNNER,
    JUPYTER_HOME,
    JUPYTER_PORT,
    SCRATCH,
    GpuGroups,
    LabTarget,
    Mount,
    RunSpec,
    build_runspec,
)

FILE = (".devcontainer", "devcontainer.json")  # where the Dev Containers tools look for it
JUPYTER_LOG = f"{SCRATCH}/jupyterlab.log"
VSCODE_EXTENSIONS = ("ms-python.python", "ms-toolsai.jupyter")


def mount_field(text: str) -> str:
    """One field of `docker run --mount` (CSV): quoted when it holds a comma or a quote."""
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"') else text


def mount_text(mount: Mount) -> str:
    fields = [f"source={mount.source}", f"target={mount.target}", f"type={mount.kind}"]
    return ",".join(mount_field(field) for field in fields + (["readonly"] if mount.read_only else []))


def run_args(spec: RunSpec) -> list[str]:
    """The `docker run` flags of the run spec that devcontainer.json has no property for."""
    args = [f"--shm-size={spec.shm_size}", *(f"--cap-drop={cap}" for cap in spec.cap_drop)]
    if spec.gpu_request:
        args.append("--gpus=all")  # the run spec's device request: every GPU, capability gpu
    args += [f"--device={device}" for device in spec.devices]
    return args + [f"--group-add={gid}" for gid in spec.group_add]


def smoke_command(target: LabTarget) -> list[str]:
    """The lab's smoke checks, with the image's runner and its copy of the lab, on the lab's device."""
    return [IMAGE_PYTHON, IMAGE_RUNNER, f"{IMAGE_LABS}/{target.lab}", "--device", target.device]


def jupyter_command(target: LabTarget, workspace: str) -> str:
    """JupyterLab as `up` starts it (decide.jupyter), on 127.0.0.1 inside the container, in the
    background (a postStartCommand must end), its log in JUPYTER_LOG."""
    jupyter = ("jupyter", "lab", "--ip", "127.0.0.1", "--port", str(JUPYTER_PORT), "--no-browser",
               f"--ServerApp.root_dir={workspace}")
    argv = start_command(IMAGE_PYTHON, JUPYTER_HOME, workspace, target.lab, target.device, jupyter)
    return f"nohup {shlex.join(argv)} </dev/null >{JUPYTER_LOG} 2>&1 &"


def devcontainer_config(target: LabTarget, image: str, user: tuple[int, int],
                        groups: GpuGroups = GpuGroups()) -> dict[str, Any]:
    """devcontainer.json for the lab: its run spec (no JupyterLab command, no token, no published
    port) in the Dev Containers' words."""
    spec = build_runspec(target, image, user, token="", jupyter=False, groups=groups)
    [workspace] = [mount for mount in spec.mounts if mount.kind == "bind"]
    return {
        "name": f"torchlab {target.lab} ({target.variant})",
        "image": spec.image,
        "runArgs": run_args(spec),
        "init": spec.init,
        "privileged": spec.privileged,
        "securityOpt": list(spec.security_opt),
        "containerUser": spec.user,
        "remoteUser": spec.user,
        "updateRemoteUserUID": False,  # the container already runs as the learner's uid:gid
        "workspaceMount": mount_text(workspace),
        "workspaceFolder": workspace.target,
        "mounts": [mount_text(mount) for mount in spec.mounts if mount is not workspace],
        "containerEnv": dict(spec.environment),
        "forwardPorts": [JUPYTER_PORT],
        "portsAttributes": {str(JUPYTER_PORT): {"label": "JupyterLab", "onAutoForward": "notify"}},
        "postStartCommand": {"smoke": smoke_command(target), "jupyterlab": jupyter_command(target, workspace.target)},
        "customizations": {"vscode": {"extensions": list(VSCODE_EXTENSIONS),
                                      "settings": {"python.defaultInterpreterPath": IMAGE_PYTHON}}},
    }
