"""`torchlab bench`: hardware smoke benchmarks, each figure as a fraction of the device's peak."""

from __future__ import annotations

import sys
from enum import Enum
from typing import TYPE_CHECKING, Optional, Tuple

import typer

from torchlab.cli.flags import path_flag
from torchlab.cli.output import echo_json
from torchlab.errors import CHECK_FAILED, HOST_UNFIT, OK, USAGE, UserError

if TYPE_CHECKING:  # pragma: no cover - types only
    from rich.console import Console


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"


def measure_here(device: str, quick: bool, console: Optional[Console]) -> dict:
    """Run torchlab.bench.measure in this Python; torch is imported only now."""
    try:
        from torchlab.bench import measure  # start-up: it imports torch (seconds)
    except ImportError as exc:
        raise UserError(f"torch is not importable in this Python ({sys.executable}): {exc}; "
                        "install it with `pip install torch`", HOST_UNFIT) from None
    from torchlab.bench.report import live_progress  # start-up: rich only while a bench runs

    try:
        if console is None:
            return measure.run(device, quick)
        with live_progress(console) as progress:
            return measure.run(device, quick, progress)
    except measure.DeviceMissing as exc:
        raise UserError(str(exc), USAGE) from None


def measure_in_lab(lab: str, device: str, quick: bool) -> dict:
    from torchlab.bench.lab import measure_in_lab as measure  # start-up: docker-py and psutil only for --lab

    return measure(lab, device, quick)


def bench(
    quick: bool = typer.Option(False, "--quick", help="A short run (at most 30 s)."),
    device: Device = typer.Option(Device.auto, "--device", help="Where to measure; auto picks cuda, then mps, then cpu."),
    lab: Optional[str] = typer.Option(None, "--lab", metavar="LAB", help="Measure inside this lab's running environment."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document (torchlab.bench/1) on stdout."),
    plot_flag: Optional[str] = typer.Option(None, "--plot", metavar="FILE", help="Write a PNG of measured vs peak to this file."),
    compare_flag: Optional[Tuple[str, str]] = typer.Option(
        None, "--compare", metavar="A.json B.json", help="Show two saved --json runs side by side."
    ),
) -> None:
    """Hardware smoke benchmarks: matmul, memory, host copies, a training step, each against the device's peak."""
    from rich.console import Console  # start-up: rich and the bench's tables only for `bench`

    from torchlab.bench import report

    console = Console(stderr=True)
    plot = path_flag(plot_flag, "--plot")
    compare = tuple(path_flag(value, "--compare") for value in compare_flag) if compare_flag else None
    if compare:
        if plot or lab:
            raise UserError("--compare shows two saved runs; it takes no --plot or --lab")
        a, b = (report.load_document(path) for path in compare)
        shown = report.compare_document(compare, a, b)
        if as_json:
            echo_json(shown)
        else:
            report.print_compare(shown, console)
        raise typer.Exit(OK)
    if plot:
        report.check_plot_target(plot)
    live = console if console.is_terminal and not as_json else None
    raw = measure_in_lab(lab, device.value, quick) if lab else measure_here(device.value, quick, live)
    document = report.with_peaks(raw)
    if plot:
        report.plot(document, plot)
    if as_json:
        echo_json(document)
    else:
        report.print_report(document, console)
    raise typer.Exit(CHECK_FAILED if report.failed(document) else OK)
