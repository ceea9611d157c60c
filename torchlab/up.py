"""`torchlab up`: plan (doctor) -> workspace -> the runtime starts the lab (image or environment,
then JupyterLab) -> JupyterLab answers -> smoke checks pass where the lab runs. A start that fails
or is interrupted is undone: no half-started lab is left behind, and the next `up` starts afresh.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torchlab.config import Config
from torchlab.decide.choice import Choice, choose
from torchlab.decide.plan import make_plan
from torchlab.errors import CHECK_FAILED, HOST_UNFIT, OK, UserError
from torchlab.files import check_writable
from torchlab.lab.catalog import Lab, LabCatalog, find_lab, open_catalog
from torchlab.lab.smoke import smoke_summary
from torchlab.lab.workspace import default_workspace_dir, init_workspace
from torchlab.probe.host import probe_host
from torchlab.runtimes import RUNTIMES, find_running, run_smoke, runtime_named, runtime_of
from torchlab.runtimes.jupyter import wait_until_answers
from torchlab.runtimes.lock import lab_lock
from torchlab.runtimes.protocol import LabStart, RunningLab, Runtime

SCHEMA = "torchlab.up/1"
JUPYTER_TIMEOUT_S = 180.0

Say = Callable[[str], None]


def quiet(_: str) -> None:
    """Says nothing: a lab that was already running is proven without a word."""


@dataclass(frozen=True)
class UpRequest:
    lab: str
    runtime: str = "auto"  # auto, or a name in torchlab.runtimes.RUNTIMES
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
        return {"schema": SCHEMA, "lab": lab.lab, "version": lab.version, "runtime": lab.runtime,
                "variant": lab.variant, "device": lab.device, "url": lab.url, **lab.place,
                "workspace": lab.workspace, "already_running": self.already_running, "smoke": self.smoke}


def up(request: UpRequest, config: Config, env: Mapping[str, str], say: Say) -> UpResult:
    catalog = open_catalog(config=config)
    lab = find_lab(catalog, request.lab)
    check_writable(config.data_dir, f"data folder {config.data_dir}")
    with lab_lock(config.data_dir, lab.id, say):
        running = find_running(config, lab.id, env)
        if running is not None and running.workspace_gone:
            say(f"{lab.id} is running but its workspace {running.workspace} is gone; taking it down and starting it afresh")
            runtime_of(running, config, env).stop(lab.id)
            running = None
        if running is not None:
            say(f"{lab.id} is already running ({running.runtime}, {running.variant}); not starting another")
            smoke = prove(runtime_of(running, config, env), running, None, catalog, lab, request, quiet)
            return UpResult(running, smoke, already_running=True)
        choice = plan_choice(request, config, env, say)
        workspace = prepare_workspace(lab, config, say)
        return start_and_prove(runtime_named(choice.runtime, config, env), request, choice, catalog, lab, workspace, say)


def plan_choice(request: UpRequest, config: Config, env: Mapping[str, str], say: Say) -> Choice:
    known = ("auto", *RUNTIMES)
    if request.runtime not in known:
        raise UserError(f"--runtime {request.runtime}: expected one of {', '.join(known)}")
    facts = probe_host(env, config.data_dir)
    choice = choose(make_plan(facts), facts, request.runtime, request.variant)
    for reason in choice.reasons:
        say(reason)
    return choice


def prepare_workspace(lab: Lab, config: Config, say: Say) -> Path:
    """The lab's workspace: made the first time, kept as it is after (never overwritten)."""
    root = default_workspace_dir(config, lab.id)
    made = init_workspace(lab, root)
    if made.set_aside is not None:
        say(made.set_aside.describe())
    say(f"workspace {root}: {'made' if made.created else 'kept as it is'}")
    if made.version != made.shipped_version:
        say(f"the workspace is {lab.id} {made.version}; this torchlab ships {made.shipped_version}: "
            f"`torchlab labs upgrade {lab.id}` brings it up to date, keeping your changes")
    return root


def start_and_prove(runtime: Runtime, request: UpRequest, choice: Choice, catalog: LabCatalog, lab: Lab,
                    workspace: Path, say: Say) -> UpResult:
    start = LabStart(lab, choice, workspace, secrets.token_hex(24), request.port, request.jupyter)
    with undone_on_failure(lambda: runtime.stop(lab.id), say):
        started = runtime.start(start, say)
        smoke = prove(runtime, started, choice.device, catalog, lab, request, say)
    return UpResult(started, smoke)


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


def prove(runtime: Runtime, running: RunningLab, device: str | None, catalog: LabCatalog, lab: Lab,
          request: UpRequest, say: Say) -> dict[str, Any]:
    """Wait for JupyterLab and run the smoke checks meanwhile (both take seconds; they overlap)."""
    device = device or running.device
    outcome: dict[str, Any] = {}
    worker = threading.Thread(
        target=lambda: outcome.update(run=smoke_in(runtime, running, device, catalog, lab)), daemon=True
    )
    if request.smoke:
        say(f"running {lab.id}'s smoke checks on {device} inside the lab")
        worker.start()
    if running.port is not None:
        wait_for_jupyter(runtime, running)
    if not request.smoke:
        return {"status": "skipped", "checks": []}
    worker.join()
    return outcome.get("run") or {"status": "error", "checks": [], "detail": "the smoke checks did not run"}


def smoke_in(runtime: Runtime, running: RunningLab, device: str, catalog: LabCatalog, lab: Lab) -> dict[str, Any]:
    try:
        result = run_smoke(runtime, running, catalog, lab, device)
    except Exception as exc:  # the container went away meanwhile: reported, not raised from a thread
        return {"status": "error", "checks": [], "detail": f"{type(exc).__name__}: {exc}"}
    return smoke_summary(result, lab)


def wait_for_jupyter(runtime: Runtime, running: RunningLab) -> None:
    try:
        wait_until_answers(running.port or 0, running.token, JUPYTER_TIMEOUT_S, lambda: runtime.why_stopped(running))
    except (RuntimeError, TimeoutError) as exc:
        raise UserError(f"{running.lab}: JupyterLab did not start: {exc}", HOST_UNFIT) from None

