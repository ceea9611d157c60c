"""Findings: what is right and wrong with a host, each with its fix. Pure functions of the facts."""

from __future__ import annotations

from dataclasses import replace

from torchlab.decide.findings.docker import engine_findings
from torchlab.decide.findings.finding import Finding
from torchlab.decide.findings.gpu import amd_findings, apple_findings, nvidia_findings
from torchlab.decide.findings.report import report_findings
from torchlab.decide.findings.system import no_gpu_findings, system_findings, wsl_findings
from torchlab.decide.findings.torch import torch_findings
from torchlab.decide.plan import Plan
from torchlab.facts import HostFacts

__all__ = ["Finding", "collect_findings"]


def collect_findings(facts: HostFacts, plan: Plan) -> list[Finding]:
    """Every finding for this host, grouped by area in the order a person reads them."""
    return merge_same_id(
        [
            *report_findings(facts),
            *system_findings(facts),
            *no_gpu_findings(facts, plan),
            *nvidia_findings(facts, plan),
            *amd_findings(facts, plan),
            *apple_findings(facts),
            *wsl_findings(facts),
            *engine_findings(facts, plan),
            *torch_findings(facts),
        ]
    )


def merge_same_id(findings: list[Finding]) -> list[Finding]:
    """One finding per id and verdict: torch's own words and the report's lines can both show the same
    trouble with the learner's torch (the labs' torch is a verdict of its own)."""
    merged: dict[tuple[str, str], Finding] = {}
    for finding in findings:
        key = (finding.id, finding.about)
        first = merged.get(key)
        if first is None:
            merged[key] = finding
            continue
        detail = first.detail if not finding.detail or finding.detail in first.detail else f"{first.detail} {finding.detail}"
        evidence = tuple(dict.fromkeys(first.evidence + finding.evidence))
        merged[key] = replace(first, detail=detail.strip(), evidence=evidence)
    return list(merged.values())
