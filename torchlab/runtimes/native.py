"""The native runtime: a virtual environment per set of packages (torchlab.decide.venv says which),
made once under a lock, and JupyterLab as a background process of the user's own, known from its
pid file. For macOS (the Apple GPU cannot enter a Linux container) and hosts without Docker.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from pathlib import Path

from torchlab.config import Config
from torchlab.decide.jupyter import KERNEL, default_url_arg, first_page, kernel_name, kernelspec
from torchlab.decide.venv import EnvSpec, install_commands, plan_env, torch_requirement, venv_python
from torchlab.errors import HOST_UNFIT, UserError
from torchlab.images.inputs import recipe_dir
from torchlab.images.spec import JUPYTERLAB_SETTINGS
from torchlab.lab.catalog import Lab
from torchlab.run import CommandResult, run_command, start_background
from torchlab.runtimes.lock import file_lock
from torchlab.runtimes.pidfiles import NativeRun, all_runs, log_file, read_run, run_file, write_run
from torchlab.runtimes.ports import check_free, free_port
from torchlab.runtimes.processes import command_line, is_ours, reap, start_time, still_running, stop_process
from torchlab.runtimes.protocol import LabStart, RunningLab, Say, ShellCommand

MARKER = "torchlab-env.json"
INSTALL_TIMEOUT_S = 3600.0
FOLLOW_POLL_S = 0.2


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
            raise UserError(f"cannot make the lab's environment {env_dir}: `{' '.join(argv[:4])} ...` failed: {tail}", HOST_UNFIT)
    marker = {"requirements": list(spec.requirements), "spec": asdict(spec)}
    (env_dir / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


def ensure_env(spec: EnvSpec, data_dir: Path, env: Mapping[str, str], say: Say) -> Path:
    """The environment for spec, made once (under a lock: labs sharing it do not install twice)."""
    env_dir = spec.path(data_dir)
    with file_lock(env_dir.with_name(env_dir.name + ".lock"), f"waiting for another install into {env_dir}", say):
        if env_is_ready(spec, env_dir):
            say(f"environment {env_dir} is ready")
        else:
            install_env(spec, env_dir, env, say)
    return env_dir


# --- JupyterLab as a process of the user's own ------------------------------------------------------


def prepare_jupyter(env_dir: Path, home: Path, workspace: Path, lab: str, device: str, torch: str) -> tuple[str, ...]:
    """As decide.jupyter says: the news prompt off in the environment, the lab's kernelspec in home
    (put first on JUPYTER_PATH), and the argument that opens the workspace's first page."""
    settings = env_dir / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    kernel = home / "kernels" / KERNEL
    spec = kernelspec(str(venv_python(env_dir)), kernel_name(lab, device, torch.split("+")[0]))
    try:
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_bytes((recipe_dir() / JUPYTERLAB_SETTINGS).read_bytes())
        kernel.mkdir(parents=True, exist_ok=True)
        (kernel / "kernel.json").write_text(json.dumps(spec, ensure_ascii=False, indent=1), encoding="utf-8")
        names = [p.name for p in workspace.iterdir() if p.is_file()]
    except OSError as exc:
        raise UserError(f"cannot prepare JupyterLab for {lab} ({exc.strerror or exc}: {exc.filename})", HOST_UNFIT) from None
    return default_url_arg(first_page(names))


def start_jupyter(env_dir: Path, workspace: Path, port: int, token: str, log: Path,
                  env: Mapping[str, str], extra_env: Mapping[str, str],
                  args: tuple[str, ...] = ()) -> tuple[int, float, tuple[str, ...]]:
    """JupyterLab from the environment, on 127.0.0.1:port only; the token goes in the environment
    (not the command line, which every local user can read). Its pid, start time and command line
    as the OS shows them: the proof, later, that the process is the one torchlab started."""
    bin_dir = venv_python(env_dir).parent
    # jupyter-lab itself, not `jupyter lab` (which execs jupyter-lab, changing the command line that proves it ours)
    argv = [str(bin_dir / "jupyter-lab"), "--ip", "127.0.0.1", "--port", str(port), "--no-browser",
            "--ServerApp.port_retries=0", f"--ServerApp.root_dir={workspace}", *args]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # natively the lab is the user's own process
        argv.append("--ServerApp.allow_root=True")
    child_env = {**env, **extra_env, "JUPYTER_TOKEN": token, "VIRTUAL_ENV": str(env_dir),
                 "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"}
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        pid = start_background(argv, str(log), env=child_env, cwd=str(workspace))
    except OSError as exc:
        raise UserError(f"cannot start JupyterLab from {env_dir} ({exc.strerror or exc}); "
                        f"remove {env_dir} to have it made again", HOST_UNFIT) from None
    return pid, start_time(pid), tuple(command_line(pid, showing=argv[0]) or argv)


def choose_port(port: int | None) -> int:
    if port is None:
        return free_port()
    check_free(port, binds_itself=True)  # JupyterLab binds it as this user: a port below 1024 is refused
    return port


def from_native(run: NativeRun, alive: bool) -> RunningLab:
    return RunningLab(
        lab=run.lab, version=run.version, runtime="native", variant=run.variant, device=run.device,
        workspace=run.workspace, state="running" if alive else "gone", started_at=run.started_at,
        port=run.port, token=run.token, pid=run.pid, env=run.env, log=run.log,
    )


def follow_file(path: Path, follow: bool, still_running) -> Iterator[bytes]:
    """A log file's bytes; with follow, the new ones too until the lab stops."""
    with open(path, "rb") as handle:
        yield handle.read()
        while follow:
            chunk = handle.read()
            if chunk:
                yield chunk
            elif not still_running():
                return
            else:
                time.sleep(FOLLOW_POLL_S)


def last_lines(path: str, count: int = 3) -> str:
    with contextlib.suppress(OSError):
        return " | ".join(Path(path).read_text(errors="replace").strip().splitlines()[-count:])
    return ""


class NativeRuntime:
    """Labs in a virtual environment of this machine, JupyterLab as the user's own process."""

    name = "native"

    def __init__(self, config: Config, env: Mapping[str, str]) -> None:
        self.config = config
        self.env = env
        self.data_dir = config.data_dir

    def start(self, start: LabStart, say: Say) -> RunningLab:
        """Environment, JupyterLab (unless --no-jupyter), pid file."""
        lab, choice = start.lab, start.choice
        port = choose_port(start.port) if start.jupyter else None  # before an install that may take minutes
        env_dir = ensure_env(self.env_spec(lab, start), self.data_dir, self.env, say)
        log = log_file(self.data_dir, lab.id)
        pid = created = command = None
        if start.jupyter:
            say(f"starting JupyterLab for {lab.id} on 127.0.0.1:{port} (log {log})")
            home = self.data_dir / "jupyter" / lab.id
            args = prepare_jupyter(env_dir, home, start.workspace, lab.id, choice.device, choice.torch_version)
            jupyter_path = os.pathsep.join(p for p in (str(home), self.env.get("JUPYTER_PATH")) if p)
            extra = {"TORCHLAB_LAB": lab.id, "TORCHLAB_DEVICE": choice.device, "JUPYTER_PATH": jupyter_path}
            pid, created, command = start_jupyter(env_dir, start.workspace, port, start.token, log, self.env, extra, args)
        run = NativeRun(lab.id, lab.version, choice.variant, choice.device, pid, created, port,
                        start.token if start.jupyter else None, str(start.workspace), str(env_dir), str(log),
                        time.time(), command)
        try:
            write_run(self.data_dir, run)
        except BaseException:  # no pid file, no process: stopped (Ctrl-C, a full disk) before it was known
            if pid is not None:
                stop_process(pid, created, command)
            raise
        return from_native(run, alive=True)

    def env_spec(self, lab: Lab, start: LabStart) -> EnvSpec:
        choice, config = start.choice, self.config
        torch_req = torch_requirement(choice.torch_version, choice.torch_index, platform.system())
        sources = host_sources(config.get("index_url"), config.path("wheelhouse"), config.path("ca_bundle"), self.env)
        return plan_env(choice.variant, torch_req, choice.torch_index, lab.packages, sources)

    def stop(self, lab: str) -> bool:
        run = read_run(self.data_dir, lab)
        if run is None:
            return False
        if run.pid is not None:
            stop_process(run.pid, run.create_time, run.command)  # only a process proven ours is signalled
        run_file(self.data_dir, run.lab).unlink(missing_ok=True)
        return True

    def find(self, lab: str | None = None) -> list[RunningLab]:
        runs = all_runs(self.data_dir) if lab is None else [r for r in [read_run(self.data_dir, lab)] if r]
        return [from_native(run, run.pid is None or is_ours(run.pid, run.create_time, run.command)) for run in runs]

    def why_stopped(self, running: RunningLab) -> str | None:
        if running.pid is None or still_running(running.pid):
            return None
        reap(running.pid or 0)
        return f"the JupyterLab process exited (log {running.log}): {last_lines(running.log or '')}"

    def python(self, running: RunningLab) -> str:
        return str(venv_python(Path(running.env or "")))

    def smoke_files(self, running: RunningLab, runner: Path, lab_dir: Path) -> tuple[str, str]:
        return str(runner), str(lab_dir)  # the lab is on this machine: it reads torchlab's copies

    def copy_in(self, running: RunningLab, file: Path, what: str) -> str:
        return str(file)  # the lab is on this machine: it reads the file where it is

    def run_in(self, running: RunningLab, argv: list[str], timeout: float, what: str) -> CommandResult | None:
        return run_command(argv, timeout=timeout)

    def logs(self, running: RunningLab, follow: bool) -> Iterator[bytes]:
        return follow_file(Path(running.log or ""), follow, lambda: running.pid is not None and still_running(running.pid))

    def shell(self, running: RunningLab, tty: bool) -> ShellCommand:
        env_dir = Path(running.env or "")
        bin_dir = venv_python(env_dir).parent
        shell = self.env.get("SHELL") or ("cmd.exe" if os.name == "nt" else "/bin/bash")
        child = {**self.env, "VIRTUAL_ENV": str(env_dir), "PATH": f"{bin_dir}{os.pathsep}{self.env.get('PATH', '')}",
                 "TORCHLAB_LAB": running.lab, "TORCHLAB_DEVICE": running.device}
        return ShellCommand([shell], child, running.workspace)
