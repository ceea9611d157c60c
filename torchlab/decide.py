"""Decide: pure functions from HostFacts to a Plan and Findings. No I/O here."""

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


@dataclass(frozen=True)
class Plan:
    runtime: Literal["docker", "native"]
    variant: str  # "cpu" | "cuda-12.6" | "rocm-6.4"
    device: Literal["cuda", "mps", "cpu"]
    torch_index: str  # the torch wheel index tag: "cpu", "cu126", "rocm6.4"
    torch_version: str  # the torch release the labs are built on: "2.13.0"
    reasons: dict[str, str]  # "runtime" | "variant" | "device" -> why
