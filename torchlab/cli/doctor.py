"""`torchlab doctor`: what is this machine, what is wrong, how to fix it."""

from __future__ import annotations

import os
from typing import Optional

import typer

from torchlab.cli.flags import path_flag
from torchlab.cli.output import echo_json, stderr_console
from torchlab.config import load_config
from torchlab.errors import CHECK_FAILED, OK


def doctor(
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document (torchlab.doctor/1) on stdout."),
    torch: bool = typer.Option(False, "--torch", help="Also inspect torch in this Python (slow: imports torch)."),
    from_file: Optional[str] = typer.Option(
        None, "--from", metavar="REPORT", help="Re-diagnose a saved `doctor --json` report or collect_env text."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show every fact and the details of passing checks."),
    gpu_probe: bool = typer.Option(
        False, "--gpu-probe", help="Also start a throw-away container to prove that the GPU reaches containers."
    ),
) -> None:
    """Probe this host (OS, GPUs and drivers, Docker), print findings with fixes and the lab plan.

    Exit codes: 0 nothing failed, 1 at least one check failed, 2 bad input.
    """
    from torchlab.doctor.diagnose import diagnose, read_report  # start-up: other commands need no diagnosis

    report = path_flag(from_file, "--from")
    if report is not None:
        facts = read_report(report)
    else:
        from torchlab.probe.host import probe_host  # start-up: --from probes nothing (no docker-py)

        facts = probe_host(os.environ, load_config().data_dir, with_torch=torch)
    result = diagnose(facts)
    if gpu_probe:
        from torchlab.doctor.gpuprobe import with_gpu_probe  # start-up: only --gpu-probe starts a container

        result = with_gpu_probe(result, load_config(), os.environ, stderr_console().print)
    if json_out:
        echo_json(result.to_json())
    else:
        from torchlab.doctor.render import print_doctor  # start-up: rich only for people

        print_doctor(result, stderr_console(), verbose=verbose, origin=str(report) if report else None)
    raise typer.Exit(CHECK_FAILED if result.failed else OK)
