"""The exported values, proven offline with the real libraries: a KubeSpawner configured from the
values as the chart's hub configures it (for the keys torchlab writes), each profile's pod and the
learner's home claim rendered by it, every object validated against the Kubernetes schemas
(kubernetes-validate). No cluster is contacted.

Run as a module in a subprocess of its own (torchlab.classroom.export does), because KubeSpawner
reads a kube config when it is made: `KUBECONFIG=<an offline one> python -m
torchlab.classroom.podcheck values.json` prints one JSON document on stdout.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from torchlab.classroom.helm import CHART_VERSION, KUBERNETES_VERSION

SAMPLE_LEARNER = "learner-1"
NAMESPACE = "classroom"
# The chart's own defaults that shape a user pod (scheduling.userPods.tolerations).
CHART_TOLERATIONS = [
    {"key": "hub.jupyter.org/dedicated", "operator": "Equal", "value": "user", "effect": "NoSchedule"},
    {"key": "hub.jupyter.org_dedicated", "operator": "Equal", "value": "user", "effect": "NoSchedule"},
]
OFFLINE_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: offline, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: offline, user: {token: offline}}]
contexts: [{name: offline, context: {cluster: offline, user: offline, namespace: classroom}}]
current-context: offline
"""


def storage_config(storage: dict[str, Any]) -> dict[str, Any]:
    """What the chart's hub sets for singleuser.storage.type dynamic, plus the extra volumes."""
    dynamic = storage.get("dynamic", {})
    claim, volume = dynamic["pvcNameTemplate"], dynamic["volumeNameTemplate"]
    return {
        "pvc_name_template": claim, "storage_pvc_ensure": True, "storage_capacity": storage["capacity"],
        "storage_access_modes": dynamic.get("storageAccessModes", ["ReadWriteOnce"]),
        "volumes": [{"name": volume, "persistentVolumeClaim": {"claimName": claim}}, *storage.get("extraVolumes", [])],
        "volume_mounts": [{"mountPath": storage["homeMountPath"], "name": volume}, *storage.get("extraVolumeMounts", [])],
    }


def spawner_traits(values: dict[str, Any]) -> dict[str, Any]:
    """KubeSpawner's traits from the values (jupyterhub/files/hub/jupyterhub_config.py's mapping)."""
    single = values["singleuser"]
    image = single["image"]
    traits: dict[str, Any] = {
        "image": f"{image['name']}:{image['tag']}", "image_pull_policy": image.get("pullPolicy", "IfNotPresent"),
        "cmd": single.get("cmd"), "default_url": single.get("defaultUrl"), "uid": single.get("uid"),
        "fs_gid": single.get("fsGid"), "allow_privilege_escalation": single.get("allowPrivilegeEscalation"),
        "environment": single.get("extraEnv", {}), "profile_list": single.get("profileList", []),
        "node_selector": single.get("nodeSelector", {}),
        "tolerations": CHART_TOLERATIONS + single.get("extraTolerations", []),
        "namespace": NAMESPACE,
        "common_labels": {"app": "jupyterhub", "heritage": "jupyterhub", "release": "classroom",
                          "chart": f"jupyterhub-{CHART_VERSION}"},
    }
    traits.update(storage_config(single["storage"]))
    traits.update(values.get("hub", {}).get("config", {}).get("KubeSpawner", {}))
    return {key: value for key, value in traits.items() if value is not None}


def make_spawner(values: dict[str, Any]) -> Any:
    from kubespawner import KubeSpawner  # start-up: KubeSpawner only in this subprocess
    from traitlets.config import Config

    config = Config()
    for key, value in spawner_traits(values).items():
        setattr(config.KubeSpawner, key, value)
    user = SimpleNamespace(name=SAMPLE_LEARNER, id=1, url=f"/user/{SAMPLE_LEARNER}/", escaped_name=SAMPLE_LEARNER)
    return KubeSpawner(config=config, user=user, _mock=True)


def serialized(model: Any) -> dict[str, Any]:
    from kubernetes_asyncio.client import ApiClient  # start-up: only in this subprocess

    return ApiClient().sanitize_for_serialization(model)


async def render_profile(values: dict[str, Any], slug: str) -> list[dict[str, Any]]:
    spawner = make_spawner(values)
    spawner.user_options = {"profile": slug}
    await spawner.load_user_options()
    pod = serialized(await spawner.get_pod_manifest())
    pod.setdefault("apiVersion", "v1")
    pod.setdefault("kind", "Pod")
    claim = serialized(spawner.get_pvc_manifest())
    claim.setdefault("apiVersion", "v1")
    claim.setdefault("kind", "PersistentVolumeClaim")
    return [pod, claim]


def validation_errors(objects: list[dict[str, Any]]) -> list[str]:
    import kubernetes_validate  # start-up: only in this subprocess

    errors = []
    for item in objects:
        try:
            kubernetes_validate.validate(item, KUBERNETES_VERSION, strict=True)
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as exc:
            errors.append(f"{item.get('kind')} {item.get('metadata', {}).get('name')}: {getattr(exc, 'message', exc)}")
    return errors


async def check(values: dict[str, Any]) -> dict[str, Any]:
    profiles = {}
    for entry in values["singleuser"]["profileList"]:
        profiles[entry["slug"]] = await render_profile(values, entry["slug"])
    objects = [item for rendered in profiles.values() for item in rendered]
    return {"kubernetes": KUBERNETES_VERSION, "profiles": profiles, "errors": validation_errors(objects)}


def main(argv: list[str]) -> int:
    values = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    report = asyncio.run(check(values))
    print(json.dumps(report, indent=2, sort_keys=True))
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
