"""Findings about the Docker engine and whether containers can reach the GPU."""

from __future__ import annotations

from torchlab.decide import Finding
from torchlab.facts import HostFacts


def docker_findings(facts: HostFacts) -> list[Finding]:
    docker = facts.docker
    if docker is None:
        return []
    if docker.state == "missing":
        return [
            Finding(
                "docker.missing",
                "warn",
                "Docker is not installed",
                "Labs will run natively in a virtual environment.",
                "Install Docker Engine (Linux: sudo apt-get install docker.io) or Docker Desktop",
                "docker",
            )
        ]
    if docker.state == "daemon-down":
        return [
            Finding(
                "docker.daemon-down",
                "warn",
                "The Docker daemon is not running",
                docker.detail or "",
                "sudo systemctl start docker  (Docker Desktop: start the app)",
                "docker",
            )
        ]
    if docker.state == "permission-denied":
        return [
            Finding(
                "docker.permission-denied",
                "warn",
                f"No permission to use Docker's socket {docker.socket or ''}".strip(),
                docker.detail or "",
                "sudo usermod -aG docker $USER, then log out and back in",
                "docker",
            )
        ]
    if docker.state == "error":
        return [
            Finding(
                "docker.error",
                "warn",
                "Docker did not answer",
                docker.detail or "",
                "docker info  (shows what the engine says)",
                "docker",
            )
        ]
    kind = "rootless, " if docker.rootless else "Docker Desktop, " if docker.desktop else ""
    found = [
        Finding(
            "docker.ok",
            "ok",
            f"Docker {docker.server_version} ({kind}API {docker.api_version})",
            area="docker",
        )
    ]
    return found + docker_gpu_findings(facts)


def docker_gpu_findings(facts: HostFacts) -> list[Finding]:
    docker = facts.docker
    if docker is None or not facts.nvidia or not facts.nvidia.gpus:
        return []
    if docker.nvidia_toolkit or "nvidia" in docker.runtimes or docker.desktop:
        return [Finding("docker.nvidia-runtime", "ok", "NVIDIA Container Toolkit present", area="docker")]
    return [
        Finding(
            "docker.nvidia-runtime-missing",
            "fail",
            "Containers cannot reach the NVIDIA GPU",
            "The NVIDIA Container Toolkit is not installed; `docker run --gpus` fails with 'could not select device driver'.",
            "Install nvidia-container-toolkit, then: sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker",
            "docker",
        )
    ]
