"""Two verdicts, one line each: on the learner's own torch (the one in the report, or in this Python with
--torch), and on the torch torchlab's labs will install (the plan). A teaching assistant needs both:
"your torch 2.6.0+cu126 has no kernels for sm_120" and "the labs will use cuda-13.0 once the driver is
580 or newer" are different answers to different questions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torchlab.decide.findings import Finding
from torchlab.decide.findings.gpu import driver_block
from torchlab.decide.plan import GPUS_FIELD, Plan, report_missing
from torchlab.facts import HostFacts

Standing = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Verdict:
    whose: str  # "your torch" | "torchlab's labs"
    torch: str  # "2.6.0+cu126" | "2.13.0 (cuda-12.6)"
    status: Standing
    says: str  # one line


def your_torch(facts: HostFacts, findings: tuple[Finding, ...]) -> Verdict | None:
    torch = facts.torch
    if torch is None:
        return None
    if torch.version is None:
        return Verdict("your torch", "none", "warn", "no torch could be imported in that Python")
    worst = first_trouble([f for f in findings if concerns_your_torch(f)])
    if worst is not None:
        line = said(worst) if "your torch" in said(worst) else f"your torch {torch.version}: {said(worst)}"
        return Verdict("your torch", torch.version, worst.status, line)
    unseen = [f for f in ("CUDA used to build PyTorch", "Is CUDA available") if report_missing(facts, f)]
    if unseen:
        return Verdict("your torch", torch.version, "warn",
                       f"your torch {torch.version}: the report ends before '{unseen[0]}', so there is little to judge")
    return Verdict("your torch", torch.version, "ok", f"your torch {torch.version} {works(facts)}")


def works(facts: HostFacts) -> str:
    torch = facts.torch
    assert torch is not None
    if torch.cuda_available:
        build = f"CUDA {torch.cuda_build}" if torch.cuda_build else f"ROCm {torch.hip_build}" if torch.hip_build else "its GPU build"
        return f"reaches the GPU ({build}); nothing in the report stands in its way"
    if torch.cuda_build is None and torch.hip_build is None:
        return "is a CPU build, and no GPU stands idle beside it"
    return "shows nothing wrong"


def labs(facts: HostFacts, plan: Plan, findings: tuple[Finding, ...]) -> Verdict:
    build = f"{plan.torch_version} ({plan.variant})"
    trouble = first_trouble([f for f in findings if f.about == "labs"])
    if plan.device != "cpu":
        device = {"cuda": "the GPU", "mps": "the Apple GPU (MPS)"}.get(plan.device, plan.device)
        line = f"torchlab's labs will use {plan.variant} (torch {plan.torch_version}) on {device}, runtime {plan.runtime}"
        return Verdict("torchlab's labs", build, trouble.status if trouble else "ok",
                       line + (f"; {said(trouble)}" if trouble else ""))
    if trouble is None:
        unseen = "warn" if report_missing(facts, GPUS_FIELD) else "ok"
        return Verdict("torchlab's labs", build, unseen, f"torchlab's labs run on the CPU: {plan.reasons['variant']}")
    block = driver_block(facts, plan.torch_version) if trouble.id == "nvidia.driver-too-old" else None
    if block is not None:
        return Verdict("torchlab's labs", build, trouble.status,
                       f"torchlab's labs will use cuda-{block.cuda} once the driver is {block.floor} or newer; "
                       "until then they run on the CPU")
    return Verdict("torchlab's labs", build, trouble.status, f"torchlab's labs run on the CPU: {said(trouble)}")


def concerns_your_torch(finding: Finding) -> bool:
    """A finding on the learner's own torch, or on the machine's GPU stack that torch stands on (a
    driver that does not answer, WSL without the Windows driver); not Docker, disks or the labs."""
    return finding.about == "torch" or (finding.about == "host" and finding.area in ("nvidia", "amd", "wsl"))


def first_trouble(findings: list[Finding]) -> Finding | None:
    """The first failing finding, else the first warning."""
    return next((f for f in findings if f.status == "fail"), None) or next((f for f in findings if f.status == "warn"), None)


def said(finding: Finding) -> str:
    title = finding.title
    if title[1:2].islower():  # "Your torch ..." -> "your torch ...", but "AMD ..." stays
        title = title[0].lower() + title[1:]
    return title + (f" (fix: {finding.fix})" if finding.fix else "")
