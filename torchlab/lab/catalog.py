"""The lab catalog: each lab is a folder with a lab.toml, its workspace files and smoke checks.

A lab folder holds `lab.toml`, `workspace/` (what a learner gets) and `smoke/checks.py`.
Folders whose name starts with "_" are not labs (labs/_smoke holds the shared smoke runner).
"""

from __future__ import annotations

import difflib
import json
import re
import sys
import sysconfig
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

import torchlab
from torchlab.config import Config, load_config
from torchlab.errors import UserError
from torchlab.files import check_folder, read_text

ACCELERATOR_NEEDS = ("optional", "recommended", "required")
SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
LAB_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
TORCH_VERSION = re.compile(r"^\d+\.\d+(\.\d+)?$")
SHARE_PATH = Path("share", "torchlab", "labs")  # where a wheel install puts the labs


@dataclass(frozen=True)
class Lab:
    id: str
    title: str
    version: str
    summary: str
    aliases: tuple[str, ...]
    packages: tuple[str, ...]
    min_torch: str
    accelerator: str  # "optional" | "recommended" | "required"
    min_ram_gb: float
    min_vram_gb: float
    disk_gb: float
    path: Path  # the lab's folder

    @property
    def workspace_dir(self) -> Path:
        return self.path / "workspace"

    @property
    def checks_file(self) -> Path:
        return self.path / "smoke" / "checks.py"


@dataclass(frozen=True)
class LabCatalog:
    labs_dir: Path
    labs: tuple[Lab, ...]  # sorted by id

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(lab.id for lab in self.labs)

    @property
    def runner(self) -> Path:
        """The shared smoke runner (stdlib + torch) that runs a lab's smoke/checks.py."""
        return self.labs_dir / "_smoke" / "runner.py"


# --- lab.toml validation: one checker per kind of field, each naming what it expected ----------


def _got(value: object) -> str:
    return json.dumps(value) if isinstance(value, (str, int, float, list, bool)) else repr(value)


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return None
    return "a non-empty string"


def _text_or_empty(value: object) -> str | None:
    return None if isinstance(value, str) else "a string"


def _text_list(value: object) -> str | None:
    if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
        return None
    return 'a list of non-empty strings like ["m1"]'


def _semver(value: object) -> str | None:
    return None if isinstance(value, str) and SEMVER.match(value) else 'a semver like "1.2.0"'


def _torch_version(value: object) -> str | None:
    if isinstance(value, str) and TORCH_VERSION.match(value):
        return None
    return 'a torch version like "2.1" or "2.1.0"'


def _accelerator(value: object) -> str | None:
    return None if value in ACCELERATOR_NEEDS else "one of " + ", ".join(map(json.dumps, ACCELERATOR_NEEDS))


def _size(value: object) -> str | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
    return None if ok else "a number >= 0 (GB)"


def _lab_id(value: object) -> str | None:
    if isinstance(value, str) and LAB_ID.match(value):
        return None
    return 'a lab id like "module-1" (lowercase letters, digits, "-")'


FIELDS: Mapping[str, Callable[[object], str | None]] = {
    "id": _lab_id,
    "title": _text,
    "version": _semver,
    "summary": _text_or_empty,
    "aliases": _text_list,
    "packages": _text_list,
    "min_torch": _torch_version,
    "accelerator": _accelerator,
    "min_ram_gb": _size,
    "min_vram_gb": _size,
    "disk_gb": _size,
}


def read_lab_toml(toml_path: Path) -> dict[str, object]:
    if not toml_path.exists():
        raise UserError(f"{toml_path}: missing; every lab folder needs a lab.toml")
    text = read_text(toml_path, str(toml_path))
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{toml_path}: not valid TOML ({exc})") from None


def validate_lab_fields(data: Mapping[str, object], toml_path: Path) -> None:
    """Raise a UserError naming the file, the first bad field and what was expected."""
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise UserError(f"{toml_path}: {unknown[0]}: unknown key; expected only {', '.join(FIELDS)}")
    for name, check in FIELDS.items():
        if name not in data:
            raise UserError(f"{toml_path}: {name}: missing; expected {check(None)}")
        expected = check(data[name])
        if expected:
            raise UserError(f"{toml_path}: {name}: expected {expected}, got {_got(data[name])}")


def load_lab(lab_dir: Path) -> Lab:
    """The lab in lab_dir, validated; a malformed lab.toml or a missing part is a UserError."""
    toml_path = lab_dir / "lab.toml"
    data = read_lab_toml(toml_path)
    validate_lab_fields(data, toml_path)
    if data["id"] != lab_dir.name:
        raise UserError(f'{toml_path}: id: expected "{lab_dir.name}" (the folder\'s name), got {_got(data["id"])}')
    for part, is_there in (("workspace/", Path.is_dir), ("smoke/checks.py", Path.is_file)):
        if not is_there(lab_dir / part):
            raise UserError(f"{lab_dir}: missing {part}; every lab needs workspace/ and smoke/checks.py")
    return Lab(
        id=str(data["id"]),
        title=str(data["title"]),
        version=str(data["version"]),
        summary=str(data["summary"]),
        aliases=tuple(data["aliases"]),  # type: ignore[arg-type]
        packages=tuple(data["packages"]),  # type: ignore[arg-type]
        min_torch=str(data["min_torch"]),
        accelerator=str(data["accelerator"]),
        min_ram_gb=float(data["min_ram_gb"]),  # type: ignore[arg-type]
        min_vram_gb=float(data["min_vram_gb"]),  # type: ignore[arg-type]
        disk_gb=float(data["disk_gb"]),  # type: ignore[arg-type]
        path=lab_dir,
    )


def check_unique_names(labs: tuple[Lab, ...]) -> None:
    """Every id and alias names one lab only, or `find_lab` could not be trusted."""
    owner: dict[str, Lab] = {}
    for lab in labs:
        for name in (lab.id, *lab.aliases):
            other = owner.get(name.lower())
            if other is not None and other is not lab:
                raise UserError(
                    f'{lab.path / "lab.toml"}: aliases: "{name}" already names lab {other.id}; '
                    "expected names no other lab uses"
                )
            owner[name.lower()] = lab


def load_catalog(labs_dir: Path) -> LabCatalog:
    """Every lab under labs_dir (folders starting with "_" or "." are not labs)."""
    if not labs_dir.is_dir():
        raise UserError(f"labs folder {labs_dir}: not found; expected a folder of labs (--labs-dir, TORCHLAB_LABS_DIR)")
    try:
        folders = sorted(p for p in labs_dir.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    except OSError as exc:
        raise UserError(f"labs folder {labs_dir}: cannot read it ({exc.strerror or exc})") from None
    if not folders:
        raise UserError(f"labs folder {labs_dir}: no labs in it; expected folders that each hold a lab.toml "
                        "(--labs-dir, TORCHLAB_LABS_DIR)")
    labs = tuple(load_lab(folder) for folder in folders)
    check_unique_names(labs)
    return LabCatalog(labs_dir=labs_dir, labs=labs)


def find_lab(catalog: LabCatalog, name: str) -> Lab:
    """The lab named by id or alias (case does not matter); else a UserError naming the nearest."""
    wanted = name.strip().lower()
    for lab in catalog.labs:
        if wanted == lab.id or wanted in (alias.lower() for alias in lab.aliases):
            return lab
    raise UserError(unknown_lab_message(catalog, name))


def unknown_lab_message(catalog: LabCatalog, name: str) -> str:
    by_name = {n.lower(): lab.id for lab in catalog.labs for n in (lab.id, *lab.aliases)}
    close = difflib.get_close_matches(name.strip().lower(), list(by_name), n=5, cutoff=0.5)
    nearest = list(dict.fromkeys(by_name[n] for n in close))[:3]
    known = ", ".join(catalog.ids) or "none"
    if nearest:
        return f'unknown lab "{name}"; did you mean {" or ".join(nearest)}? (labs: {known})'
    return f'unknown lab "{name}"; expected one of: {known}'


def semver_key(version: str) -> tuple[int, int, int, int, str]:
    """Orders versions: 1.2.0-rc1 < 1.2.0 < 1.10.0."""
    match = SEMVER.match(version)
    if match is None:
        raise ValueError(f"not a semver: {version!r}")
    major, minor, patch, pre = match.groups()
    return int(major), int(minor), int(patch), 0 if pre else 1, pre or ""


# --- where the labs live ---------------------------------------------------------------------


def shipped_labs_dir(package_file: str = torchlab.__file__) -> Path:
    """The labs that come with torchlab: the repo's labs/ in a source checkout or editable install,
    else the copy a wheel installs as data under <prefix>/share/torchlab/labs."""
    checkout = Path(package_file).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file() and (checkout / "labs").is_dir():
        return checkout / "labs"
    user_scheme = sysconfig.get_preferred_scheme("user")
    candidates = [
        Path(sys.prefix) / SHARE_PATH,
        Path(sysconfig.get_path("data")) / SHARE_PATH,
        Path(sysconfig.get_path("data", user_scheme)) / SHARE_PATH,  # pip install --user
    ]
    return next((c for c in candidates if c.is_dir()), candidates[0])


def resolve_labs_dir(flag: Path | None = None, config: Config | None = None) -> Path:
    """--labs-dir, else the labs_dir setting (config file, TORCHLAB_LABS_DIR), else the shipped labs."""
    if flag is not None:
        check_folder(flag, f"labs folder {str(flag) or repr(str(flag))} (from flag --labs-dir)")
        return flag.expanduser()
    configured = (config or load_config()).path("labs_dir")
    return configured if configured is not None else shipped_labs_dir()


def open_catalog(flag: Path | None = None, config: Config | None = None) -> LabCatalog:
    return load_catalog(resolve_labs_dir(flag, config))

