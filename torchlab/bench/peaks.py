"""Device peaks: a sourced table (each row's source in docs/BENCHMARKING.md) and a pure matcher.

Peaks are dense (no 2:4 sparsity), per device as torch sees it, in TFLOP/s for matmul and GB/s
for memory and the host link. fp16/bf16 are tensor rates with FP32 accumulate (what torch.mm
uses). A figure the source does not give is None, reported as "unknown", never guessed.
V = vendor figure, D = derived from units x clock, as in the source.

The CPU peak is an estimate: cores x clock x FP32 FLOP per cycle of the vector units the flags
show. It assumes two FMA units of the widest vector width, so it is an upper bound.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

# Host link, theoretical per direction (hpc-notes "PCI Express bus", base-10 GB).
PCIE = {"PCIe Gen3 x16": 15.7, "PCIe Gen4 x16": 31.5, "PCIe Gen5 x16": 63.0, "PCIe Gen4 x8": 15.75}


@dataclass(frozen=True)
class DevicePeak:
    """One row of the peaks table."""

    row: str
    names: tuple[str, ...]  # patterns, full match against normalized_name()
    fp32: Optional[float]
    tf32: Optional[float]
    fp16: Optional[float]
    bf16: Optional[float]
    memory_gbs: Optional[float]
    host_link: Optional[str]  # a PCIE key, or None (unified memory, or not stated)
    source: str
    memory_gib: Optional[float] = None  # a MIG slice, a partition or another SKU reports less
    units: Optional[int] = None  # SMs/CUs per torch device, where the source derives them
    gpu_cores: Optional[int] = None  # Apple: the GPU core count is part of the chip's name
    per_torch_device: int = 1  # MI250X: one OAM is two torch devices


def _nv(row, names, fp32, tf32, fp16, bf16, bw, link, source, memory=None, units=None):
    return DevicePeak(row, names, fp32, tf32, fp16, bf16, bw, link, source, memory, units)


_ML = "ml-engineering TFLOPS + memory tables"
TABLE: tuple[DevicePeak, ...] = (
    _nv("H100 SXM5", (r"h100 80gb hbm3", r"h100 sxm5? 80gb"), 67, 494.5, 989, 989, 3350, "PCIe Gen5 x16",
        f"{_ML} (cite nvidia.com/h100); V", 80, 132),
    _nv("H100 PCIe", (r"h100 pcie",), 51, 378, 756, 756, 2000, "PCIe Gen5 x16", f"{_ML}; V", 80),
    _nv("H200 SXM", (r"h200",), 67, 494.5, 989, 989, 4800, "PCIe Gen5 x16", f"{_ML} (cite nvidia.com/h200); V", 141),
    _nv("A100 40GB", (r"a100 sxm4 40gb", r"a100 pcie 40gb"), 19.5, 156, 312, 312, 1555, "PCIe Gen4 x16",
        "ml-engineering (A100 spec); 1,555 GB/s from mikasenghaas gist / NVIDIA; V", 40, 108),
    _nv("A100 80GB SXM", (r"a100 sxm4 80gb",), 19.5, 156, 312, 312, 2039, "PCIe Gen4 x16",
        "ml-engineering (A100 spec; 2.00 TB/s SXM); V", 80, 108),
    _nv("A100 80GB PCIe", (r"a100 80gb pcie", r"a100 pcie 80gb"), 19.5, 156, 312, 312, 1935, "PCIe Gen4 x16",
        "ml-engineering (A100 spec; 1.94 TB/s PCIe); V", 80, 108),
    _nv("L4", (r"l4",), 30.3, 60, 121, 121, 300, "PCIe Gen4 x16",
        "sourcecode.com spec compare; grokipedia (242 sparse); hmc-tech (tensor per-accumulate); V", 24),
    _nv("L40S", (r"l40s",), 91.6, 183, 362, 362, 864, "PCIe Gen4 x16", "ml-engineering (cites nvidia.com/l40s); V", 48),
    _nv("T4", (r"t4",), 8.1, None, 65, None, 320, "PCIe Gen3 x16",
        "geektopia/tomshardware launch; sysrqmts; V (no TF32, no BF16 tensor cores)", 16),
    _nv("V100 SXM2", (r"v100 sxm2 (16|32)gb",), 15.7, None, 125, None, 900, "PCIe Gen3 x16",
        "syhw gist (15.7 / 125); NVIDIA V100 datasheet (900 GB/s; not re-fetched); V"),
    _nv("V100 PCIe", (r"v100 pcie (16|32)gb",), 14, None, 112, None, 900, "PCIe Gen3 x16",
        "NVIDIA V100 datasheet (not re-fetched); V"),
    _nv("RTX 3060 12GB", (r"geforce rtx 3060",), 12.7, 12.7, 25.5, 25.5, 360, "PCIe Gen4 x16",
        "HF hardware.ts (12.74 FP32) V; rest D from 112 TCs x 1.777 GHz", 12, 28),
    _nv("RTX 3090", (r"geforce rtx 3090",), 35.6, 35.6, 71, 71, 936, "PCIe Gen4 x16",
        "HF hardware.ts (35.58); Ampere GA102 whitepaper values (not re-fetched); V", 24),
    _nv("RTX 4060", (r"geforce rtx 4060",), 15.1, 15.1, 30.2, 30.2, 272, "PCIe Gen4 x8",
        "derived: 96 TCs x 2.46 GHz; D", 8, 24),
    _nv("RTX 4070", (r"geforce rtx 4070",), 29.1, 29.1, 58.3, 58.3, 504, "PCIe Gen4 x16",
        "HF hardware.ts (29.15 FP32) V; tensor D: 184 TCs x 2.475 GHz", 12, 46),
    _nv("RTX 4080", (r"geforce rtx 4080",), 48.7, 48.7, 97.5, 97.5, 716.8, "PCIe Gen4 x16",
        "HF hardware.ts (48.7 FP32) V; tensor D: 304 TCs x 2.505 GHz", 16, 76),
    _nv("RTX 4090", (r"geforce rtx 4090",), 82.6, 82.6, 165.2, 165.2, 1008, "PCIe Gen4 x16",
        "waredb (Ada whitepaper figures); V", 24),
    _nv("RTX 5090", (r"geforce rtx 5090",), 104.8, 104.8, 209.5, 209.5, 1792, "PCIe Gen5 x16",
        "Linux Format review; spheron datasheet; FP32-acc half rate assumed (D)", 32),
    _nv("MI210", (r"instinct mi210",), 45.3, None, 181, 181, 1600, "PCIe Gen4 x16",
        "AnandTech MI210 launch table (AMD specs); FP32 is the matrix rate (vector 22.6); V", 64),
    DevicePeak("MI250X", (r"instinct mi250x( mi250)?",), 95.7, None, 383, 383, 3277, None,
               "ml-engineering (cites amd.com MI250X); FP32 matrix 95.7 from AMD spec (not re-fetched); "
               "torch sees 2 devices, each 1/2 of the OAM figures (ml-engineering#76); V", 128, per_torch_device=2),
    _nv("MI300X", (r"instinct mi300x",), 163.4, 653.7, 1307.4, 1307.4, 5300, "PCIe Gen5 x16",
        "ml-engineering (cites amd.com MI300X); prime-rl PR #1722 uses 1307.4; V", 192, 304),
    _nv("RX 7900 XTX", (r"radeon rx 7900 xtx",), 61.4, None, 122.8, 122.8, 960, "PCIe Gen4 x16",
        "HF hardware.ts (122.8); FP32 61.4 dual-issue (not re-fetched); BF16 D (same WMMA rate)", 24),
)

_APPLE = "philipturner/metal-benchmarks; Apple (FP16 = FP32 rate, no tensor rate; unified memory, no host link)"
APPLE: tuple[DevicePeak, ...] = tuple(
    DevicePeak(f"Apple {chip} ({cores}-core GPU)", (re.escape(f"apple {chip.lower()}"),), tflops, None, tflops, None,
               bw, None, f"{_APPLE}; {src}", gpu_cores=cores)
    for chip, cores, tflops, bw, src in (
        ("M1", 8, 2.6, 68.25, "philipturner table; Apple M1 launch; V/D"),
        ("M1 Pro", 16, 5.2, 200, "Apple keynote via 9breakingnews; 9to5mac; V"),
        ("M1 Max", 32, 10.4, 400, "HF hardware.ts; Apple via trend.az/mybroadband; V"),
        ("M2", 10, 3.58, 100, "philipturner; abachy list; D/V"),
        ("M2 Pro", 19, 6.8, 200, "philipturner; HF PR #1044; D/V"),
        ("M2 Max", 38, 13.6, 400, "philipturner; applegpuinfo#10; D/V"),
        ("M3", 10, None, 100, "TFLOPS not published; HF PR #1044; abachy"),
        ("M3 Pro", 18, None, 150, "TFLOPS not published; MacRumors/Gigazine"),
        ("M3 Max", 30, None, 300, "TFLOPS not published; MacRumors"),
        ("M3 Max", 40, None, 400, "TFLOPS not published; MacRumors"),
        ("M4", 10, None, 120, "TFLOPS not published; howtogeek/mactrast (Apple)"),
        ("M4 Pro", 20, None, 273, "TFLOPS not published; techmoran/mactrast (Apple)"),
        ("M4 Max", 32, None, 410, "TFLOPS not published; 410 from Apple tech specs (not re-fetched)"),
        ("M4 Max", 40, None, 546, "TFLOPS not published; MacRumors (546)"),
    )
)


@dataclass(frozen=True)
class Peaks:
    """What the report divides by: TFLOP/s per dtype, GB/s for memory and host link, and where from."""

    row: Optional[str]
    label: str  # "vendor table" | "estimate" | "unknown"
    source: str
    tflops: dict[str, Optional[float]] = field(default_factory=dict)
    memory_gbs: Optional[float] = None
    host_link_gbs: Optional[float] = None


def normalized_name(name: str) -> str:
    """"NVIDIA A100-SXM4-80GB" -> "a100 sxm4 80gb"; "AMD Instinct MI300X OAM" -> "instinct mi300x"."""
    text = re.sub(r"\(.*?\)", " ", name.lower())
    text = re.sub(r"[-_/,]", " ", text)
    words = [w for w in text.split() if w not in ("nvidia", "amd", "tesla", "oam")]
    return " ".join(words)


def _fits(row: DevicePeak, memory_bytes: Optional[int], units: Optional[int], gpu_cores: Optional[int]) -> Optional[str]:
    """Why a name-matched row is not this device (a MIG slice, a partition, another SKU), or None."""
    if row.memory_gib and memory_bytes:
        expected = row.memory_gib / row.per_torch_device
        if abs(memory_bytes / 2**30 - expected) > 0.12 * expected:
            return f"reports {memory_bytes / 2**30:.0f} GiB, the {row.row} row has {expected:g} GB"
    if row.units and units and units != row.units:
        return f"reports {units} SMs/CUs, the {row.row} row has {row.units}"
    if row.gpu_cores is not None and gpu_cores != row.gpu_cores:
        return f"has {gpu_cores} GPU cores, the table lists {row.row}"
    return None


def _peaks_of(row: DevicePeak) -> Peaks:
    share = row.per_torch_device
    scaled = {d: (v / share if v is not None else None) for d, v in
              (("fp32", row.fp32), ("tf32", row.tf32), ("fp16", row.fp16), ("bf16", row.bf16))}
    link = PCIE.get(row.host_link or "")
    return Peaks(row.row, "vendor table", row.source, scaled,
                 row.memory_gbs / share if row.memory_gbs else None, link)


def match_device(name: str, memory_bytes: Optional[int] = None, units: Optional[int] = None,
                 gpu_cores: Optional[int] = None) -> Peaks:
    """The table row for a device name as torch or nvidia-smi reports it; unknown when none fits."""
    key = normalized_name(name or "")
    candidates = [row for row in TABLE + APPLE if any(re.fullmatch(p, key) for p in row.names)]
    reasons = []
    for row in candidates:
        reason = _fits(row, memory_bytes, units, gpu_cores)
        if reason is None:
            return _peaks_of(row)
        reasons.append(reason)
    why = "; ".join(reasons) if reasons else "no row in the peaks table"
    return Peaks(None, "unknown", f"{name!r}: {why}")


# ---------------------------------------------------------------- CPU: an estimate, not a table row


@dataclass(frozen=True)
class VectorUnits:
    """FLOP per cycle per core of a CPU's vector units, and the assumption behind the number."""

    isa: str
    fp32_per_cycle: int
    bf16_per_cycle: Optional[int]
    assumption: str


ZEN4_SOURCE = "Zen 4 runs 512-bit ops on its 256-bit units (numberworld.org, Zen 5 AVX-512 teardown)"
AMX_SOURCE = "AMX: 1024 BF16 FLOP/cycle/core (Intel figure; see docs/BENCHMARKING.md)"


def vector_units(flags: set[str], vendor: Optional[str] = None, family: Optional[int] = None,
                 machine: str = "") -> Optional[VectorUnits]:
    """From /proc/cpuinfo flags (or the platform): the widest FMA units, two of them per core."""
    if "avx512f" in flags:
        zen4 = vendor == "AuthenticAMD" and family == 25
        fp32, why = (32, ZEN4_SOURCE) if zen4 else (64, "2 FMA units x 16 fp32 lanes x 2")
        bf16 = 1024 if "amx_bf16" in flags else 2 * fp32 if "avx512_bf16" in flags else None
        why += f"; {AMX_SOURCE}" if "amx_bf16" in flags else "; bf16 dot product: 2x the fp32 rate" if bf16 else ""
        return VectorUnits("avx512", fp32, bf16, why)
    if "avx2" in flags and "fma" in flags:
        return VectorUnits("avx2", 32, None, "2 FMA units x 8 fp32 lanes x 2")
    if "asimd" in flags or machine in ("arm64", "aarch64"):
        return VectorUnits("neon", 16, None, "2 x 128-bit FMA pipes x 4 fp32 lanes x 2")
    if "avx" in flags:
        return VectorUnits("avx", 16, None, "1 add + 1 multiply unit x 8 fp32 lanes")
    return None


def cpu_peaks(flags: set[str], cores: Optional[int], clock_mhz: Optional[float], vendor: Optional[str] = None,
              family: Optional[int] = None, machine: str = "", clock_source: Optional[str] = None) -> Peaks:
    """cores x clock x FLOP/cycle, labelled "estimate"; unknown when any factor is unknown."""
    units = vector_units(flags, vendor, family, machine)
    if units is None or not cores or not clock_mhz:
        missing = "vector units" if units is None else "core count" if not cores else "clock"
        return Peaks(None, "unknown", f"CPU {missing} unknown, so no peak estimate")
    per_core = cores * clock_mhz * 1e6 / 1e12
    source = (f"estimate: {cores} cores x {clock_mhz / 1000:.2f} GHz ({clock_source or 'clock'}) x "
              f"{units.fp32_per_cycle} fp32 FLOP/cycle ({units.isa}: {units.assumption})")
    tflops = {"fp32": per_core * units.fp32_per_cycle,
              "bf16": per_core * units.bf16_per_cycle if units.bf16_per_cycle else None}
    return Peaks(f"CPU {units.isa}", "estimate", source, tflops)
