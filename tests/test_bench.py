"""`torchlab bench`: real --quick runs on this CPU (in-process and as a subprocess), compare, plot, bad input."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import torchlab
from torchlab.bench.report import RESULT_KEYS
from torchlab.cli import app

from conftest import one_line_error, require

pytestmark = pytest.mark.torch
runner = CliRunner()
MEASURE_PY = Path(torchlab.__file__).parent / "bench" / "measure.py"
KINDS = {"matmul": "TFLOP/s", "device-bandwidth": "GB/s", "h2d": "GB/s", "d2h": "GB/s", "train-step": "tokens/s"}


@pytest.fixture(scope="module")
def quick_run(torch_module, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, Path]:
    """One in-process `bench --quick --device cpu --json --plot`: (document, its saved copy, the PNG)."""
    folder = tmp_path_factory.mktemp("bench")
    png = folder / "bench.png"
    result = runner.invoke(app, ["bench", "--quick", "--device", "cpu", "--json", "--plot", str(png)])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""  # no progress and no table under --json
    (folder / "a.json").write_text(result.stdout, encoding="utf-8")
    return json.loads(result.stdout), folder / "a.json", png


@pytest.fixture(scope="module")
def subprocess_run(torch_module, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    """The same as a user runs it: `python -m torchlab bench --quick --device cpu --json`."""
    done = subprocess.run([sys.executable, "-m", "torchlab", "bench", "--quick", "--device", "cpu", "--json"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    path = tmp_path_factory.mktemp("bench-subprocess") / "b.json"
    path.write_text(done.stdout, encoding="utf-8")
    return json.loads(done.stdout), path  # json.loads fails on anything but one document


def test_document_shape(quick_run) -> None:
    document = quick_run[0]
    assert set(document) == {"schema", "quick", "device", "torch", "host", "results"}
    assert (document["schema"], document["quick"], document["device"]["kind"]) == ("torchlab.bench/1", True, "cpu")
    assert document["device"]["peak_label"] in ("estimate", "unknown")
    assert document["torch"]["version"] == pytest.importorskip("torch").__version__
    assert {r["kind"] for r in document["results"]} == set(KINDS)
    for result in document["results"]:
        assert tuple(result) == RESULT_KEYS
        assert result["unit"] == KINDS[result["kind"]] and result["status"] in ("ok", "skip")


def test_every_measured_figure_is_verified_and_a_fraction_of_its_peak(quick_run) -> None:
    measured = [r for r in quick_run[0]["results"] if r["status"] == "ok"]
    expected = {("matmul", "fp32"), ("device-bandwidth", "fp32"), ("train-step", "fp32")}
    assert {(r["kind"], r["dtype"]) for r in measured} >= expected
    for r in measured:
        assert r["verified"] is True and r["value"] > 0 and r["median"] > 0 and r["spread"] >= 0, r
        assert r["fraction"] == (pytest.approx(r["value"] / r["peak"]) if r["peak"] else None), r
    if quick_run[0]["device"]["peak_label"] == "estimate":
        fp32 = next(r for r in measured if r["kind"] == "matmul" and r["dtype"] == "fp32")
        train = next(r for r in measured if r["kind"] == "train-step" and r["dtype"] == "fp32")
        assert train["peak"] == pytest.approx(fp32["peak"] * 1e12 / train["flop_per_token"])  # MFU denominator


def test_skips_say_why(quick_run) -> None:
    skips = {(r["kind"], r["dtype"]): r for r in quick_run[0]["results"] if r["status"] == "skip"}
    assert "NVIDIA" in skips[("matmul", "tf32")]["detail"]
    for key in (("h2d", "pinned"), ("h2d", "pageable"), ("d2h", "pinned"), ("d2h", "pageable")):
        assert skips[key]["detail"].startswith("cpu:") and skips[key]["value"] is None and skips[key]["fraction"] is None


def test_working_sets_exceed_the_last_level_cache(quick_run) -> None:
    document = quick_run[0]
    cache = document["host"]["llc_bytes"]
    bandwidth = next(r for r in document["results"] if r["kind"] == "device-bandwidth")
    assert bandwidth["size"] >= 4 * cache  # STREAM
    for r in document["results"]:
        if r["kind"] == "matmul" and r["status"] == "ok":
            pairs = int(re.search(r"(\d+) rotated input pairs", r["detail"]).group(1))
            itemsize = {"fp32": 4, "fp16": 2, "bf16": 2}[r["dtype"]]
            assert pairs * 2 * r["size"] ** 2 * itemsize >= 2 * cache


def test_plot_writes_a_png(quick_run) -> None:
    data = quick_run[2].read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def test_a_subprocess_run_prints_one_document(subprocess_run) -> None:
    document = subprocess_run[0]
    assert document["schema"] == "torchlab.bench/1" and document["device"]["kind"] == "cpu"
    assert all(r["status"] in ("ok", "skip") for r in document["results"])


def test_compare_two_saved_runs_shows_ratios(quick_run, subprocess_run) -> None:
    a, a_path = quick_run[0], quick_run[1]
    b, b_path = subprocess_run
    result = runner.invoke(app, ["bench", "--compare", str(a_path), str(b_path), "--json"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["schema"], document["a"]["path"], document["b"]["path"]) == (
        "torchlab.bench.compare/1", str(a_path), str(b_path))
    row = next(r for r in document["rows"] if (r["kind"], r["dtype"]) == ("matmul", "fp32"))
    value = {name: next(r["value"] for r in doc["results"] if (r["kind"], r["dtype"]) == ("matmul", "fp32"))
             for name, doc in (("a", a), ("b", b))}
    assert (row["a"], row["b"], row["ratio"]) == (value["a"], value["b"], pytest.approx(value["b"] / value["a"]))
    shown = runner.invoke(app, ["bench", "--compare", str(a_path), str(b_path)], env={"COLUMNS": "200"})
    assert shown.exit_code == 0 and f"{row['ratio']:.2f}x" in shown.stderr


def test_compare_needs_no_torch(quick_run) -> None:
    path = str(quick_run[1])
    code = ("import sys; from torchlab.cli import app\n"
            f"app(['bench', '--compare', {path!r}, {path!r}, '--json'], standalone_mode=False)\n"
            "print('torch imported' if 'torch' in sys.modules else 'no torch', file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stderr.strip() == "no torch", done.stderr


def test_measure_runs_as_a_plain_file_without_torchlab(torch_module, tmp_path: Path) -> None:
    script = tmp_path / "measure.py"
    shutil.copy(MEASURE_PY, script)
    done = subprocess.run([sys.executable, "-X", "importtime", str(script), "--quick", "--device", "cpu", "--json"],
                          capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = [line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    assert "torch" in imported and not [name for name in imported if name.startswith("torchlab")]
    raw = json.loads(done.stdout)
    assert raw["schema"] == "torchlab.bench.measure/1" and all("peak" not in r for r in raw["results"])


# ---------------------------------------------------------------- bad input: one line, exit 2


def test_a_device_that_is_not_present(torch_module) -> None:
    if torch_module.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    one_line_error(runner.invoke(app, ["bench", "--device", "cuda"]), "device cuda is not present")


def test_an_unknown_device_as_a_user_sees_it() -> None:
    done = subprocess.run([sys.executable, "-m", "torchlab", "bench", "--device", "tpu"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "'tpu' is not one of" in done.stderr


def test_compare_of_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    one_line_error(runner.invoke(app, ["bench", "--compare", str(missing), str(missing)]), str(missing), "cannot read")


def test_compare_of_a_foreign_document(tmp_path: Path) -> None:
    doctor = tmp_path / "doctor.json"
    doctor.write_text(json.dumps({"schema": "torchlab.doctor/1", "findings": []}), encoding="utf-8")
    one_line_error(runner.invoke(app, ["bench", "--compare", str(doctor), str(doctor)]), str(doctor), "torchlab.doctor/1")
    garbage = tmp_path / "garbage.json"
    garbage.write_text("not json {", encoding="utf-8")
    one_line_error(runner.invoke(app, ["bench", "--compare", str(garbage), str(doctor)]), str(garbage), "not a JSON document")


def test_a_plot_path_that_cannot_be_written(tmp_path: Path) -> None:
    require("matplotlib")  # without it the answer is "--plot needs matplotlib", tested below
    target = tmp_path / "no-such-folder" / "bench.png"
    one_line_error(runner.invoke(app, ["bench", "--quick", "--plot", str(target)]), str(target), "cannot write")


def test_plot_without_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what `import matplotlib` meets where it is not installed
    one_line_error(runner.invoke(app, ["bench", "--plot", str(tmp_path / "b.png")]), "pip install")


def test_lab_until_up_exists() -> None:
    one_line_error(runner.invoke(app, ["bench", "--lab", "module-0"]), "no running lab 'module-0'", "torchlab up module-0")


# ---------------------------------------------------------------- measure's parts


@pytest.fixture
def measure(torch_module):
    from torchlab.bench import measure

    return measure


def test_a_wrong_answer_fails_its_check(measure, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(measure.TOLERANCE, "fp32", 0.0)  # any rounding error is now "wrong"
    target, _ = measure.device_facts("cpu", measure.host_facts())
    result = measure.matmul(target, "fp32", 256, measure.Budget(0.0, 0.0, 0.0, min_calls=2))
    assert (result.status, result.verified) == ("fail", False) and "error vs float64" in result.detail


def test_an_error_in_a_measurement_is_a_failed_row(measure) -> None:
    def broken() -> None:
        raise RuntimeError("CUBLAS_STATUS_EXECUTION_FAILED when calling cublasSgemm\nmore lines")

    job = measure.Job("matmul fp32 4096", "matmul", "fp32", "TFLOP/s", broken)
    result = measure.guarded(job)
    assert (result.status, result.verified, result.detail) == (
        "fail", False, "error: CUBLAS_STATUS_EXECUTION_FAILED when calling cublasSgemm")


def test_apple_probes_read_recorded_outputs(measure) -> None:
    from recorded import fixture_text

    assert measure.parse_gpu_cores(fixture_text("system_profiler-SPDisplaysDataType_apple-M4_TRUNCATED.txt")) == 8
    sysctl = measure.parse_sysctl(fixture_text("sysctl-machdep.cpu_apple-M1-Pro.txt"))
    assert (sysctl["machdep.cpu.brand_string"], sysctl["machdep.cpu.core_count"]) == ("Apple M1 Pro", "8")


def test_cpu_facts_from_this_machines_cpuinfo(measure) -> None:
    """The parser against independent readers of the same machine: psutil's physical core count
    (sysfs topology), and the model and flags lines read here with plain string operations."""
    psutil = pytest.importorskip("psutil")
    text = Path("/proc/cpuinfo").read_text(encoding="utf-8") if Path("/proc/cpuinfo").exists() else ""
    if "processor" not in text:
        pytest.skip("no /proc/cpuinfo here")
    facts = measure.parse_cpuinfo(text)
    lines = text.splitlines()
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), None)
    flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith(("flags", "Features"))), [])
    assert facts["model"] == model or model is None
    assert facts["flags"] == sorted(set(flags) & set(measure.CPU_FLAGS))
    physical = psutil.cpu_count(logical=False)
    if physical and "core id" in text:
        assert facts["cores"] == physical
    one_cpu = int(next(line.split(":")[1] for line in lines if line.startswith("processor")))
    assert measure.parse_cpuinfo(text, {one_cpu})["cores"] == 1
