"""A finding: one thing right or wrong with a host, and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torchlab.facts import HostFacts

Status = Literal["ok", "warn", "fail", "skip"]
About = Literal["host", "torch", "labs"]


@dataclass(frozen=True)
class Finding:
    id: str  # stable: "nvidia.driver-too-old"
    status: Status
    title: str
    detail: str = ""
    fix: str = ""  # the command or step that fixes it; empty when nothing is to be done
    area: str = ""  # "system" | "nvidia" | "amd" | "apple" | "docker" | "torch" | "wsl" | "report"
    # Whose verdict it is: the machine ("host"), the torch the learner has ("torch": the one in a report,
    # or in this Python with --torch), or what torchlab's labs will install ("labs").
    about: About = "host"
    evidence: tuple[str, ...] = ()  # the report lines it rests on, verbatim (empty when probed)


def quote(facts: HostFacts, *read: str) -> tuple[str, ...]:
    """The report lines each named fact was read from ("PyTorch version", "GPU models and configuration",
    or one of torch's messages), in report order; () when the facts were probed, not pasted."""
    if facts.report is None:
        return ()
    wanted = set(read)
    return tuple(dict.fromkeys(line for what, line in facts.report.lines if what in wanted))
