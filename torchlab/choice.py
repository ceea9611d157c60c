"""Where `up` runs a lab: the doctor's plan, narrowed by --runtime and --variant (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from torchlab.decide import Plan
from torchlab.errors import HOST_UNFIT, UserError
from torchlab.facts import HostFacts
from torchlab.findings import docker_findings

RUNTIMES = ("auto", "docker", "native")
VARIANTS = ("auto", "cpu", "cuda", "rocm")


@dataclass(frozen=True)
class Choice:
    runtime: str  # "docker" | "native"
    variant: str  # "cpu" | "cuda-12.6" | "rocm-7.2"
    device: str  # "cpu" | "cuda" | "mps"
    torch_index: str  # "cpu" | "cu126" | "rocm7.2"
    torch_version: str
    reasons: tuple[str, ...]  # one line each, said to the user


def choose(plan: Plan, facts: HostFacts, runtime: str = "auto", variant: str = "auto") -> Choice:
    if runtime not in RUNTIMES:
        raise UserError(f"--runtime {runtime}: expected one of {', '.join(RUNTIMES)}")
    if variant not in VARIANTS:
        raise UserError(f"--variant {variant}: expected one of {', '.join(VARIANTS)}")
    chosen_runtime, runtime_reason = choose_runtime(plan, facts, runtime)
    chosen_variant, index, device, variant_reason = choose_variant(plan, variant)
    reasons = [runtime_reason, variant_reason]
    if chosen_runtime == "docker" and device == "mps":
        device = "cpu"
        reasons.append("device cpu: the Apple GPU cannot enter a Linux container (use --runtime native for MPS)")
    return Choice(chosen_runtime, chosen_variant, device, index, plan.torch_version, tuple(reasons))


def choose_runtime(plan: Plan, facts: HostFacts, runtime: str) -> tuple[str, str]:
    if runtime == "auto" and facts.docker is not None and facts.docker.state == "error":
        # Installed and running, but it did not answer (busy, broken): not a reason to switch runtimes.
        raise UserError(docker_unusable(facts) + "; try again, or run the lab without Docker: --runtime native", HOST_UNFIT)
    if runtime == "auto":
        return plan.runtime, f"runtime {plan.runtime}: {plan.reasons['runtime']}"
    if runtime == "native":
        return "native", "runtime native: asked for with --runtime native"
    docker = facts.docker
    if docker is not None and docker.state != "ok":
        raise UserError(docker_unusable(facts) + "; or run the lab without Docker: --runtime native", HOST_UNFIT)
    return "docker", "runtime docker: asked for with --runtime docker"


def docker_unusable(facts: HostFacts) -> str:
    """The doctor's own finding about Docker, as one line with its fix."""
    finding = next(iter(docker_findings(facts)), None)
    if finding is None:
        return "Docker cannot be used here"
    detail = f" ({finding.detail})" if finding.detail else ""
    return f"{finding.title}{detail}; fix: {finding.fix}"


def choose_variant(plan: Plan, variant: str) -> tuple[str, str, str, str]:
    """(variant, torch index, device, reason)."""
    if variant == "auto":
        return plan.variant, plan.torch_index, plan.device, f"variant {plan.variant} on {plan.device}: {plan.reasons['variant']}"
    if variant == "cpu":
        return "cpu", "cpu", "cpu", "variant cpu: asked for with --variant cpu"
    if plan.variant.startswith(variant):
        return plan.variant, plan.torch_index, plan.device, f"variant {plan.variant}: {plan.reasons['variant']}"
    gpu = "NVIDIA GPU" if variant == "cuda" else "AMD GPU"
    raise UserError(
        f"--variant {variant}: this host has no {gpu} that torch {plan.torch_version} can use "
        f"({plan.reasons['variant']}); see `torchlab doctor`, or use --variant cpu",
        HOST_UNFIT,
    )
