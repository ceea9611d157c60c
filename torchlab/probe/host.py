"""All the facts about this host in one HostFacts. The probes that wait (the engine's API,
nvidia-smi or NVML, rocm-smi, system_profiler) run in threads beside the ones that only read
files, so doctor waits for the slowest probe, not for their sum."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from torchlab.facts import DiskFacts, DockerFacts, HostFacts
from torchlab.probe.amd import probe_amd
from torchlab.probe.apple import probe_apple
from torchlab.probe.docker import probe_docker
from torchlab.probe.nvidia import probe_nvidia
from torchlab.probe.pci import pci_gpu_vendors
from torchlab.probe.system import probe_cpu, probe_disk, probe_memory, probe_os


def probe_host(env: Mapping[str, str], data_dir: Path, with_torch: bool = False) -> HostFacts:
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="torchlab-probe") as pool:
        docker = pool.submit(lambda: with_toolkit(probe_docker(env)))
        nvidia, amd, apple = pool.submit(probe_nvidia, env), pool.submit(probe_amd, env), pool.submit(probe_apple)
        torch = None
        if with_torch:
            from torchlab.probe.torch import probe_torch  # start-up: it imports torch (seconds); only with --torch

            torch = probe_torch()
        local = {"os": probe_os(), "cpu": probe_cpu(), "memory": probe_memory(), "pci_gpu_vendors": pci_gpu_vendors()}
        return HostFacts(**local, disks=disks(data_dir, docker.result()), nvidia=nvidia.result(), amd=amd.result(),
                         apple=apple.result(), docker=docker.result(), torch=torch)


def with_toolkit(docker: DockerFacts) -> DockerFacts:
    """The NVIDIA Container Toolkit is what `--gpus` needs on the host, whatever the engine says."""
    toolkit = any(shutil.which(tool) for tool in ("nvidia-container-runtime-hook", "nvidia-ctk"))
    return replace(docker, nvidia_toolkit=toolkit)


def disks(data_dir: Path, docker: DockerFacts) -> tuple[DiskFacts, ...]:
    found = [probe_disk("data", data_dir)]
    if docker.storage_root and not docker.desktop:  # Desktop keeps images inside its VM
        found.append(probe_disk("docker", Path(docker.storage_root)))
    return tuple(found)
