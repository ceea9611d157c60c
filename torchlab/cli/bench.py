"""`torchlab bench`: hardware smoke benchmarks, each figure as a fraction of the device's peak."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Optional, Tuple

import typer
from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from torchlab.bench import report
from torchlab.bench.lab import measure_in_lab
from torchlab.errors import CHECK_FAILED, HOST_UNFIT, OK, USAGE, UserError


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"


def progress_table(results: list) -> Table:
    """What has been measured so far; peaks come once the run is done."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in ("measurement", "size", "measured", "unit"):
        table.add_column(column, justify="right" if column == "measured" else "left", no_wrap=True)
    for r in results:
        row = {"kind": r.kind, "size": r.size}
        table.add_row(f"{r.kind} {r.dtype or ''}", report.size_text(row), report.figure(r.value) or r.status, r.unit)
    return table


def measure_here(device: str, quick: bool, console: Optional[Console]) -> dict:
    """Run torchlab.bench.measure in this Python; torch is imported only now."""
    try:
        from torchlab.bench import measure
    except ImportError as exc:
        raise UserError(f"torch is not importable in this Python ({sys.executable}): {exc}; "
                        "install it with `pip install torch`", HOST_UNFIT) from None
    try:
        if console is None:
            return measure.run(device, quick)
        with Live(console=console, transient=True, refresh_per_second=4) as live:
            done: list = []

            def progress(label: str, step: int, total: int, result: object) -> None:
                if result is not None:
                    done.append(result)
                live.update(Group(progress_table(done), Text(f"measuring {label} ({step}/{total})", style="cyan")))

            return measure.run(device, quick, progress)
    except measure.DeviceMissing as exc:
        raise UserError(str(exc), USAGE) from None


def show_compare(paths: Tuple[Path, Path], as_json: bool, console: Console) -> None:
    a, b = (report.load_document(path) for path in paths)
    document = report.compare_document(paths, a, b)
    if as_json:
        print(json.dumps(document, indent=2))
    else:
        report.print_compare(document, console)


def bench(
    quick: bool = typer.Option(False, "--quick", help="A short run (at most 30 s)."),
    device: Device = typer.Option(Device.auto, "--device", help="Where to measure; auto picks cuda, then mps, then cpu."),
    lab: Optional[str] = typer.Option(None, "--lab", metavar="LAB", help="Measure inside this lab's running environment."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document (torchlab.bench/1) on stdout."),
    plot: Optional[Path] = typer.Option(None, "--plot", metavar="FILE", help="Write a PNG of measured vs peak to this file."),
    compare: Optional[Tuple[Path, Path]] = typer.Option(
        None, "--compare", metavar="A.json B.json", help="Show two saved --json runs side by side."
    ),
) -> None:
    """Hardware smoke benchmarks: matmul, memory, host copies, a training step, each against the device's peak."""
    console = Console(stderr=True)
    if compare:
        if plot or lab:
            raise UserError("--compare shows two saved runs; it takes no --plot or --lab")
        show_compare(compare, as_json, console)
        raise typer.Exit(OK)
    if plot:
        report.check_plot_target(plot)
    live = console if console.is_terminal and not as_json else None
    raw = measure_in_lab(lab, device.value, quick) if lab else measure_here(device.value, quick, live)
    document = report.with_peaks(raw)
    if plot:
        report.plot(document, plot)
    if as_json:
        print(json.dumps(document, indent=2))
    else:
        report.print_report(document, console)
    raise typer.Exit(CHECK_FAILED if report.failed(document) else OK)
