"""`torchlab up`: plan (doctor) -> image or environment -> workspace -> start -> JupyterLab answers
-> smoke checks pass where the lab runs. A start that fails or is interrupted is undone: no
half-started lab is left behind, and the next `up` starts afresh.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torchlab import container, jupyter, native
from torchlab.choice import Choice, choose
from torchlab.config import Config
from torchlab.errors import CHECK_FAILED, HOST_UNFIT, OK, UserError
from torchlab.labs import Lab, LabCatalog, find_lab, open_catalog
from torchlab.lock import lab_lock
from torchlab.running import RunningLab, find_running, run_smoke, smoke_summary

SCHEMA = "torchlab.up/1"
JUPYTER_TIMEOUT_S = 180.0

Say = Callable[[str], None]


@dataclass(frozen=True)
class UpRequest:
    lab: str
    runtime: str = "auto"  # auto | docker | native
    variant: str = "auto"  # auto | cpu | cuda | rocm
    port: int | None = None
    jupyter: bool = True
    smoke: bool = True


@dataclass(frozen=True)
class UpResult:
    lab: RunningLab
    smoke: dict[str, Any]
    already_running: bool = False

    @property
    def exit_code(self) -> int:
        return CHECK_FAILED if self.smoke.get("status") in ("failed", "error") else OK

    def to_json(self) -> dict[str, Any]:
        lab = self.lab
        place = {"container": lab.container} if lab.runtime == "docker" else {"pid": lab.pid}
        return {"schema": SCHEMA, "lab": lab.lab, "version": lab.version, "runtime": lab.runtime,
                "variant": lab.variant, "device": lab.device, "url": lab.url, **place,
                "workspace": lab.workspace, "already_running": self.already_running, "smoke": self.smoke}


def up(request: UpRequest, config: Config, env: Mapping[str, str], say: Say) -> UpResult:
    catalog = open_catalog(config=config)
    lab = find_lab(catalog, request.lab)
    with lab_lock(config.data_dir, lab.id, say):
        running = find_running(config.data_dir, lab.id, env)
        if running is not None:
            say(f"{lab.id} is already running ({running.runtime}, {running.variant}); not starting another")
            return UpResult(running, prove(running, None, catalog, lab, request, env), already_running=True)
        choice = plan_choice(request, config, env, say)
        workspace = prepare_workspace(lab, config, choice, say)
        return start_and_prove(request, choice, catalog, lab, workspace, config, env, say)


def plan_choice(request: UpRequest, config: Config, env: Mapping[str, str], say: Say) -> Choice:
    from torchlab.decide import make_plan  # noqa: PLC0415 - probing is the slow part of startup
    from torchlab.probe.host import probe_host  # noqa: PLC0415

    facts = probe_host(env, config.data_dir)
    choice = choose(make_plan(facts), facts, request.runtime, request.variant)
    for reason in choice.reasons:
        say(reason)
    return choice


def prepare_workspace(lab: Lab, config: Config, choice: Choice, say: Say) -> Path:
    """The lab's workspace: made the first time, kept as it is after (never overwritten)."""
    from torchlab.workspace import default_workspace_dir, init_workspace  # noqa: PLC0415

    root = default_workspace_dir(config, lab.id)
    made = init_workspace(lab, root)
    say(f"workspace {root}: {'made' if made.created else 'kept as it is'}")
    if made.version != made.shipped_version:
        say(f"the workspace is {lab.id} {made.version}; this torchlab ships {made.shipped_version}: "
            f"`torchlab labs upgrade {lab.id}` brings it up to date, keeping your changes")
    if choice.runtime == "docker" and getattr(os, "geteuid", lambda: -1)() == 0:
        container.give_to_lab_user(root, os.environ)
    return root


def start_and_prove(request: UpRequest, choice: Choice, catalog: LabCatalog, lab: Lab, workspace: Path,
                    config: Config, env: Mapping[str, str], say: Say) -> UpResult:
    token = secrets.token_hex(24)
    in_docker = choice.runtime == "docker"
    start = container.start if in_docker else native.start_lab
    with undone_on_failure(lambda: take_down(lab.id, choice.runtime, config.data_dir, env), say):
        started = start(request, choice, lab, workspace, token, config, env, say)
        smoke = prove(started, choice.device, catalog, lab, request, env, say)
    return UpResult(started, smoke)


def take_down(lab: str, runtime: str, data_dir: Path, env: Mapping[str, str]) -> bool:
    """Stop the lab and remove its container or pid file; the workspace stays. False: none was up."""
    if runtime == "docker":
        return container.remove(lab, data_dir, env)
    run = native.read_run(data_dir, lab)
    if run is not None:
        native.stop_run(data_dir, run)
    return run is not None


@contextlib.contextmanager
def undone_on_failure(undo: Callable[[], bool], say: Say) -> Iterator[None]:
    """Whatever stops `up` before it is done (an error, Ctrl-C) takes the half-started lab down."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            if undo():
                say("took the half-started lab down; `torchlab up` again starts afresh")
        raise


def prove(running: RunningLab, device: str | None, catalog: LabCatalog, lab: Lab, request: UpRequest,
          env: Mapping[str, str], say: Say = lambda _: None) -> dict[str, Any]:
    """Wait for JupyterLab and run the smoke checks meanwhile (both take seconds; they overlap)."""
    device = device or running.device
    outcome: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: outcome.update(run=smoke_in(running, device, catalog, lab, env)), daemon=True)
    if request.smoke:
        say(f"running {lab.id}'s smoke checks on {device} inside the lab")
        worker.start()
    if running.port is not None:
        wait_for_jupyter(running, env)
    if not request.smoke:
        return {"status": "skipped", "checks": []}
    worker.join()
    return outcome.get("run") or {"status": "error", "checks": [], "detail": "the smoke checks did not run"}


def smoke_in(running: RunningLab, device: str, catalog: LabCatalog, lab: Lab, env: Mapping[str, str]) -> dict[str, Any]:
    try:
        result = run_smoke(running, lab.path, catalog.runner, device, env)
    except Exception as exc:  # the container went away meanwhile: reported, not raised from a thread
        return {"status": "error", "checks": [], "detail": f"{type(exc).__name__}: {exc}"}
    return smoke_summary(result, lab)


def wait_for_jupyter(running: RunningLab, env: Mapping[str, str]) -> None:
    def why_not() -> str | None:
        return container.why_stopped(running, env) if running.runtime == "docker" else native_why_stopped(running)

    try:
        jupyter.wait_until_answers(running.port or 0, running.token, JUPYTER_TIMEOUT_S, why_not)
    except (RuntimeError, TimeoutError) as exc:
        raise UserError(f"{running.lab}: JupyterLab did not start: {exc}", HOST_UNFIT) from None


def native_why_stopped(running: RunningLab) -> str | None:
    if native.process_alive(running.pid, None):
        return None
    native.reap(running.pid or 0)
    tail = ""
    with contextlib.suppress(OSError):
        tail = " | ".join(Path(running.log or "").read_text(errors="replace").strip().splitlines()[-3:])
    return f"the JupyterLab process exited (log {running.log}): {tail}"
