"""The peaks table and matcher, fed device names as torch, nvidia-smi and rocminfo report them (fixtures)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from recorded import fixture_text

from torchlab.bench.peaks import PCIE, cpu_peaks, match_device, normalized_name, vector_units
from torchlab.probe.apple import parse_displays

MIB = 2**20


def query_gpu(name: str) -> dict[str, str]:
    """One row of `nvidia-smi --query-gpu=... --format=csv`, keyed by header."""
    rows = list(csv.reader(io.StringIO(fixture_text(name)), skipinitialspace=True))
    return dict(zip(rows[0], rows[1]))


def xml_field(name: str, tag: str) -> str:
    return re.search(rf"<{tag}>([^<]*)</{tag}>", fixture_text(name)).group(1)


def xml_memory(name: str, mig: bool = False) -> int:
    """fb_memory_usage/total of the GPU (mig=False) or of its first MIG device, in bytes."""
    text = fixture_text(name)
    if not mig:
        text = re.sub(r"<mig_devices>.*?</mig_devices>", "", text, flags=re.S)
    return int(re.search(r"<fb_memory_usage>\s*<total>(\d+) MiB", text).group(1)) * MIB


def collect_env_gpus(name: str) -> list[str]:
    return re.findall(r"GPU \d+: (.+?)\s*$", fixture_text(name), re.M)


def test_h100_sxm_from_query_gpu_with_its_memory() -> None:
    row = query_gpu("nvidia-smi-query-gpu_H100-80GB-HBM3_590.48.01.csv")
    assert row["name"] == "NVIDIA H100 80GB HBM3"
    peaks = match_device(row["name"], memory_bytes=int(row["memory.total [MiB]"].split()[0]) * MIB)
    assert peaks.row == "H100 SXM5" and peaks.label == "vendor table"
    assert peaks.tflops == {"fp32": 67, "tf32": 494.5, "fp16": 989, "bf16": 989}
    assert (peaks.memory_gbs, peaks.host_link_gbs) == (3350, 63.0)
    assert "nvidia.com/h100" in peaks.source


def test_h200_and_l40s_from_query_gpu() -> None:
    h200 = query_gpu("nvidia-smi-query-gpu_H200_590.48.01.csv")
    peaks = match_device(h200["name"], memory_bytes=int(h200["memory.total [MiB]"].split()[0]) * MIB)
    assert (h200["name"], peaks.row, peaks.memory_gbs) == ("NVIDIA H200", "H200 SXM", 4800)
    l40s = query_gpu("nvidia-smi-query-gpu_L40S_595.80.csv")
    peaks = match_device(l40s["name"], memory_bytes=int(l40s["memory.total [MiB]"].split()[0]) * MIB)
    assert (l40s["name"], peaks.row, peaks.tflops["bf16"], peaks.host_link_gbs) == ("NVIDIA L40S", "L40S", 362, 31.5)


@pytest.mark.parametrize(
    ("fixture", "row", "fp32", "bf16"),
    [
        ("nvidia-smi-q-x_RTX4090_535.86.05.xml", "RTX 4090", 82.6, 165.2),
        ("nvidia-smi-q-x_RTX3060_570.124.04.xml", "RTX 3060 12GB", 12.7, 25.5),
        ("nvidia-smi-q-x_TeslaT4_515.105.01.xml", "T4", 8.1, None),
        ("nvidia-smi-q-x_4xA100-SXM4-80GB_535.54.03.xml", "A100 80GB SXM", 19.5, 312),
    ],
)
def test_xml_product_names_with_framebuffer_memory(fixture: str, row: str, fp32: float, bf16: float | None) -> None:
    peaks = match_device(xml_field(fixture, "product_name"), memory_bytes=xml_memory(fixture))
    assert (peaks.row, peaks.tflops["fp32"], peaks.tflops["bf16"]) == (row, fp32, bf16)


def test_collect_env_names_as_torch_reports_them() -> None:
    assert collect_env_gpus("collect_env_linux_cuda_5.txt")[0] == "Tesla V100-SXM2-32GB"
    v100 = match_device("Tesla V100-SXM2-32GB")
    assert (v100.row, v100.tflops["fp16"], v100.tflops["tf32"], v100.host_link_gbs) == ("V100 SXM2", 125, None, 15.7)
    assert {match_device(n).row for n in collect_env_gpus("collect_env_linux_cuda_1.txt")} == {"RTX 3090"}


@pytest.mark.parametrize(
    ("fixture", "name"),
    [
        ("nvidia-smi_2xH100NVL_550.54.14.txt", "NVIDIA H100 NVL"),  # not an H100 PCIe nor SXM
        ("nvidia-smi_GH200_550.127.05.txt", "NVIDIA GH200 480GB"),
        ("nvidia-smi-q-x_RTX3060Laptop_515.65.01.xml", "NVIDIA GeForce RTX 3060 Laptop GPU"),  # not the desktop 3060
        ("nvidia-smi-q-x_A10G_515.105.01.xml", "NVIDIA A10G"),
    ],
)
def test_devices_without_a_row_have_no_peak(fixture: str, name: str) -> None:
    assert name in fixture_text(fixture)
    peaks = match_device(name)
    assert (peaks.row, peaks.label, peaks.tflops, peaks.memory_gbs) == (None, "unknown", {}, None)
    assert "no row in the peaks table" in peaks.source


def test_rtx5090_from_the_default_table() -> None:
    name = re.search(r"\|\s+0\s+(NVIDIA GeForce RTX 5090)\s", fixture_text("nvidia-smi_RTX5090_570.124.06.txt")).group(1)
    peaks = match_device(name)
    assert (peaks.row, peaks.tflops["bf16"], peaks.memory_gbs, peaks.host_link_gbs) == ("RTX 5090", 209.5, 1792, 63.0)


def test_a_mig_slice_is_not_the_whole_gpu() -> None:
    text = fixture_text("nvidia-smi_H100-MIG_590.48.01.txt")
    name = re.search(r"\|\s+0\s+(NVIDIA H100 80GB HBM3)\s", text).group(1)
    memory, sms = re.search(r"\|\s+0\s+2\s+0\s+0\s+\|\s+\d+MiB /\s+(\d+)MiB\s+\|\s+(\d+)", text).groups()
    assert (memory, sms) == ("40448", "60")  # the 3g.40gb instance
    peaks = match_device(name, memory_bytes=int(memory) * MIB, units=int(sms))
    assert peaks.row is None and "reports 40 GiB" in peaks.source


def test_mi300x_from_rocminfo_and_rocm_smi() -> None:
    rocminfo = fixture_text("rocminfo_4xMI300X_EPYC9474F.txt")
    name = re.search(r"Marketing Name:\s+(AMD Instinct MI300X)\s", rocminfo).group(1)
    units = int(re.findall(r"Compute Unit:\s+(\d+)", rocminfo)[2])  # agents 0-1 are the CPUs
    peaks = match_device(name, units=units)
    figures = (peaks.tflops["bf16"], peaks.tflops["fp32"], peaks.memory_gbs)
    assert (units, peaks.row, figures) == (304, "MI300X", (1307.4, 163.4, 5300))
    series = re.search(r"Card series:\s+(.+?)\s*$", fixture_text("rocm-smi-a_4xMI300X.txt"), re.M).group(1)
    assert (series, match_device(series).row) == ("AMD Instinct MI300X OAM", "MI300X")


def test_an_a100_mig_device_is_not_the_whole_gpu() -> None:
    fixture = "nvidia-smi-q-x_4xA100-SXM4-80GB_535.54.03.xml"
    assert xml_memory(fixture, mig=True) == 19968 * MIB
    peaks = match_device(xml_field(fixture, "product_name"), memory_bytes=xml_memory(fixture, mig=True))
    assert (peaks.row, peaks.label) == (None, "unknown") and "A100 80GB SXM row has 80 GB" in peaks.source


def test_an_mi300x_cpx_partition_is_not_the_whole_gpu() -> None:
    lines = fixture_text("kfd-properties_MI300X-CPX_node2-gpu-gfx942.txt").splitlines()
    kfd = dict(line.split() for line in lines if line.strip())
    units = int(kfd["simd_count"]) // int(kfd["simd_per_cu"])
    peaks = match_device("AMD Instinct MI300X", units=units)
    assert units == 38 and peaks.row is None and "38 SMs/CUs" in peaks.source


def test_mi100_has_no_row() -> None:
    series = fixture_text("rocm-smi-showproductname-csv_2xMI100.csv").splitlines()[1].split(",")[1]
    assert series == "Arcturus GL-XL [AMD Instinct MI100]"
    assert match_device(series).label == "unknown"


def test_mi250x_is_two_torch_devices_each_half_the_oam() -> None:
    # No recorded MI250X output exists in the fixtures; the name is the table row's own pattern.
    peaks = match_device("AMD Instinct MI250X", memory_bytes=64 * 2**30)
    assert (peaks.row, peaks.tflops["bf16"], peaks.tflops["fp32"], peaks.memory_gbs) == ("MI250X", 191.5, 47.85, 1638.5)
    assert match_device("AMD Instinct MI250X", memory_bytes=128 * 2**30).row is None


def test_apple_rows_need_the_gpu_core_count() -> None:
    brand = re.search(r"brand_string: (.+)$", fixture_text("sysctl-machdep.cpu_apple-M1-Pro.txt"), re.M).group(1)
    m1_pro = match_device(brand, gpu_cores=16)
    assert (brand, m1_pro.row, m1_pro.tflops["fp16"], m1_pro.tflops["bf16"], m1_pro.memory_gbs, m1_pro.host_link_gbs) == (
        "Apple M1 Pro", "Apple M1 Pro (16-core GPU)", 5.2, None, 200, None)
    gpu = parse_displays(fixture_text("system_profiler-SPDisplaysDataType_apple-M4_TRUNCATED.txt"))[0]
    assert (gpu.model, gpu.cores) == ("Apple M4", 8)
    assert match_device(gpu.model, gpu_cores=gpu.cores).row is None  # the table lists the 10-core M4 only
    m4 = match_device(gpu.model, gpu_cores=10)
    assert (m4.tflops["fp32"], m4.memory_gbs) == (None, 120)  # Apple publishes no M4 TFLOPS


def test_normalized_names() -> None:
    assert normalized_name("NVIDIA A100-SXM4-80GB") == "a100 sxm4 80gb"
    assert normalized_name("AMD Radeon RX 5700 XT (gfx1010:xnack-)") == "radeon rx 5700 xt"
    assert PCIE["PCIe Gen4 x8"] == 15.75


# ---------------------------------------------------------------- CPU estimate


def lscpu(name: str) -> dict[str, str]:
    return dict(re.findall(r"^([A-Za-z()' ]+):\s+(.*?)\s*$", fixture_text(name), re.M))


def test_cpu_estimate_sapphire_rapids_with_amx() -> None:
    facts = lscpu("collect_env_linux_cpu_1.txt")
    flags = set(facts["Flags"].split())
    cores = int(facts["Core(s) per socket"]) * int(facts["Socket(s)"])
    peaks = cpu_peaks(flags, cores, float(facts["CPU max MHz"]), "GenuineIntel", 6, "x86_64")
    assert cores == 112 and peaks.label == "estimate"
    assert peaks.tflops["fp32"] == pytest.approx(112 * 1.9e9 * 64 / 1e12)  # 13.6 TFLOP/s
    assert peaks.tflops["bf16"] == pytest.approx(112 * 1.9e9 * 1024 / 1e12)  # AMX: 217.9 TFLOP/s
    assert "112 cores x 1.90 GHz" in peaks.source and "avx512" in peaks.source


def test_cpu_estimate_per_vector_unit() -> None:
    zen4 = cpu_peaks({"avx2", "fma", "avx512f", "avx512_bf16"}, 2, 2600.0, "AuthenticAMD", 25, "x86_64")
    assert zen4.tflops == {"fp32": pytest.approx(2 * 2.6e9 * 32 / 1e12), "bf16": pytest.approx(2 * 2.6e9 * 64 / 1e12)}
    avx2 = cpu_peaks({"avx", "avx2", "fma"}, 8, 3000.0)
    assert avx2.tflops == {"fp32": pytest.approx(8 * 3e9 * 32 / 1e12), "bf16": None}
    assert vector_units(set(), machine="aarch64").fp32_per_cycle == 16
    assert vector_units({"sse2"}) is None


def test_cpu_without_a_clock_has_no_peak() -> None:
    peaks = cpu_peaks({"asimd"}, 10, None, machine="arm64")
    assert (peaks.label, peaks.tflops) == ("unknown", {}) and "clock" in peaks.source
