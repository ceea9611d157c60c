"""Run one lab's smoke checks on one device and report them (a table on stderr, JSON on stdout).

    python labs/_smoke/runner.py LAB_DIR [--device auto|cpu|cuda|mps] [--json]

LAB_DIR holds lab.toml and smoke/checks.py. Every `check_*` function of checks.py runs in file
order, each with the same fixed seed, and is reported by its name without the "check_" prefix;
an exception fails that check only. Modules beside checks.py are importable by name while the
checks run (worker processes started with spawn import them that way). Exit codes: 0 no check
failed, 1 a check failed, 2 usage (unknown device, not a lab folder, no torch), 3 the device asked
for is not here (the host cannot: no GPU, no driver, a CPU build of torch), with torch's own reason.

This file runs inside lab containers and native environments where torchlab is not installed:
it needs only the standard library and torch. `run_lab(lab_dir, device)` gives the same document
to a caller in the same process.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import random
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # so that checks can `from smoke_api import SmokeSkip, SmokeFailure`

from smoke_api import SmokeSkip  # noqa: E402

SCHEMA = "torchlab.smoke/1"
DEVICES = ("auto", "cpu", "cuda", "mps")
SEED = 0
DETAIL_CHARS = 300

Check = Callable[[str], Any]


class LabError(Exception):
    """The folder is not a runnable lab, or the device cannot be used; the message is one line."""

    exit_code = 2


class DeviceAbsent(LabError):
    """The device asked for is not here: the host cannot run the checks on it."""

    exit_code = 3


# --- reading the lab ----------------------------------------------------------------------------


def parse_simple_toml(text: str) -> dict[str, str]:
    """Python 3.10 has no tomllib: read only the `key = "value"` lines, which is all we need."""
    found = {}
    for line in text.splitlines():
        match = re.match(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"]*)"', line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def read_lab_toml(lab_dir: Path) -> dict[str, Any]:
    toml_path = lab_dir / "lab.toml"
    try:
        text = toml_path.read_text(encoding="utf-8")
    except OSError:
        raise LabError(f"{lab_dir}: no lab.toml; expected a lab folder holding lab.toml and smoke/checks.py") from None
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        return parse_simple_toml(text)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LabError(f"{toml_path}: not valid TOML ({exc})") from None


def load_checks(checks_path: Path, lab_id: str) -> list[tuple[str, Check]]:
    """Import checks.py by path; return its own check_* functions in the order the file defines them."""
    module_name = "torchlab_smoke_" + re.sub(r"\W", "_", lab_id)
    spec = importlib.util.spec_from_file_location(module_name, checks_path)
    if spec is None or spec.loader is None:
        raise LabError(f"{checks_path}: cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return own_checks(module)


def own_checks(module: ModuleType) -> list[tuple[str, Check]]:
    checks = [
        (name, value)
        for name, value in vars(module).items()
        if name.startswith("check_") and callable(value) and getattr(value, "__module__", None) == module.__name__
    ]
    return sorted(checks, key=lambda item: item[1].__code__.co_firstlineno)


# --- the device ---------------------------------------------------------------------------------


def available_devices(torch: ModuleType) -> list[str]:
    """Accelerators first: cuda (NVIDIA, and AMD under ROCm, which torch also calls cuda), mps, cpu."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found + ["cpu"]


def why_absent(device: str, torch: ModuleType) -> str:
    """Torch's own reason a device is absent: what initialising CUDA raises (or warns), or MPS's state."""
    if device == "mps":
        mps = getattr(torch.backends, "mps", None)
        built = mps is not None and mps.is_built()
        return "torch.backends.mps.is_available() is False" if built else "this torch is built without MPS"
    raised = ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            torch.cuda.init()
        except Exception as exc:  # torch raises RuntimeError or AssertionError, with its reason
            raised = str(exc)
    said = [text for text in [raised, *(str(w.message) for w in caught)] if text.strip()]
    text = said[0] if said else "torch.cuda.is_available() is False"
    return one_line(re.sub(r"\s*\(Triggered internally at [^)]*\)\.?", "", text))


def resolve_device(requested: str, torch: ModuleType) -> str:
    if requested not in DEVICES:
        raise LabError(f"unknown device {requested!r}; expected one of {', '.join(DEVICES)}")
    found = available_devices(torch)
    if requested == "auto":
        return found[0]
    if requested not in found:
        raise DeviceAbsent(f"device {requested!r} is not available here (torch {torch.__version__} says: "
                           f"{why_absent(requested, torch)}); this torch sees {', '.join(found)}")
    return requested


# --- running the checks -------------------------------------------------------------------------


def one_line(text: str) -> str:
    """Several lines (e.g. torch's assert_close message) joined into one, cut to a readable length."""
    joined = "; ".join(line.strip() for line in text.splitlines() if line.strip())
    return joined if len(joined) <= DETAIL_CHARS else joined[: DETAIL_CHARS - 3] + "..."


def seed_everything(torch: ModuleType) -> None:
    random.seed(SEED)
    torch.manual_seed(SEED)  # seeds every device's generator too


def wait_for_device(device: str, torch: ModuleType) -> None:
    """GPU work is asynchronous: wait for it, so that its time and its errors belong to this check."""
    if device == "cuda":
        torch.cuda.synchronize()
    elif device == "mps":
        torch.mps.synchronize()


@contextlib.contextmanager
def one_cpu_thread(device: str, torch: ModuleType) -> Iterator[None]:
    """On the CPU, a check runs with one intra-op thread, then torch gets its count back. Smoke checks
    are hundreds of small ops: a second thread gains nothing on a quiet machine, and on a busy one each
    op waits at a barrier for a thread whose core is taken (at load 4 on 2 cores: module-6 8.3 s with
    two threads, 4.7 s with one; module-7 25 CPU-s against 7). It also leaves a core to JupyterLab,
    which starts beside the checks in `torchlab up`."""
    threads = torch.get_num_threads()
    if device == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def run_check(name: str, check: Check, device: str, torch: ModuleType) -> dict[str, Any]:
    seed_everything(torch)
    started = time.perf_counter()
    try:
        with one_cpu_thread(device, torch):
            detail = check(device)
        wait_for_device(device, torch)
        status = "pass"
        detail = "" if detail is None else one_line(str(detail))
    except SmokeSkip as exc:
        status, detail = "skip", one_line(str(exc)) or "skipped without a reason"
    except AssertionError as exc:  # SmokeFailure is one
        status, detail = "fail", one_line(str(exc)) or "assertion failed"
    except Exception as exc:  # an unexpected error fails this check only
        status, detail = "fail", one_line(f"{type(exc).__name__}: {exc}")
    seconds = round(time.perf_counter() - started, 3)
    return {"name": name, "status": status, "seconds": seconds, "detail": detail}


@contextlib.contextmanager
def lab_on_path(smoke_dir: Path) -> Iterator[None]:
    """Let checks import helper modules beside them (worker processes import them by name too)."""
    sys.path.insert(0, str(smoke_dir))
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(smoke_dir))


def run_checks(lab_dir: Path, lab_id: str, device: str, torch: ModuleType) -> list[dict[str, Any]]:
    checks_path = lab_dir / "smoke" / "checks.py"
    if not checks_path.is_file():
        raise LabError(f"{lab_dir}: no smoke/checks.py; expected the lab's check_* functions there")
    with lab_on_path(checks_path.parent), contextlib.redirect_stdout(sys.stderr):
        try:
            checks = load_checks(checks_path, lab_id)
        except Exception as exc:
            return [
                {
                    "name": "load_checks",
                    "status": "fail",
                    "seconds": 0.0,
                    "detail": one_line(f"{type(exc).__name__}: {exc}"),
                }
            ]
        if not checks:
            raise LabError(f"{checks_path}: no check_* functions found")
        return [run_check(name.removeprefix("check_"), check, device, torch) for name, check in checks]


def run_lab(lab_dir: str | Path, device: str = "auto") -> dict[str, Any]:
    """Run every check of the lab in `lab_dir` on `device`; return the torchlab.smoke/1 document.

    Raises LabError (one-line message) for a folder that is not a lab or a device that is absent.
    """
    try:
        import torch
    except ImportError as exc:
        raise LabError(f"torch cannot be imported in {sys.executable} ({exc}); the smoke checks need it") from None

    lab_path = Path(lab_dir).resolve()
    lab = read_lab_toml(lab_path)
    resolved = resolve_device(device, torch)
    lab_id = str(lab.get("id", lab_path.name))
    results = run_checks(lab_path, lab_id, resolved, torch)
    failed = any(result["status"] == "fail" for result in results)
    return {
        "schema": SCHEMA,
        "lab": lab_id,
        "version": str(lab.get("version", "")),
        "device": resolved,
        "torch": torch.__version__,
        "status": "failed" if failed else "passed",
        "checks": results,
    }


# --- reporting ----------------------------------------------------------------------------------


def render_table(document: dict[str, Any]) -> str:
    rows = [(c["name"], c["status"], f"{c['seconds']:.2f}s", c["detail"]) for c in document["checks"]]
    width = max([len("check")] + [len(row[0]) for row in rows])
    lines = [f"{'check':<{width}}  status  time     detail"]
    lines += [f"{name:<{width}}  {status:<6}  {secs:>7}  {detail}" for name, status, secs, detail in rows]
    counts = {status: sum(1 for row in rows if row[1] == status) for status in ("pass", "skip", "fail")}
    lines.append(
        f"{document['lab']} {document['version']} on {document['device']} (torch {document['torch']}): "
        f"{counts['pass']} passed, {counts['skip']} skipped, {counts['fail']} failed -> {document['status']}"
    )
    return "\n".join(lines)


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send whatever C code or worker processes write to file descriptor 1 to stderr meanwhile,
    so that stdout carries the JSON document only."""
    sys.stdout.flush()
    real_stdout = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(real_stdout, 1)
        os.close(real_stdout)


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"runner: error: {message}\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = OneLineParser(description="Run a lab's smoke checks.")
    parser.add_argument("lab_dir", metavar="LAB_DIR", help="folder holding lab.toml and smoke/checks.py")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda (NVIDIA or ROCm) or mps")
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with stdout_to_stderr():
            document = run_lab(args.lab_dir, args.device)
    except LabError as exc:
        print(f"runner: error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(render_table(document), file=sys.stderr)
    if args.json:
        print(json.dumps(document, indent=2))
    return 1 if document["status"] == "failed" else 0


if __name__ == "__main__":
    sys.exit(main())
