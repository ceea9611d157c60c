"""Compute capability of NVIDIA GPUs by marketing name, and a matcher for the names drivers report.

The rows follow NVIDIA's own lists: "CUDA GPU Compute Capability" (developer.nvidia.com/cuda-gpus,
the current GPUs) and "Legacy CUDA GPU Compute Capability" (developer.nvidia.com/cuda-legacy-gpus,
down to compute capability 1.0). Where those pages were read through a stored copy the row's source
says which copy. Variants NVIDIA does not list by name (SUPER, D, Laptop-only parts, data-centre
SKUs such as H800/H20/A800) carry `verified=False` and a note saying what the value rests on
(normally: the same chip as a listed product). Rows where NVIDIA's list and the chip disagree keep
the chip's value, `verified=False`, and say so in the note.

Matching works on tokens, never on substrings: "RTX 4060" cannot match a row "RTX 40", "A10" and
"A100" and "A10G" are different tokens, and a variant suffix right after a row's name ("Ti",
"SUPER", "M", "D", "X", "S", "G", ...) means "a different product": "GTX 1070 Ti" never resolves
through the "GTX 1070" row. Words that do not change the chip ("Laptop GPU", "with Max-Q Design",
"PCIe", "SXM4", "80GB HBM3", "NVL") may follow. The longest (most specific) row wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Gpu:
    name: str  # the marketing name as NVIDIA lists it ("GeForce RTX 3060", "NVIDIA H100")
    cc: str  # compute capability, "8.6"
    family: str  # product line and architecture, "GeForce RTX 30 (Ampere)"
    source: str
    verified: bool = True
    note: str = ""


# --- sources ---------------------------------------------------------------------------------------
NV = "https://developer.nvidia.com/cuda-gpus"
NV_LEGACY = "https://developer.nvidia.com/cuda-legacy-gpus"
# The GeForce column of the cuda-gpus page as it stood around 2024 (it then named SUPER/Ti/MX parts).
NV_2024 = (f"{NV} (2024 revision, as copied in BBC-Esq/VectorDB-Plugin-for-LM-Studio "
           "misc.md@1197f8763724a5c88e2f41c8188b5efcc928f01f)")
# A 2019 scrape of the cuda-gpus page kept as test data by TensorFlow's config detector.
NV_2019 = (f"{NV} (2019 revision, as scraped in tensorflow/tensorflow tensorflow/tools/tensorflow_builder/"
           "config_detector/data/golden/compute_capability_golden.csv@4e30044bb95c2dac23b94ed9949d3cb0de3baaf5)")
TVM = "apache/tvm src/target/tag.cc@0290a887df4a0f16284e413c26a533f2ee101fb5 (CUDA target tags, arch per GPU)"
CAPTURE = ("utkuozdemir/nvidia_gpu_exporter internal/captures/{}@e656cd81a180e7e0e7862b53c9acd4c2fb0f590b "
           "(nvidia-smi --query-gpu=name,compute_cap on the real card)")
SAME_CHIP = "not listed by name; same chip as the listed {}"


def _g(cc: str, family: str, source: str, *names: str, verified: bool = True, note: str = "") -> tuple[Gpu, ...]:
    return tuple(Gpu(name, cc, family, source, verified, note) for name in names)


GPUS: tuple[Gpu, ...] = (
    # ---- Blackwell -------------------------------------------------------------------------------
    *_g("12.1", "DGX Spark (Blackwell)", NV, "NVIDIA GB10"),
    *_g("12.0", "RTX PRO Blackwell data centre", NV,
        "NVIDIA RTX PRO 6000 Blackwell Server Edition", "NVIDIA RTX PRO 4500 Blackwell Server Edition"),
    *_g("12.0", "RTX PRO Blackwell workstation", NV,
        "NVIDIA RTX PRO 6000 Blackwell Workstation Edition", "NVIDIA RTX PRO 6000 Blackwell Max-Q Workstation Edition",
        "NVIDIA RTX PRO 6000 Blackwell", "NVIDIA RTX PRO 5000 Blackwell", "NVIDIA RTX PRO 4500 Blackwell",
        "NVIDIA RTX PRO 4000 Blackwell", "NVIDIA RTX PRO 4000 Blackwell SFF Edition", "NVIDIA RTX PRO 2000 Blackwell"),
    *_g("12.0", "RTX PRO Blackwell laptop", NV,
        "NVIDIA RTX PRO 500 Blackwell", "NVIDIA RTX PRO 1000 Blackwell", "NVIDIA RTX PRO 3000 Blackwell",
        verified=False, note="laptop parts ('... Blackwell Generation Laptop GPU'); same GB20x family as the listed RTX PRO Blackwell"),
    *_g("12.0", "GeForce RTX 50 (Blackwell)", NV,
        "GeForce RTX 5090", "GeForce RTX 5080", "GeForce RTX 5070 Ti", "GeForce RTX 5070", "GeForce RTX 5060 Ti",
        "GeForce RTX 5060", "GeForce RTX 5050"),
    *_g("12.0", "GeForce RTX 50 (Blackwell)", NV, "GeForce RTX 5090 D", "GeForce RTX 5090 D v2",
        verified=False, note=SAME_CHIP.format("GeForce RTX 5090 (GB202)")),
    *_g("11.0", "Jetson Thor (Blackwell)", NV, "Jetson T5000", "Jetson T4000",
        note="CUDA 12.8/12.9 reported Thor as 10.1; CUDA 13 renumbered it 11.0"),
    *_g("11.0", "Jetson Thor (Blackwell)", NV, "Jetson AGX Thor", "Thor",
        verified=False, note="the AGX Thor module is a T5000; torch and nvidia-smi report the device as '(NVIDIA) Thor'"),
    *_g("10.3", "Blackwell Ultra data centre", NV, "NVIDIA GB300", "NVIDIA B300"),
    *_g("10.0", "Blackwell data centre", NV, "NVIDIA GB200", "NVIDIA B200"),
    *_g("10.0", "Blackwell data centre", NV, "NVIDIA B100", verified=False,
        note="no longer on NVIDIA's page; the B200's chip (GB100 family)"),
    # ---- Hopper ----------------------------------------------------------------------------------
    *_g("9.0", "Hopper data centre", NV, "NVIDIA GH200", "NVIDIA H200", "NVIDIA H100"),
    *_g("9.0", "Hopper data centre", CAPTURE.format("linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt"),
        "NVIDIA H100 80GB HBM3"),
    *_g("9.0", "Hopper data centre", NV, "NVIDIA H800", "NVIDIA H20", "NVIDIA H200 NVL", "NVIDIA H100 NVL",
        "NVIDIA H100 PCIe", verified=False, note=SAME_CHIP.format("H100/H200 (GH100)")),
    # ---- Ada Lovelace ----------------------------------------------------------------------------
    *_g("8.9", "Ada data centre", NV, "NVIDIA L4", "NVIDIA L40", "NVIDIA L40S"),
    *_g("8.9", "Ada data centre", NV, "NVIDIA L20", "NVIDIA L2", verified=False,
        note=SAME_CHIP.format("L40/L4 (AD102/AD104)")),
    *_g("8.9", "RTX Ada workstation", NV,
        "NVIDIA RTX 6000 Ada", "NVIDIA RTX 5000 Ada", "NVIDIA RTX 4500 Ada", "NVIDIA RTX 4000 Ada",
        "NVIDIA RTX 4000 SFF Ada", "NVIDIA RTX 2000 Ada"),
    *_g("8.9", "RTX Ada workstation", NV,
        "NVIDIA RTX 5880 Ada", "NVIDIA RTX 2000E Ada", "NVIDIA RTX 500 Ada", "NVIDIA RTX 1000 Ada",
        "NVIDIA RTX 3000 Ada", "NVIDIA RTX 3500 Ada", verified=False,
        note="Ada (AD10x) workstation and 'Ada Generation Laptop GPU' parts NVIDIA does not list by name"),
    *_g("8.9", "GeForce RTX 40 (Ada)", NV,
        "GeForce RTX 4090", "GeForce RTX 4080", "GeForce RTX 4070 Ti", "GeForce RTX 4070", "GeForce RTX 4060 Ti",
        "GeForce RTX 4060", "GeForce RTX 4050"),
    *_g("8.9", "GeForce RTX 40 (Ada)", NV_2024, "GeForce RTX 4070 Ti SUPER", "GeForce RTX 4070 SUPER"),
    *_g("8.9", "GeForce RTX 40 (Ada)", CAPTURE.format("linux-x86_64__nvidia-geforce-rtx-4080-super__595.71.05.txt"),
        "GeForce RTX 4080 SUPER"),
    *_g("8.9", "GeForce RTX 40 (Ada)", NV, "GeForce RTX 4090 D", verified=False,
        note=SAME_CHIP.format("GeForce RTX 4090 (AD102)")),
    # ---- Ampere ----------------------------------------------------------------------------------
    *_g("8.7", "Jetson Orin (Ampere)", NV, "Jetson AGX Orin", "Jetson Orin NX", "Jetson Orin Nano"),
    *_g("8.7", "Jetson Orin (Ampere)", NV, "Orin", verified=False,
        note="the device name torch and nvidia-smi report on a Jetson Orin ('Orin', 'Orin (nvgpu)')"),
    *_g("8.6", "Ampere data centre", NV, "NVIDIA A40", "NVIDIA A10", "NVIDIA A16", "NVIDIA A2"),
    *_g("8.6", "Ampere data centre", TVM, "NVIDIA A10G"),
    *_g("8.6", "RTX A workstation (Ampere)", NV,
        "NVIDIA RTX A6000", "NVIDIA RTX A5000", "NVIDIA RTX A4000", "NVIDIA RTX A3000", "NVIDIA RTX A2000"),
    *_g("8.6", "RTX A workstation (Ampere)", NV,
        "NVIDIA RTX A5500", "NVIDIA RTX A4500", "NVIDIA RTX A1000", "NVIDIA RTX A500", "NVIDIA RTX A400",
        verified=False, note="Ampere (GA10x) workstation and laptop parts NVIDIA does not list by name"),
    *_g("8.6", "GeForce RTX 30 (Ampere)", NV,
        "GeForce RTX 3090 Ti", "GeForce RTX 3090", "GeForce RTX 3080 Ti", "GeForce RTX 3080", "GeForce RTX 3070 Ti",
        "GeForce RTX 3070", "GeForce RTX 3060 Ti", "GeForce RTX 3060", "GeForce RTX 3050 Ti", "GeForce RTX 3050"),
    *_g("8.6", "GeForce RTX 30 (Ampere)", NV_2024, "GeForce RTX 2050", "GeForce MX570",
        note="laptop-only parts on the GA107 chip despite their names"),
    *_g("8.0", "Ampere data centre", NV, "NVIDIA A100", "NVIDIA A30"),
    *_g("8.0", "Ampere data centre", NV, "NVIDIA A800", verified=False, note=SAME_CHIP.format("A100 (GA100)")),
    # ---- Turing ----------------------------------------------------------------------------------
    *_g("7.5", "Turing data centre", NV, "NVIDIA T4", "Tesla T4"),
    *_g("7.5", "Turing data centre", NV, "NVIDIA T4G", verified=False, note=SAME_CHIP.format("T4 (TU104)")),
    *_g("7.5", "Quadro RTX (Turing)", NV, "Quadro RTX 8000", "Quadro RTX 6000", "Quadro RTX 5000", "Quadro RTX 4000"),
    *_g("7.5", "Quadro RTX (Turing)", TVM, "Quadro RTX 3000"),
    *_g("7.5", "Quadro T (Turing)", f"{NV} (2022 revision)", "NVIDIA T1000", "NVIDIA T600", "NVIDIA T400"),
    *_g("7.5", "Quadro T (Turing)", TVM, "Quadro T2000", "Quadro T1000"),
    *_g("7.5", "Quadro T (Turing)", NV, "Quadro T1200", "NVIDIA T1200", "NVIDIA T550", "NVIDIA T500", "Quadro T500",
        verified=False, note="Turing TU117 laptop parts NVIDIA does not list by name"),
    *_g("7.5", "TITAN (Turing)", NV, "NVIDIA TITAN RTX"),
    *_g("7.5", "GeForce RTX 20 (Turing)", NV,
        "GeForce RTX 2080 Ti", "GeForce RTX 2080", "GeForce RTX 2070", "GeForce RTX 2060", "GeForce GTX 1650 Ti"),
    *_g("7.5", "GeForce RTX 20 (Turing)", NV_2024, "GeForce RTX 2070 SUPER", "GeForce RTX 2060 SUPER"),
    *_g("7.5", "GeForce RTX 20 (Turing)", CAPTURE.format("linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05.txt"),
        "GeForce RTX 2080 SUPER"),
    *_g("7.5", "GeForce 16 (Turing)", NV_2024,
        "GeForce GTX 1660 Ti", "GeForce GTX 1660 SUPER", "GeForce GTX 1660", "GeForce GTX 1650 SUPER",
        "GeForce GTX 1650", "GeForce MX550", "GeForce MX450"),
    *_g("7.5", "GeForce 16 (Turing)", NV, "GeForce GTX 1630", verified=False,
        note=SAME_CHIP.format("GTX 1650 (TU117)")),
    # ---- Volta -----------------------------------------------------------------------------------
    *_g("7.2", "Jetson Xavier (Volta)", NV_LEGACY, "Jetson AGX Xavier", "Jetson Xavier NX"),
    *_g("7.2", "Jetson Xavier (Volta)", NV_LEGACY, "Xavier", verified=False,
        note="the device name torch reports on a Jetson Xavier"),
    *_g("7.0", "Volta", NV_LEGACY, "NVIDIA V100", "Tesla V100", "Quadro GV100", "NVIDIA TITAN V"),
    *_g("7.0", "Volta", NV_LEGACY, "Tesla V100S", verified=False, note=SAME_CHIP.format("V100 (GV100)")),
    # ---- Pascal ----------------------------------------------------------------------------------
    *_g("6.2", "Jetson TX2 (Pascal)", NV_LEGACY, "Jetson TX2"),
    *_g("6.2", "Jetson TX2 (Pascal)", NV_LEGACY, "Tegra X2", "Jetson TX2 NX", verified=False,
        note="the TX2's Tegra X2 (Parker) SoC; torch reports it as 'NVIDIA Tegra X2'"),
    *_g("6.1", "Pascal data centre", NV_LEGACY, "Tesla P40", "Tesla P4"),
    *_g("6.1", "Pascal data centre", NV_LEGACY, "Tesla P6", verified=False, note=SAME_CHIP.format("Tesla P4 (GP104)")),
    *_g("6.1", "Quadro P (Pascal)", NV_LEGACY,
        "Quadro P6000", "Quadro P5200", "Quadro P5000", "Quadro P4200", "Quadro P4000", "Quadro P3200",
        "Quadro P3000", "Quadro P2200", "Quadro P2000", "Quadro P1000", "Quadro P620", "Quadro P600",
        "Quadro P500", "Quadro P400", "P620", "P520"),
    *_g("6.1", "TITAN (Pascal)", NV_LEGACY, "NVIDIA TITAN Xp", "NVIDIA TITAN X",
        note="'NVIDIA TITAN X' is the Pascal card ('TITAN X (Pascal)'); the Maxwell one is 'GeForce GTX TITAN X'"),
    *_g("6.1", "GeForce 10 (Pascal)", NV_LEGACY,
        "GeForce GTX 1080 Ti", "GeForce GTX 1080", "GeForce GTX 1070 Ti", "GeForce GTX 1070", "GeForce GTX 1060",
        "GeForce GTX 1050"),
    *_g("6.1", "GeForce 10 (Pascal)", NV_2024,
        "GeForce GTX 1050 Ti", "GeForce GT 1030", "GeForce GT 1010", "GeForce MX350", "GeForce MX330",
        "GeForce MX250", "GeForce MX230", "GeForce MX150"),
    *_g("5.0", "GeForce MX (Maxwell)", NV_2024, "GeForce MX130", "GeForce MX110", verified=False,
        note="NVIDIA's page files these under 6.1, but they are GM108 (Maxwell) parts: 5.0"),
    *_g("6.0", "Pascal GP100", NV_LEGACY, "Tesla P100", "Quadro GP100"),
    # ---- Maxwell ---------------------------------------------------------------------------------
    *_g("5.3", "Jetson TX1 / Nano (Maxwell)", NV_LEGACY, "Jetson Nano"),
    *_g("5.3", "Jetson TX1 / Nano (Maxwell)", NV_2019, "Jetson TX1", "Tegra X1"),
    *_g("5.2", "Maxwell data centre", NV_LEGACY, "Tesla M60", "Tesla M40"),
    *_g("5.2", "Maxwell data centre", NV_LEGACY, "Tesla M6", "Tesla M4", verified=False,
        note="GM204/GM206 data-centre parts NVIDIA does not list by name"),
    *_g("5.0", "Maxwell data centre", NV_LEGACY, "Tesla M10", verified=False, note="GM107 board; not listed by name"),
    *_g("5.2", "Quadro M (Maxwell)", NV_LEGACY,
        "Quadro M6000 24GB", "Quadro M6000", "Quadro M5000", "Quadro M4000", "Quadro M2000", "Quadro M5500M",
        "Quadro M2200", "Quadro M620"),
    *_g("5.2", "GeForce 900 (Maxwell)", NV_LEGACY,
        "GeForce GTX TITAN X", "GeForce GTX 980 Ti", "GeForce GTX 980", "GeForce GTX 970", "GeForce GTX 960",
        "GeForce GTX 950", "GeForce GTX 980M", "GeForce GTX 970M", "GeForce GTX 965M", "GeForce 910M"),
    *_g("5.0", "Quadro K/M (Maxwell)", NV_LEGACY,
        "Quadro K2200", "Quadro K1200", "Quadro K620", "Quadro M1200", "Quadro M520", "Quadro M5000M",
        "Quadro M4000M", "Quadro M3000M", "Quadro M2000M", "Quadro M1000M", "Quadro K620M", "Quadro M600M",
        "Quadro M500M", "NVIDIA NVS 810"),
    *_g("5.0", "GeForce 700/800/900 (Maxwell GM107/GM108)", NV_LEGACY,
        "GeForce GTX 750 Ti", "GeForce GTX 750", "GeForce GTX 960M", "GeForce GTX 950M", "GeForce 940M",
        "GeForce 930M", "GeForce GTX 850M", "GeForce 840M", "GeForce 830M"),
    *_g("5.0", "GeForce 700/900 (Maxwell GM107/GM108)", NV_LEGACY,
        "GeForce GTX 745", "GeForce 940MX", "GeForce 930MX", "GeForce 920MX", verified=False,
        note="GM107/GM108 parts NVIDIA does not list by name"),
    # ---- Kepler ----------------------------------------------------------------------------------
    *_g("3.7", "Kepler data centre", NV_LEGACY, "Tesla K80"),
    *_g("3.5", "Kepler data centre", NV_LEGACY, "Tesla K40", "Tesla K20"),
    *_g("3.5", "Kepler data centre", NV_LEGACY, "Tesla K40m", "Tesla K20m", "Tesla K20X", "Tesla K20Xm",
        verified=False, note="board variants of the listed Tesla K40 / K20 (GK110)"),
    *_g("3.5", "Quadro K (Kepler GK110/GK208)", NV_LEGACY, "Quadro K6000", "Quadro K5200", "Quadro K610M", "Quadro K510M"),
    *_g("3.5", "GeForce 700 (Kepler GK110/GK208)", NV_LEGACY,
        "GeForce GTX TITAN Z", "GeForce GTX TITAN Black", "GeForce GTX TITAN", "GeForce GTX 780 Ti",
        "GeForce GTX 780", "GeForce GT 730", "GeForce GT 720", "GeForce GT 705", "GeForce GT 640 GDDR5",
        "GeForce 920M",
        note="GT 730 and GT 640 also shipped as Fermi (2.1) DDR3/GDDR3 cards under the same reported name"),
    *_g("2.1", "GeForce 600 (Fermi GF116 / Kepler)", NV_2019, "GeForce GT 640",
        note="NVIDIA lists 'GeForce GT 640' at 2.1 and 'GT 640 (GDDR5)' at 3.5; most retail GT 640 DDR3 cards are "
             "GK107 (3.0), and drivers report every variant as 'GeForce GT 640'"),
    *_g("3.5", "GeForce 600/700 (Kepler GK208)", NV_LEGACY, "GeForce GT 710", "GeForce GT 635", verified=False,
        note="GK208 cards NVIDIA does not list by name"),
    *_g("3.2", "Jetson TK1 (Kepler)", NV_LEGACY, "Jetson TK1", "Tegra K1"),
    *_g("3.0", "Kepler data centre", NV_LEGACY, "Tesla K10"),
    *_g("3.0", "GRID (Kepler GK104/GK107)", NV_LEGACY, "GRID K520", "GRID K2", "GRID K1", verified=False,
        note="GRID boards NVIDIA does not list by name (GK104/GK107)"),
    *_g("3.0", "Quadro K (Kepler)", NV_LEGACY,
        "Quadro K5000", "Quadro K4200", "Quadro K4000", "Quadro K2000", "Quadro K2000D", "Quadro K600",
        "Quadro K420", "Quadro 410", "Quadro K6000M", "Quadro K5200M", "Quadro K5100M", "Quadro K500M",
        "Quadro K4200M", "Quadro K4100M", "Quadro K3100M", "Quadro K2200M", "Quadro K2100M", "Quadro K1100M",
        "NVIDIA NVS 510"),
    *_g("3.0", "GeForce 600/700 (Kepler)", NV_LEGACY,
        "GeForce GTX 770", "GeForce GTX 760", "GeForce GTX 690", "GeForce GTX 680", "GeForce GTX 670",
        "GeForce GTX 660 Ti", "GeForce GTX 660", "GeForce GTX 650 Ti BOOST", "GeForce GTX 650 Ti",
        "GeForce GTX 650", "GeForce GT 740", "GeForce GTX 880M", "GeForce GTX 870M", "GeForce GTX 780M",
        "GeForce GTX 770M", "GeForce GTX 765M", "GeForce GTX 760M", "GeForce GTX 680MX", "GeForce GTX 680M",
        "GeForce GTX 675MX", "GeForce GTX 670MX", "GeForce GTX 660M", "GeForce GT 755M", "GeForce GT 750M",
        "GeForce GT 650M", "GeForce GT 745M", "GeForce GT 645M", "GeForce GT 740M", "GeForce GT 730M",
        "GeForce GT 640M", "GeForce GT 640M LE", "GeForce GT 735M"),
    *_g("3.0", "GeForce 600/700 (Kepler)", NV_LEGACY, "GeForce GTX 760 Ti", "GeForce GTX 645", verified=False,
        note="GK104/GK106 cards NVIDIA does not list by name"),
    # ---- Fermi -----------------------------------------------------------------------------------
    *_g("2.1", "Fermi GF10x/GF11x", NV_LEGACY,
        "NVIDIA NVS 315", "NVIDIA NVS 310", "NVS 5400M", "NVS 5200M", "NVS 4200M", "Quadro 2000", "Quadro 2000D",
        "Quadro 600", "Quadro 4000M", "Quadro 3000M", "Quadro 2000M", "Quadro 1000M",
        "GeForce GTX 560 Ti", "GeForce GTX 550 Ti", "GeForce GTX 460", "GeForce GTS 450", "GeForce GT 730 DDR3",
        "GeForce GT 640 GDDR3", "GeForce GT 630", "GeForce GT 620", "GeForce GT 610", "GeForce GT 520",
        "GeForce GT 440", "GeForce GT 430", "GeForce 820M", "GeForce 800M", "GeForce GTX 675M", "GeForce GTX 670M",
        "GeForce GT 635M", "GeForce GT 630M", "GeForce GT 625M", "GeForce GT 720M", "GeForce GT 620M",
        "GeForce 710M", "GeForce 705M", "GeForce 610M", "GeForce GTX 580M", "GeForce GTX 570M",
        "GeForce GTX 560M", "GeForce GT 555M", "GeForce GT 550M", "GeForce GT 540M", "GeForce GT 525M",
        "GeForce GT 520MX", "GeForce GT 520M", "GeForce GTX 485M", "GeForce GTX 470M", "GeForce GTX 460M",
        "GeForce GT 445M", "GeForce GT 435M", "GeForce GT 420M", "GeForce GT 415M", "GeForce 410M"),
    *_g("2.1", "Fermi GF10x/GF11x", NV_LEGACY,
        "GeForce GTX 560", "GeForce GTX 560 SE", "GeForce GTX 460 SE", "GeForce GT 545", "GeForce GT 530",
        "GeForce 605", "GeForce 510", verified=False, note="GF11x/GF10x cards NVIDIA does not list by name"),
    *_g("2.1", "Fermi GF108", NV_LEGACY, "GeForce GT 420", verified=False,
        note="NVIDIA's legacy table files it under 1.0; the card is a GF108 (Fermi): 2.1"),
    *_g("2.0", "Fermi GF100/GF110", NV_LEGACY,
        "Tesla C2075", "Tesla C2050", "Tesla C2070", "Tesla M2050", "Tesla M2070", "Tesla M2075", "Tesla M2090",
        "Quadro Plex 7000", "Quadro 6000", "Quadro 5000", "Quadro 4000", "Quadro 5010M", "Quadro 5000M",
        "GeForce GTX 590", "GeForce GTX 580", "GeForce GTX 570", "GeForce GTX 480", "GeForce GTX 470",
        "GeForce GTX 465", "GeForce GTX 480M"),
    *_g("2.0", "Fermi GF110", NV_LEGACY, "GeForce GTX 560 Ti 448", verified=False,
        note="GF110-based variant of the GTX 560 Ti (which is GF114, 2.1)"),
    # ---- Tesla architecture (CC 1.x): from the legacy table, which older CUDA toolkits list --------
    *_g("1.3", "GT200", NV_LEGACY,
        "Tesla C1060", "Tesla S1070", "Tesla M1060", "Quadro FX 5800", "Quadro FX 4800", "Quadro FX 3800",
        "Quadro CX", "Quadro Plex 2200 D2", "GeForce GTX 295", "GeForce GTX 285", "GeForce GTX 280",
        "GeForce GTX 275", "GeForce GTX 260", verified=False,
        note="1.x rows come from an older revision of the legacy table (read through a copy); CUDA 6.5 was the last toolkit for 1.x"),
    *_g("1.2", "GT21x", NV_LEGACY,
        "Quadro 400", "Quadro FX 380 Low Profile", "NVIDIA NVS 300", "Quadro FX 1800M", "Quadro FX 880M",
        "Quadro FX 380M", "NVS 5100M", "NVS 3100M", "NVS 2100M", "GeForce GT 240", "GeForce GT 220",
        "GeForce 210", "GeForce GTS 360M", "GeForce GTS 350M", "GeForce GT 335M", "GeForce GT 330M",
        "GeForce GT 325M", "GeForce GT 240M", "GeForce G210M", "GeForce 310M", "GeForce 305M", verified=False,
        note="1.x rows come from an older revision of the legacy table (read through a copy)"),
    *_g("1.2", "GT21x", NV_LEGACY,
        "GeForce GT 340", "GeForce GT 330", "GeForce GT 320", "GeForce 315", "GeForce 310", "GeForce G210",
        "GeForce 205", "GeForce 405", verified=False,
        note="GT215/GT216/GT218 OEM cards; the legacy table files several under 1.0, the chips are 1.2"),
    *_g("1.1", "G8x/G9x", NV_LEGACY,
        "Quadro FX 4700 X2", "Quadro FX 3700", "Quadro FX 1800", "Quadro FX 580", "Quadro FX 570", "Quadro FX 470",
        "Quadro FX 380", "Quadro FX 370", "Quadro FX 370 Low Profile", "Quadro NVS 450", "Quadro NVS 420",
        "Quadro NVS 295", "Quadro Plex 2100 D4", "Quadro FX 3800M", "Quadro FX 3700M", "Quadro FX 3600M",
        "Quadro FX 2800M", "Quadro FX 2700M", "Quadro FX 1700M", "Quadro FX 1600M", "Quadro FX 770M",
        "Quadro FX 570M", "Quadro FX 370M", "Quadro FX 360M", "Quadro NVS 320M", "Quadro NVS 160M",
        "Quadro NVS 150M", "Quadro NVS 140M", "Quadro NVS 135M", "Quadro NVS 130M",
        "GeForce GTS 250", "GeForce GTS 150", "GeForce GT 130", "GeForce GT 120", "GeForce G100",
        "GeForce 9800 GX2", "GeForce 9800 GTX+", "GeForce 9800 GTX", "GeForce 9600 GSO", "GeForce 9500 GT",
        "GeForce 8800 GT", "GeForce 8800 GS", "GeForce 8600 GTS", "GeForce 8600 GT", "GeForce 8500 GT",
        "GeForce 8400 GS", "GeForce 9400 mGPU", "GeForce 9300 mGPU", "GeForce 8300 mGPU", "GeForce 8200 mGPU",
        "GeForce 8100 mGPU", "GeForce GTX 285M", "GeForce GTX 280M", "GeForce GTX 260M", "GeForce 9800M GTX",
        "GeForce 8800M GTX", "GeForce GTS 260M", "GeForce GTS 250M", "GeForce 9800M GT", "GeForce 9600M GT",
        "GeForce 8800M GTS", "GeForce 9800M GTS", "GeForce GT 230M", "GeForce 9700M GT", "GeForce 9650M GS",
        "GeForce 9600M GS", "GeForce 9500M GS", "GeForce 8700M GT", "GeForce 8600M GT", "GeForce 8600M GS",
        "GeForce 9500M G", "GeForce 9300M G", "GeForce 8400M GS", "GeForce G110M", "GeForce 9300M GS",
        "GeForce 9200M GS", "GeForce 9100M G", "GeForce 8400M GT", "GeForce G105M", verified=False,
        note="1.x rows come from an older revision of the legacy table (read through a copy)"),
    *_g("1.1", "G9x", NV_LEGACY,
        "GeForce 9800 GT", "GeForce 9600 GT", "GeForce 9400 GT", "GeForce 8800 GTS 512", "GeForce GTS 240",
        "GeForce GT 230", "GeForce GT 140", verified=False,
        note="G92/G94/G96 cards; the legacy table files some under 1.0 (9800/9600/9400 GT), the chips are 1.1"),
    *_g("1.0", "G80", NV_LEGACY,
        "Tesla C870", "Tesla D870", "Tesla S870", "Quadro FX 5600", "Quadro FX 4600", "Quadro Plex 2100 S4",
        "GeForce 8800 Ultra", "GeForce 8800 GTX", "GeForce 8800 GTS", verified=False,
        note="1.x rows come from an older revision of the legacy table (read through a copy); "
             "'8800 GTS' is the G80 card, the G92 '8800 GTS 512' is 1.1"),
)

# --- matching --------------------------------------------------------------------------------------
# Tokens that name a brand in front of the model; a row's brand must agree with the name's, if both have one.
_BRANDS = frozenset({"GEFORCE", "QUADRO", "TESLA", "JETSON"})
# A token right after a row's words that makes it a different product: the row must not match.
_VARIANTS = frozenset({
    "TI", "SUPER", "M", "MX", "D", "X", "XP", "XM", "S", "G", "BLACK", "Z", "LE", "BOOST", "GS", "GSO", "GT",
    "GTS", "GTX", "ULTRA", "SE", "V2", "DDR3", "GDDR3", "GDDR5", "ADA", "BLACKWELL", "SFF", "E", "PRO", "+",
    "X2", "NX", "NANO", "AGX",
})
_NOISE = frozenset({"NVIDIA", "CORPORATION"})
_TRUNCATED = re.compile(r"(\.\.\.|…)\s*$")


def _tokens(text: str) -> tuple[str, ...]:
    text = re.sub(r"\((?:TM|R)\)|™|®", " ", text, flags=re.IGNORECASE)
    text = re.sub(r"\([^)]*\)?", " ", text)  # "(Pascal)", "(nvgpu)", "(UUID: ...", "(24 GB)"
    out: list[str] = []
    for word in re.findall(r"[A-Za-z0-9]+|\+", text.upper()):
        # "1080TI" -> 1080 TI, "A10G" -> A10 G, "V100S" -> V100 S, "40GB" -> 40 GB; "A100", "MX450" stay whole
        out += [part for part in re.findall(r"[A-Z]*\d+|[A-Z]+|\+", word) if part not in _NOISE]
    return tuple(out)


@dataclass(frozen=True)
class _Key:
    brand: str | None
    core: tuple[str, ...]
    brand_required: bool


def _key(name: str) -> _Key:
    tokens = _tokens(name)
    brand = tokens[0] if tokens and tokens[0] in _BRANDS else None
    core = tokens[1:] if brand else tokens
    # A bare number ("GeForce 210", "Quadro 4000") or a bare word ("Jetson Nano") only means the product
    # together with its brand.
    required = brand is not None and (core[0][0].isdigit() or (len(core) == 1 and core[0].isalpha()))
    return _Key(brand, core, required)


def _score(name_tokens: tuple[str, ...], key: _Key) -> tuple[int, int] | None:
    n, best = len(key.core), None
    for i in range(len(name_tokens) - n + 1):
        if name_tokens[i:i + n] != key.core:
            continue
        following = name_tokens[i + n] if i + n < len(name_tokens) else None
        if following in _VARIANTS:
            continue
        before = name_tokens[i - 1] if i > 0 else None
        if before in _BRANDS and key.brand and before != key.brand:
            continue
        if key.brand_required and before != key.brand:
            continue
        score = (n + (1 if key.brand and before == key.brand else 0), sum(map(len, key.core)))
        best = score if best is None or score > best else best
    return best


def _prefix_of(visible: tuple[str, ...], partial: bool, row_tokens: tuple[str, ...]) -> bool:
    """A truncated name ("NVIDIA GeForce RTX 4070 ...") is the start of the row's full name."""
    if not visible or len(visible) > len(row_tokens):
        return False
    head, last = visible[:-1], visible[-1]
    if row_tokens[:len(head)] != head:
        return False
    candidate = row_tokens[len(head)]
    return candidate.startswith(last) if partial else candidate == last


def match(name: str, rows: tuple[Gpu, ...] = GPUS) -> tuple[Gpu, ...]:
    """The rows a reported name resolves to: the one most specific row, or, for a name nvidia-smi cut
    short ("NVIDIA GeForce RTX 2080 ..."), every row it could be. Empty when nothing matches."""
    truncated = _TRUNCATED.search(name or "")
    if truncated:
        visible_text = name[:truncated.start()]
        visible = _tokens(visible_text)
        partial = bool(visible_text) and not visible_text[-1].isspace()
        found = [row for row in rows if _prefix_of(visible, partial, _tokens(row.name))]
        # The visible words may already name a product ("NVIDIA RTX 2000 Ada Gene..."): use them, unless a
        # cut-off last word could be the start of a variant ("... 4070 T..." may be "Ti").
        whole_text = visible_text
        if partial and visible:
            if any(variant.startswith(visible[-1]) for variant in _VARIANTS):
                whole_text = ""
            else:
                whole_text = re.sub(r"\S+$", "", visible_text)
        whole = match(whole_text, rows) if whole_text.strip() else ()
        return tuple(dict.fromkeys([*found, *whole]))
    tokens = _tokens(name or "")
    scored = [(score, row) for row in rows if (score := _score(tokens, _key(row.name))) is not None]
    if not scored:
        return ()
    top = max(score for score, _ in scored)
    return tuple(row for score, row in scored if score == top)


def find_gpu(name: str) -> Gpu | None:
    """The row for a GPU name as nvidia-smi, NVML or torch report it, or None when unknown or ambiguous."""
    rows = match(name)
    if not rows or len({row.cc for row in rows}) != 1:
        return None
    return rows[0]


def compute_capability(name: str) -> str | None:
    """'NVIDIA GeForce RTX 3060 Laptop GPU' -> '8.6'; a name cut short resolves only when every GPU it
    could be has the same capability ('NVIDIA GeForce RTX 4070 ...' -> '8.9'); unknown names -> None."""
    rows = match(name)
    capabilities = {row.cc for row in rows}
    return capabilities.pop() if len(capabilities) == 1 else None
