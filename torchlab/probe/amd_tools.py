"""Parsers for AMD's tools: rocm-smi (JSON, CSV, "GPU[n] : key: value" text, the concise
table), rocminfo and amd-smi's "GPU: n" listings. Each returns AmdFacts; output that is not
what the parser reads (a failure message instead) becomes `error`.
"""

from __future__ import annotations

import csv
import io
import json
import re

from torchlab.facts import AmdFacts, AmdGPU

_CARD = re.compile(r"^card(\d+)$")
_TEXT_LINE = re.compile(r"^GPU\[(\d+)\]\s*:\s*([^:]+?):\s*(.*)$")
_CONCISE_ROW = re.compile(r"^(\d+)\s+\[(0x[0-9a-fA-F]+)\s*:\s*0x[0-9a-fA-F]+\]")
_GFX = re.compile(r"gfx[0-9a-f]+")


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "nothing")


def _hex(text: str | None) -> int | None:
    match = re.match(r"\s*0x([0-9a-fA-F]+)\s*$", text or "")
    return int(match.group(1), 16) if match else None


def _product_name(text: str | None) -> str | None:
    """rocm-smi's "Card series"; old releases print a PCI id ("0x738c") there, not a name."""
    text = (text or "").strip()
    return None if not text or text in ("N/A", "Unknown") or _hex(text) is not None else text


# rocm-smi: one "card<N>" -> {key: value} mapping behind JSON, CSV and text ---------------------


def _cards_to_facts(cards: dict[str, dict[str, str]], source: str) -> AmdFacts:
    gpus = []
    for card, values in cards.items():
        match = _CARD.match(card)
        if match:
            gpus.append(_card_gpu(int(match.group(1)), {k.lower(): v for k, v in values.items()}))
    system = {k.lower(): v for k, v in cards.get("system", {}).items()}
    return AmdFacts(
        source=source,
        gpus=tuple(sorted(gpus, key=lambda gpu: gpu.index)),
        driver_version=(system.get("driver version") or "").strip() or None,
    )


def _card_gpu(index: int, values: dict[str, str]) -> AmdGPU:
    vram = (values.get("vram total memory (b)") or "").strip()
    gfx = _GFX.search(values.get("gfx version", ""))
    return AmdGPU(
        index=index,
        gfx_target=gfx.group(0) if gfx else None,
        name=_product_name(values.get("device name")) or _product_name(values.get("card series")),
        vram_bytes=int(vram) if vram.isdigit() else None,
        device_id=_hex(values.get("device id")),
    )


def parse_rocm_smi_json(text: str) -> AmdFacts:
    """`rocm-smi ... --json`: {"card0": {...}, "system": {"Driver version": ...}}."""
    try:
        # Some releases print a warning line before the JSON document.
        data = json.loads(text[text.find("{") :] if "{" in text else text)
    except ValueError:
        return AmdFacts(source="rocm-smi", error=f"rocm-smi printed no JSON: {_first_line(text)}")
    if not isinstance(data, dict):
        return AmdFacts(source="rocm-smi", error="rocm-smi JSON: expected an object of cards")
    cards = {key: value for key, value in data.items() if isinstance(value, dict)}
    return _cards_to_facts(cards, "rocm-smi")


def parse_rocm_smi_csv(text: str) -> AmdFacts:
    """`rocm-smi --showproductname --csv`, `--showdriverversion --csv` and the like."""
    rows = [row for row in csv.reader(io.StringIO(text.strip())) if row]
    if not rows or rows[0][0].strip() != "device":
        return AmdFacts(source="rocm-smi", error=f"not rocm-smi CSV: {_first_line(text)}")
    header = [field.strip() for field in rows[0]]
    cards = {}
    for row in rows[1:]:
        name = row[0].strip()
        cards["system" if name == "cardsystem" else name] = dict(zip(header[1:], row[1:]))
    return _cards_to_facts(cards, "rocm-smi")


def parse_rocm_smi_text(text: str) -> AmdFacts:
    """rocm-smi's "GPU[0]  : Card series:  ..." report (`--showproductname`, `-a`)."""
    cards: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        match = _TEXT_LINE.match(line.strip())
        if match:
            cards.setdefault(f"card{match.group(1)}", {}).setdefault(match.group(2), match.group(3))
        elif line.startswith("Driver version:"):
            cards["system"] = {"Driver version": line.split(":", 1)[1]}
    if not cards:
        return AmdFacts(source="rocm-smi", error=f"not a rocm-smi report: {_first_line(text)}")
    return _cards_to_facts(cards, "rocm-smi")


def parse_rocm_smi_concise(text: str) -> AmdFacts:
    """Plain `rocm-smi`: one "<n>  [<device id> : <rev>] ..." row per GPU, its name below."""
    lines = text.splitlines()
    gpus = []
    for number, line in enumerate(lines):
        match = _CONCISE_ROW.match(line)
        if match:
            below = lines[number + 1].strip() if number + 1 < len(lines) else ""
            name = below if below and not below.startswith("=") else None
            gpus.append(AmdGPU(index=int(match.group(1)), name=name, device_id=_hex(match.group(2))))
    if not gpus:
        return AmdFacts(source="rocm-smi", error=f"no GPU rows in rocm-smi output: {_first_line(text)}")
    return AmdFacts(source="rocm-smi", gpus=tuple(gpus))


# rocminfo -------------------------------------------------------------------------------------


def parse_rocminfo(text: str) -> AmdFacts:
    """`rocminfo`: the GPU agents with their gfx name, marketing name, chip id and KFD node."""
    agents = re.split(r"(?m)^Agent \d+\s*$", text)[1:]
    if not agents:
        return AmdFacts(source="rocminfo", error=_first_line(text))
    gpus = []
    for agent in agents:
        fields = _agent_fields(agent)
        if fields.get("Device Type") == "GPU":
            gpus.append(_agent_gpu(len(gpus), fields, agent))
    return AmdFacts(source="rocminfo", gpus=tuple(gpus))


def _agent_fields(agent: str) -> dict[str, str]:
    """The agent's own "  Key: value" lines (two-space indent; deeper ones are ISAs, pools)."""
    fields: dict[str, str] = {}
    for line in agent.splitlines():
        if line.startswith("  ") and not line.startswith("   ") and ":" in line:
            key, value = line.strip().split(":", 1)
            fields.setdefault(key.strip(), value.strip())
    return fields


def _agent_gpu(index: int, fields: dict[str, str], agent: str) -> AmdGPU:
    chip = re.search(r"\(0x([0-9a-fA-F]+)\)", fields.get("Chip ID", ""))
    node = fields.get("Node", "")
    gfx = _GFX.fullmatch(fields.get("Name", ""))
    return AmdGPU(
        index=index,
        gfx_target=gfx.group(0) if gfx else None,
        name=fields.get("Marketing Name") or None,
        vram_bytes=_coarse_pool_bytes(agent),
        device_id=int(chip.group(1), 16) if chip else None,
        kfd_node=int(node) if node.isdigit() else None,
    )


def _coarse_pool_bytes(agent: str) -> int | None:
    """The GPU's VRAM: the size of its first GLOBAL, COARSE GRAINED memory pool."""
    match = re.search(r"Segment:\s+GLOBAL; FLAGS: COARSE GRAINED\s*\n\s*Size:\s+(\d+)\(", agent)
    return int(match.group(1)) * 1024 if match else None


# amd-smi -------------------------------------------------------------------------------------


def parse_amd_smi(text: str) -> AmdFacts:
    """`amd-smi list` and `amd-smi static`: "GPU: <n>" blocks of "KEY: value" lines."""
    blocks: dict[int, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text.splitlines():
        key, _, value = line.strip().partition(":")
        if line.startswith("GPU:") and value.strip().isdigit():
            current = blocks.setdefault(int(value), {})
        elif current is not None and value.strip():
            current.setdefault(key.strip(), value.strip())
    if not blocks:
        return AmdFacts(source="amd-smi", error=f"not amd-smi output: {_first_line(text)}")
    return AmdFacts(source="amd-smi", gpus=tuple(_amd_smi_gpu(i, v) for i, v in sorted(blocks.items())))


def _amd_smi_gpu(index: int, values: dict[str, str]) -> AmdGPU:
    gfx = _GFX.fullmatch(values.get("TARGET_GRAPHICS_VERSION", ""))
    node = values.get("NODE_ID", "")
    return AmdGPU(
        index=index,
        gfx_target=gfx.group(0) if gfx else None,
        name=_product_name(values.get("MARKET_NAME")),
        device_id=_hex(values.get("DEVICE_ID")),
        kfd_node=int(node) if node.isdigit() else None,
    )
