"""Settings: defaults, overridden by the config file, by TORCHLAB_* variables, then by flags.

Each effective value remembers where it came from, for `torchlab config show`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from torchlab.errors import UserError

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
        return Path(value).expanduser() if value else None

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


def config_file_path(env: Mapping[str, str]) -> Path:
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]).expanduser()
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def read_config_file(path: Path) -> dict[str, str]:
    """The file's settings; a missing file is empty, a malformed one is a UserError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UserError(f"config file {path}: cannot read it ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"config file {path}: not valid TOML ({exc})") from None
    unknown = sorted(set(data) - set(SPEC_BY_NAME))
    if unknown:
        known = ", ".join(SPEC_BY_NAME)
        raise UserError(f"config file {path}: unknown setting {unknown[0]!r}; expected one of {known}")
    for key, value in data.items():
        if not isinstance(value, str):
            raise UserError(f"config file {path}: {key} must be a string, got {type(value).__name__}")
    return data


def load_config(
    env: Mapping[str, str] | None = None, flags: Mapping[str, str | None] | None = None
) -> Config:
    """Defaults < config file < environment < flags (a flag of None is not given)."""
    env = os.environ if env is None else env
    path = config_file_path(env)
    from_file = read_config_file(path)
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
    return Config(tuple(settings), path)
