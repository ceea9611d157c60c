"""Findings about the Docker engine and whether containers can reach the GPU."""

from __future__ import annotations

from dataclasses import dataclass

from torchlab.decide.findings.finding import Finding
from torchlab.decide.plan import Plan
from torchlab.facts import DockerFacts, HostFacts


@dataclass(frozen=True)
class EngineTrouble:
    """What doctor says of an engine that cannot be used. {detail} is the engine's or the OS's
    words, {socket} the socket it tried."""

    title: str
    detail: str
    fix: str


UNUSABLE: dict[str, EngineTrouble] = {  # DockerFacts.state -> the finding (id "docker.<state>", a warning)
    "missing": EngineTrouble(
        "Docker is not installed",
        "Labs will run natively in a virtual environment.",
        "Install Docker Engine (Linux: sudo apt-get install docker.io) or Docker Desktop",
    ),
    "daemon-down": EngineTrouble(
        "The Docker daemon is not running", "{detail}", "sudo systemctl start docker  (Docker Desktop: start the app)"
    ),
    "permission-denied": EngineTrouble(
        "No permission to use Docker's socket {socket}", "{detail}", "sudo usermod -aG docker $USER, then log out and back in"
    ),
    "error": EngineTrouble("Docker did not answer", "{detail}", "docker info  (shows what the engine says)"),
}


def engine_findings(facts: HostFacts, plan: Plan | None = None) -> list[Finding]:
    """The engine: installed, running, ours to use; and whether containers reach the GPU the plan uses."""
    docker = facts.docker
    if docker is None:
        return []
    if docker.state in UNUSABLE:
        return [unusable_finding(docker)]
    kind = "rootless, " if docker.rootless else "Docker Desktop, " if docker.desktop else ""
    found = Finding("docker.ok", "ok", f"Docker {docker.server_version} ({kind}API {docker.api_version})", area="docker")
    return [found, *docker_gpu_findings(facts, plan)]


def unusable_finding(docker: DockerFacts) -> Finding:
    trouble = UNUSABLE[docker.state]
    said = {"detail": docker.detail or "", "socket": docker.socket or ""}
    title = trouble.title.format(**said).strip()
    return Finding(f"docker.{docker.state}", "warn", title, trouble.detail.format(**said), trouble.fix, "docker")


def why_no_docker(docker: DockerFacts) -> str:
    """Why Docker cannot be used here, as the doctor says it: one line with its fix."""
    if docker.state not in UNUSABLE:
        return "Docker cannot be used here"
    finding = unusable_finding(docker)
    detail = f" ({finding.detail})" if finding.detail else ""
    return f"{finding.title}{detail}; fix: {finding.fix}"


def docker_gpu_findings(facts: HostFacts, plan: Plan | None = None) -> list[Finding]:
    """Containers and the NVIDIA GPU: a warning, not a failure, because the plan then runs the labs
    natively on the GPU (decide.plan.choose_runtime); the fix gets GPU containers back."""
    docker = facts.docker
    if docker is None or not facts.nvidia or not facts.nvidia.gpus:
        return []
    if docker.nvidia_toolkit or "nvidia" in docker.runtimes or docker.desktop:
        return [Finding("docker.nvidia-runtime", "ok", "NVIDIA Container Toolkit present", area="docker")]
    # Here containers cannot reach the GPU, so a plan on cuda is one that runs natively (plan.choose_runtime).
    native = plan is not None and plan.device == "cuda"
    return [
        Finding(
            "docker.nvidia-runtime-missing",
            "warn",
            "Containers cannot reach the NVIDIA GPU",
            "The NVIDIA Container Toolkit is not installed (no nvidia runtime, no nvidia-ctk for CDI); "
            "`docker run --gpus` fails with 'could not select device driver'."
            + (" The labs run natively on the GPU meanwhile." if native else ""),
            "Install nvidia-container-toolkit, then: sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker",
            "docker",
            "labs",
        )
    ]
