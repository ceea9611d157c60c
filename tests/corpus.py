"""The labelled collect_env corpus (tests/fixtures/collect_env/LABELS.tsv and tests/fixtures/collect_env_LABELS.tsv),
and what doctor must do with each report. Shared by tests/test_doctor_corpus.py and benchmarks/doctor_corpus.py."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# (folder, labels file, the reports it labels)
LABEL_FILES = (
    (FIXTURES / "collect_env", "LABELS.tsv", "*.txt"),
    (FIXTURES, "collect_env_LABELS.tsv", "collect_env_*.txt"),
)
COLUMNS = ["file", "cause", "finding_id", "evidence", "url", "note"]
CAUSES = {
    "healthy", "arch-not-in-build", "driver-too-old", "cpu-build-on-gpu-host", "no-driver",
    "gfx-not-in-rocm-build", "mps-unavailable", "cuda-init-failed",
    "gpu-dropped-by-torch", "cut-short", "other",
}


@dataclass(frozen=True)
class Label:
    path: Path
    cause: str
    finding_id: str  # "-": no finding is asked for
    evidence: tuple[str, ...]
    url: str
    note: str

    @property
    def names_a_cause(self) -> bool:
        """A label doctor must name (not healthy, and a finding id given)."""
        return self.cause != "healthy" and self.finding_id != "-"


def labels() -> list[Label]:
    found = []
    for folder, name, _ in LABEL_FILES:
        with (folder / name).open(encoding="utf-8", newline="") as rows:
            reader = csv.DictReader(rows, delimiter="\t")
            assert reader.fieldnames == COLUMNS, f"{name}: columns {reader.fieldnames}, expected {COLUMNS}"
            found += [Label(folder / row["file"], row["cause"], row["finding_id"], tuple(row["evidence"].split(" | ")),
                            row["url"], row["note"]) for row in reader]
    return found


def reports() -> list[Path]:
    """Every collect_env report the labels files cover."""
    return sorted(path for folder, _, pattern in LABEL_FILES for path in folder.glob(pattern))


def judge(label: Label, document: dict) -> str | None:
    """What is wrong with doctor's answer (its --json document) for a labelled report; None when right."""
    findings = document["findings"]
    if label.names_a_cause and not any(
            f["id"] == label.finding_id and f["status"] in ("warn", "fail") for f in findings):
        return f"{label.finding_id} not named (warn or fail)"
    if label.cause == "healthy":
        flagged = [f["id"] for f in findings if f["status"] == "fail" and concerns_your_torch(f)]
        if flagged:
            return f"healthy, yet flagged fail about the learner's torch: {', '.join(flagged)}"
    return None


def concerns_your_torch(finding: dict) -> bool:
    """decide.verdict.concerns_your_torch, on a finding of the JSON document."""
    return finding["about"] == "torch" or (finding["about"] == "host" and finding["area"] in ("nvidia", "amd", "wsl"))


def unquoted(document: dict, text: str) -> list[str]:
    """Findings made from a report that do not quote the report lines they rest on (every warning and
    failure must; a quoted line must be in the report as pasted)."""
    missing = []
    for finding in document["findings"]:
        if finding["status"] in ("warn", "fail") and not finding["evidence"]:
            missing.append(f"{finding['id']}: no evidence")
        missing += [f"{finding['id']}: {line!r} is not in the report" for line in finding["evidence"] if line not in text]
    return missing
