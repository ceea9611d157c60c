"""Turn a raw measurement into the bench document (peaks, fractions), render it, compare two, plot one.

No torch here: `--compare` and `--plot` of saved runs work on a host without it.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Optional

from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from torchlab.bench.peaks import Peaks, cpu_peaks, match_device
from torchlab.errors import UserError
from torchlab.files import read_text

SCHEMA = "torchlab.bench/1"
RAW_SCHEMA = "torchlab.bench.measure/1"
COMPARE_SCHEMA = "torchlab.bench.compare/1"
RESULT_KEYS = ("kind", "dtype", "size", "value", "unit", "median", "spread", "peak", "fraction", "status",
               "detail", "verified", "flop_per_token")
STATUS_STYLE = {"ok": "green", "skip": "yellow", "fail": "red"}


def device_peaks(raw: dict) -> Peaks:
    """The vendor-table row for a GPU, or the estimate for a CPU, from the facts measure recorded."""
    device, host = raw["device"], raw.get("host", {})
    if device.get("kind") == "cpu":
        cpu = host.get("cpu", {})
        return cpu_peaks(set(cpu.get("flags", [])), cpu.get("cores"), cpu.get("clock_mhz"), cpu.get("vendor"),
                         cpu.get("family"), host.get("machine", ""), cpu.get("clock_source"))
    return match_device(device.get("name") or "", device.get("memory_bytes"), device.get("units"),
                        device.get("gpu_cores"))


def peak_for(result: dict, peaks: Peaks) -> Optional[float]:
    """The denominator of one figure, in its own unit; a train step's is the matmul peak over FLOP/token."""
    kind, dtype = result["kind"], result.get("dtype")
    if kind == "matmul":
        return peaks.tflops.get(dtype or "")
    if kind == "device-bandwidth":
        return peaks.memory_gbs
    if kind in ("h2d", "d2h"):
        return peaks.host_link_gbs
    tflops, per_token = peaks.tflops.get(dtype or ""), result.get("flop_per_token")
    return tflops * 1e12 / per_token if tflops and per_token else None


def with_peaks(raw: dict) -> dict:
    """The bench document (schema torchlab.bench/1): each result with its peak and fraction of it."""
    if raw.get("schema") != RAW_SCHEMA:
        raise UserError(f"measurement document has schema {raw.get('schema')!r}; expected {RAW_SCHEMA!r}")
    peaks = device_peaks(raw)
    results = []
    for result in raw["results"]:
        peak = peak_for(result, peaks)
        value = result.get("value")
        fraction = value / peak if peak and value is not None and result["status"] == "ok" else None
        results.append({key: {**result, "peak": peak, "fraction": fraction}.get(key) for key in RESULT_KEYS})
    device = {**raw["device"], "peak_row": peaks.row, "peak_label": peaks.label, "peak_source": peaks.source}
    return {"schema": SCHEMA, "quick": raw.get("quick"), "device": device, "torch": raw["torch"],
            "host": raw["host"], "results": results}


def failed(document: dict) -> bool:
    return any(result["status"] == "fail" for result in document["results"])


# ---------------------------------------------------------------- for people


def size_text(result: dict) -> str:
    size = result.get("size")
    if size is None:
        return ""
    if result["kind"] == "matmul":
        return f"{size}\u00b3"
    if result["kind"] == "train-step":
        return f"{size} tok"
    return f"{size / 2**20:.0f} MiB"


def figure(value: Optional[float], unit: str = "") -> str:
    return "" if value is None else f"{value:,.3g} {unit}".strip() if value < 100 else f"{value:,.0f} {unit}".strip()


def results_table(document: dict) -> Table:
    """One row per figure; an ok row's detail (shape, error vs float64) stays in the JSON."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True, padding=(0, 1))
    for column in ("measurement", "size", "measured", "unit", "peak", "of peak", "IQR", "ok?"):
        table.add_column(column, justify="right" if column in ("measured", "peak", "of peak", "IQR") else "left",
                         no_wrap=True)
    for r in document["results"]:
        ok = r["status"] == "ok"
        fraction = f"{r['fraction']:.2f}" if r.get("fraction") is not None else "unknown" if ok else ""
        peak = figure(r.get("peak")) or ("unknown" if ok else "")
        measured = figure(r.get("value")) if ok else f"[{STATUS_STYLE.get(r['status'], '')}]{r['status']}[/]"
        spread = f"{r['spread']:.0%}" if r.get("spread") is not None else ""
        checked = {True: "[green]yes[/]", False: "[red]NO[/]"}.get(r.get("verified"), "")
        table.add_row(f"{r['kind']} {r.get('dtype') or ''}", size_text(r), measured, r["unit"], peak, fraction,
                      spread, checked)
    return table


def notes(document: dict) -> list[str]:
    """Why each skipped or failed figure is missing."""
    return [f"{r['status']}: {r['kind']} {r.get('dtype') or ''}: {r.get('detail')}"
            for r in document["results"] if r["status"] != "ok"]


def device_lines(document: dict) -> list[str]:
    device = document["device"]
    return [f"{device.get('name') or '?'} ({device['kind']}), torch {document['torch'].get('version')}",
            f"peak ({device.get('peak_label')}): {device.get('peak_source')}"]


def print_report(document: dict, console: Console) -> None:
    for line in device_lines(document):
        console.print(line, highlight=False, markup=False)
    console.print(results_table(document))
    for line in notes(document):
        console.print(line, highlight=False, markup=False, style="red" if line.startswith("fail") else "yellow")
    if failed(document):
        console.print("[red]a result failed (its check against the CPU reference, or an error; see note)[/]")


def progress_table(results: list) -> Table:
    """What has been measured so far; peaks come once the run is done."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in ("measurement", "size", "measured", "unit"):
        table.add_column(column, justify="right" if column == "measured" else "left", no_wrap=True)
    for r in results:
        row = {"kind": r.kind, "size": r.size}
        table.add_row(f"{r.kind} {r.dtype or ''}", size_text(row), figure(r.value) or r.status, r.unit)
    return table


@contextlib.contextmanager
def live_progress(console: Console) -> Iterator[Callable[[str, int, int, object], None]]:
    """A live table of the figures measured so far, for measure.run's progress callback."""
    with Live(console=console, transient=True, refresh_per_second=4) as live:
        done: list = []

        def progress(label: str, step: int, total: int, result: object) -> None:
            if result is not None:
                done.append(result)
            live.update(Group(progress_table(done), Text(f"measuring {label} ({step}/{total})", style="cyan")))

        yield progress


# ---------------------------------------------------------------- compare two saved runs


def load_document(path: Path) -> dict:
    """A saved `torchlab bench --json` document; one line naming the file when it is not one."""
    try:
        document = json.loads(read_text(path, f"--compare {path}"))  # a regular, small, UTF-8 file
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not a JSON document ({exc}); expected a `torchlab bench --json` result") from None
    schema = document.get("schema") if isinstance(document, dict) else None
    if schema != SCHEMA:
        raise UserError(f"{path}: schema {schema!r} is not {SCHEMA!r}; expected a `torchlab bench --json` result")
    problem = document_problem(document)
    if problem:
        raise UserError(f"{path}: {problem}; expected a `torchlab bench --json` result")
    return document


def document_problem(document: dict) -> Optional[str]:
    """What in a saved run is not of its kind (compare reads these fields); None when all is."""
    if not isinstance(document.get("device"), dict):
        return '"device" is not an object'
    if not isinstance(document.get("results"), list):
        return '"results" is not a list'
    for index, result in enumerate(document["results"]):
        if not isinstance(result, dict) or not isinstance(result.get("kind"), str):
            return f'results[{index}] has no "kind"'
        for key, kinds in (("value", (int, float)), ("fraction", (int, float)), ("size", (int, float)),
                           ("dtype", (str,)), ("unit", (str,)), ("status", (str,))):
            value = result.get(key)
            if value is not None and (not isinstance(value, kinds) or isinstance(value, bool)):
                return f"results[{index}].{key} is {json.dumps(value)}, not a {'number' if str not in kinds else 'string'}"
    return None


def result_key(result: dict) -> tuple:
    return result["kind"], result.get("dtype"), result.get("size")


def compare(a: dict, b: dict) -> list[dict]:
    """Rows matched by (kind, dtype, size), grouped as the runs list them; ratio = B / A."""
    in_a = {result_key(r): r for r in a["results"]}
    in_b = {result_key(r): r for r in b["results"]}
    groups = list(dict.fromkeys(key[:2] for key in [*in_a, *in_b]))
    keys = sorted(dict.fromkeys([*in_a, *in_b]), key=lambda k: (groups.index(k[:2]), k[2] or 0))
    rows = []
    for key in keys:
        ra, rb = in_a.get(key, {}), in_b.get(key, {})
        va, vb = ra.get("value"), rb.get("value")
        rows.append({"kind": key[0], "dtype": key[1], "size": key[2], "unit": ra.get("unit") or rb.get("unit"),
                     "a": va, "b": vb, "ratio": vb / va if va and vb is not None else None,
                     "a_fraction": ra.get("fraction"), "b_fraction": rb.get("fraction"),
                     "a_status": ra.get("status", "absent"), "b_status": rb.get("status", "absent")})
    return rows


def compare_document(paths: tuple[Path, Path], a: dict, b: dict) -> dict:
    sides = {side: {"path": str(p), "device": d["device"].get("name"), "kind": d["device"].get("kind")}
             for side, p, d in (("a", paths[0], a), ("b", paths[1], b))}
    return {"schema": COMPARE_SCHEMA, **sides, "rows": compare(a, b)}


def compare_table(document: dict) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True, padding=(0, 1))
    for column in ("measurement", "size", "A", "B", "unit", "B/A", "A/peak", "B/peak"):
        table.add_column(column, justify="left" if column in ("measurement", "size", "unit") else "right", no_wrap=True)
    for row in document["rows"]:
        fractions = [f"{row[k]:.2f}" if row[k] is not None else "" for k in ("a_fraction", "b_fraction")]
        ratio = f"{row['ratio']:.2f}x" if row["ratio"] is not None else ""
        a, b = (figure(row[side]) or row[f"{side}_status"].replace("absent", "-") for side in ("a", "b"))
        table.add_row(f"{row['kind']} {row['dtype'] or ''}", size_text(row), a, b, row["unit"] or "", ratio, *fractions)
    return table


def print_compare(document: dict, console: Console) -> None:
    for side in ("a", "b"):
        run = document[side]
        console.print(f"{side.upper()} = {run['path']}: {run['device']} ({run['kind']})", highlight=False, markup=False)
    console.print(compare_table(document))


# ---------------------------------------------------------------- plot


def check_plot_target(path: Path) -> None:
    """Before a two-minute run: matplotlib is there and the PNG can be written."""
    try:
        import matplotlib  # noqa: F401 - start-up: matplotlib (seconds, optional) only for --plot
    except ImportError:
        raise UserError("--plot needs matplotlib: pip install 'torchlab[plot]' (or pip install matplotlib)") from None
    parent = path.parent if str(path.parent) else Path(".")
    writable = parent.is_dir() and os.access(parent, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))
    if path.is_dir() or not writable:
        raise UserError(f"--plot {path}: cannot write there; expected a PNG path in a writable folder")


def plot(document: dict, path: Path) -> None:
    """A PNG, one panel per unit: each figure measured (bar) against its peak (outline); no peak, no outline."""
    import matplotlib  # start-up: matplotlib (seconds, optional) only for --plot

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # start-up: as matplotlib; after use("Agg"), so no display is needed

    ok = [r for r in document["results"] if r["status"] == "ok"]
    units = list(dict.fromkeys(r["unit"] for r in ok)) or ["(nothing measured)"]
    fig, axes = plt.subplots(len(units), 1, figsize=(9, 1.2 + 0.45 * max(len(ok), 1) + 0.6 * len(units)), squeeze=False)
    for ax, unit in zip(axes[:, 0], units):
        rows = [r for r in ok if r["unit"] == unit]
        labels = [f"{r['kind']} {r['dtype'] or ''} {size_text(r)}".strip() for r in rows]
        ax.barh(labels, [r["value"] for r in rows], color="tab:blue", label="measured")
        ax.barh(labels, [r["peak"] or 0 for r in rows], fill=False, edgecolor="black", label="peak")
        for i, r in enumerate(rows):
            note = f"{r['fraction']:.2f} of peak" if r["fraction"] is not None else "peak unknown"
            ax.text(r["value"], i, f" {note}", va="center", fontsize=8)
        ax.set_xlabel(unit)
        ax.invert_yaxis()
        ax.legend(fontsize=8)
    fig.suptitle(device_lines(document)[0], fontsize=9)
    fig.tight_layout()
    try:
        fig.savefig(path, format="png", dpi=100)
    except OSError as exc:
        raise UserError(f"--plot {path}: cannot write it ({exc.strerror or exc})") from None
    finally:
        plt.close(fig)
