"""Findings: what is right and wrong with a host, each with its fix. Pure functions of the facts."""

from __future__ import annotations

from dataclasses import replace

from torchlab.decide.findings.docker import engine_findings
from torchlab.decide.findings.finding import Finding
from torchlab.decide.findings.gpu import amd_findings, apple_findings, nvidia_findings
from torchlab.decide.findings.system import no_gpu_findings, system_findings, wsl_findings
from torchlab.decide.findings.torch import torch_findings
from torchlab.decide.plan import Plan
from torchlab.facts import HostFacts

__all__ = ["Finding", "collect_findings"]


def collect_findings(facts: HostFacts, plan: Plan) -> list[Finding]:
    """Every finding for this host, grouped by area in the order a person reads them."""
    return merge_same_id(
        [
            *system_findings(facts),
            *no_gpu_findings(facts, plan),
            *nvidia_findings(facts, plan),
            *amd_findings(facts, plan),
            *apple_findings(facts),
            *wsl_findings(facts),
            *engine_findings(facts),
            *torch_findings(facts),
        ]
    )


def merge_same_id(findings: list[Finding]) -> list[Finding]:
    """One finding per id: the labs' plan and the installed torch can both find a too-old driver."""
    merged: dict[str, Finding] = {}
    for finding in findings:
        first = merged.get(finding.id)
        if first is None:
            merged[finding.id] = finding
        elif finding.detail and finding.detail not in first.detail:
            merged[finding.id] = replace(first, detail=f"{first.detail} {finding.detail}".strip())
    return list(merged.values())
