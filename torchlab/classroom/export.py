"""`torchlab classroom export LAB --kubernetes DIR`: the Helm values, the TA's README and the seat
image's recipe written to DIR, then proven: KubeSpawner renders each profile's pod from the values
and every object is validated against the Kubernetes schemas (torchlab.classroom.podcheck, in a
subprocess; with the `classroom` extra installed)."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torchlab.classroom.helm import (
    CHART_JUPYTERHUB, GPU_KINDS, ExportPlan, helm_values, readme_text, values_text,
)
from torchlab.classroom.podcheck import OFFLINE_KUBECONFIG
from torchlab.classroom.seatimage import seat_image_name, seat_recipe
from torchlab.config import Config, registry_problem
from torchlab.decide.choice import VariantChoice, choose_variant
from torchlab.decide.compat import LAB_TORCH_VERSION
from torchlab.errors import CHECK_FAILED, OK, USAGE, UserError
from torchlab.files import check_folder, check_replaceable, write_whole
from torchlab.images.store import spec_for_lab
from torchlab.lab.catalog import find_lab, open_catalog
from torchlab.run import run_command

SCHEMA = "torchlab.classroom-export/1"
FAMILY = {"nvidia": "cuda", "amd": "rocm", "none": "cpu"}
CHECK_NEEDS = ("kubespawner", "kubernetes_validate")
CHECK_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class ExportResult:
    folder: Path
    files: tuple[str, ...]
    image: str
    variant: str
    check: dict[str, Any] | None  # podcheck's report; None when its libraries are not installed
    note: str = ""

    @property
    def exit_code(self) -> int:
        return CHECK_FAILED if self.check is not None and self.check.get("errors") else OK

    def to_json(self) -> dict[str, Any]:
        check = None
        if self.check is not None:
            objects = sum(len(items) for items in self.check.get("profiles", {}).values())
            check = {"kubernetes": self.check.get("kubernetes"), "objects": objects, "errors": self.check.get("errors")}
        return {"schema": SCHEMA, "dir": str(self.folder), "files": list(self.files), "image": self.image,
                "variant": self.variant, "validated": check, "note": self.note or None}


def export_choice(gpu: str) -> VariantChoice:
    """The build the cluster's GPUs need (this host's GPUs do not matter): cpu, CUDA or ROCm."""
    if gpu not in GPU_KINDS:
        raise UserError(f"--gpu {gpu}: expected one of {', '.join(GPU_KINDS)}", USAGE)
    return choose_variant(FAMILY[gpu], None, LAB_TORCH_VERSION)


def export_registry(config: Config, registry: str | None) -> str:
    chosen = registry or config.get("registry")
    if not chosen:
        raise UserError("--registry: the cluster pulls the seat image from a registry; give --registry HOST/PATH "
                        "(e.g. registry.example.edu/course) or set TORCHLAB_REGISTRY", USAGE)
    problem = registry_problem(chosen) if registry else None  # TORCHLAB_REGISTRY was checked when read
    if problem:
        raise UserError(f"--registry {chosen}: {problem}", USAGE)
    return chosen.rstrip("/")


def export_plan(lab_name: str, gpu: str, registry: str | None, config: Config) -> tuple[ExportPlan, str]:
    """The plan, and the seat image's recipe (FROM the lab image in the registry)."""
    catalog = open_catalog(config=config)
    lab = find_lab(catalog, lab_name)
    choice = export_choice(gpu)
    where = export_registry(config, registry)
    lab_image = spec_for_lab(config, choice, lab).remote_name(where)
    image = seat_image_name(lab_image, choice.variant, CHART_JUPYTERHUB, where)
    plan = ExportPlan(lab, catalog.labs, gpu, image, choice.variant)
    return plan, seat_recipe(lab_image, CHART_JUPYTERHUB)


def write_files(folder: Path, plan: ExportPlan, recipe: str, force: bool) -> tuple[str, ...]:
    """values.yaml, README.md and the seat image's recipe; a TA's edits to any of them are kept
    (nothing is written) unless forced."""
    check_folder(folder, f"--kubernetes {folder}", must_exist=False)
    files = {"values.yaml": values_text(plan), "README.md": readme_text(plan), "seat-image/Dockerfile": recipe}
    fix = "--force replaces it, or choose another --kubernetes folder"
    for name, text in files.items():
        check_replaceable(folder / name, text, force, fix)
    for name, text in files.items():
        write_whole(folder / name, text)
    return tuple(files)


def can_check() -> bool:
    return all(importlib.util.find_spec(module) is not None for module in CHECK_NEEDS)


def check_values(values: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """podcheck's report on the values (in a subprocess with an offline kube config)."""
    with tempfile.TemporaryDirectory(prefix="torchlab-podcheck-") as scratch:
        values_file, kubeconfig = Path(scratch, "values.json"), Path(scratch, "kubeconfig")
        values_file.write_text(json.dumps(values), encoding="utf-8")
        kubeconfig.write_text(OFFLINE_KUBECONFIG, encoding="utf-8")
        child_env = {**env, "KUBECONFIG": str(kubeconfig), "PYTHONWARNINGS": "ignore"}
        done = run_command([sys.executable, "-m", "torchlab.classroom.podcheck", str(values_file)],
                           timeout=CHECK_TIMEOUT_S, env=child_env)
    try:
        return json.loads(done.stdout) if done is not None else {}
    except json.JSONDecodeError:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1] if done else "not run"
        return {"profiles": {}, "errors": [f"the pod check failed: {tail}"]}


def export_class(lab: str, folder: Path, gpu: str, registry: str | None, config: Config,
                 env: Mapping[str, str] | None = None, force: bool = False) -> ExportResult:
    env = dict(os.environ) if env is None else env
    plan, recipe = export_plan(lab, gpu, registry, config)
    files = write_files(folder, plan, recipe, force)
    if not can_check():
        return ExportResult(folder, files, plan.image, plan.variant, None,
                            "not validated: pip install 'torchlab[classroom]' brings KubeSpawner and kubernetes-validate")
    report = check_values(helm_values(plan), env)
    (folder / "rendered-pods.json").write_text(json.dumps(report.get("profiles", {}), indent=2, sort_keys=True) + "\n",
                                               encoding="utf-8")
    return ExportResult(folder, (*files, "rendered-pods.json"), plan.image, plan.variant, report)
