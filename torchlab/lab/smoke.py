"""A lab's smoke checks, as torchlab sees them: the shared runner's command line, and what its exit
code and output mean (a torchlab.smoke/1 document, or one line saying why there is none).

The runner itself (labs/_smoke/runner.py) needs only torch and the standard library: it runs in
this Python, in a lab container, or in a native environment, where torchlab is not installed.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass
from typing import Any, Optional

from torchlab.errors import CHECK_FAILED, HOST_UNFIT, OK, USAGE, UserError
from torchlab.lab.catalog import Lab, LabCatalog
from torchlab.run import CommandResult

SMOKE_SCHEMA = "torchlab.smoke/1"
SMOKE_TIMEOUT_S = 600.0
RUNNER_PREFIX = "runner: error: "


@dataclass(frozen=True)
class SmokeOutcome:
    """What the runner said: its JSON document (None when it gave none) and the exit code to pass on."""

    exit_code: int
    document: Optional[dict[str, object]]
    raw_json: str
    message: str  # one line for the user when there is no document


def runner_argv(python: str, runner: str, lab_dir: str, device: str) -> list[str]:
    return [python, runner, lab_dir, "--device", device, "--json"]


def argv_here(catalog: LabCatalog, lab: Lab, device: str) -> list[str]:
    """The runner in this Python, on the catalog's copy of the lab."""
    if not catalog.runner.is_file():
        raise UserError(f"labs folder {catalog.labs_dir}: no _smoke/runner.py; expected the shared smoke runner there")
    return runner_argv(sys.executable, str(catalog.runner), str(lab.path), device)


def require_torch_here(lab: Lab) -> None:
    if importlib.util.find_spec("torch") is None:
        raise UserError(
            f"torch is not installed in this Python ({sys.executable}), so {lab.id} cannot run here natively; "
            f"install it with `pip install torch`, or run the lab in a container with `torchlab up {lab.id}`",
            HOST_UNFIT,
        )


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def parse_document(stdout: str) -> Optional[dict[str, object]]:
    try:
        document = json.loads(stdout)
    except json.JSONDecodeError:
        return None
    if isinstance(document, dict) and document.get("schema") == SMOKE_SCHEMA:
        return document
    return None


def interpret(result: Optional[CommandResult], lab: Lab) -> SmokeOutcome:
    """Map the runner's exit and output to ours: 0 passed, 1 a check failed, 2 a bad device name or
    lab, 3 the device is not here (with torch's reason)."""
    if result is None:
        return SmokeOutcome(CHECK_FAILED, None, "", f"cannot start {sys.executable} to run the smoke checks")
    if result.returncode in (USAGE, HOST_UNFIT):
        message = last_line(result.stderr).removeprefix(RUNNER_PREFIX)
        return SmokeOutcome(result.returncode, None, "", message or f"the smoke runner refused {lab.id}")
    document = parse_document(result.stdout)
    if result.returncode in (OK, CHECK_FAILED) and document is not None:
        return SmokeOutcome(result.returncode, document, result.stdout.strip(), "")
    reason = last_line(result.stderr).removeprefix(RUNNER_PREFIX) or "no smoke report on stdout"
    return SmokeOutcome(
        CHECK_FAILED, None, "", f"the smoke runner for {lab.id} failed (exit {result.returncode}): {reason}"
    )


def smoke_summary(result: Optional[CommandResult], lab: Lab) -> dict[str, Any]:
    """The runner's torchlab.smoke/1 document, or an error with its one-line reason."""
    outcome = interpret(result, lab)
    if outcome.document is not None:
        return dict(outcome.document)
    return {"status": "error", "checks": [], "detail": outcome.message}
