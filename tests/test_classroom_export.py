"""`torchlab classroom export`: the Helm chart's values and the TA's README per GPU kind, compared
with golden files; KubeSpawner (the real one, offline) renders each profile's pod and home claim
from the values, and kubernetes-validate checks every object against the Kubernetes schemas.

Regenerate the golden files after an intended change with:
TORCHLAB_UPDATE_GOLDEN=1 python -m pytest tests/test_classroom_export.py
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from torchlab.classroom.export import check_values, export_choice
from torchlab.classroom.helm import (
    CHART_JUPYTERHUB, KUBERNETES_VERSION, ExportPlan, helm_values, readme_text, split_image, values_text,
)
from torchlab.classroom.seatimage import seat_image_name
from torchlab.cli import app
from torchlab.config import load_config
from torchlab.images.store import spec_for_lab
from torchlab.lab.catalog import find_lab, open_catalog

from conftest import matches_golden, need_module, one_line_error, require

GOLDEN = Path(__file__).parent / "golden" / "classroom"
KINDS = ("nvidia", "amd", "none")
REGISTRY = "127.0.0.1:5000/torchlab"
VERSION_ANNOTATIONS = ("hub.jupyter.org/jupyterhub-version", "hub.jupyter.org/kubespawner-version")


def settings() -> dict[str, str]:
    return {"TORCHLAB_CONFIG": "/nonexistent/config.toml"}


def plan_for(gpu: str) -> ExportPlan:
    catalog = open_catalog(config=load_config(settings()))
    variant = export_choice(gpu).variant
    image = f"{REGISTRY}/classroom-{variant}:test"
    return ExportPlan(find_lab(catalog, "module-1"), catalog.labs, gpu, image, variant)


def stable(profiles: dict) -> dict:
    """The rendered objects without the versions of the libraries installed here."""
    profiles = copy.deepcopy(profiles)
    for objects in profiles.values():
        for item in objects:
            for key in VERSION_ANNOTATIONS:
                item["metadata"].get("annotations", {}).pop(key, None)
    return profiles


@pytest.fixture(scope="module")
def rendered():
    """Each GPU kind's values, rendered by KubeSpawner and validated (a subprocess each)."""
    need_module("kubespawner", "pip install 'torchlab[classroom]'")
    need_module("kubernetes_validate", "pip install 'torchlab[classroom]'")
    return {gpu: check_values(helm_values(plan_for(gpu)), os.environ) for gpu in KINDS}


@pytest.mark.parametrize("gpu", KINDS)
def test_values_and_readme_match_their_golden_files(gpu):
    plan = plan_for(gpu)
    matches_golden(GOLDEN / f"values-{gpu}.yaml", values_text(plan))
    matches_golden(GOLDEN / f"README-{gpu}.md", readme_text(plan))


@pytest.mark.parametrize("gpu", KINDS)
def test_the_values_file_reads_back_as_the_values(gpu):
    yaml = require("yaml")  # PyYAML, which kubernetes-validate brings
    plan = plan_for(gpu)
    assert yaml.safe_load(values_text(plan)) == helm_values(plan)


def test_an_image_name_splits_at_its_tag_not_at_a_registrys_port():
    assert split_image("127.0.0.1:5000/torchlab/classroom-cpu:0.1.0-abc") == ("127.0.0.1:5000/torchlab/classroom-cpu", "0.1.0-abc")
    assert split_image("127.0.0.1:5000/torchlab/classroom-cpu") == ("127.0.0.1:5000/torchlab/classroom-cpu", "latest")


@pytest.mark.parametrize("gpu", KINDS)
def test_every_rendered_pod_and_claim_is_valid_kubernetes(rendered, gpu):
    report = rendered[gpu]
    assert report["errors"] == [] and report["kubernetes"] == KUBERNETES_VERSION
    labs = open_catalog(config=load_config(settings())).labs
    assert sorted(report["profiles"]) == sorted(lab.id for lab in labs)
    kinds = [[item["kind"] for item in objects] for objects in report["profiles"].values()]
    assert kinds == [["Pod", "PersistentVolumeClaim"]] * len(labs)
    matches_golden(GOLDEN / f"pods-{gpu}.json", json.dumps(stable(report["profiles"]), indent=2, sort_keys=True) + "\n")


@pytest.mark.parametrize("gpu", KINDS)
def test_each_pod_gets_the_labs_image_gpu_shm_and_a_non_root_user(rendered, gpu):
    pod, claim = rendered[gpu]["profiles"]["module-1"]
    [container] = pod["spec"]["containers"]
    assert container["image"] == plan_for(gpu).image and container["args"] == ["jupyterhub-singleuser"]
    context = container["securityContext"]
    assert context["runAsNonRoot"] is True and context["runAsUser"] == 1000
    assert context["allowPrivilegeEscalation"] is False and context["capabilities"] == {"drop": ["ALL"]}
    volumes = {volume["name"]: volume for volume in pod["spec"]["volumes"]}
    assert volumes["shm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "2Gi"}
    assert {"mountPath": "/dev/shm", "name": "shm"} in container["volumeMounts"]
    assert volumes["volume-learner-1"]["persistentVolumeClaim"] == {"claimName": "claim-learner-1"}
    assert claim["metadata"]["name"] == "claim-learner-1" and claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert container["resources"]["requests"]["memory"] == 4 * 1024**3  # module-1's min_ram_gb
    limits = container["resources"].get("limits", {})
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["TORCHLAB_LAB"] == "module-1"
    if gpu == "none":
        assert limits == {} and "nodeSelector" not in pod["spec"] and env["TORCHLAB_DEVICE"] == "cpu"
    else:
        resource = {"nvidia": "nvidia.com/gpu", "amd": "amd.com/gpu"}[gpu]
        assert limits == {resource: "1"} and env["TORCHLAB_DEVICE"] == "cuda"
        assert {"key": resource, "operator": "Exists", "effect": "NoSchedule"} in pod["spec"]["tolerations"]
        assert pod["spec"]["nodeSelector"]


def test_the_validator_refuses_a_broken_pod():
    need_module("kubespawner", "pip install 'torchlab[classroom]'")
    values = helm_values(plan_for("nvidia"))
    values["singleuser"]["profileList"][1]["kubespawner_override"]["tolerations"][0]["effect"] = 42
    report = check_values(values, os.environ)
    assert report["errors"] and "Pod jupyter-learner-1" in report["errors"][0]


@pytest.fixture
def cli(monkeypatch):
    for name in [key for key in os.environ if key.startswith("TORCHLAB_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TORCHLAB_CONFIG", "/nonexistent/config.toml")
    return lambda *args: CliRunner().invoke(app, ["classroom", "export", *args])


def test_export_writes_the_files_and_validates_them(cli, tmp_path):
    need_module("kubespawner", "pip install 'torchlab[classroom]'")
    folder = tmp_path / "k8s"
    done = cli("module-1", "--kubernetes", str(folder), "--gpu", "amd", "--registry", REGISTRY, "--json")
    assert done.exit_code == 0, done.output
    document = json.loads(done.stdout)
    labs = open_catalog(config=load_config(settings())).labs
    assert document["validated"] == {"kubernetes": KUBERNETES_VERSION, "objects": 2 * len(labs), "errors": []}
    assert sorted(document["files"]) == ["README.md", "rendered-pods.json", "seat-image/Dockerfile", "values.yaml"]
    config, choice = load_config(settings()), export_choice("amd")
    lab_image = spec_for_lab(config, choice, find_lab(open_catalog(config=config), "module-1")).remote_name(REGISTRY)
    assert (folder / "seat-image" / "Dockerfile").read_text().splitlines()[1] == f"FROM {lab_image}"
    assert document["image"] == seat_image_name(lab_image, choice.variant, CHART_JUPYTERHUB, REGISTRY)
    assert choice.variant.startswith("rocm-") and document["variant"] == choice.variant
    assert f'name: "{document["image"].rsplit(":", 1)[0]}"' in (folder / "values.yaml").read_text()
    assert "helm upgrade --cleanup-on-fail --install classroom jupyterhub/jupyterhub" in (folder / "README.md").read_text()


def test_export_needs_a_registry_the_cluster_can_pull_from(cli, tmp_path):
    one_line_error(cli("module-1", "--kubernetes", str(tmp_path / "k8s")), "--registry:", "TORCHLAB_REGISTRY")


def test_a_tas_edits_to_the_exported_files_are_kept_unless_forced(cli, tmp_path):
    need_module("kubespawner", "pip install 'torchlab[classroom]'")
    folder = tmp_path / "k8s"
    assert cli("module-1", "--kubernetes", str(folder), "--gpu", "none", "--registry", REGISTRY).exit_code == 0
    values = folder / "values.yaml"
    edited = values.read_text(encoding="utf-8") + "# the TA's own setting\nhub:\n  concurrentSpawnLimit: 5\n"
    values.write_text(edited, encoding="utf-8")
    readme_before = (folder / "README.md").read_text(encoding="utf-8")
    (folder / "README.md").write_text(readme_before + "edited too\n", encoding="utf-8")

    refused = cli("module-1", "--kubernetes", str(folder), "--gpu", "none", "--registry", REGISTRY)
    one_line_error(refused, "exists and differs")
    assert refused.exit_code == 2 and "--force" in refused.output
    assert values.read_text(encoding="utf-8") == edited  # nothing written, not even the files that did not differ
    assert (folder / "README.md").read_text(encoding="utf-8") == readme_before + "edited too\n"

    again = cli("module-1", "--kubernetes", str(folder), "--gpu", "none", "--registry", REGISTRY, "--force")
    assert again.exit_code == 0, again.output
    assert "the TA's own setting" not in values.read_text(encoding="utf-8")
    assert (folder / "README.md").read_text(encoding="utf-8") == readme_before


def test_a_registry_that_is_no_registry_path_is_refused_before_anything_is_written(cli, tmp_path):
    folder = tmp_path / "k8s"
    done = cli("module-1", "--kubernetes", str(folder), "--registry", "::bad")
    one_line_error(done, "--registry ::bad: not a Docker registry path")
    assert done.exit_code == 2 and not folder.exists()
