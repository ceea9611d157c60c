"""Read what a lab image is built from: the recipe in images/, the labs, the wheelhouse, the CA
bundle. Each bad setting is a one-line UserError naming it and where it was set."""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path
from typing import Optional

import torchlab
from torchlab.config import Config
from torchlab.errors import USAGE, UserError
from torchlab.images.spec import EXECUTABLE, RECIPE_FILES, WHEEL_SUFFIXES, BuildInputs, ContextFile, Wheel
from torchlab.lab.catalog import LabCatalog

SHARE_PATH = Path("share", "torchlab", "images")  # where a wheel install would put images/
SKIPPED = ("__pycache__", ".ipynb_checkpoints")


def recipe_dir(package_file: str = torchlab.__file__) -> Path:
    """images/ beside the package in a checkout (or editable install), else the installed copy."""
    checkout = Path(package_file).resolve().parents[1] / "images"
    if (checkout / "Dockerfile").is_file():
        return checkout
    candidates = [Path(sys.prefix) / SHARE_PATH, Path(sysconfig.get_path("data")) / SHARE_PATH]
    return next((c for c in candidates if (c / "Dockerfile").is_file()), checkout)


def read_recipe(directory: Path) -> tuple[ContextFile, ...]:
    files = []
    for name in RECIPE_FILES:
        path = directory / name
        if not path.is_file():
            raise UserError(f"image recipe {path}: missing; torchlab's images/ folder is incomplete (reinstall torchlab)")
        files.append(ContextFile(name, path.stat().st_size, source=path, executable=name in EXECUTABLE))
    return tuple(files)


def read_wheelhouse(config: Config) -> tuple[Optional[Path], tuple[Wheel, ...]]:
    path = config.path("wheelhouse")
    if path is None:
        return None, ()
    if not path.is_dir():
        raise UserError(f"wheelhouse {path} (from {config.origin('wheelhouse')}): not a folder; expected a folder of wheels", USAGE)
    wheels = tuple(
        Wheel(p.name, p.stat().st_size, p)
        for p in sorted(path.iterdir())
        if p.is_file() and p.name.endswith(WHEEL_SUFFIXES)
    )
    return path, wheels


def read_ca_bundle(config: Config) -> tuple[Optional[Path], bytes]:
    path = config.path("ca_bundle")
    if path is None:
        return None, b""
    where = f"CA bundle {path} (from {config.origin('ca_bundle')})"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{where}: not found; expected a PEM file of CA certificates", USAGE) from None
    except OSError as exc:
        raise UserError(f"{where}: cannot read it ({exc.strerror or exc})", USAGE) from None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise UserError(f"{where}: no PEM certificate in it; expected -----BEGIN CERTIFICATE----- blocks", USAGE)
    return path, data


def tree_files(root: Path, prefix: str) -> list[ContextFile]:
    """Every file under root as prefix/relative path, caches and hidden files left out."""
    found = []
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if not path.is_file() or any(p in SKIPPED or p.startswith(".") for p in parts) or path.suffix == ".pyc":
            continue
        executable = bool(path.stat().st_mode & 0o111)
        found.append(ContextFile(f"{prefix}/{'/'.join(parts)}", path.stat().st_size, source=path, executable=executable))
    return found


def read_lab_files(catalog: LabCatalog) -> tuple[ContextFile, ...]:
    """The smoke runner (labs/_smoke -> smoke/) and each lab's folder (-> labs/<id>/)."""
    smoke_dir = catalog.runner.parent
    if not catalog.runner.is_file():
        raise UserError(f"smoke runner {catalog.runner}: missing; the labs folder {catalog.labs_dir} is incomplete")
    files = tree_files(smoke_dir, "smoke")
    for lab in catalog.labs:
        files += tree_files(lab.path, f"labs/{lab.id}")
    return tuple(files)


def read_inputs(config: Config, catalog: LabCatalog, recipe: Optional[Path] = None) -> BuildInputs:
    wheelhouse, wheels = read_wheelhouse(config)
    ca_path, ca_bytes = read_ca_bundle(config)
    return BuildInputs(
        recipe=read_recipe(recipe or recipe_dir()),
        lab_files=read_lab_files(catalog),
        packages=tuple(p for lab in catalog.labs for p in lab.packages),
        wheelhouse=wheelhouse,
        wheels=wheels,
        ca_bundle=ca_path,
        ca_bytes=ca_bytes,
    )
