"""A native lab's virtual environment, as data: what goes in, where it comes from, the folder its
hash names, and the commands that make it. Pure: torchlab.runtimes.native runs the commands.

Environments live under <data_dir>/envs/<variant>-<hash of what went in>, so labs that need the
same packages share one and a change of packages makes a new one. torch is pinned to the plan's
build (2.13.0+cpu, +cu126, ...) so that no installer can swap in another one; it comes from a
wheelhouse when one holds it, else from PyTorch's index for that build. uv installs when it is on
PATH, pip otherwise, with the same index, find-links and CA bundle.
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from torchlab.decide.choice import torch_wheel_index
from torchlab.decide.runspec import short_hash


@dataclass(frozen=True)
class EnvSpec:
    """What goes into a native environment and where from (its hash names the folder)."""

    variant: str
    python: str  # the interpreter the venv is made from
    python_version: str  # "3.11"
    requirements: tuple[str, ...]
    index_url: str | None
    extra_index_url: str | None  # torch's own index, when no wheelhouse holds the build
    find_links: tuple[str, ...]
    ca_bundle: str | None

    @property
    def key(self) -> str:
        return short_hash(json.dumps(asdict(self), sort_keys=True), 10)

    def path(self, data_dir: Path) -> Path:
        return data_dir / "envs" / f"{self.variant}-{self.key}"


def torch_requirement(torch_version: str, torch_index: str, system: str) -> str:
    """macOS: PyPI's torch (it has MPS); elsewhere the build's local version (2.13.0+cpu)."""
    if system == "Darwin":
        return f"torch=={torch_version}"
    return f"torch=={torch_version}+{torch_index}"


def wheel_matches(filenames: Sequence[str], requirement: str) -> bool:
    """Does a wheelhouse hold the wheel for `torch==V[+local]`? (file names: torch-V+local-...whl)"""
    version = requirement.split("==", 1)[1]
    return any(fnmatch.fnmatch(name, f"torch-{version}-*.whl") for name in filenames)


def plan_env(
    variant: str,
    torch_req: str,
    torch_index: str,
    packages: Sequence[str],
    sources: Mapping[str, object],
) -> EnvSpec:
    """sources: python, python_version, index_url, ca_bundle, find_links (list), wheelhouse_files (list)."""
    local = wheel_matches(list(sources.get("wheelhouse_files") or []), torch_req)
    extra = None if local or "+" not in torch_req else torch_wheel_index(torch_index)
    return EnvSpec(
        variant=variant,
        python=str(sources["python"]),
        python_version=str(sources["python_version"]),
        requirements=(torch_req, "jupyterlab", *sorted(set(packages))),
        index_url=sources.get("index_url") or None,  # type: ignore[arg-type]
        extra_index_url=extra,
        find_links=tuple(sources.get("find_links") or ()),  # type: ignore[arg-type]
        ca_bundle=sources.get("ca_bundle") or None,  # type: ignore[arg-type]
    )


def venv_python(env_dir: Path) -> Path:
    return env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def install_commands(spec: EnvSpec, env_dir: Path, uv: str | None) -> list[list[str]]:
    """Make the venv, then install every requirement in one resolve (uv when there is one)."""
    options: list[str] = []
    if spec.index_url:
        options += ["--index-url", spec.index_url]
    if spec.extra_index_url:
        options += ["--extra-index-url", spec.extra_index_url]
    for folder in spec.find_links:
        options += ["--find-links", folder]
    python = str(venv_python(env_dir))
    if uv:
        create = [uv, "venv", "--quiet", "--python", spec.python, str(env_dir)]
        return [create, [uv, "pip", "install", "--python", python, *options, *spec.requirements]]
    if spec.ca_bundle:
        options += ["--cert", spec.ca_bundle]
    create = [spec.python, "-m", "venv", str(env_dir)]
    install = [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
               "--progress-bar", "off", *options, *spec.requirements]
    return [create, install]
