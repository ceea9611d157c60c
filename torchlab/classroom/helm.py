"""The class on Kubernetes, as data: values for the JupyterHub Helm chart (Zero to JupyterHub,
whose hub spawns with KubeSpawner) and the TA's README. Pure.

One profile per lab of the catalog (the exported lab is the default): the seat image from the
registry, the lab's memory as its guarantee, one GPU per learner (`nvidia.com/gpu` or
`amd.com/gpu`) with a node selector and a toleration to adapt to the cluster, the lab's workspace
copied into the learner's home at the first start. Class-wide: /dev/shm as a memory-backed
emptyDir (DataLoader workers), a non-root user with every capability dropped and no privilege
escalation, a persistent home per learner, the idle culler on.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from torchlab.decide.runspec import CONTAINER_HOME, FALLBACK_USER, IMAGE_LABS
from torchlab.lab.catalog import Lab

CHART_VERSION = "4.1.0"  # Zero to JupyterHub; its hub runs JupyterHub 5.2.1 and KubeSpawner 7
CHART_JUPYTERHUB = "5.2.1"  # so the seat image's jupyterhub-singleuser matches it
KUBERNETES_VERSION = "1.32.0"  # the schemas rendered pods are validated against (the chart needs 1.28+)
GPU_KINDS = ("nvidia", "amd", "none")
GPU_RESOURCE = {"nvidia": "nvidia.com/gpu", "amd": "amd.com/gpu"}
# Hooks for the cluster's GPU nodes: the labels of NVIDIA's GPU feature discovery and AMD's GPU
# operator, and the taints GPU node pools usually carry. Adapt them to the cluster.
GPU_NODE_SELECTOR = {"nvidia": {"nvidia.com/gpu.present": "true"}, "amd": {"feature.node.kubernetes.io/amd-gpu": "true"}}
GPU_DEVICE = {"nvidia": "cuda", "amd": "cuda", "none": "cpu"}  # torch calls ROCm devices "cuda" too
SHM_SIZE = "2Gi"
IDLE_TIMEOUT_S = 3600
CULL_EVERY_S = 300


@dataclass(frozen=True)
class ExportPlan:
    lab: Lab  # the default profile
    labs: tuple[Lab, ...]  # a profile each
    gpu: str  # "nvidia" | "amd" | "none"
    image: str  # the seat image, as the cluster pulls it: registry/classroom-<variant>:<tag>
    variant: str


def split_image(image: str) -> tuple[str, str]:
    """("registry/repo", "tag") of an image reference (a registry's port is not a tag)."""
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:
        return image, "latest"
    return name, tag


def gpu_toleration(gpu: str) -> list[dict[str, str]]:
    return [{"key": GPU_RESOURCE[gpu], "operator": "Exists", "effect": "NoSchedule"}] if gpu in GPU_RESOURCE else []


def copy_workspace(lab: Lab) -> list[str]:
    """The lab's files into the learner's home at each start; `cp -n` never overwrites their work."""
    target = f"{CONTAINER_HOME}/{lab.id}"
    return ["sh", "-c", f"mkdir -p {target} && cp -Rn {IMAGE_LABS}/{lab.id}/workspace/. {target}/"]


def profile(lab: Lab, plan: ExportPlan) -> dict[str, Any]:
    where = {"nvidia": "an NVIDIA GPU", "amd": "an AMD GPU", "none": "CPUs"}[plan.gpu]
    override: dict[str, Any] = {
        "mem_guarantee": f"{math.ceil(lab.min_ram_gb)}G",
        "cpu_guarantee": 1.0,
        "environment": {"TORCHLAB_LAB": lab.id, "TORCHLAB_DEVICE": GPU_DEVICE[plan.gpu]},
        "default_url": f"/lab/tree/{lab.id}",
        "lifecycle_hooks": {"postStart": {"exec": {"command": copy_workspace(lab)}}},
    }
    if plan.gpu in GPU_RESOURCE:
        override["extra_resource_limits"] = {GPU_RESOURCE[plan.gpu]: "1"}
        override["node_selector"] = GPU_NODE_SELECTOR[plan.gpu]
        override["tolerations"] = gpu_toleration(plan.gpu)
    return {"display_name": f"{lab.id}: {lab.title}", "slug": lab.id, "default": lab.id == plan.lab.id,
            "description": f"{lab.summary} On {where}.", "kubespawner_override": override}


def security_context() -> dict[str, Any]:
    uid, gid = FALLBACK_USER
    return {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": gid, "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def storage(labs: Sequence[Lab]) -> dict[str, Any]:
    capacity = max(10, math.ceil(max(lab.disk_gb for lab in labs)) * 2)
    return {
        "type": "dynamic", "capacity": f"{capacity}Gi", "homeMountPath": CONTAINER_HOME,
        "dynamic": {"pvcNameTemplate": "claim-{username}", "volumeNameTemplate": "volume-{username}",
                    "storageAccessModes": ["ReadWriteOnce"]},
        "extraVolumes": [{"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": SHM_SIZE}}],
        "extraVolumeMounts": [{"name": "shm", "mountPath": "/dev/shm"}],
    }


def helm_values(plan: ExportPlan) -> dict[str, Any]:
    name, tag = split_image(plan.image)
    uid, gid = FALLBACK_USER
    return {
        "hub": {"config": {
            # Each learner signs up with a password of their own; the TA (admin) approves them.
            "JupyterHub": {"authenticator_class": "nativeauthenticator.NativeAuthenticator"},
            "NativeAuthenticator": {"open_signup": False},
            "Authenticator": {"admin_users": ["ta"], "allow_all": True},
            "KubeSpawner": {"container_security_context": security_context()},
        }},
        "singleuser": {
            "image": {"name": name, "tag": tag, "pullPolicy": "IfNotPresent"},
            "cmd": "jupyterhub-singleuser",
            "defaultUrl": "/lab",
            "uid": uid,
            "fsGid": gid,
            "allowPrivilegeEscalation": False,
            "extraEnv": {"HOME": CONTAINER_HOME, "USER": "learner", "LOGNAME": "learner"},
            "networkPolicy": {"enabled": True},
            "storage": storage(plan.labs),
            "profileList": [profile(lab, plan) for lab in plan.labs],
        },
        "cull": {"enabled": True, "timeout": IDLE_TIMEOUT_S, "every": CULL_EVERY_S},
    }


# --- YAML, for plain data (mappings, lists, strings, numbers, booleans) --------------------------


def yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(str(value))  # a JSON string is a YAML double-quoted scalar


def yaml_lines(value: Any, indent: int = 0) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return [pad + "{}"]
        lines = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines += [f"{pad}{yaml_key(key)}:", *yaml_lines(item, indent + 2)]
            else:
                lines.append(f"{pad}{yaml_key(key)}: {yaml_inline(item)}")
        return lines
    if isinstance(value, list):
        lines = []
        for item in value:
            inner = yaml_lines(item, indent + 2)
            lines += [f"{pad}- {inner[0].lstrip()}", *inner[1:]]
        return lines or [pad + "[]"]
    return [pad + yaml_scalar(value)]


def yaml_inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return yaml_scalar(value)


def yaml_key(key: str) -> str:
    plain = key.replace("-", "").replace("_", "").replace(".", "").replace("/", "").isalnum()
    return key if plain and not key[0].isdigit() else json.dumps(key)


def to_yaml(data: dict[str, Any], header: str = "") -> str:
    comments = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return comments + "\n".join(yaml_lines(data)) + "\n"


VALUES_HEADER = """\
Values for the JupyterHub Helm chart {chart} (Zero to JupyterHub), written by
`torchlab classroom export {lab} --gpu {gpu}`. One profile per lab; {lab} is the default.
Seat image: {image} ({variant}); the README beside this file says how to build and push it."""


def values_text(plan: ExportPlan) -> str:
    header = VALUES_HEADER.format(chart=CHART_VERSION, lab=plan.lab.id, gpu=plan.gpu, image=plan.image,
                                  variant=plan.variant)
    return to_yaml(helm_values(plan), header)


README = """\
# {lab} on Kubernetes: a class with Zero to JupyterHub

Written by `torchlab classroom export {lab} --kubernetes DIR --gpu {gpu}`. The files:

- `values.yaml`: values for the JupyterHub Helm chart {chart}, one profile per lab ({lab} is the default)
- `seat-image/Dockerfile`: the seat image, the lab image with JupyterHub {jupyterhub}'s single-user server

## 1. The seat image, in a registry the cluster pulls from

    torchlab images push --variant {variant}        # the lab image, to TORCHLAB_REGISTRY
    docker build -t {image} seat-image
    docker push {image}

## 2. The chart

    helm repo add jupyterhub https://hub.jupyter.org/helm-chart/
    helm repo update
    helm upgrade --cleanup-on-fail --install classroom jupyterhub/jupyterhub \\
      --namespace classroom --create-namespace --version {chart} --values values.yaml
    kubectl --namespace classroom get service proxy-public   # the address learners open

## 3. Before learners come

- Logins: learners sign up with their own password and the admin `ta` approves them
  (NativeAuthenticator; sign up as `ta` first). A university's single sign-on replaces it:
  see the chart's authentication guide.
{gpu_notes}- Each learner gets a persistent home (`claim-<name>`); /dev/shm is a memory-backed volume of
  {shm} for DataLoader workers; pods run as uid 1000 with every capability dropped.
- Idle servers are stopped after {idle} minutes (jupyterhub-idle-culler); homes stay.
"""

GPU_NOTES = {
    "nvidia": "- GPUs: each profile asks for one `nvidia.com/gpu` (the NVIDIA device plugin or GPU operator\n"
              "  must run); `node_selector` and `tolerations` in each profile are hooks: match them to the\n"
              "  labels and taints of the cluster's GPU nodes. MIG: set the plugin's strategy and ask for\n"
              "  `nvidia.com/mig-1g.10gb` (or another profile) instead.\n",
    "amd": "- GPUs: each profile asks for one `amd.com/gpu` (the AMD GPU device plugin or operator must run);\n"
           "  `node_selector` and `tolerations` are hooks: match them to the cluster's GPU nodes.\n",
    "none": "- A CPU class: no GPU is asked for.\n",
}


def readme_text(plan: ExportPlan) -> str:
    return README.format(lab=plan.lab.id, gpu=plan.gpu, chart=CHART_VERSION, jupyterhub=CHART_JUPYTERHUB,
                         variant=plan.variant, image=plan.image, gpu_notes=GPU_NOTES[plan.gpu], shm=SHM_SIZE,
                         idle=IDLE_TIMEOUT_S // 60)
