"""The labs' smoke checks, run by the shared runner (labs/_smoke/runner.py) as a lab container would run them.

The runner is started as a subprocess with this interpreter, on the CPU (the only device here).
With CI=true a missing torch or transformers fails these tests instead of skipping them.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

from conftest import require

REPO = Path(__file__).resolve().parents[1]
LABS = REPO / "labs"
RUNNER = LABS / "_smoke" / "runner.py"
COURSE_LABS = [f"module-{n}" for n in range(8)]
ALIASES = {
    "module-0": ["setup", "getting-started"],
    "module-1": ["tensors"],
    "module-2": ["nn"],
    "module-3": ["training"],
    "module-4": ["transformers"],
    "module-5": ["advanced"],
    "module-6": ["huggingface", "hf"],
    "module-7": ["diffusion"],
}
LAB_TOML_KEYS = {
    "id",
    "title",
    "version",
    "summary",
    "aliases",
    "packages",
    "min_torch",
    "accelerator",
    "min_ram_gb",
    "min_vram_gb",
    "disk_gb",
}
DOCUMENT_KEYS = {"schema", "lab", "version", "device", "torch", "status", "checks"}
CHECK_KEYS = {"name", "status", "seconds", "detail"}


def run_runner(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(RUNNER), *args], capture_output=True, text=True, timeout=timeout)


def lab_toml(lab_id: str) -> dict:
    return tomllib.loads((LABS / lab_id / "lab.toml").read_text(encoding="utf-8"))


def declared_checks(checks_file: Path) -> list[str]:
    """The check_* functions of a checks.py, in file order, as the runner names them."""
    tree = ast.parse(checks_file.read_text(encoding="utf-8"))
    return [
        node.name.removeprefix("check_")
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("check_")
    ]


def assert_document_shape(document: dict, lab_id: str, torch_version: str) -> None:
    assert set(document) == DOCUMENT_KEYS
    assert document["schema"] == "torchlab.smoke/1"
    assert (document["lab"], document["version"]) == (lab_id, lab_toml(lab_id)["version"])
    assert (document["device"], document["torch"]) == ("cpu", torch_version)
    for check in document["checks"]:
        assert set(check) == CHECK_KEYS, check
        assert isinstance(check["seconds"], float) and check["seconds"] >= 0, check
        assert isinstance(check["detail"], str) and "\n" not in check["detail"], check


# --- the labs themselves -----------------------------------------------------------------------


@pytest.mark.parametrize("lab_id", COURSE_LABS)
def test_each_course_module_has_a_lab_with_the_catalog_keys(lab_id: str) -> None:
    data = lab_toml(lab_id)
    assert set(data) == LAB_TOML_KEYS
    assert data["id"] == lab_id and data["aliases"] == ALIASES[lab_id]
    assert data["accelerator"] in ("optional", "recommended", "required")
    assert (LABS / lab_id / "smoke" / "checks.py").is_file()
    assert declared_checks(LABS / lab_id / "smoke" / "checks.py"), f"{lab_id} has no check_* function"


def test_the_catalog_loads_every_lab() -> None:
    from torchlab.lab.catalog import load_lab

    for lab_id in COURSE_LABS:
        lab = load_lab(LABS / lab_id)
        assert (lab.id, lab.aliases) == (lab_id, tuple(ALIASES[lab_id]))
    assert load_lab(LABS / "module-6").packages == ("transformers>=4.46", "accelerate>=1.1")


@pytest.mark.parametrize("lab_id", COURSE_LABS)
def test_lab_smoke_checks_pass_on_cpu(lab_id: str) -> None:
    torch = require("torch")
    if lab_id == "module-6":
        require("transformers")
        require("accelerate")
    if lab_id == "module-7":
        require("diffusers")
    result = run_runner(str(LABS / lab_id), "--device", "cpu", "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    document = json.loads(result.stdout)  # stdout holds the JSON document and nothing else
    assert_document_shape(document, lab_id, torch.__version__)
    assert document["status"] == "passed"
    assert [check["name"] for check in document["checks"]] == declared_checks(LABS / lab_id / "smoke" / "checks.py")
    statuses = {check["name"]: check["status"] for check in document["checks"]}
    assert set(statuses.values()) <= {"pass", "skip"}, statuses
    assert "pass" in statuses.values(), f"{lab_id} skipped every check: {document['checks']}"
    for check in document["checks"]:
        if check["status"] == "skip":
            assert check["detail"].strip(), f"{check['name']} skipped without a reason"
    assert f"{lab_id} {document['version']} on cpu" in result.stderr  # the human table's last line


def test_module_1_checks_every_dtype_on_cpu() -> None:
    """The CPU build supports all four dtypes; none of them may be skipped there."""
    require("torch")
    result = run_runner(str(LABS / "module-1"), "--device", "cpu", "--json")
    statuses = {c["name"]: (c["status"], c["detail"]) for c in json.loads(result.stdout)["checks"]}
    for dtype in ("float32", "float64", "float16", "bfloat16"):
        assert statuses[f"matmul_{dtype}"][0] == "pass", statuses[f"matmul_{dtype}"]
    assert statuses["half_precision_support"] == ("pass", "supported: float16, bfloat16")


# --- the runner, on a small lab made for the test --------------------------------------------------

ODD_CHECKS = """
import os

import torch

from smoke_api import SmokeSkip, assert_close


def check_right(device):
    assert_close(torch.ones(3, device=device).sum(), torch.tensor(3.0), "sum of three ones", 0.0, 0.0)
    return "three ones sum to 3"


def check_wrong_value(device):
    total = torch.arange(4, device=device).sum()  # 6, not 7
    assert_close(total, torch.tensor(7.0), "sum of 0..3", 1e-6, 1e-6)


def check_not_here(device):
    raise SmokeSkip("bfloat16 is not supported on " + device)


def check_crashes(device):
    raise ValueError("first line\\nsecond line")


def check_chatty(device):
    print("chatter from print")
    os.write(1, b"chatter from file descriptor 1\\n")
    return "said something"


def helper_not_a_check(device):
    raise AssertionError("the runner must not call this")
"""


@pytest.fixture
def odd_lab(tmp_path: Path) -> Path:
    lab_dir = tmp_path / "odd-lab"
    (lab_dir / "smoke").mkdir(parents=True)
    (lab_dir / "lab.toml").write_text('id = "odd-lab"\nversion = "0.3.1"\ntitle = "Odd"\n', encoding="utf-8")
    (lab_dir / "smoke" / "checks.py").write_text(ODD_CHECKS, encoding="utf-8")
    return lab_dir


def test_a_wrong_value_fails_its_check_and_the_run(odd_lab: Path) -> None:
    torch = require("torch")
    result = run_runner(str(odd_lab), "--device", "cpu", "--json", timeout=120)
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert set(document) == DOCUMENT_KEYS
    assert (document["lab"], document["version"], document["torch"]) == ("odd-lab", "0.3.1", torch.__version__)
    assert document["status"] == "failed"
    assert [(c["name"], c["status"]) for c in document["checks"]] == [
        ("right", "pass"),
        ("wrong_value", "fail"),
        ("not_here", "skip"),
        ("crashes", "fail"),
        ("chatty", "pass"),
    ]
    details = {c["name"]: c["detail"] for c in document["checks"]}
    assert details["right"] == "three ones sum to 3"
    assert details["wrong_value"] == "sum of 0..3: max abs diff 1 beyond rtol 1e-06, atol 1e-06"
    assert details["not_here"] == "bfloat16 is not supported on cpu"
    assert details["crashes"] == "ValueError: first line; second line"
    assert "Traceback" not in result.stdout + result.stderr


def test_json_mode_prints_only_the_document_on_stdout(odd_lab: Path) -> None:
    require("torch")
    result = run_runner(str(odd_lab), "--device", "cpu", "--json", timeout=120)
    assert result.stdout.lstrip().startswith("{") and result.stdout.rstrip().endswith("}")
    json.loads(result.stdout)
    assert "chatter from print" in result.stderr and "chatter from file descriptor 1" in result.stderr
    assert "chatter" not in result.stdout


def test_without_json_stdout_stays_empty_and_the_table_goes_to_stderr(odd_lab: Path) -> None:
    require("torch")
    result = run_runner(str(odd_lab), "--device", "cpu", timeout=120)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "wrong_value" in result.stderr and "odd-lab 0.3.1 on cpu" in result.stderr
    assert "2 passed, 1 skipped, 2 failed -> failed" in result.stderr


def test_an_absent_device_exits_3_with_torchs_reason_in_one_line(odd_lab: Path) -> None:
    torch = require("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    result = run_runner(str(odd_lab), "--device", "cuda", "--json", timeout=120)
    assert result.returncode == 3
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"runner: error: device 'cuda' is not available here (torch {torch.__version__} says: ")
    assert lines[0].endswith("); this torch sees cpu") and "Triggered internally" not in lines[0]
    if torch.version.cuda is None:  # torch's own words for a CPU build (a CUDA build's: tests/test_cuda_image.py)
        assert "says: Torch not compiled with CUDA enabled)" in lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--device", "tpu"], "unknown device 'tpu'; expected one of auto, cpu, cuda, mps"),
        (["--colour"], "unrecognized arguments: --colour"),
    ],
)
def test_usage_errors_exit_2_with_one_line(odd_lab: Path, args: list[str], message: str) -> None:
    require("torch")
    result = run_runner(str(odd_lab), *args, timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("runner: error: ") and message in lines[0], result.stderr


def test_a_folder_without_lab_toml_exits_2(tmp_path: Path) -> None:
    require("torch")
    result = run_runner(str(tmp_path), "--device", "cpu", timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"runner: error: {tmp_path.resolve()}: no lab.toml; expected a lab folder holding lab.toml and smoke/checks.py"
    )


def load_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("torchlab_test_smoke_runner", RUNNER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_lab_in_process_returns_the_same_document(odd_lab: Path) -> None:
    torch = require("torch")
    document = load_runner().run_lab(odd_lab, "cpu")
    assert set(document) == DOCUMENT_KEYS
    assert (document["status"], document["device"], document["torch"]) == ("failed", "cpu", torch.__version__)
    assert [c["status"] for c in document["checks"]] == ["pass", "fail", "skip", "fail", "pass"]


def test_auto_picks_the_cpu_on_a_machine_without_accelerators() -> None:
    torch = require("torch")
    if torch.cuda.is_available() or torch.backends.mps.is_available():
        pytest.skip("this machine has an accelerator")
    assert load_runner().resolve_device("auto", torch) == "cpu"


@pytest.mark.parametrize("lab_id", COURSE_LABS)
def test_the_python_3_10_fallback_reads_id_and_version_like_tomllib(lab_id: str) -> None:
    runner = load_runner()
    text = (LABS / lab_id / "lab.toml").read_text(encoding="utf-8")
    simple = runner.parse_simple_toml(text)
    assert (simple["id"], simple["version"]) == (lab_id, tomllib.loads(text)["version"])


def test_the_runner_needs_only_the_standard_library_and_torch() -> None:
    allowed = set(sys.stdlib_module_names) | {"torch", "smoke_api", "__future__"}
    for source in (RUNNER, LABS / "_smoke" / "smoke_api.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        imported = {
            alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
        }
        imported |= {
            node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
        }
        assert imported <= allowed, f"{source.name} imports {sorted(imported - allowed)}"
