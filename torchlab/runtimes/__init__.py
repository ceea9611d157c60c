"""Where labs run. Every runtime has the shape of torchlab.runtimes.protocol.Runtime (start, stop,
find, run a command in the lab, logs, a shell); this registry names them. Adding a runtime is one
module with one class, and one line here.

    protocol   the Runtime shape and the data it takes and gives (LabStart, RunningLab, ...)
    docker     labs in containers of the lab image
    native     labs in a virtual environment, JupyterLab as the user's own process
    pidfiles   native labs' pid files;  processes   their processes
    ports      free and taken ports on 127.0.0.1;  jupyter   is JupyterLab answering?
    lock       one `up` or `down` of a lab at a time
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Optional

from torchlab.config import Config
from torchlab.lab.catalog import Lab, LabCatalog
from torchlab.lab.smoke import SMOKE_TIMEOUT_S, runner_argv
from torchlab.run import CommandResult

if TYPE_CHECKING:  # pragma: no cover - types only: `--runtime`'s choices need no more than the names
    from torchlab.runtimes.protocol import RunningLab, Runtime

# name -> "module:class". Imported when first used: the docker runtime brings docker-py (0.1-0.4 s).
RUNTIMES: dict[str, str] = {
    "docker": "torchlab.runtimes.docker:DockerRuntime",
    "native": "torchlab.runtimes.native:NativeRuntime",
}


def runtime_named(name: str, config: Config, env: Mapping[str, str]) -> Runtime:
    module, _, cls = RUNTIMES[name].partition(":")
    return getattr(importlib.import_module(module), cls)(config, env)


def runtime_of(running: RunningLab, config: Config, env: Mapping[str, str]) -> Runtime:
    """The runtime a lab runs in."""
    return runtime_named(running.runtime, config, env)


def all_labs(config: Config, env: Mapping[str, str], lab: Optional[str] = None) -> list[RunningLab]:
    """The labs of this data folder in every runtime (one lab's, when named), sorted."""
    found = [item for name in RUNTIMES for item in runtime_named(name, config, env).find(lab)]
    return sorted(found, key=lambda item: (item.lab, item.runtime))


def find_running(config: Config, lab: str, env: Mapping[str, str]) -> Optional[RunningLab]:
    return next((item for item in all_labs(config, env, lab) if item.running), None)


def run_smoke(runtime: Runtime, running: RunningLab, catalog: LabCatalog, lab: Lab, device: str) -> Optional[CommandResult]:
    """The lab's smoke checks where it runs: its own Python, the runner and lab files it sees."""
    runner, lab_dir = runtime.smoke_files(running, catalog.runner, lab.path)
    argv = runner_argv(runtime.python(running), runner, lab_dir, device)
    return runtime.run_in(running, argv, SMOKE_TIMEOUT_S, "smoke checks")
