"""GPUs spread over seats, pure: whole devices round-robin, the MIG instances of a GPU that has MIG
on (each instance is one seat's GPU), no GPU for a CPU class. From the probe's facts (which list the
MIG instances `nvidia-smi -L` shows where a GPU has MIG on).

AMD GPUs are spread by ROCR_VISIBLE_DEVICES (every seat sees /dev/kfd and /dev/dri, as ROCm
containers must); that spreads the work, it does not fence it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Union

from torchlab.errors import USAGE, UserError
from torchlab.facts import HostFacts, MigDevice, NvidiaGPU

AMD_DEVICES = ("/dev/kfd", "/dev/dri")

Wanted = Union[str, tuple[int, ...]]  # "all" | "none" | GPU indices


@dataclass(frozen=True)
class GpuSlot:
    """One seat's share of the machine's GPUs."""

    kind: str  # "none" | "nvidia" | "nvidia-mig" | "amd"
    device: str  # "" | a GPU's UUID (or index) | a MIG instance's UUID | an AMD GPU's index
    name: str  # what the TA reads: "GPU 0 (NVIDIA H100 80GB HBM3)", "MIG 1g.10gb of GPU 0", "none"

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "device": self.device, "name": self.name}


NO_GPU = GpuSlot("none", "", "none")


@dataclass(frozen=True)
class Seat:
    name: str  # the seat's JupyterHub user: seat-01, seat-02, ...
    gpu: GpuSlot


def seat_names(count: int) -> tuple[str, ...]:
    width = max(2, len(str(count)))
    return tuple(f"seat-{number:0{width}d}" for number in range(1, count + 1))


def parse_gpus_option(text: str) -> Wanted:
    """--gpus all | none | 0,1,...; anything else is a one-line usage error."""
    cleaned = text.strip().lower()
    if cleaned in ("all", "none"):
        return cleaned
    parts = [part.strip() for part in cleaned.split(",")]
    if not parts or not all(part.isdigit() for part in parts):
        raise UserError(f"--gpus {text}: expected all, none, or GPU indices such as 0,1", USAGE)
    return tuple(sorted({int(part) for part in parts}))


def host_gpus(facts: HostFacts) -> tuple[str, tuple[Any, ...]]:
    """("nvidia" | "amd" | "none", the GPUs) as the probe found them."""
    if facts.nvidia is not None and facts.nvidia.gpus:
        return "nvidia", facts.nvidia.gpus
    if facts.amd is not None and facts.amd.gpus:
        return "amd", facts.amd.gpus
    return "none", ()


def chosen(gpus: Sequence[Any], wanted: Wanted) -> list[Any]:
    if wanted == "none":
        return []
    if wanted == "all":
        return list(gpus)
    indices = {gpu.index for gpu in gpus}
    missing = [index for index in wanted if index not in indices]
    if missing:
        have = ", ".join(str(index) for index in sorted(indices)) or "none"
        raise UserError(f"--gpus {','.join(map(str, wanted))}: this host has no GPU {missing[0]} "
                        f"(its GPUs: {have}); expected all, none, or some of those", USAGE)
    return [gpu for gpu in gpus if gpu.index in wanted]


def nvidia_slots(gpu: NvidiaGPU, mig: Sequence[MigDevice]) -> list[GpuSlot]:
    """A GPU with MIG on gives its instances; one without gives itself."""
    if (gpu.mig_mode or "").startswith("Enabled") and gpu.mig_mode != "Enabled*":
        instances = [device for device in mig if device.gpu_index == gpu.index]
        if not instances:
            raise UserError(f"GPU {gpu.index} ({gpu.name}) has MIG on but no MIG instances: make them "
                            "(sudo nvidia-smi mig -cgi PROFILES -C) or turn MIG off (sudo nvidia-smi -i "
                            f"{gpu.index} -mig 0); or give the class other GPUs with --gpus", USAGE)
        return [GpuSlot("nvidia-mig", device.uuid, f"MIG {device.profile} of GPU {gpu.index}") for device in instances]
    return [GpuSlot("nvidia", gpu.uuid or str(gpu.index), f"GPU {gpu.index} ({gpu.name})")]


def gpu_slots(facts: HostFacts, wanted: Wanted) -> tuple[GpuSlot, ...]:
    """The GPU shares seats are dealt from, in order; none for a CPU class."""
    kind, gpus = host_gpus(facts)
    picked = chosen(gpus, wanted)
    if kind == "nvidia" and facts.nvidia is not None:
        return tuple(slot for gpu in picked for slot in nvidia_slots(gpu, facts.nvidia.mig_devices))
    return tuple(GpuSlot("amd", str(gpu.index), f"GPU {gpu.index} ({gpu.name or gpu.gfx_target})") for gpu in picked)


def assign(names: Sequence[str], slots: Sequence[GpuSlot]) -> tuple[Seat, ...]:
    """Seats take the slots round-robin: with 4 GPUs and 12 seats, three seats share each GPU."""
    if not slots:
        return tuple(Seat(name, NO_GPU) for name in names)
    return tuple(Seat(name, slots[number % len(slots)]) for number, name in enumerate(names))


def docker_gpu(slot: GpuSlot, amd_groups: Sequence[int] = ()) -> tuple[dict[str, Any], dict[str, str]]:
    """(host config, environment) that give a container its slot: NVIDIA through a device request
    for that device (a MIG instance is a device too), AMD through the ROCm devices and a visible
    device, nothing for none."""
    if slot.kind in ("nvidia", "nvidia-mig"):
        request = {"device_ids": [slot.device], "capabilities": [["gpu"]]}
        return {"device_requests": [request]}, {"NVIDIA_DRIVER_CAPABILITIES": "compute,utility"}
    if slot.kind == "amd":
        host: dict[str, Any] = {"devices": [f"{path}:{path}:rwm" for path in AMD_DEVICES]}
        if amd_groups:
            host["group_add"] = [str(gid) for gid in amd_groups]
        return host, {"ROCR_VISIBLE_DEVICES": slot.device}
    return {}, {}
