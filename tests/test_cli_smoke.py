"""`torchlab smoke LAB`: the real runner (labs/_smoke/runner.py) on small labs and on the real ones."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from labkit import REAL_LABS, make_lab
from typer.testing import CliRunner

from torchlab.cli import app
from torchlab.lab.catalog import load_lab
from torchlab.lab.smoke import interpret
from torchlab.run import CommandResult

runner = CliRunner()

CHECKS = '''
from smoke_api import SmokeSkip


def check_adds(device):
    import torch
    x = torch.ones(2, device=device)
    assert (x + x).sum().item() == 4.0
    return "tensor([2., 2.]) on " + device


def check_bf16(device):
    raise SmokeSkip("bfloat16 is not supported here")
'''
FAILING = '''

def check_wrong(device):
    assert False, "tensor([1., 2.]) differs from tensor([1., 3.])"
'''


@pytest.fixture
def labs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two small labs beside a copy of the real shared runner."""
    monkeypatch.setenv("TORCHLAB_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("COLUMNS", "200")  # rich's table width, so that details stay on one line
    root = tmp_path / "labs"
    shutil.copytree(REAL_LABS / "_smoke", root / "_smoke")
    for lab_id, checks in (("module-0", CHECKS), ("module-9", CHECKS + FAILING)):
        lab_dir = make_lab(root, lab_id, aliases=[lab_id.replace("module-", "m")])
        (lab_dir / "smoke" / "checks.py").write_text(checks, encoding="utf-8")
    monkeypatch.setenv("TORCHLAB_LABS_DIR", str(root))
    return root


def smoke(*args: str):
    return runner.invoke(app, ["smoke", *args])


def one_line_error(result, code: int, *words: str) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("torchlab: error: "), result.stderr
    assert result.stdout == ""
    for word in words:
        assert word in lines[0]


def test_passing_lab_passes_its_document_through(labs_dir: Path, torch_module) -> None:
    result = smoke("m0", "--device", "cpu", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert {k: document[k] for k in ("schema", "lab", "version", "device", "torch", "status")} == {
        "schema": "torchlab.smoke/1", "lab": "module-0", "version": "1.0.0", "device": "cpu",
        "torch": torch_module.__version__, "status": "passed",
    }
    assert [(c["name"].removeprefix("check_"), c["status"], c["detail"]) for c in document["checks"]] == [
        ("adds", "pass", "tensor([2., 2.]) on cpu"),
        ("bf16", "skip", "bfloat16 is not supported here"),
    ]
    assert "adds" in result.stderr and "tensor([2., 2.]) on cpu" in result.stderr


def test_a_failed_check_is_exit_1_with_a_table_on_stderr(labs_dir: Path, torch_module) -> None:
    result = smoke("module-9")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "wrong" in result.stderr and "tensor([1., 2.]) differs" in result.stderr
    assert "failed" in result.stderr


def test_an_absent_device_is_the_runners_one_line_exit_3(labs_dir: Path, torch_module) -> None:
    available = {"cuda": torch_module.cuda.is_available(), "mps": torch_module.backends.mps.is_available()}
    absent = [device for device, here in available.items() if not here]
    if not absent:
        pytest.skip("both cuda and mps are available in this Python: no absent device to ask for")
    one_line_error(smoke("module-0", "--device", absent[0]), 3, f"'{absent[0]}' is not available here (torch "
                   f"{torch_module.__version__} says: ", "this torch sees ")


def test_an_unknown_device_or_lab_is_exit_2(labs_dir: Path) -> None:
    bad_device = smoke("module-0", "--device", "tpu")
    assert bad_device.exit_code == 2 and "tpu" in bad_device.stderr
    one_line_error(smoke("module-5"), 2, 'unknown lab "module-5"', "did you mean")


def test_no_torch_in_this_python_is_exit_3_with_the_fix(labs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # how Python marks a module as not importable
    one_line_error(smoke("module-0"), 3, "torch is not installed", "pip install torch", "torchlab up module-0")


def test_a_runner_that_dies_is_a_failed_smoke(labs_dir: Path) -> None:
    lab = load_lab(labs_dir / "module-0")
    died = CommandResult(("python",), 139, "", "Fatal Python error: Segmentation fault\n")
    outcome = interpret(died, lab)
    assert outcome.exit_code == 1 and outcome.document is None
    assert outcome.message == "the smoke runner for module-0 failed (exit 139): Fatal Python error: Segmentation fault"
    slow = interpret(CommandResult(("python",), 124, "", "python did not answer within 600 s"), lab)
    assert (slow.exit_code, slow.message.endswith("did not answer within 600 s")) == (1, True)


def test_real_module_0_passes_on_cpu(torch_module, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if not (REAL_LABS / "module-0" / "lab.toml").is_file():
        pytest.skip("labs/module-0 is not written yet")
    monkeypatch.setenv("TORCHLAB_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.delenv("TORCHLAB_LABS_DIR", raising=False)
    result = smoke("module-0", "--device", "cpu", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["lab"], document["device"], document["status"]) == ("module-0", "cpu", "passed")
    assert document["checks"] and all(c["status"] in ("pass", "skip") for c in document["checks"])


def test_real_module_0_on_cuda_here_is_one_line_exit_3(torch_module, monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    if not (REAL_LABS / "module-0" / "lab.toml").is_file():
        pytest.skip("labs/module-0 is not written yet")
    if torch_module.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    monkeypatch.setenv("TORCHLAB_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.delenv("TORCHLAB_LABS_DIR", raising=False)
    one_line_error(smoke("module-0", "--device", "cuda"), 3, "device 'cuda' is not available here (torch ")


THREADS = '''
import torch


def check_threads_inside(device):
    return str(torch.get_num_threads())


def check_threads_inside_a_failing_check(device):
    raise AssertionError("threads " + str(torch.get_num_threads()))
'''


def test_each_check_on_the_cpu_runs_on_one_thread_and_torch_gets_its_count_back(tmp_path: Path, torch_module) -> None:
    labs = tmp_path / "labs"
    shutil.copytree(REAL_LABS / "_smoke", labs / "_smoke")
    lab_dir = make_lab(labs, "module-8")
    (lab_dir / "smoke" / "checks.py").write_text(THREADS, encoding="utf-8")
    sys.path.insert(0, str(labs / "_smoke"))
    try:
        from runner import run_lab  # the copy: the module the labs' own processes run
    finally:
        sys.path.remove(str(labs / "_smoke"))
    before = torch_module.get_num_threads()
    torch_module.set_num_threads(2)
    try:
        document = run_lab(lab_dir, "cpu")
        assert torch_module.get_num_threads() == 2  # given back, after a failing check too
    finally:
        torch_module.set_num_threads(before)
    assert [(c["status"], c["detail"]) for c in document["checks"]] == [("pass", "1"), ("fail", "threads 1")]
