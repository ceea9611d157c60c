"""Run the bench inside a lab's running environment (`torchlab bench --lab LAB`).

torchlab is not installed in a lab, so measure.py travels as a plain file: its runtime makes it
readable in the lab (a copy in the container; the file itself in a native environment) and runs it
with the lab's Python. It prints the raw document (schema torchlab.bench.measure/1); the host then
attaches peaks and fractions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from torchlab.config import load_config
from torchlab.errors import CHECK_FAILED, USAGE, UserError
from torchlab.run import CommandResult
from torchlab.runtimes import find_running, runtime_of

MEASURE_FILE = Path(__file__).with_name("measure.py")  # not imported: it imports torch
TIMEOUT_S = 300.0


def measure_in_lab(lab: str, device: str, quick: bool) -> dict:
    """The raw measurement from LAB's running environment."""
    config = load_config()
    running = find_running(config, lab, os.environ)
    if running is None:
        raise UserError(
            f"no running lab {lab!r}: start it with `torchlab up {lab}`, then run `torchlab bench --lab {lab}`", USAGE
        )
    runtime = runtime_of(running, config, os.environ)
    script = runtime.copy_in(running, MEASURE_FILE, "the bench")
    argv = [runtime.python(running), script, "--json", "--device", device, *(["--quick"] if quick else [])]
    return raw_document(runtime.run_in(running, argv, TIMEOUT_S, "the bench"), lab)


def raw_document(result: CommandResult | None, lab: str) -> dict:
    """measure.py's JSON; its own one-line complaint (an absent device, say) when it refused."""
    if result is None:
        raise UserError(f"lab {lab!r}: its Python is gone; restart it with `torchlab up {lab}`", CHECK_FAILED)
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        last = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
        raise UserError(f"bench in lab {lab!r} failed: {last}", USAGE if result.returncode == 2 else CHECK_FAILED) from None
