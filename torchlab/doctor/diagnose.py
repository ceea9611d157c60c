"""doctor's result: facts -> plan and findings, as a versioned JSON document or for people.

Also reads saved reports back (`doctor --from`): a `doctor --json` document, or the text of
`python -m torch.utils.collect_env` that a learner pasted.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from torchlab import __version__
from torchlab.decide.findings import Finding, collect_findings
from torchlab.decide.plan import Plan, make_plan
from torchlab.decide.verdict import Verdict, labs, your_torch
from torchlab.errors import UserError
from torchlab.files import read_text
from torchlab.facts import (
    AmdFacts,
    AppleFacts,
    CPUFacts,
    DiskFacts,
    DockerFacts,
    HostFacts,
    MemoryFacts,
    NvidiaFacts,
    OSFacts,
    ReportFacts,
    TorchFacts,
    from_dict,
    to_dict,
)

SCHEMA = "torchlab.doctor/1"
ACCELERATOR_KINDS = {"nvidia": NvidiaFacts, "amd": AmdFacts, "apple": AppleFacts}


@dataclass(frozen=True)
class DoctorResult:
    facts: HostFacts
    plan: Plan
    findings: tuple[Finding, ...]

    @property
    def failed(self) -> bool:
        return any(finding.status == "fail" for finding in self.findings)

    @property
    def verdicts(self) -> dict[str, Verdict | None]:
        """On the learner's own torch (None when none was looked at) and on the labs' torch."""
        return {"your_torch": your_torch(self.facts, self.findings), "labs": labs(self.facts, self.plan, self.findings)}

    def to_json(self) -> dict[str, Any]:
        facts = self.facts
        accelerators = [
            {"kind": kind, **to_dict(value)}
            for kind, value in (("nvidia", facts.nvidia), ("amd", facts.amd), ("apple", facts.apple))
            if value is not None
        ]
        return {
            "schema": SCHEMA,
            "torchlab": __version__,
            "source": facts.source,
            "host": {
                "os": to_dict(facts.os),
                "cpu": to_dict(facts.cpu),
                "memory": to_dict(facts.memory),
                "disks": [to_dict(disk) for disk in facts.disks],
                "pci_gpu_vendors": list(facts.pci_gpu_vendors),
            },
            "accelerators": accelerators,
            "docker": to_dict(facts.docker) if facts.docker else None,
            "torch": to_dict(facts.torch) if facts.torch else None,
            "plan": asdict(self.plan),
            "verdicts": {whose: asdict(v) if v else None for whose, v in self.verdicts.items()},
            "findings": [asdict(finding) for finding in self.findings],
            "report": to_dict(facts.report) if facts.report else None,
        }


def diagnose(facts: HostFacts) -> DoctorResult:
    plan = make_plan(facts)
    return DoctorResult(facts, plan, tuple(collect_findings(facts, plan)))


def facts_from_document(doc: dict[str, Any]) -> HostFacts:
    """HostFacts back from a `doctor --json` document (its plan and findings are recomputed)."""
    host = doc.get("host")
    if not isinstance(host, dict) or not isinstance(doc.get("accelerators", []), list):
        raise ValueError("expected 'host' to be an object and 'accelerators' a list")
    accelerators: dict[str, Any] = {}
    for item in doc.get("accelerators", []):
        kind = item.get("kind") if isinstance(item, dict) else None
        if kind not in ACCELERATOR_KINDS:
            raise ValueError(f"accelerators: unknown kind {kind!r}; expected nvidia, amd or apple")
        fields = {key: value for key, value in item.items() if key != "kind"}
        accelerators[kind] = from_dict(ACCELERATOR_KINDS[kind], fields)
    return HostFacts(
        os=from_dict(OSFacts, host.get("os")),
        cpu=from_dict(CPUFacts, host.get("cpu", {})),
        memory=from_dict(MemoryFacts, host.get("memory", {})),
        disks=tuple(from_dict(DiskFacts, disk) for disk in host.get("disks", [])),
        pci_gpu_vendors=tuple(host.get("pci_gpu_vendors", [])),
        docker=from_dict(DockerFacts, doc["docker"]) if doc.get("docker") else None,
        torch=from_dict(TorchFacts, doc["torch"]) if doc.get("torch") else None,
        report=from_dict(ReportFacts, doc["report"]) if doc.get("report") else None,
        source="report",
        **accelerators,
    )


def read_report(path: Path) -> HostFacts:
    """Facts from a saved `doctor --json` report or a collect_env text; UserError (one line) when neither."""
    text = read_text(path, f"--from {path}")  # a regular file of a few MB at most, UTF-8 text (torchlab.files)
    if not text.strip():
        raise UserError(
            f"--from {path}: the file is empty; expected a `torchlab doctor --json` report or collect_env output"
        )
    unfenced = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("```", "~~~")))
    if unfenced.lstrip().startswith("{"):
        return facts_from_json_text(path, unfenced)
    from torchlab.doctor.collect_env import looks_like_collect_env, parse_collect_env  # start-up: only --from reads pastes

    if looks_like_collect_env(text):
        try:
            return parse_collect_env(text)
        except ValueError as exc:
            raise UserError(f"--from {path}: {exc}") from None
    raise UserError(
        f"--from {path}: not a `torchlab doctor --json` report nor `python -m torch.utils.collect_env` output"
    )


def facts_from_json_text(path: Path, text: str) -> HostFacts:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"--from {path}: invalid JSON at line {exc.lineno} column {exc.colno}") from None
    schema = doc.get("schema") if isinstance(doc, dict) else None
    if schema != SCHEMA:
        raise UserError(
            f"--from {path}: schema {schema!r}; expected {SCHEMA!r} (a `torchlab doctor --json` report)"
        )
    try:
        return facts_from_document(doc)
    except ValueError as exc:
        raise UserError(f"--from {path}: {exc}") from None
