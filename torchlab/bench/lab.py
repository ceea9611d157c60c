"""Run the bench inside a lab's running environment (`torchlab bench --lab LAB`).

torchlab is not installed in a lab, so measure.py travels as a plain file: copied into the
container, or run by the native environment's Python from where torchlab has it. It prints the
raw document (schema torchlab.bench.measure/1); the host then attaches peaks and fractions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from torchlab import engine
from torchlab.config import load_config
from torchlab.errors import CHECK_FAILED, USAGE, UserError
from torchlab.run import CommandResult, run_command
from torchlab.running import RunningLab, connect, engine_trouble, find_running

MEASURE_FILE = Path(__file__).with_name("measure.py")  # not imported: it imports torch
IN_CONTAINER = "/tmp"  # the lab user can write nowhere else it owns for sure
LAB_PYTHON = "/opt/torchlab/venv/bin/python"
TIMEOUT_S = 300.0


def measure_in_lab(lab: str, device: str, quick: bool) -> dict:
    """The raw measurement from LAB's running environment."""
    running = find_running(load_config().data_dir, lab, os.environ)
    if running is None:
        raise UserError(
            f"no running lab {lab!r}: start it with `torchlab up {lab}`, then run `torchlab bench --lab {lab}`", USAGE
        )
    flags = ["--json", "--device", device, *(["--quick"] if quick else [])]
    result = measure_in_container(running, flags) if running.runtime == "docker" else measure_natively(running, flags)
    return raw_document(result, lab)


def measure_natively(running: RunningLab, flags: list[str]) -> CommandResult | None:
    python = Path(running.env or "") / "bin" / "python"
    return run_command([str(python), str(MEASURE_FILE), *flags], timeout=TIMEOUT_S)


def measure_in_container(running: RunningLab, flags: list[str]) -> CommandResult:
    argv = [LAB_PYTHON, f"{IN_CONTAINER}/{MEASURE_FILE.name}", *flags]
    with engine_trouble(f"the bench in {running.container}"):
        client = connect(os.environ, timeout=TIMEOUT_S)
        try:
            engine.put_file(client, running.container or "", IN_CONTAINER, MEASURE_FILE.name, MEASURE_FILE.read_bytes())
            code, out, err = engine.exec_in_container(client, running.container or "", argv, running.user or "", IN_CONTAINER)
        finally:
            client.close()
    return CommandResult(tuple(argv), code, out, err)


def raw_document(result: CommandResult | None, lab: str) -> dict:
    """measure.py's JSON; its own one-line complaint (an absent device, say) when it refused."""
    if result is None:
        raise UserError(f"lab {lab!r}: its Python is gone; restart it with `torchlab up {lab}`", CHECK_FAILED)
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        last = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
        raise UserError(f"bench in lab {lab!r} failed: {last}", USAGE if result.returncode == 2 else CHECK_FAILED) from None
