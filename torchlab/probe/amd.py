"""AMD: ROCm-capable GPUs, their gfx targets, the ROCm release and HSA_OVERRIDE_GFX_VERSION.

The live probe reads the amdkfd topology in sysfs (no ROCm install needed) and, when present,
rocm-smi for product names and the driver version. The parsers also read recorded outputs of
rocm-smi, rocminfo and amd-smi; see amd_tools.py for those.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from torchlab.facts import AmdFacts, AmdGPU
from torchlab.probe.amd_tools import (
    parse_amd_smi,
    parse_rocm_smi_concise,
    parse_rocm_smi_csv,
    parse_rocm_smi_json,
    parse_rocm_smi_text,
    parse_rocminfo,
)
from torchlab.run import run_command

__all__ = [
    "amd_gpu_from_kfd",
    "gfx_target_from_kfd",
    "parse_amd_smi",
    "parse_kfd_properties",
    "parse_rocm_smi_concise",
    "parse_rocm_smi_csv",
    "parse_rocm_smi_json",
    "parse_rocm_smi_text",
    "parse_rocminfo",
    "probe_amd",
]

KFD_NODES = "sys/class/kfd/kfd/topology/nodes"
ROCM_VERSION_FILE = "opt/rocm/.info/version"
ROCM_SMI_TIMEOUT_S = 20.0
_GFX_NAME = re.compile(r"^gfx[0-9a-f]+$")


def parse_kfd_properties(text: str) -> dict[str, int]:
    """A KFD topology node's `properties` file: "name value" lines of integers."""
    properties: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            properties[parts[0]] = int(parts[1])
    return properties


def gfx_target_from_kfd(version: int) -> str | None:
    """KFD gfx_target_version: major*10000 + minor*100 + stepping; minor and stepping in hex.

    90010 -> "gfx90a", 90402 -> "gfx942", 100300 -> "gfx1030"; 0 (a CPU node) -> None.
    """
    if version <= 0:
        return None
    major, minor, stepping = version // 10000, (version // 100) % 100, version % 100
    return f"gfx{major}{minor:x}{stepping:x}"


def amd_gpu_from_kfd(node: int, text: str, index: int = 0) -> AmdGPU | None:
    """One KFD node as a GPU; None for a CPU node (no SIMDs)."""
    properties = parse_kfd_properties(text)
    if properties.get("simd_count", 0) == 0:
        return None
    # Kernels from about 5.x on report VRAM in mem_banks/, leaving local_mem_size at 0.
    vram = properties.get("local_mem_size", 0)
    return AmdGPU(
        index=index,
        gfx_target=gfx_target_from_kfd(properties.get("gfx_target_version", 0)),
        vram_bytes=vram or None,
        device_id=properties.get("device_id") or None,
        kfd_node=node,
    )


def probe_amd(env: Mapping[str, str], root: Path = Path("/")) -> AmdFacts | None:
    """KFD topology, then rocm-smi; None when neither shows an AMD GPU stack."""
    gpus = _kfd_gpus(root)
    smi = _ask_rocm_smi(env)
    if gpus:
        facts = _merge(gpus, smi)
    elif smi is not None:
        facts = smi
    else:
        return None
    return replace(
        facts,
        rocm_version=_rocm_version(root),
        hsa_override_gfx_version=env.get("HSA_OVERRIDE_GFX_VERSION"),
    )


def _kfd_gpus(root: Path) -> tuple[AmdGPU, ...]:
    nodes = root / KFD_NODES
    if not nodes.is_dir():
        return ()
    gpus: list[AmdGPU] = []
    numbered = sorted((int(path.name), path) for path in nodes.iterdir() if path.name.isdigit())
    for node, path in numbered:
        gpu = amd_gpu_from_kfd(node, _read(path / "properties") or "", index=len(gpus))
        if gpu is not None:
            gpus.append(_with_node_name(gpu, _read(path / "name")))
    return tuple(gpus)


def _with_node_name(gpu: AmdGPU, name: str | None) -> AmdGPU:
    """A node's `name` file: a gfx name on some kernels, a chip name ("vega10") on others."""
    name = (name or "").strip()
    if not name:
        return gpu
    if _GFX_NAME.match(name):
        return gpu if gpu.gfx_target else replace(gpu, gfx_target=name)
    return replace(gpu, name=name)


def _merge(gpus: tuple[AmdGPU, ...], smi: AmdFacts | None) -> AmdFacts:
    """KFD GPUs, with rocm-smi's product names and VRAM when it lists as many cards."""
    if smi is None:
        return AmdFacts(source="kfd", gpus=gpus)
    if len(smi.gpus) == len(gpus):
        gpus = tuple(
            replace(gpu, name=card.name or gpu.name, vram_bytes=gpu.vram_bytes or card.vram_bytes)
            for gpu, card in zip(gpus, smi.gpus)
        )
    return AmdFacts(source="kfd", gpus=gpus, driver_version=smi.driver_version, error=smi.error)


def _ask_rocm_smi(env: Mapping[str, str]) -> AmdFacts | None:
    argv = ["rocm-smi", "--showproductname", "--showdriverversion", "--showmeminfo", "vram", "--json"]
    result = run_command(argv, timeout=ROCM_SMI_TIMEOUT_S, env=env)
    if result is None:
        return None
    facts = parse_rocm_smi_json(result.stdout)
    if facts.error is not None:
        message = (result.stderr.strip() or result.stdout.strip() or facts.error).splitlines()[-1]
        return replace(facts, error=f"rocm-smi: {message}")
    return facts


def _rocm_version(root: Path) -> str | None:
    text = _read(root / ROCM_VERSION_FILE)
    return text.strip().splitlines()[0] if text and text.strip() else None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None
