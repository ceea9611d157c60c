"""Settings: defaults, overridden by the config file, by TORCHLAB_* variables, then by flags.

Each effective value remembers where it came from, for `torchlab config show`, and is checked once,
here, with the rules of what it names (a Docker reference, a URL, a folder, a file): a bad value is
one line naming the setting, where it was set and what was expected (exit 2).
"""

from __future__ import annotations

import os
import re
import sys
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from torchlab.errors import USAGE, UserError
from torchlab.files import path_problem, read_text

APP = "torchlab"
CONFIG_ENV = "TORCHLAB_CONFIG"


@dataclass(frozen=True)
class SettingSpec:
    name: str
    env: str
    meaning: str
    is_path: bool = False


SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("data_dir", "TORCHLAB_DATA_DIR", "where workspaces, native environments and state live", True),
    SettingSpec("labs_dir", "TORCHLAB_LABS_DIR", "another labs folder (course authors; tests of upgrades)", True),
    SettingSpec("registry", "TORCHLAB_REGISTRY", "where prebuilt images are pulled from and pushed to"),
    SettingSpec("base_image", "TORCHLAB_BASE_IMAGE", "the image the lab images start from"),
    SettingSpec("index_url", "TORCHLAB_INDEX_URL", "the package index for torch and the labs' packages"),
    SettingSpec("wheelhouse", "TORCHLAB_WHEELHOUSE", "a local folder of wheels used before any index", True),
    SettingSpec("ca_bundle", "TORCHLAB_CA_BUNDLE", "a CA bundle that builds and native installs trust", True),
)
SPEC_BY_NAME = {spec.name: spec for spec in SPECS}


def default_values() -> dict[str, str | None]:
    return {
        "data_dir": platformdirs.user_data_dir(APP),
        "labs_dir": None,  # the labs shipped inside torchlab
        "registry": None,
        "base_image": "python:3.11-slim",
        "index_url": None,  # pip's own default (PyPI)
        "wheelhouse": None,
        "ca_bundle": None,
    }


# --- what each setting must be: Docker's reference grammar, a URL, a folder, a file -------------
# The grammar of github.com/distribution/reference (reference.go), as Docker parses image names.

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
IMAGE_REFERENCE = re.compile(rf"{_NAME}(?::{_TAG})?(?:@{_DIGEST})?")
REPOSITORY_NAME = re.compile(_NAME)
MAX_NAME = 255  # Docker's limit on a repository name
NO_INDEX = "none"  # index_url = "none": the wheelhouse only (torchlab.images.spec)


def odd_first_part(value: str) -> bool:
    """Docker takes a first part without '.' or ':' (and not localhost) as a path, not a registry
    host: then it must be lowercase like any path part."""
    first, slash, _ = value.partition("/")
    is_host = "." in first or ":" in first or first == "localhost"
    return bool(slash) and not is_host and re.fullmatch(_PATH_COMPONENT, first) is None


def image_problem(value: str) -> str | None:
    name, _, tag = value.split("@", 1)[0].rpartition(":")
    if not name or "/" in tag:  # no tag: the colon (if any) was a registry's port
        name = value.split("@", 1)[0]
    if IMAGE_REFERENCE.fullmatch(value) and len(name) <= MAX_NAME and not odd_first_part(value):
        return None
    return ("not a Docker image reference; expected [registry/]name[:tag] in lowercase letters, digits "
            "and . _ -, like python:3.11-slim or 127.0.0.1:5000/torchlab/base:bookworm")


def registry_problem(value: str) -> str | None:
    prefix = value.rstrip("/")
    candidate = f"{prefix}/lab-cpu"
    if "@" not in prefix and REPOSITORY_NAME.fullmatch(candidate) and len(prefix) < MAX_NAME - 20 and not odd_first_part(candidate):
        return None
    return ("not a Docker registry path; expected host[:port][/path] in lowercase letters, digits and . _ -, "
            "like 127.0.0.1:5000/torchlab or ghcr.io/course/torchlab")


def url_problem(value: str) -> str | None:
    if value == NO_INDEX:
        return None
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        parts = None
    ok = parts is not None and not any(ch.isspace() for ch in value) and (
        (parts.scheme in ("http", "https") and bool(parts.hostname)) or (parts.scheme == "file" and bool(parts.path)))
    if ok:
        return None
    return 'not a package index URL; expected http(s)://host/path like https://pypi.org/simple, or "none" (wheelhouse only)'


def folder_rule(must_exist: bool) -> Callable[[str], str | None]:
    def problem(value: str) -> str | None:
        found = path_problem(value, must_exist, "folder")
        return f"{found}; expected {'an existing' if must_exist else 'a'} folder" if found else None

    return problem


def pem_file_problem(value: str) -> str | None:
    found = path_problem(value, True, "file")
    return f"{found}; expected a PEM file of CA certificates" if found else None


RULES: Mapping[str, Callable[[str], str | None]] = {
    "data_dir": folder_rule(must_exist=False),  # made on first use
    "labs_dir": folder_rule(must_exist=True),
    "registry": registry_problem,
    "base_image": image_problem,
    "index_url": url_problem,
    "wheelhouse": folder_rule(must_exist=True),
    "ca_bundle": pem_file_problem,
}
LABELS = {"data_dir": "data folder", "labs_dir": "labs folder", "registry": "registry", "base_image": "base image",
          "index_url": "index URL", "wheelhouse": "wheelhouse", "ca_bundle": "CA bundle"}


def setting_error(name: str, value: str, origin: str, problem: str) -> UserError:
    shown = value if value.strip() and value.isprintable() else repr(value)
    return UserError(f"{LABELS[name]} {shown} (from {origin}): {problem}", USAGE)


# --- the effective settings -------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    name: str
    value: str | None
    origin: str  # "default" | "config file <path>" | "env TORCHLAB_X" | "flag --x"


@dataclass(frozen=True)
class Config:
    settings: tuple[Setting, ...]
    config_file: Path

    def get(self, name: str) -> str | None:
        return self._setting(name).value

    def path(self, name: str) -> Path | None:
        value = self.get(name)
        return Path(os.path.abspath(Path(value).expanduser())) if value else None

    def origin(self, name: str) -> str:
        return self._setting(name).origin

    @property
    def data_dir(self) -> Path:
        path = self.path("data_dir")
        assert path is not None  # always has a default
        return path

    def _setting(self, name: str) -> Setting:
        for setting in self.settings:
            if setting.name == name:
                return setting
        raise KeyError(name)

    def check(self) -> Config:
        """Every value set checked with its rule; the first bad one is a UserError (exit 2)."""
        for setting in self.settings:
            if setting.value is None:
                continue
            problem = RULES[setting.name](setting.value)
            if problem:
                raise setting_error(setting.name, setting.value, setting.origin, problem)
        return self


def config_file_path(env: Mapping[str, str]) -> Path:
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]).expanduser()
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def read_config_file(path: Path, origin: str = "") -> dict[str, str]:
    """The file's settings; a missing file is empty; an unreadable, oversized, binary or malformed
    one is a UserError naming it."""
    if not os.path.lexists(path):
        return {}
    where = f"config file {path}" + (f" (from {origin})" if origin else "")
    text = read_text(path, where)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{where}: not valid TOML ({exc})") from None
    unknown = sorted(set(data) - set(SPEC_BY_NAME))
    if unknown:
        known = ", ".join(SPEC_BY_NAME)
        raise UserError(f"{where}: unknown setting {unknown[0]!r}; expected one of {known}")
    for key, value in data.items():
        if not isinstance(value, str):
            raise UserError(f"{where}: {key} must be a string, got {type(value).__name__}")
    return data


def load_config(
    env: Mapping[str, str] | None = None, flags: Mapping[str, str | None] | None = None, check: bool = True
) -> Config:
    """Defaults < config file < environment < flags (a flag of None is not given); each value set
    is checked (check=False: as they are, for a caller that reports problems itself)."""
    env = os.environ if env is None else env
    path = config_file_path(env)
    from_file = read_config_file(path, f"env {CONFIG_ENV}" if env.get(CONFIG_ENV) else "")
    settings = []
    for spec in SPECS:
        value, origin = default_values()[spec.name], "default"
        if spec.name in from_file:
            value, origin = from_file[spec.name], f"config file {path}"
        if env.get(spec.env):
            value, origin = env[spec.env], f"env {spec.env}"
        flag = (flags or {}).get(spec.name)
        if flag is not None:
            value, origin = flag, f"flag --{spec.name.replace('_', '-')}"
        settings.append(Setting(spec.name, value, origin))
    config = Config(tuple(settings), path)
    return config.check() if check else config
