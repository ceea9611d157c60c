"""NVIDIA: the driver, the newest CUDA it supports, and its GPUs.

The live probe asks NVML first (nvidia-ml-py), then `nvidia-smi -q -x`, then
/proc/driver/nvidia/version. The parsers also read recorded nvidia-smi outputs, so they are
tested from real outputs on machines without a GPU. Text parsers live in nvidia_smi.py.
"""

from __future__ import annotations

import contextlib
import platform
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from torchlab.facts import MigDevice, NvidiaFacts, NvidiaGPU
from torchlab.probe.nvidia_smi import (
    parse_smi_list,
    mig_mode,
    parse_smi_csv,
    parse_smi_query,
    parse_smi_table,
    smi_error,
    smi_value,
)
from torchlab.run import run_command

__all__ = [
    "cuda_version_from_int",
    "is_wsl2",
    "parse_proc_version",
    "parse_smi_csv",
    "parse_smi_query",
    "parse_smi_table",
    "parse_smi_xml",
    "probe_nvidia",
]

SMI_TIMEOUT_S = 20.0
WSL_LIBCUDA = "usr/lib/wsl/lib/libcuda.so.1"
_NVRM = re.compile(r"NVRM version:.*?Kernel Module(?: for \S+)?\s+(\d+(?:\.\d+)+)")
_NVML_MIG = {0: "Disabled", 1: "Enabled"}


def cuda_version_from_int(value: int) -> str:
    """cuDriverGetVersion / NVML packing: 12040 -> "12.4", 13010 -> "13.1"."""
    return f"{value // 1000}.{(value % 1000) // 10}"


def parse_smi_xml(text: str) -> NvidiaFacts:
    """`nvidia-smi -q -x`: driver, CUDA version and each <gpu>."""
    try:
        root = ET.fromstring(text.strip())
    except ET.ParseError as exc:
        return NvidiaFacts(source="nvidia-smi-xml", error=f"nvidia-smi -q -x: no readable XML ({exc})")
    gpus = tuple(_xml_gpu(index, gpu) for index, gpu in enumerate(root.findall("gpu")))
    return NvidiaFacts(
        source="nvidia-smi-xml",
        driver_version=smi_value(root.findtext("driver_version")),
        cuda_driver_version=smi_value(root.findtext("cuda_version")),
        gpus=gpus,
    )


def _xml_gpu(index: int, gpu: ET.Element) -> NvidiaGPU:
    total = smi_value(gpu.findtext("fb_memory_usage/total"))
    return NvidiaGPU(
        index=index,
        name=(gpu.findtext("product_name") or "").strip(),
        uuid=smi_value(gpu.findtext("uuid")),
        memory_total_mib=int(total.split()[0]) if total else None,
        mig_mode=mig_mode(gpu.findtext("mig_mode/current_mig"), gpu.findtext("mig_mode/pending_mig")),
    )


def parse_proc_version(text: str) -> NvidiaFacts:
    """/proc/driver/nvidia/version: the kernel module's version ("NVRM version: ...")."""
    match = _NVRM.search(text)
    if match is None:
        first = text.strip().splitlines()[0] if text.strip() else "nothing"
        return NvidiaFacts(source="proc", error=f"/proc/driver/nvidia/version not understood: {first}")
    version = match.group(1)
    if int(version.split(".")[0]) < 100:
        # Jetson kernel modules print the L4T release (35.3.1), not a desktop driver version.
        return NvidiaFacts(
            source="proc",
            error=f"the NVIDIA kernel module reports L4T (Jetson) release {version}, not a driver version",
        )
    return NvidiaFacts(source="proc", driver_version=version)


def is_wsl2(proc_version: str) -> bool:
    """/proc/version of a WSL2 kernel ("...-microsoft-standard[-WSL2]"); WSL1 says "-Microsoft"."""
    lowered = proc_version.lower()
    return "microsoft-standard" in lowered or "wsl2" in lowered


def probe_nvidia(env: Mapping[str, str], root: Path = Path("/")) -> NvidiaFacts | None:
    """Ask NVML, then nvidia-smi, then the kernel module; None when there is no sign of NVIDIA."""
    wsl_libcuda = _wsl_libcuda(root)
    nvml = _ask_nvml() if _driver_signs(root) else None
    if nvml is not None and nvml.error is None:
        return replace(nvml, wsl_libcuda=wsl_libcuda, mig_devices=_ask_mig(nvml, env))
    smi = _ask_smi(env)
    if smi is not None and smi.error is None:
        return replace(smi, wsl_libcuda=wsl_libcuda, mig_devices=_ask_mig(smi, env))
    failed = next((facts for facts in (nvml, smi) if facts is not None), None)
    proc = _ask_proc(root)
    if proc is not None:
        facts = replace(proc, error=failed.error) if failed else proc
    elif failed is not None:
        facts = failed
    elif wsl_libcuda:
        facts = NvidiaFacts(source="wsl", error="WSL2 has libcuda.so.1 but NVML and nvidia-smi did not answer")
    else:
        return None
    return replace(facts, wsl_libcuda=wsl_libcuda)


def _driver_signs(root: Path) -> bool:
    """Whether NVML is worth loading: importing nvidia-ml-py alone costs ~0.2 s, doctor's budget."""
    if platform.system() != "Linux":
        return True
    signs = ("proc/driver/nvidia", "dev/nvidiactl", "usr/lib/wsl/lib/libnvidia-ml.so.1")
    return any((root / sign).exists() for sign in signs) or shutil.which("nvidia-smi") is not None


def _wsl_libcuda(root: Path) -> bool | None:
    """WSL2 only: whether the Windows driver's libcuda.so.1 is mounted into the distribution."""
    try:
        proc_version = (root / "proc/version").read_text(errors="replace")
    except OSError:
        return None
    return (root / WSL_LIBCUDA).exists() if is_wsl2(proc_version) else None


def _ask_proc(root: Path) -> NvidiaFacts | None:
    try:
        text = (root / "proc/driver/nvidia/version").read_text(errors="replace")
    except OSError:
        return None
    return parse_proc_version(text)


def _ask_smi(env: Mapping[str, str]) -> NvidiaFacts | None:
    """`nvidia-smi -q -x`; None when nvidia-smi is not installed."""
    result = run_command(["nvidia-smi", "-q", "-x"], timeout=SMI_TIMEOUT_S, env=env)
    if result is None:
        return None
    if result.ok:
        facts = parse_smi_xml(result.stdout)
        if facts.error is None:
            return facts
    output = f"{result.stdout}\n{result.stderr}"
    error = smi_error(output) or f"nvidia-smi failed (exit status {result.returncode})"
    return NvidiaFacts(source="nvidia-smi", error=error)


def _ask_mig(facts: NvidiaFacts, env: Mapping[str, str]) -> tuple[MigDevice, ...]:
    """The MIG instances (`nvidia-smi -L`), asked only when a GPU has MIG on: nothing runs otherwise."""
    if not any((gpu.mig_mode or "").startswith("Enabled") for gpu in facts.gpus):
        return ()
    listed = run_command(["nvidia-smi", "-L"], timeout=SMI_TIMEOUT_S, env=env)
    return parse_smi_list(listed.stdout) if listed is not None and listed.ok else ()


def _ask_nvml() -> NvidiaFacts | None:
    """NVML through nvidia-ml-py; None when the NVML library is not on this machine."""
    try:
        import pynvml  # start-up: nvidia-ml-py takes ~0.2 s to import; only where a driver shows
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError_LibraryNotFound:
        return None
    except pynvml.NVMLError as exc:
        return NvidiaFacts(source="nvml", error=f"NVML: {exc}")
    try:
        return _nvml_facts(pynvml)
    except pynvml.NVMLError as exc:
        return NvidiaFacts(source="nvml", error=f"NVML: {exc}")
    finally:
        with contextlib.suppress(pynvml.NVMLError):
            pynvml.nvmlShutdown()


def _nvml_facts(nvml: Any) -> NvidiaFacts:
    cuda = _nvml_optional(nvml, nvml.nvmlSystemGetCudaDriverVersion_v2)
    count = nvml.nvmlDeviceGetCount()
    return NvidiaFacts(
        source="nvml",
        driver_version=_text(nvml.nvmlSystemGetDriverVersion()),
        cuda_driver_version=cuda_version_from_int(cuda) if cuda else None,
        gpus=tuple(_nvml_gpu(nvml, index) for index in range(count)),
    )


def _nvml_gpu(nvml: Any, index: int) -> NvidiaGPU:
    handle = nvml.nvmlDeviceGetHandleByIndex(index)
    capability = _nvml_optional(nvml, nvml.nvmlDeviceGetCudaComputeCapability, handle)
    memory = _nvml_optional(nvml, nvml.nvmlDeviceGetMemoryInfo, handle)
    modes = _nvml_optional(nvml, nvml.nvmlDeviceGetMigMode, handle)
    return NvidiaGPU(
        index=index,
        name=_text(_nvml_optional(nvml, nvml.nvmlDeviceGetName, handle)) or "",
        uuid=_text(_nvml_optional(nvml, nvml.nvmlDeviceGetUUID, handle)),
        compute_capability=f"{capability[0]}.{capability[1]}" if capability else None,
        memory_total_mib=int(memory.total) // 2**20 if memory else None,
        mig_mode=mig_mode(_NVML_MIG.get(modes[0]), _NVML_MIG.get(modes[1])) if modes else None,
    )


def _nvml_optional(nvml: Any, call: Callable[..., Any], *args: Any) -> Any:
    """One NVML query that a GPU may not support (MIG on a GeForce): None instead of an error."""
    try:
        return call(*args)
    except nvml.NVMLError:
        return None


def _text(value: str | bytes | None) -> str | None:
    """Older nvidia-ml-py releases return bytes."""
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value
