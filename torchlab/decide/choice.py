"""The doctor's plan, narrowed by what was asked for: where `up` runs a lab (--runtime, --variant),
and which torch build an image holds (`images --variant`). Pure."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional, Protocol

from torchlab.decide import compat
from torchlab.decide.findings import collect_findings
from torchlab.decide.findings.docker import why_no_docker
from torchlab.decide.plan import Plan
from torchlab.errors import HOST_UNFIT, USAGE, UserError
from torchlab.facts import HostFacts

VARIANTS = ("auto", "cpu", "cuda", "rocm")
IN_CONTAINER = ("docker",)  # runtimes whose labs run in a Linux container, where no Apple GPU reaches
VARIANT = re.compile(r"^(auto|cpu|(cuda|rocm)(-\d+(\.\d+)*)?)$")
TORCH_INDEX_BASE = "https://download.pytorch.org/whl"


class TorchBuild(Protocol):
    """What an image or an environment needs of a choice: the torch build, and why it was chosen."""

    @property
    def variant(self) -> str: ...  # "cpu" | "cuda-12.6" | "rocm-7.2"

    @property
    def torch_index(self) -> str: ...  # "cpu" | "cu126" | "rocm7.2"

    @property
    def torch_version(self) -> str: ...

    @property
    def reason(self) -> str: ...


@dataclass(frozen=True)
class VariantChoice:
    """A torch build: the variant, its wheel index tag, the release, why, and the device it drives."""

    variant: str
    torch_index: str
    torch_version: str
    reason: str
    device: str = "cpu"  # "cpu" | "cuda" (ROCm builds too) | "mps"


@dataclass(frozen=True)
class Choice:
    """Where `up` runs a lab, in which build, on which device, and why (one line per reason)."""

    runtime: str  # "docker" | "native"
    variant: str
    device: str
    torch_index: str
    torch_version: str
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def torch_wheel_index(torch_index: str) -> str:
    """PyTorch's own wheel index for a build: download.pytorch.org/whl/cu126."""
    return f"{TORCH_INDEX_BASE}/{torch_index}"


def choose(plan: Plan, facts: HostFacts, runtime: str = "auto", variant: str = "auto") -> Choice:
    """runtime: "auto" (the plan's) or the name of one (torchlab.runtimes.RUNTIMES, checked there)."""
    if variant not in VARIANTS:
        raise UserError(f"--variant {variant}: expected one of {', '.join(VARIANTS)}")
    chosen, runtime_reason = choose_runtime(plan, facts, runtime)
    build = choose_variant(variant, plan, plan.torch_version, on_this_host=True, doctor_says=lambda: gpu_finding(plan, facts))
    where = f" on {build.device}" if variant == "auto" else ""
    reasons = [runtime_reason, f"variant {build.variant}{where}: {build.reason}"]
    device = build.device
    if chosen in IN_CONTAINER and device == "mps":
        device = "cpu"
        reasons.append("device cpu: the Apple GPU cannot enter a Linux container (use --runtime native for MPS)")
    return Choice(chosen, build.variant, device, build.torch_index, build.torch_version, tuple(reasons))


def choose_runtime(plan: Plan, facts: HostFacts, wanted: str) -> tuple[str, str]:
    docker = facts.docker
    if wanted == "auto" and docker is not None and docker.state == "error":
        # Installed and running, but it did not answer (busy, broken): not a reason to switch runtimes.
        raise UserError(why_no_docker(docker) + "; try again, or run the lab without Docker: --runtime native", HOST_UNFIT)
    if wanted == "auto":
        return plan.runtime, f"runtime {plan.runtime}: {plan.reasons['runtime']}"
    if wanted in IN_CONTAINER and docker is not None and docker.state != "ok":
        raise UserError(why_no_docker(docker) + "; or run the lab without Docker: --runtime native", HOST_UNFIT)
    return wanted, f"runtime {wanted}: asked for with --runtime {wanted}"


def gpu_finding(plan: Plan, facts: HostFacts) -> str:
    """The doctor's first GPU finding that is not ok, as "doctor: gpu.none: No GPU found: ...", or ""."""
    areas = ("gpu", "nvidia", "amd", "apple", "wsl")
    found = [f for f in collect_findings(facts, plan) if f.id.split(".")[0] in areas and f.status in ("warn", "fail")]
    return f"doctor: {found[0].id}: {found[0].title}" if found else ""


def choose_variant(wanted: str, plan: Optional[Plan], torch_version: str, on_this_host: bool = False,
                   doctor_says: Callable[[], str] = lambda: "") -> VariantChoice:
    """The plan's variant ("auto", or its family: "cuda", "rocm"), or the one asked for: "cpu" or
    exact ("cuda-12.6"). A GPU family the plan lacks is refused `on_this_host` (`up`), with the
    doctor's finding on the host's GPUs; otherwise (course staff build images on machines without
    that GPU) it gets a default build. `plan` is needed for "auto" and the bare families only."""
    if not VARIANT.match(wanted):
        raise UserError(f"--variant {wanted}: expected auto, cpu, cuda, rocm, cuda-X.Y or rocm-X.Y", USAGE)
    family, _, version = wanted.partition("-")
    if wanted == "cpu":
        return VariantChoice("cpu", "cpu", torch_version, "asked for with --variant cpu")
    if plan is not None and (wanted == "auto" or (not version and plan.variant.partition("-")[0] == family)):
        return VariantChoice(plan.variant, plan.torch_index, plan.torch_version, plan.reasons.get("variant", ""), plan.device)
    if on_this_host and plan is not None:
        gpu = "NVIDIA GPU" if family == "cuda" else "AMD GPU"
        finding = doctor_says()
        why = f"{plan.reasons['variant']}; {finding}" if finding else plan.reasons["variant"]
        raise UserError(f"--variant {wanted}: this host has no {gpu} that torch {plan.torch_version} can use "
                        f"({why}); see `torchlab doctor`, or use --variant cpu", HOST_UNFIT)
    return gpu_variant(family, version, torch_version)


def needs_plan(wanted: str) -> bool:
    """Whether choose_variant needs the host's plan (it does for "auto", "cuda" and "rocm")."""
    return wanted in ("auto", "cuda", "rocm")


def gpu_variant(family: str, version: str, torch_version: str) -> VariantChoice:
    release = compat.torch_release(torch_version)
    builds = (release.cuda_stable if family == "cuda" else release.rocm) if release else ()
    if not version:
        if not builds:
            raise UserError(f"--variant {family}: torch {torch_version} has no {family} build in torchlab's table", USAGE)
        # No such GPU here: the build most drivers run (oldest CUDA) or the newest ROCm.
        if family == "cuda":
            pick, why = min(builds, key=compat.version_tuple), "the oldest CUDA build, which most drivers run"
        else:
            pick, why = max(builds, key=compat.version_tuple), "the newest ROCm build"
        return gpu_build(family, pick, torch_version, f"asked for with --variant {family}; {why}")
    unknown = compat.cuda_build(version) is None if family == "cuda" else compat.rocm_gfx(version) is None
    if unknown:
        known = ", ".join(f"{family}-{b}" for b in builds)
        raise UserError(f"--variant {family}-{version}: unknown {family} version; expected one of {known}", USAGE)
    return gpu_build(family, version, torch_version, f"asked for with --variant {family}-{version}")


def gpu_build(family: str, version: str, torch_version: str, reason: str) -> VariantChoice:
    if family == "cuda":
        build = compat.cuda_build(version)
        assert build is not None
        return VariantChoice(f"cuda-{build.cuda}", build.index, torch_version, reason, "cuda")
    return VariantChoice(f"rocm-{version}", f"rocm{version}", torch_version, reason, "cuda")
