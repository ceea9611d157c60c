"""`torchlab doctor --from` on real collect_env reports from public threads, each labelled with its cause.

The labels are tests/fixtures/collect_env/LABELS.tsv and tests/fixtures/collect_env_LABELS.tsv (INDEX.md
next to them says how each report and cause was found). For every report: doctor reads it, names the
labelled cause as a warning or failure, flags no healthy learner's torch as failing, and quotes the
report lines each finding rests on.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from corpus import CAUSES, Label, judge, labels, reports, unquoted
from torchlab.cli import app

runner = CliRunner()
LABELS = labels()


def doctor_json(label: Label) -> dict:
    result = runner.invoke(app, ["doctor", "--json", "--from", str(label.path)])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def test_every_report_has_exactly_one_label() -> None:
    labelled = [label.path for label in LABELS]
    assert len(labelled) == len(set(labelled))
    assert sorted(labelled) == reports()
    assert len(labelled) >= 66


@pytest.mark.parametrize("label", LABELS, ids=lambda label: label.path.name)
def test_the_label_is_well_formed_and_its_evidence_is_in_the_report(label: Label) -> None:
    text = label.path.read_bytes().decode("utf-8")
    assert text.strip()
    assert label.cause in CAUSES
    assert label.finding_id == "-" or label.finding_id.count(".") == 1
    assert label.url.startswith("https://github.com/") and label.note
    for evidence in label.evidence:
        assert evidence in text, f"evidence not in {label.path.name}: {evidence!r}"


@pytest.mark.parametrize("label", LABELS, ids=lambda label: label.path.name)
def test_doctor_names_the_labelled_cause_and_quotes_its_lines(label: Label) -> None:
    document = doctor_json(label)
    assert document["source"] == "collect_env" and document["plan"]["variant"]
    assert not unquoted(document, label.path.read_bytes().decode("utf-8"))
    wrong = judge(label, document)
    assert wrong is None, wrong


def test_the_labels_cover_what_the_issue_asked_for() -> None:
    """torch 1.0 to 2.x; Linux, Windows, WSL2, macOS; NVIDIA, AMD, Apple, CPU-only; healthy reports."""
    by_name = " ".join(label.path.name for label in LABELS)
    for word in ("linux", "windows", "wsl2", "macos", "nvidia", "amd", "mps", "cpu", "healthy", "TRUNCATED", "CRLF"):
        assert word in by_name, word
    assert {label.cause for label in LABELS} == CAUSES


def test_cuda_that_cannot_start_gets_the_fix_for_its_kind_of_host() -> None:
    """Inside WSL2 there is no nvidia_uvm module to reload: the fix is the Windows driver and the libcuda WSL mounts."""
    by_name = {label.path.name: label for label in LABELS}

    def init_failed_fix(name: str) -> str:
        found = [f for f in doctor_json(by_name[name])["findings"] if f["id"] == "nvidia.cuda-init-failed"]
        assert found, name
        return found[0]["fix"]

    wsl = init_failed_fix("49_wsl2_nvidia_rtx3080laptop-torch1.10.2-cu113-cuda-false-unconfirmed_TRUNCATED.txt")
    assert "wsl --shutdown" in wsl and "/usr/lib/wsl/lib/libcuda.so.1" in wsl and "nvidia_uvm" not in wsl
    linux = init_failed_fix("26_linux_nvidia_rtx3050ti-fedora38-cuda-unknown-error-french-lscpu_TRUNCATED.txt")
    assert "nvidia_uvm" in linux and "wsl" not in linux
