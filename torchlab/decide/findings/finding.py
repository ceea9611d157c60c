"""A finding: one thing right or wrong with a host, and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "warn", "fail", "skip"]


@dataclass(frozen=True)
class Finding:
    id: str  # stable: "nvidia.driver-too-old"
    status: Status
    title: str
    detail: str = ""
    fix: str = ""  # the command or step that fixes it; empty when nothing is to be done
    area: str = ""  # "system" | "nvidia" | "amd" | "apple" | "docker" | "torch" | "wsl"
