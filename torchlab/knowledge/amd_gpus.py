"""The gfx target of AMD GPUs by marketing name, for reports that name the GPU without its target.

collect_env before torch 2.2 printed a ROCm GPU by name only ("AMD Radeon RX 6750 XT", or with
"NoGCNArchNameOnOldPyTorch" glued on); whether a torch ROCm build has kernels for it is a question about its
gfx target. Each row lists the products one source names for one target, as the source writes them
(Gentoo's amdgpu_targets USE flags, which follow LLVM's AMDGPUUsage processor table).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GENTOO = "https://packages.gentoo.org/useflags/amdgpu_targets_{gfx}"


@dataclass(frozen=True)
class AmdGpuFamily:
    gfx: str
    products: tuple[str, ...]  # as the source writes them: "Radeon RX 6750XT/6700XT/6800M/6700M"
    source: str
    verified: bool = True


def _gentoo(gfx: str, *products: str) -> AmdGpuFamily:
    return AmdGpuFamily(gfx, products, GENTOO.format(gfx=gfx))


AMD_GPUS: tuple[AmdGpuFamily, ...] = (
    _gentoo("gfx1010", "Radeon RX 5700XT/5700/5700M/5700B/5700XTB/5600XT/5600/5600M", "Radeon Pro 5700XT/5700",
            "Radeon Pro W5700X/W5700"),
    _gentoo("gfx1011", "Radeon Pro 5600M/V520"),
    _gentoo("gfx1012", "Radeon RX 5500XT/5500/5500M/5500XTB/5300/5300M", "Radeon Pro 5500XT/5500M/5300/5300M",
            "Radeon Pro W5500X/W5500/W5500M/W5300M"),
    _gentoo("gfx1030", "Radeon RX 6950XT/6900XT/6800XT/6800", "Radeon Pro W6800"),
    _gentoo("gfx1031", "Radeon RX 6750XT/6700XT/6800M/6700M"),
    _gentoo("gfx1100", "Radeon RX 7900XTX/7900XT", "Radeon Pro W7900/W7800"),
    _gentoo("gfx1101", "Radeon RX 7700XT/7800XT"),
    _gentoo("gfx1102", "Radeon RX 7600/7600M/7600M XT/7700S/7600S", "Radeon PRO W7600/W7500"),
    _gentoo("gfx1103", "Radeon 700M/780M"),
    _gentoo("gfx1150", "Radeon 890M"),
    _gentoo("gfx1151", "Radeon 8060S"),
)


def _key(name: str) -> str:
    """"AMD Radeon RX 6750 XT" and "Radeon RX 6750XT" -> "rx6750xt"."""
    name = re.sub(r"\b(AMD|ATI|Radeon|Graphics)\b|\(TM\)|\(R\)", " ", name, flags=re.IGNORECASE)
    return re.sub(r"\W+", "", name).lower()


def _names(family: AmdGpuFamily) -> list[str]:
    """"Radeon RX 6750XT/6700XT" -> ["Radeon RX 6750XT", "Radeon RX 6700XT"]: each "/" part after the first
    takes the words before the first part's model number."""
    names = []
    for products in family.products:
        first, *rest = products.split("/")
        stem = re.match(r"(.*?)(\S*\d\S*)$", first)
        names.append(first)
        names += [f"{stem.group(1)}{model}" if stem else model for model in rest]
    return names


_BY_KEY = {_key(name): family.gfx for family in AMD_GPUS for name in _names(family)}


def amd_gfx(name: str) -> str | None:
    """The gfx target of an AMD GPU named as torch names it ("AMD Radeon RX 6750 XT" -> "gfx1031"); None for a
    name the table does not hold (a generic "AMD Radeon Graphics" names no one chip)."""
    key = _key(name)
    return _BY_KEY.get(key) if key else None
