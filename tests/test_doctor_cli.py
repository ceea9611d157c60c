"""`torchlab doctor` as a user runs it: in-process for exact output, and as the installed command."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from torchlab.cli import app

from conftest import one_line_error

from recorded import FIXTURES, fixture_names

runner = CliRunner()


def doctor(*args: str):
    return runner.invoke(app, ["doctor", *args])


def test_json_is_one_document_with_the_contract_keys():
    result = doctor("--json")
    report = json.loads(result.stdout)
    assert report["schema"] == "torchlab.doctor/1"
    assert {"host", "accelerators", "docker", "torch", "plan", "findings"} <= set(report)
    assert set(report["plan"]) >= {"runtime", "variant", "device", "torch_index", "reasons"}
    for finding in report["findings"]:
        assert set(finding) >= {"id", "status", "title", "detail", "fix"}
        assert finding["status"] in ("ok", "warn", "fail", "skip")
    assert result.exit_code == (1 if any(f["status"] == "fail" for f in report["findings"]) else 0)


def test_this_machine_has_no_gpu_and_plans_cpu():
    report = json.loads(doctor("--json").stdout)
    assert report["accelerators"] == []
    assert (report["plan"]["variant"], report["plan"]["device"]) == ("cpu", "cpu")
    ids = {f["id"] for f in report["findings"]}
    assert "gpu.none" in ids
    assert ids & {"docker.ok", "docker.missing", "docker.daemon-down", "docker.permission-denied", "docker.error"}


def test_human_output_goes_to_stderr_grouped_with_a_plan():
    result = doctor()
    assert result.stdout == ""
    for heading in ("System", "Docker", "Plan", "runtime", "variant"):
        assert heading in result.stderr


def test_a_saved_report_rediagnoses_to_the_same_plan_and_findings(tmp_path):
    saved = tmp_path / "report.json"
    saved.write_text(doctor("--json").stdout)
    again = json.loads(doctor("--json", "--from", str(saved)).stdout)
    original = json.loads(saved.read_text())
    assert again["plan"] == original["plan"]
    assert again["findings"] == original["findings"]
    assert again["source"] == "report"


@pytest.mark.parametrize("name", fixture_names("collect_env_*.txt"))
def test_every_collect_env_fixture_is_diagnosed(name):
    result = doctor("--json", "--from", str(FIXTURES / name))
    report = json.loads(result.stdout)
    assert report["source"] == "collect_env"
    assert report["findings"] and report["plan"]["variant"]
    assert result.exit_code in (0, 1)


def test_from_collect_env_names_the_problem_for_a_ta():
    result = doctor("--from", str(FIXTURES / "collect_env_linux_cuda-driver-too-old_1_TRUNCATED.txt"))
    assert result.exit_code == 1
    assert "too old" in result.stderr and "fix:" in result.stderr


def test_bad_from_files_are_one_line_errors(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    one_line_error(doctor("--from", str(empty)), "empty.txt", "empty")
    one_line_error(doctor("--from", str(tmp_path / "absent.json")), "absent.json", "cannot read")
    one_line_error(doctor("--from", str(FIXTURES / "nvidia-smi_H200_590.48.01.txt")), "nvidia-smi_H200", "collect_env")
    other = tmp_path / "v2.json"
    other.write_text(json.dumps({"schema": "torchlab.doctor/2", "host": {}}))
    one_line_error(doctor("--from", str(other)), "v2.json", "torchlab.doctor/1")
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema": "torchlab.doctor/1", "host": ')
    one_line_error(doctor("--from", str(broken)), "broken.json", "invalid JSON")


def test_a_collect_env_cut_before_its_essentials_is_refused(tmp_path):
    text = (FIXTURES / "collect_env_linux_cuda_1.txt").read_text()
    cut = tmp_path / "cut.txt"
    cut.write_text(text[: text.index("CUDA used")])
    one_line_error(doctor("--from", str(cut)), "cut.txt")


def test_a_report_with_a_wrong_shape_names_the_field(tmp_path):
    report = json.loads(doctor("--json").stdout)
    report["host"]["memory"]["total_bytes"] = "lots"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(report))
    one_line_error(doctor("--from", str(bad)), "MemoryFacts.total_bytes")


def installed(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    exe = shutil.which("torchlab")
    assert exe, "the torchlab console script is not installed (pip install -e .)"
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=120, env=env, check=False)


def test_installed_command_prints_json_only_on_stdout():
    done = installed("doctor", "--json")
    assert json.loads(done.stdout)["schema"] == "torchlab.doctor/1"
    assert done.returncode in (0, 1)


def test_installed_command_unknown_flag_is_one_line_exit_2():
    done = installed("doctor", "--frmo", "x")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "--frmo" in done.stderr and "Traceback" not in done.stderr


def test_doctor_without_torch_flag_never_imports_torch():
    code = (
        "import sys\n"
        "from torchlab.cli import app\n"
        "try:\n    app(['doctor', '--json'], standalone_mode=False)\n"
        "finally:\n    print('torch' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.stderr.strip().splitlines()[-1] == "False", done.stderr


def test_doctor_with_torch_reports_this_interpreters_torch(torch_module):
    report = json.loads(doctor("--json", "--torch").stdout)
    assert report["torch"]["version"] == torch_module.__version__
    assert report["torch"]["cuda_available"] is False
    assert any(f["id"] == "torch.installed" for f in report["findings"])
