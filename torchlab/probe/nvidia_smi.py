"""Parsers for nvidia-smi's text outputs: `-q`, the default table, and `--query-gpu --format=csv`.

Each takes the output as printed and returns NvidiaFacts; a failure message that nvidia-smi
printed instead of its report becomes `error`. Values nvidia-smi cannot give ("N/A", "ERR!")
become None.
"""

from __future__ import annotations

import csv
import io
import re

from torchlab.facts import MigDevice, NvidiaFacts, NvidiaGPU

_MISSING = {"", "N/A", "[N/A]", "ERR!", "Not Supported", "[Not Supported]", "Unknown Error"}
_ERROR_LINE = re.compile(
    r"has failed|Failed to|segmentation fault|No devices were found|Unable to determine|"
    r"NVML library version|couldn't communicate",
    re.IGNORECASE,
)
_QUERY_KEY = re.compile(r"^(\S.*?)\s+:\s?(.*)$")
_HEADER_VERSION = re.compile(r"(?:Driver|KMD) Version:\s*(\S+)")
_HEADER_CUDA = re.compile(r"CUDA (?:UMD )?Version:\s*(\S+)")
_MEMORY = re.compile(r"(\d+)MiB\s*/\s*(\d+)MiB")


def smi_value(text: str | None) -> str | None:
    """A value as nvidia-smi printed it, or None for "N/A", "ERR!" and "Deprecated, see ..."."""
    if text is None:
        return None
    text = text.strip()
    if text in _MISSING or text.startswith("Deprecated"):
        return None
    return text


def mig_mode(current: str | None, pending: str | None = None) -> str | None:
    """"Enabled"/"Disabled"; a pending change is shown as nvidia-smi does: "Enabled*"."""
    current, pending = smi_value(current), smi_value(pending)
    if current and pending and pending != current:
        return f"{pending}*"
    return current


def smi_error(text: str) -> str | None:
    """The failure lines nvidia-smi (or the shell running it) printed, as one line."""
    lines = [" ".join(line.split()) for line in text.splitlines() if _ERROR_LINE.search(line)]
    return " ".join(lines) or None


def _mib(text: str | None) -> int | None:
    match = re.match(r"(\d+)", smi_value(text) or "")
    return int(match.group(1)) if match else None


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "nothing")


# nvidia-smi -q ---------------------------------------------------------------------------


def parse_smi_query(text: str) -> NvidiaFacts:
    """`nvidia-smi -q` (same text as `nvidia-smi -a`)."""
    top, gpus = _query_sections(text)
    if not top and not gpus:
        return NvidiaFacts(source="nvidia-smi-q", error=smi_error(text) or _first_line(text))
    return NvidiaFacts(
        source="nvidia-smi-q",
        driver_version=smi_value(top.get("Driver Version")) or smi_value(top.get("KMD Version")),
        cuda_driver_version=smi_value(top.get("CUDA Version")) or smi_value(top.get("CUDA UMD Version")),
        gpus=tuple(_query_gpu(index, keys) for index, keys in enumerate(gpus)),
        error=smi_error(text) if not gpus else None,
    )


def _query_gpu(index: int, keys: dict[str, str]) -> NvidiaGPU:
    return NvidiaGPU(
        index=index,
        name=keys.get("Product Name", "").strip(),
        uuid=smi_value(keys.get("GPU UUID")),
        memory_total_mib=_mib(keys.get("FB Memory Usage/Total")),
        mig_mode=mig_mode(keys.get("MIG Mode/Current"), keys.get("MIG Mode/Pending")),
    )


def _query_sections(text: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Top-level keys and, per "GPU <bus id>" block, keys as "Section/Sub/Key" (first wins)."""
    top: dict[str, str] = {}
    gpus: list[dict[str, str]] = []
    path: list[str] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("="):
            continue
        level = (len(line) - len(line.lstrip(" "))) // 4
        match = _QUERY_KEY.match(line.strip())
        if match is None:
            if level == 0 and line.startswith("GPU "):
                gpus.append({})
            path = path[:level] + [line.strip()]
            continue
        key = "/".join([*path[1:level], match.group(1)])
        (gpus[-1] if gpus and level > 0 else top).setdefault(key, match.group(2))
    return top, gpus


# nvidia-smi (the default table) --------------------------------------------------------------


def parse_smi_table(text: str) -> NvidiaFacts:
    """The default `nvidia-smi` table; GPU names are kept as printed ("NVIDIA GeForce ...")."""
    header = next((line for line in text.splitlines() if "NVIDIA-SMI " in line), None)
    version = _HEADER_VERSION.search(header) if header else None
    cuda = _HEADER_CUDA.search(header) if header else None
    gpus = tuple(_table_gpu(block) for block in _gpu_blocks(text))
    error = smi_error(text)
    if header is None and error is None:
        error = f"not nvidia-smi output: {_first_line(text)}"
    return NvidiaFacts(
        source="nvidia-smi",
        driver_version=smi_value(version.group(1)) if version else None,
        cuda_driver_version=smi_value(cuda.group(1)) if cuda else None,
        gpus=gpus,
        error=error if not gpus else None,
    )


def _gpu_blocks(text: str) -> list[list[list[str]]]:
    """The GPU table's rows, grouped per GPU, each row split into its cells."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if "GPU  Name" in line), None)
    if start is None:
        return []
    blocks: list[list[list[str]]] = [[]]
    for line in lines[start:]:
        if not line.startswith(("|", "+")):
            break
        if line.startswith("+") or line.startswith("|="):
            blocks.append([])
        else:
            blocks[-1].append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return [block for block in blocks if block and re.match(r"\d+\s", block[0][0])]


def _table_gpu(block: list[list[str]]) -> NvidiaGPU:
    # First cell of the first row: "<index>  <name>  <persistence mode or driver model>".
    index, rest = block[0][0].split(None, 1)
    name = rest.rsplit(None, 1)[0] if len(rest.split()) > 1 else rest
    memory = _MEMORY.search(block[1][1]) if len(block) > 1 and len(block[1]) > 1 else None
    mig = block[2][-1] if len(block) > 2 else None
    return NvidiaGPU(
        index=int(index),
        name=name.strip(),
        memory_total_mib=int(memory.group(2)) if memory else None,
        mig_mode=mig_mode(mig),
    )


# nvidia-smi --query-gpu=... --format=csv --------------------------------------------------


def parse_smi_csv(text: str) -> NvidiaFacts:
    """`nvidia-smi --query-gpu=<fields> --format=csv`; any subset of fields, with or without units."""
    rows = [row for row in csv.reader(io.StringIO(text.strip())) if row]
    header = [field.strip().split(" [")[0] for field in rows[0]] if rows else []
    if not {"driver_version", "name", "uuid", "mig.mode.current", "pci.bus_id"} & set(header):
        return NvidiaFacts(source="nvidia-smi-csv", error=smi_error(text) or _first_line(text))
    records = [dict(zip(header, (cell.strip() for cell in row))) for row in rows[1:]]
    drivers = [smi_value(record.get("driver_version")) for record in records]
    return NvidiaFacts(
        source="nvidia-smi-csv",
        driver_version=next((driver for driver in drivers if driver), None),
        gpus=tuple(_csv_gpu(position, record) for position, record in enumerate(records)),
    )


def _csv_gpu(position: int, record: dict[str, str]) -> NvidiaGPU:
    index = smi_value(record.get("index"))
    return NvidiaGPU(
        index=int(index) if index and index.isdigit() else position,
        name=smi_value(record.get("name")) or "",
        uuid=smi_value(record.get("uuid")),
        compute_capability=smi_value(record.get("compute_cap")),
        memory_total_mib=_mib(record.get("memory.total")),
        mig_mode=mig_mode(record.get("mig.mode.current"), record.get("mig.mode.pending")),
    )


GPU_LINE = re.compile(r"^GPU\s+(\d+):\s*(.*?)\s*\(UUID:\s*([^)\s]+)\)")
MIG_LINE = re.compile(r"^\s+MIG\s+(\S+)\s+Device\s+(\d+):\s*\(UUID:\s*(MIG-[^)\s]+)\)")


def parse_smi_list(text: str) -> tuple[MigDevice, ...]:
    """The MIG instances in `nvidia-smi -L` output, each under the GPU it belongs to."""
    found: list[MigDevice] = []
    gpu = -1
    for line in text.splitlines():
        whole = GPU_LINE.match(line)
        if whole:
            gpu = int(whole.group(1))
            continue
        mig = MIG_LINE.match(line)
        if mig and gpu >= 0:
            found.append(MigDevice(gpu, mig.group(1), mig.group(3)))
    return tuple(found)
