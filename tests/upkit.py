"""Running torchlab as a learner would, for the `up` tests: the installed module in a subprocess,
as an unprivileged user (in the docker group) where the tests run as root, with its own data
folder and settings. Nothing is mocked: a real engine, real processes, real HTTP."""

from __future__ import annotations

import grp
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LEARNER = 65534  # nobody: exists on every Debian, owns nothing
CA_FILES = ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")


def docker_gid() -> int | None:
    try:
        return grp.getgrnam("docker").gr_gid
    except KeyError:
        return None


WHEELHOUSE_VARIABLES = "TORCHLAB_WHEELHOUSE or PIP_FIND_LINKS"


def wheelhouse() -> str | None:
    """The local folder of wheels the tests build with: TORCHLAB_WHEELHOUSE, else pip's own
    PIP_FIND_LINKS (its first folder). No default path: a clone knows no machine of ours."""
    entries = os.environ.get("TORCHLAB_WHEELHOUSE", "").split() + os.environ.get("PIP_FIND_LINKS", "").split()
    folders = [f for f in entries if Path(f).is_dir()]
    return folders[0] if folders else None


def ca_bundle() -> str | None:
    return next((os.environ[name] for name in CA_FILES if os.environ.get(name) and Path(os.environ[name]).is_file()), None)


@dataclass
class Torchlab:
    """`python -m torchlab ...` with a home and data folder of its own, as `uid` when set."""

    home: Path
    uid: int | None = None  # None: as this process's user
    groups: tuple[int, ...] = ()
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def env(self) -> dict[str, str]:
        env = {"PATH": os.environ["PATH"], "HOME": str(self.home), "NO_COLOR": "1", "COLUMNS": "200",
               "TORCHLAB_DATA_DIR": str(self.data_dir), "TORCHLAB_CONFIG": str(self.home / "no-config.toml"),
               "PIP_DEFAULT_TIMEOUT": os.environ.get("PIP_DEFAULT_TIMEOUT", "60")}
        for name in ("PIP_FIND_LINKS", "PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "DOCKER_HOST",
                     "TORCHLAB_BASE_IMAGE", "TORCHLAB_WHEELHOUSE", "TORCHLAB_CA_BUNDLE", "TORCHLAB_INDEX_URL"):
            if os.environ.get(name):
                env[name] = os.environ[name]
        return {**env, **self.extra_env}

    def argv(self, *args: str) -> list[str]:
        command = [sys.executable, "-m", "torchlab", *args]
        if self.uid is None:
            return command
        groups = ",".join(str(g) for g in self.groups)
        who = ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}"]
        return [*who, f"--groups={groups}" if groups else "--clear-groups", *command]

    def run(self, *args: str, stdin: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(*args), input=stdin, capture_output=True, text=True, env=self.env,
                              timeout=timeout, check=False, cwd=str(self.home))

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(self.argv(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.env, cwd=str(self.home))

    def json(self, *args: str, timeout: float = 600) -> tuple[subprocess.CompletedProcess, dict]:
        done = self.run(*args, "--json", timeout=timeout)
        try:
            return done, json.loads(done.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"no JSON from torchlab {' '.join(args)} (exit {done.returncode}): {done.stderr[-2000:]}") from None


def learner_home(prefix: str) -> Path:
    """A home the unprivileged user can write (pytest's tmp_path sits under a 0700 folder)."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    home.chmod(0o777)
    return home


def make_torchlab(prefix: str, with_docker: bool, **extra_env: str) -> Torchlab:
    """As the unprivileged learner when we are root and that user can run this Python; else as we are."""
    home = learner_home(prefix)
    learner = Torchlab(home, LEARNER, groups=(docker_gid(),) if with_docker and docker_gid() is not None else (),
                       extra_env=extra_env)
    if os.geteuid() == 0 and shutil.which("setpriv"):
        probe = subprocess.run(learner.argv("--version"), capture_output=True, text=True, env=learner.env, timeout=60, check=False)
        if probe.returncode == 0:
            return learner
    return Torchlab(home, None, extra_env=extra_env)


def remove_home(home: Path) -> None:
    subprocess.run(["rm", "-rf", str(home)], check=False, timeout=120)


def without_token(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/api/status", "", ""))


def wait_until(predicate, timeout: float, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()
