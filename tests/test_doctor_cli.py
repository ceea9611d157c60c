"""`torchlab doctor` as a user runs it: in-process for exact output, and as the installed command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from typer.testing import CliRunner

from torchlab.cli import app

from conftest import one_line_error

from torchlab.probe import nvidia
from torchlab.probe.host import probe_host

from recorded import FIXTURES, fixture_text

runner = CliRunner()


def doctor(*args: str):
    return runner.invoke(app, ["doctor", *args])


def test_json_is_one_document_with_the_contract_keys():
    result = doctor("--json")
    report = json.loads(result.stdout)
    assert report["schema"] == "torchlab.doctor/1"
    assert {"host", "accelerators", "docker", "torch", "plan", "verdicts", "findings"} <= set(report)
    assert set(report["plan"]) >= {"runtime", "variant", "device", "torch_index", "reasons"}
    assert report["verdicts"]["labs"]["status"] in ("ok", "warn", "fail")
    for finding in report["findings"]:
        assert set(finding) >= {"id", "status", "title", "detail", "fix", "about", "evidence"}
        assert finding["status"] in ("ok", "warn", "fail", "skip")
        assert finding["about"] in ("host", "torch", "labs") and finding["evidence"] == []  # probed, not pasted
    assert result.exit_code == (1 if any(f["status"] == "fail" for f in report["findings"]) else 0)


def accelerator_names(report: dict) -> list[str]:
    names = [gpu["name"] for a in report["accelerators"] for gpu in a.get("gpus", [])]
    return sorted(names + [a["chip"] for a in report["accelerators"] if a.get("chip")])


def explained(report: dict) -> bool:
    return any(f["status"] in ("warn", "fail") and f.get("fix") for f in report["findings"])


def assert_plan_agrees_with_the_accelerators(report: dict) -> None:
    """No GPU found: a cpu plan that says so. A GPU found: a GPU plan, or a finding that says why not."""
    ids = {f["id"] for f in report["findings"]}
    assert ids & {"docker.ok", "docker.missing", "docker.daemon-down", "docker.permission-denied", "docker.error"}
    if not report["accelerators"]:
        assert (report["plan"]["variant"], report["plan"]["device"]) == ("cpu", "cpu")
        assert "gpu.none" in ids
    else:
        assert "gpu.none" not in ids
        assert report["plan"]["device"] != "cpu" or explained(report), report["findings"]


def test_on_this_machine_doctor_reports_what_the_probe_found():
    """Whatever this machine has (none, an NVIDIA laptop, WSL2): doctor shows the probe's GPUs."""
    from torchlab.config import load_config

    report = json.loads(doctor("--json").stdout)
    facts = probe_host(dict(os.environ), load_config().path("data_dir"))
    found = [g.name for g in (facts.nvidia.gpus if facts.nvidia else ())]
    found += [g.name for g in (facts.amd.gpus if facts.amd else ())]
    found += [facts.apple.chip] if facts.apple and facts.apple.chip else []
    kinds = [kind for kind in ("nvidia", "amd", "apple") if getattr(facts, kind) is not None]
    assert [a["kind"] for a in report["accelerators"]] == kinds
    assert accelerator_names(report) == sorted(found)
    assert report["host"]["os"]["wsl"] == facts.os.wsl
    assert_plan_agrees_with_the_accelerators(report)


def test_on_a_recorded_nvidia_host_doctor_plans_for_the_gpu(monkeypatch, tmp_path):
    """The GPU-host case through the same code path: a recorded nvidia-smi on PATH, NVML hidden."""
    monkeypatch.setattr(nvidia, "_ask_nvml", lambda: None)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "output.xml").write_text(fixture_text("nvidia-smi-q-x_RTX3080_595.58.03.xml"), encoding="utf-8")
    script = bin_dir / "nvidia-smi"
    script.write_text(f"#!{sys.executable}\nimport sys\nsys.stdout.write(open({str(bin_dir / 'output.xml')!r}).read())\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    report = json.loads(doctor("--json").stdout)
    assert "NVIDIA GeForce RTX 3080" in accelerator_names(report)
    assert_plan_agrees_with_the_accelerators(report)


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


# Every labelled collect_env report (its cause named, its lines quoted): tests/test_doctor_corpus.py.


def test_from_collect_env_names_the_problem_for_a_ta():
    result = doctor("--from", str(FIXTURES / "collect_env_linux_cuda-driver-too-old_1_TRUNCATED.txt"))
    assert result.exit_code == 1
    assert "too old" in result.stderr and "fix:" in result.stderr


def test_from_collect_env_gives_both_verdicts_and_quotes_the_report():
    """pytorch#150733 (RTX 5090 D, torch 2.6.0+cu126, driver 570): the learner's torch and the labs'."""
    path = FIXTURES / "collect_env" / "01_linux_nvidia_rtx5090d-sm120-cu126_TRUNCATED.txt"
    human = doctor("--from", str(path))
    assert human.exit_code == 1
    text = " ".join(human.stderr.split())
    assert "your torch 2.6.0+cu126 has no kernels for sm_120" in text
    assert "torchlab's labs will use cuda-13.0 once the driver is 580 or newer" in text
    assert "│ Nvidia driver version: 570.124.04" in text and "No problems found" not in text
    report = json.loads(doctor("--json", "--from", str(path)).stdout)
    assert report["verdicts"]["your_torch"]["status"] == "fail"
    assert report["verdicts"]["labs"]["says"].startswith("torchlab's labs will use cuda-13.0")
    assert report["report"]["kind"] == "collect_env"


def test_a_doctor_report_made_from_collect_env_rediagnoses_with_its_evidence(tmp_path):
    path = FIXTURES / "collect_env" / "01_linux_nvidia_rtx5090d-sm120-cu126_TRUNCATED.txt"
    saved = tmp_path / "report.json"
    saved.write_text(doctor("--json", "--from", str(path)).stdout)
    original, again = json.loads(saved.read_text()), json.loads(doctor("--json", "--from", str(saved)).stdout)
    assert again["findings"] == original["findings"] and again["verdicts"] == original["verdicts"]


def test_a_report_json_in_a_markdown_fence_is_read(tmp_path):
    saved = tmp_path / "pasted.md"
    saved.write_text("```json\n" + doctor("--json").stdout + "```\n")
    assert json.loads(doctor("--json", "--from", str(saved)).stdout)["source"] == "report"


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


def test_a_collect_env_cut_short_is_judged_and_says_what_is_missing(tmp_path):
    """Cut after its first line, a report is still read: doctor names the missing fields and never
    claims "no GPU" from the part it never saw."""
    text = (FIXTURES / "collect_env_linux_cuda_1.txt").read_text()
    cut = tmp_path / "cut.txt"
    cut.write_text(text[: text.index("CUDA used")])
    result = doctor("--json", "--from", str(cut))
    report = json.loads(result.stdout)
    found = {f["id"]: f for f in report["findings"]}
    assert "Nvidia driver version" in found["report.truncated"]["detail"]
    assert "gpu.none" not in found and report["plan"]["variant"] == "cpu"
    assert "ends before its GPU lines" in report["plan"]["reasons"]["variant"]
    assert report["verdicts"]["your_torch"]["status"] == "warn"


def test_text_that_is_no_report_is_refused_in_one_line(tmp_path):
    prose = tmp_path / "prose.txt"
    prose.write_text("My GPU does not work with PyTorch, please help.\nThanks!\n")
    one_line_error(doctor("--from", str(prose)), "prose.txt", "collect_env")
    started = tmp_path / "started.txt"
    started.write_text("Collecting environment information...\n")
    one_line_error(doctor("--from", str(started)), "started.txt", "ends before its first field")


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
    assert report["torch"]["cuda_available"] is torch_module.cuda.is_available()
    assert any(f["id"] == "torch.installed" for f in report["findings"])


def test_the_summary_counts_in_words_singular_and_plural() -> None:
    from rich.console import Console

    from torchlab.doctor.render import print_summary
    from torchlab.decide.findings.finding import Finding

    def summary(*statuses: str) -> str:
        console = Console(record=True, width=200, color_system=None)
        findings = [Finding(f"x.{i}", status, "t") for i, status in enumerate(statuses)]
        print_summary(type("Result", (), {"findings": findings})(), console)
        return console.export_text().strip()

    assert summary("warn") == "No problems. 1 warning."
    assert summary("warn", "warn", "ok") == "No problems. 2 warnings."
    assert summary("fail", "warn") == "1 problem to fix, 1 warning."
    assert summary("fail", "fail") == "2 problems to fix, 0 warnings."
    assert summary("ok") == "No problems found."
