"""All the facts about this host in one HostFacts: the probes, run in order."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from torchlab.engine import probe_docker
from torchlab.facts import DiskFacts, DockerFacts, HostFacts
from torchlab.probe.amd import probe_amd
from torchlab.probe.apple import probe_apple
from torchlab.probe.nvidia import probe_nvidia
from torchlab.probe.pci import pci_gpu_vendors
from torchlab.probe.system import probe_cpu, probe_disk, probe_memory, probe_os


def probe_host(env: Mapping[str, str], data_dir: Path, with_torch: bool = False) -> HostFacts:
    docker = with_toolkit(probe_docker(env))
    torch = None
    if with_torch:
        from torchlab.probe.torch import probe_torch  # start-up: it imports torch (seconds); only with --torch

        torch = probe_torch()
    return HostFacts(
        os=probe_os(),
        cpu=probe_cpu(),
        memory=probe_memory(),
        disks=disks(data_dir, docker),
        nvidia=probe_nvidia(env),
        amd=probe_amd(env),
        apple=probe_apple(),
        docker=docker,
        torch=torch,
        pci_gpu_vendors=pci_gpu_vendors(),
    )


def with_toolkit(docker: DockerFacts) -> DockerFacts:
    """The NVIDIA Container Toolkit is what `--gpus` needs on the host, whatever the engine says."""
    toolkit = any(shutil.which(tool) for tool in ("nvidia-container-runtime-hook", "nvidia-ctk"))
    return replace(docker, nvidia_toolkit=toolkit)


def disks(data_dir: Path, docker: DockerFacts) -> tuple[DiskFacts, ...]:
    found = [probe_disk("data", data_dir)]
    if docker.storage_root and not docker.desktop:  # Desktop keeps images inside its VM
        found.append(probe_disk("docker", Path(docker.storage_root)))
    return tuple(found)
