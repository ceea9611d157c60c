"""The native runtime: a virtual environment per set of packages, JupyterLab as a local process.

Environments live under <data_dir>/envs/<variant>-<hash of what went in>, so labs that need the
same packages share one and a change of packages makes a new one. torch is pinned to the plan's
build (2.13.0+cpu, +cu126, ...) so that no installer can swap in another one; it comes from a
wheelhouse when one holds it, else from PyPI's torch index for that build. uv installs when it
is on PATH, pip otherwise, with the same index, find-links and CA bundle.

A running native lab is known from its pid file, <data_dir>/run/<lab>.json, checked against the
process itself (pid and start time), so a stale file never shows a lab that has gone.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from torchlab.errors import UserError
from torchlab.run import run_command, start_background
from torchlab.runspec import short_hash

if TYPE_CHECKING:  # pragma: no cover - types only: these modules import this one
    from torchlab.choice import Choice
    from torchlab.config import Config
    from torchlab.labs import Lab
    from torchlab.launch import UpRequest
    from torchlab.running import RunningLab

Say = Callable[[str], None]
TORCH_INDEX_BASE = "https://download.pytorch.org/whl/"
MARKER = "torchlab-env.json"
RUN_SCHEMA = "torchlab.native-run/1"
INSTALL_TIMEOUT_S = 3600.0


@dataclass(frozen=True)
class EnvSpec:
    """What goes into a native environment and where from (pure data; its hash names the folder)."""

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


@dataclass(frozen=True)
class NativeRun:
    """The pid file of a native lab: what runs, where, and how to reach it."""

    lab: str
    version: str
    variant: str
    device: str
    pid: int | None  # None: --no-jupyter, the environment only
    create_time: float | None  # the process's start time, guarding against a reused pid
    port: int | None
    token: str | None
    workspace: str
    env: str
    log: str
    started_at: float


# --- deciding what to install (pure) -----------------------------------------------------------


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
    extra = None if local or "+" not in torch_req else TORCH_INDEX_BASE + torch_index
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


# --- the environment on disk ----------------------------------------------------------------------


def host_sources(index_url: str | None, wheelhouse: Path | None, ca_bundle: Path | None,
                 env: Mapping[str, str]) -> dict[str, object]:
    """The settings and wheelhouses (the configured one and pip's PIP_FIND_LINKS) of this host."""
    folders = [str(wheelhouse)] if wheelhouse else []
    folders += [f for f in env.get("PIP_FIND_LINKS", "").split() if f not in folders]
    folders = [f for f in folders if Path(f).is_dir()]
    files = sorted(name for folder in folders for name in os.listdir(folder))
    return {
        "python": sys.executable,
        "python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
        "index_url": index_url,
        "ca_bundle": str(ca_bundle) if ca_bundle else None,
        "find_links": folders,
        "wheelhouse_files": files,
    }


def env_is_ready(spec: EnvSpec, env_dir: Path) -> bool:
    try:
        recorded = json.loads((env_dir / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return recorded.get("requirements") == list(spec.requirements) and venv_python(env_dir).exists()


def install_env(spec: EnvSpec, env_dir: Path, env: Mapping[str, str], say: Say) -> None:
    """Build the environment afresh; its marker is written last, so a half-made one is redone."""
    shutil.rmtree(env_dir, ignore_errors=True)
    env_dir.parent.mkdir(parents=True, exist_ok=True)
    uv = shutil.which("uv", path=env.get("PATH"))
    child_env = dict(env)
    if spec.ca_bundle:
        child_env.update(SSL_CERT_FILE=spec.ca_bundle, PIP_CERT=spec.ca_bundle)
    say(f"installing {', '.join(spec.requirements)} into {env_dir} with {'uv' if uv else 'pip'}")
    for argv in install_commands(spec, env_dir, uv):
        result = run_command(argv, timeout=INSTALL_TIMEOUT_S, env=child_env)
        if result is None or not result.ok:
            shutil.rmtree(env_dir, ignore_errors=True)
            tail = " | ".join((result.stderr if result else "").strip().splitlines()[-3:])
            raise UserError(f"cannot make the lab's environment {env_dir}: `{' '.join(argv[:4])} ...` failed: {tail}", 3)
    marker = {"requirements": list(spec.requirements), "spec": asdict(spec)}
    (env_dir / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


# --- the running lab: pid file, start, stop -----------------------------------------------------


def run_file(data_dir: Path, lab: str) -> Path:
    return data_dir / "run" / f"{lab}.json"


def log_file(data_dir: Path, lab: str) -> Path:
    return data_dir / "logs" / f"{lab}.log"


def write_run(data_dir: Path, run: NativeRun) -> None:
    path = run_file(data_dir, run.lab)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the token
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"schema": RUN_SCHEMA, **asdict(run)}, handle, indent=2)
    os.replace(tmp, path)


def read_run(data_dir: Path, lab: str) -> NativeRun | None:
    try:
        data = json.loads(run_file(data_dir, lab).read_text(encoding="utf-8"))
        data.pop("schema", None)
        return NativeRun(**data)
    except (OSError, ValueError, TypeError):
        return None


def all_runs(data_dir: Path) -> list[NativeRun]:
    folder = data_dir / "run"
    runs = [read_run(data_dir, path.stem) for path in sorted(folder.glob("*.json"))] if folder.is_dir() else []
    return [run for run in runs if run is not None]


def process_alive(pid: int | None, create_time: float | None) -> bool:
    """The very process we started is still there (not a zombie, not a later one with its pid)."""
    if pid is None:
        return True
    try:
        process = psutil.Process(pid)
        same = create_time is None or abs(process.create_time() - create_time) < 1.0
        return same and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def start_jupyter(env_dir: Path, workspace: Path, port: int, token: str, log: Path,
                  env: Mapping[str, str], extra_env: Mapping[str, str]) -> tuple[int, float]:
    """JupyterLab from the environment, on 127.0.0.1:port only; the token goes in the environment
    (not the command line, which every local user can read)."""
    bin_dir = venv_python(env_dir).parent
    argv = [str(bin_dir / "jupyter"), "lab", "--ip", "127.0.0.1", "--port", str(port), "--no-browser",
            "--ServerApp.port_retries=0", f"--ServerApp.root_dir={workspace}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # natively the lab is the user's own process
        argv.append("--ServerApp.allow_root=True")
    child_env = {**env, **extra_env, "JUPYTER_TOKEN": token, "VIRTUAL_ENV": str(env_dir),
                 "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"}
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        pid = start_background(argv, str(log), env=child_env, cwd=str(workspace))
    except OSError as exc:
        raise UserError(f"cannot start JupyterLab from {env_dir} ({exc.strerror or exc}); "
                        f"remove {env_dir} to have it made again", 3) from None
    try:
        return pid, psutil.Process(pid).create_time()
    except psutil.Error:
        return pid, time.time()


def stop_process(pid: int, grace_s: float = 5.0) -> None:
    """SIGTERM to the lab's process group (JupyterLab and its kernels), SIGKILL after grace_s."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 2.0)):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            break
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and process_alive(pid, None):
            reap(pid)
            time.sleep(0.05)
        if not process_alive(pid, None):
            break
    reap(pid)


def reap(pid: int) -> None:
    """Collect our own child's exit status, so that it does not linger as a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def stop_run(data_dir: Path, run: NativeRun) -> None:
    if run.pid is not None and process_alive(run.pid, run.create_time):
        stop_process(run.pid)
    run_file(data_dir, run.lab).unlink(missing_ok=True)


# --- `up` in the native runtime: environment, then JupyterLab, then its pid file ------------------


def ensure_env(spec: EnvSpec, data_dir: Path, env: Mapping[str, str], say: Say) -> Path:
    """The environment for spec, made once (under a lock: labs sharing it do not install twice)."""
    from torchlab.lock import file_lock  # noqa: PLC0415

    env_dir = spec.path(data_dir)
    with file_lock(env_dir.with_name(env_dir.name + ".lock"), f"waiting for another install into {env_dir}", say):
        if env_is_ready(spec, env_dir):
            say(f"environment {env_dir} is ready")
        else:
            install_env(spec, env_dir, env, say)
    return env_dir


def choose_port(port: int | None) -> int:
    from torchlab.errors import USAGE  # noqa: PLC0415
    from torchlab.ports import free_port, port_is_free, who_listens  # noqa: PLC0415

    if port is None:
        return free_port()
    if not port_is_free(port):
        holder = who_listens(port)
        held = f" by {holder}" if holder else ""
        raise UserError(f"--port {port}: 127.0.0.1:{port} is in use{held}; choose another port, or leave --port out", USAGE)
    return port


def start_lab(request: UpRequest, choice: Choice, lab: Lab, workspace: Path, token: str, config: Config,
              env: Mapping[str, str], say: Say) -> RunningLab:
    """Environment, JupyterLab (unless --no-jupyter), pid file; returns the RunningLab."""
    from torchlab.running import from_native  # noqa: PLC0415

    torch_req = torch_requirement(choice.torch_version, choice.torch_index, sys_platform())
    sources = host_sources(config.get("index_url"), config.path("wheelhouse"), config.path("ca_bundle"), env)
    spec = plan_env(choice.variant, torch_req, choice.torch_index, lab.packages, sources)
    env_dir = ensure_env(spec, config.data_dir, env, say)
    log = log_file(config.data_dir, lab.id)
    pid = create_time = port = None
    if request.jupyter:
        port = choose_port(request.port)
        say(f"starting JupyterLab for {lab.id} on 127.0.0.1:{port} (log {log})")
        extra = {"TORCHLAB_LAB": lab.id, "TORCHLAB_DEVICE": choice.device}
        pid, create_time = start_jupyter(env_dir, workspace, port, token, log, env, extra)
    run = NativeRun(lab.id, lab.version, choice.variant, choice.device, pid, create_time, port,
                    token if request.jupyter else None, str(workspace), str(env_dir), str(log), time.time())
    write_run(config.data_dir, run)
    return from_native(run, alive=True)


def sys_platform() -> str:
    import platform  # noqa: PLC0415

    return platform.system()
