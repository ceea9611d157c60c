"""Apple parsers and probe, fed the real recorded outputs in tests/fixtures."""

from __future__ import annotations

import platform

import pytest

from torchlab.probe.apple import (
    apple_facts,
    parse_displays,
    parse_hardware_overview,
    parse_sysctl_cpu,
    probe_apple,
    size_bytes,
)

from recorded import fixture_names, fixture_text

GIB = 2**30


@pytest.mark.parametrize("name", fixture_names("system_profiler-mini-SPHardwareDataType_*"))
def test_every_hardware_overview_parses(name: str) -> None:
    facts = parse_hardware_overview(fixture_text(name))
    assert facts.chip and facts.chip.startswith("Apple M")
    assert facts.memory_bytes == 16 * GIB


@pytest.mark.parametrize(
    ("name", "chip"),
    [
        ("system_profiler-mini-SPHardwareDataType_apple-M1-Pro.txt", "Apple M1 Pro"),
        ("system_profiler-mini-SPHardwareDataType_apple-M2-Pro.txt", "Apple M2 Pro"),
    ],
)
def test_hardware_overview_chip(name: str, chip: str) -> None:
    assert parse_hardware_overview(fixture_text(name)).chip == chip


@pytest.mark.parametrize("name", fixture_names("system_profiler-SPDisplaysDataType_*"))
def test_every_displays_report_parses(name: str) -> None:
    gpus = parse_displays(fixture_text(name))
    assert len(gpus) == 1


def test_displays_apple_m4() -> None:
    (gpu,) = parse_displays(fixture_text("system_profiler-SPDisplaysDataType_apple-M4_TRUNCATED.txt"))
    assert (gpu.model, gpu.cores, gpu.is_apple) == ("Apple M4", 8, True)
    assert gpu.vram_bytes is None  # unified memory: no VRAM line


def test_displays_discrete_radeon_on_an_intel_mac() -> None:
    text = fixture_text("system_profiler-SPDisplaysDataType_iMacPro2017_RadeonProVega64.txt")
    (gpu,) = parse_displays(text)
    assert (gpu.model, gpu.is_apple, gpu.cores) == ("Radeon Pro Vega 64", False, None)
    assert gpu.vram_bytes == 16 * GIB


@pytest.mark.parametrize(
    ("name", "brand"),
    [
        ("sysctl-machdep.cpu_apple-M1-Pro.txt", "Apple M1 Pro"),
        ("sysctl-machdep.cpu_apple-M1.txt", "Apple M1"),
        ("sysctl-machdep.cpu_apple-M1_bigsur-early.txt", "Apple processor"),
    ],
)
def test_sysctl_brand_string(name: str, brand: str) -> None:
    assert parse_sysctl_cpu(fixture_text(name)) == brand


def test_size_bytes_counts_in_powers_of_1024() -> None:
    assert size_bytes("16 GB") == 16 * GIB
    assert size_bytes("1536 MB") == 1536 * 2**20
    assert size_bytes("none") is None


def test_facts_from_hardware_and_displays() -> None:
    facts = apple_facts(
        fixture_text("system_profiler-mini-SPHardwareDataType_apple-M2-Pro.txt"),
        None,
        None,
        "14.5",
        "arm64",
    )
    assert (facts.chip, facts.memory_bytes) == ("Apple M2 Pro", 16 * GIB)
    assert (facts.macos_version, facts.arm64) == ("14.5", True)
    assert facts.gpu_cores is None


def test_facts_take_chip_and_cores_from_the_apple_gpu() -> None:
    displays = fixture_text("system_profiler-SPDisplaysDataType_apple-M4_TRUNCATED.txt")
    facts = apple_facts(None, displays, None, "15.5", "arm64")
    assert (facts.chip, facts.gpu_cores) == ("Apple M4", 8)


def test_facts_fall_back_to_the_sysctl_brand() -> None:
    brand = parse_sysctl_cpu(fixture_text("sysctl-machdep.cpu_apple-M1.txt"))
    facts = apple_facts(None, None, brand, "", "x86_64")
    assert facts.chip == "Apple M1"
    assert facts.arm64 is False  # an x86_64 Python under Rosetta
    assert facts.macos_version is None


def test_an_intel_mac_has_no_apple_gpu_cores() -> None:
    displays = fixture_text("system_profiler-SPDisplaysDataType_iMacPro2017_RadeonProVega64.txt")
    facts = apple_facts(None, displays, None, "13.6", "x86_64")
    assert (facts.chip, facts.gpu_cores, facts.arm64) == (None, None, False)


@pytest.mark.skipif(platform.system() == "Darwin", reason="this machine is a Mac")
def test_probe_off_macos_is_none() -> None:
    assert probe_apple() is None
