"""A world for the image tests: a copy of the recipe, labs, a wheelhouse and a CA bundle on disk,
and the settings that point at them (real files, no mocks)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from labkit import REPO, make_lab

from torchlab.config import load_config
from torchlab.decide.choice import VariantChoice
from torchlab.images.inputs import read_inputs
from torchlab.images.spec import BuildSpec, make_build_spec
from torchlab.lab.catalog import load_catalog

TORCH_WHEEL = "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"
CPU = VariantChoice("cpu", "cpu", "2.13.0", "test")
PEM = b"-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n"


def make_world(tmp_path: Path) -> dict[str, Path]:
    """A recipe (copy of images/), labs, a wheelhouse and a CA bundle, all on disk."""
    recipe = tmp_path / "images"
    shutil.copytree(REPO / "images", recipe)
    labs = tmp_path / "labs"
    make_lab(labs, "module-1", packages=["numpy"])
    make_lab(labs, "module-6", packages=["transformers>=4.46", "numpy"])
    (labs / "_smoke").mkdir()
    (labs / "_smoke" / "runner.py").write_text("print('runner')\n", encoding="utf-8")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / TORCH_WHEEL).write_bytes(b"w" * 100)
    (wheels / "sympy-1.13.3-py3-none-any.whl").write_bytes(b"s" * 10)
    (wheels / "nvidia_nccl_cu12-2.21.5-py3-none-manylinux2014_x86_64.whl").write_bytes(b"n" * 5)
    ca = tmp_path / "ca.pem"
    ca.write_bytes(PEM)
    return {"root": tmp_path, "recipe": recipe, "labs": labs, "wheels": wheels, "ca": ca}


def env_of(world: dict[str, Path], **extra: str) -> dict[str, str]:
    env = {
        "TORCHLAB_CONFIG": str(world["root"] / "no-config.toml"),
        "TORCHLAB_LABS_DIR": str(world["labs"]),
        "TORCHLAB_WHEELHOUSE": str(world["wheels"]),
        "TORCHLAB_CA_BUNDLE": str(world["ca"]),
        "TORCHLAB_BASE_IMAGE": "torchlab-ci/debian:bookworm",
    }
    env.update(extra)
    return {key: value for key, value in env.items() if value != ""}


def cli_env(world: dict[str, Path], **extra: str) -> dict[str, str | None]:
    """The environment of an in-process command: these settings, and no other TORCHLAB_* one."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("TORCHLAB_") or k == "DOCKER_HOST"}
    env.update(env_of(world, **extra))
    return env


def spec_of(world: dict[str, Path], choice: VariantChoice = CPU, **extra: str) -> BuildSpec:
    config = load_config(env=env_of(world, **extra))
    catalog = load_catalog(world["labs"])
    return make_build_spec(choice, config, read_inputs(config, catalog, recipe=world["recipe"]))
