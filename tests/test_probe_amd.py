"""AMD parsers and probe, fed the real recorded outputs in tests/fixtures."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from torchlab.probe.amd import (
    amd_gpu_from_kfd,
    gfx_target_from_kfd,
    parse_amd_smi,
    parse_kfd_properties,
    parse_rocm_smi_concise,
    parse_rocm_smi_csv,
    parse_rocm_smi_json,
    parse_rocm_smi_text,
    parse_rocminfo,
    probe_amd,
)

from recorded import fixture_names, fixture_text

MI100_DEVICE_ID = 0x738C
MI300X_DEVICE_ID = 0x74A1


# KFD topology ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "target"), [(90010, "gfx90a"), (90402, "gfx942"), (100300, "gfx1030")])
def test_gfx_target_from_kfd(version: int, target: str) -> None:
    assert gfx_target_from_kfd(version) == target


def test_gfx_target_of_a_cpu_node_is_none() -> None:
    properties = parse_kfd_properties(fixture_text("kfd-properties_MI210-host_node1-cpu.txt"))
    assert properties["gfx_target_version"] == 0
    assert gfx_target_from_kfd(properties["gfx_target_version"]) is None


def test_kfd_properties_are_integers() -> None:
    properties = parse_kfd_properties(fixture_text("kfd-properties_MI210_node2-gpu-gfx90a.txt"))
    assert properties["gfx_target_version"] == 90010
    assert properties["simd_count"] == 416
    assert properties["hive_id"] == 12609507387757274807


@pytest.mark.parametrize("name", fixture_names("kfd-properties_*"))
def test_kfd_nodes_are_told_apart(name: str) -> None:
    gpu = amd_gpu_from_kfd(2, fixture_text(name))
    assert (gpu is not None) == ("-gpu" in name)


@pytest.mark.parametrize(
    ("name", "target", "device_id"),
    [
        ("kfd-properties_MI210_node2-gpu-gfx90a.txt", "gfx90a", 0x740F),
        ("kfd-properties_MI300X-CPX_node2-gpu-gfx942.txt", "gfx942", 0x74A1),
        ("kfd-properties_MI308X_node2-gpu-gfx942.txt", "gfx942", 0x74A2),
    ],
)
def test_kfd_gpu(name: str, target: str, device_id: int) -> None:
    gpu = amd_gpu_from_kfd(2, fixture_text(name), index=0)
    assert gpu is not None
    assert (gpu.gfx_target, gpu.device_id, gpu.kfd_node) == (target, device_id, 2)
    assert gpu.vram_bytes is None  # local_mem_size 0: VRAM lives in mem_banks/ on these kernels


def test_kfd_old_kernel_without_gfx_target_version() -> None:
    gpu = amd_gpu_from_kfd(1, fixture_text("kfd-properties_vega10-MI25_node1-gpu.txt"))
    assert gpu is not None
    assert gpu.gfx_target is None
    assert gpu.device_id == 0x6860
    assert gpu.vram_bytes == 17163091968  # 16 GiB, from local_mem_size


# rocm-smi ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", fixture_names("rocm-smi-json_*.json"))
def test_every_rocm_smi_json_parses(name: str) -> None:
    facts = parse_rocm_smi_json(fixture_text(name))
    assert facts.error is None
    assert facts.source == "rocm-smi"
    assert facts.driver_version
    assert facts.gpus and all(gpu.vram_bytes for gpu in facts.gpus)
    assert [gpu.index for gpu in facts.gpus] == list(range(len(facts.gpus)))


def test_rocm_smi_json_with_gfx_version() -> None:
    facts = parse_rocm_smi_json(fixture_text("rocm-smi-json_RX6700XT_rocm6.1.2.json"))
    (gpu,) = facts.gpus
    assert gpu.gfx_target == "gfx1031"
    assert gpu.name == "Navi 22 [Radeon RX 6700/6700 XT / 6800M]"
    assert gpu.device_id == 0x73DF
    assert gpu.vram_bytes == 12868124672
    assert facts.driver_version == "6.3.6"


def test_rocm_smi_json_six_mi100() -> None:
    facts = parse_rocm_smi_json(fixture_text("rocm-smi-json_MI100_rocm5.7.1.json"))
    assert len(facts.gpus) == 6
    assert {gpu.name for gpu in facts.gpus} == {"Arcturus GL-XL [Instinct MI100]"}
    assert facts.driver_version == "6.2.4"
    assert facts.gpus[0].gfx_target is None  # this rocm-smi does not print "GFX Version"


def test_rocm_smi_json_pci_ids_are_not_names() -> None:
    # ROCm 4.3 printed the vendor id where the card series belongs.
    facts = parse_rocm_smi_json(fixture_text("rocm-smi-json_RX6700XT_rocm4.3.0.json"))
    assert facts.gpus[0].name is None


def test_rocm_smi_json_parser_reports_other_output() -> None:
    facts = parse_rocm_smi_json(fixture_text("rocm-smi_1xMI300X.txt"))
    assert facts.error and facts.gpus == ()


def test_rocm_smi_csv_product_names() -> None:
    facts = parse_rocm_smi_csv(fixture_text("rocm-smi-showproductname-csv_2xMI100.csv"))
    assert facts.error is None
    assert [gpu.name for gpu in facts.gpus] == ["Arcturus GL-XL [AMD Instinct MI100]"] * 2


def test_rocm_smi_csv_driver_version() -> None:
    facts = parse_rocm_smi_csv(fixture_text("rocm-smi-showdriverversion-csv_rhel8.csv"))
    assert facts.error is None
    assert facts.driver_version == "4.18.0-348.12.2.el8_5.x86_64"
    assert facts.gpus == ()


@pytest.mark.parametrize("name", fixture_names("rocm-smi-showproductname_*.txt") + fixture_names("rocm-smi-a_*.txt"))
def test_every_rocm_smi_report_parses(name: str) -> None:
    facts = parse_rocm_smi_text(fixture_text(name))
    assert facts.error is None
    assert facts.gpus


def test_rocm_smi_all_report() -> None:
    facts = parse_rocm_smi_text(fixture_text("rocm-smi-a_4xMI300X.txt"))
    assert facts.driver_version == "6.7.0"
    assert len(facts.gpus) == 4
    assert {gpu.name for gpu in facts.gpus} == {"AMD Instinct MI300X OAM"}
    assert {gpu.device_id for gpu in facts.gpus} == {MI300X_DEVICE_ID}


def test_rocm_smi_old_product_name_is_a_pci_id() -> None:
    facts = parse_rocm_smi_text(fixture_text("rocm-smi-showproductname_MI100_rocm4.0.txt"))
    assert [gpu.index for gpu in facts.gpus] == [0]
    assert facts.gpus[0].name is None


@pytest.mark.parametrize("name", fixture_names("rocm-smi_*.txt"))
def test_every_concise_rocm_smi_parses(name: str) -> None:
    facts = parse_rocm_smi_concise(fixture_text(name))
    assert facts.error is None
    assert all(gpu.name == "AMD Instinct MI300X" for gpu in facts.gpus)
    assert all(gpu.device_id == MI300X_DEVICE_ID for gpu in facts.gpus)


def test_concise_rocm_smi_counts_gpus() -> None:
    assert len(parse_rocm_smi_concise(fixture_text("rocm-smi_4xMI300X.txt")).gpus) == 4
    assert len(parse_rocm_smi_concise(fixture_text("rocm-smi_1xMI300X.txt")).gpus) == 1


# rocminfo and amd-smi ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", fixture_names("rocminfo_*.txt"))
def test_every_rocminfo_parses(name: str) -> None:
    facts = parse_rocminfo(fixture_text(name))
    assert facts.error is None
    assert facts.gpus and all(gpu.gfx_target and gpu.name for gpu in facts.gpus)


def test_rocminfo_mi300x() -> None:
    gpus = parse_rocminfo(fixture_text("rocminfo_4xMI300X_EPYC9474F.txt")).gpus
    assert [gpu.gfx_target for gpu in gpus] == ["gfx942"] * 4  # the two CPU agents are left out
    assert [gpu.kfd_node for gpu in gpus] == [2, 3, 4, 5]
    assert gpus[0].name == "AMD Instinct MI300X"
    assert gpus[0].device_id == MI300X_DEVICE_ID
    assert gpus[0].vram_bytes == 201310208 * 1024


def test_rocminfo_mi25() -> None:
    gpus = parse_rocminfo(fixture_text("rocminfo_ThreadripperPRO-3955WX_MI25xN-gfx900.txt")).gpus
    assert len(gpus) == 7
    assert {gpu.gfx_target for gpu in gpus} == {"gfx900"}
    assert {gpu.name for gpu in gpus} == {"Radeon Instinct MI25"}


def test_rocminfo_parser_reports_other_output() -> None:
    facts = parse_rocminfo(fixture_text("rocm-smi_1xMI300X.txt"))
    assert facts.error and facts.gpus == ()


@pytest.mark.parametrize("name", fixture_names("amd-smi-list_*") + fixture_names("amd-smi-static-*"))
def test_every_amd_smi_listing_parses(name: str) -> None:
    facts = parse_amd_smi(fixture_text(name))
    assert facts.error is None
    assert facts.gpus


def test_amd_smi_list() -> None:
    gpus = parse_amd_smi(fixture_text("amd-smi-list_2xGPU_changelog-example_REDACTED.txt")).gpus
    assert [(gpu.index, gpu.kfd_node) for gpu in gpus] == [(0, 1), (1, 2)]


def test_amd_smi_static_asic() -> None:
    (gpu,) = parse_amd_smi(fixture_text("amd-smi-static-asic_MI308X_changelog-example_REDACTED.txt")).gpus
    assert (gpu.gfx_target, gpu.name, gpu.device_id) == ("gfx942", "MI308X", 0x74A2)


# the live probe ------------------------------------------------------------------------------------


def sysfs_node(root: Path, node: int, fixture_name: str) -> None:
    directory = root / "sys/class/kfd/kfd/topology/nodes" / str(node)
    directory.mkdir(parents=True)
    (directory / "properties").write_text(fixture_text(fixture_name), encoding="utf-8")


@pytest.fixture
def no_rocm_smi(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Hide this machine's rocm-smi; return a bin folder for a recorded one."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir


@pytest.mark.skipif(
    Path("/sys/class/kfd").exists() or shutil.which("rocm-smi") is not None,
    reason="this machine has an AMD GPU stack",
)
def test_probe_on_this_machine_finds_no_amd() -> None:
    assert probe_amd(dict(os.environ)) is None


def test_probe_without_kfd_or_rocm_smi_is_none(no_rocm_smi: Path, tmp_path: Path) -> None:
    assert probe_amd({"PATH": str(no_rocm_smi)}, root=tmp_path) is None


def test_probe_reads_the_mi210_host_topology(no_rocm_smi: Path, tmp_path: Path) -> None:
    sysfs_node(tmp_path, 1, "kfd-properties_MI210-host_node1-cpu.txt")
    sysfs_node(tmp_path, 2, "kfd-properties_MI210_node2-gpu-gfx90a.txt")
    env = {"PATH": str(no_rocm_smi), "HSA_OVERRIDE_GFX_VERSION": "10.3.0"}
    facts = probe_amd(env, root=tmp_path)
    assert facts is not None
    assert facts.source == "kfd"
    assert [(gpu.index, gpu.kfd_node, gpu.gfx_target) for gpu in facts.gpus] == [(0, 2, "gfx90a")]
    assert facts.hsa_override_gfx_version == "10.3.0"
    assert env == {"PATH": str(no_rocm_smi), "HSA_OVERRIDE_GFX_VERSION": "10.3.0"}
    assert facts.rocm_version is None


def test_probe_old_kernel_host(no_rocm_smi: Path, tmp_path: Path) -> None:
    sysfs_node(tmp_path, 0, "kfd-properties_vega10-host_node0-cpu.txt")
    sysfs_node(tmp_path, 1, "kfd-properties_vega10-MI25_node1-gpu.txt")
    (tmp_path / "opt/rocm/.info").mkdir(parents=True)
    (tmp_path / "opt/rocm/.info/version").write_text("6.0.2\n")
    facts = probe_amd({}, root=tmp_path)
    assert facts is not None
    (gpu,) = facts.gpus
    assert (gpu.gfx_target, gpu.vram_bytes, gpu.kfd_node) == (None, 17163091968, 1)
    assert facts.rocm_version == "6.0.2"
    assert facts.hsa_override_gfx_version is None


def test_probe_asks_rocm_smi_when_there_is_no_kfd(no_rocm_smi: Path, tmp_path: Path) -> None:
    output = no_rocm_smi / "output.json"
    output.write_text(fixture_text("rocm-smi-json_RX6700XT_rocm6.1.2.json"), encoding="utf-8")
    script = no_rocm_smi / "rocm-smi"
    script.write_text(f"#!{sys.executable}\nimport sys\nsys.stdout.write(open({str(output)!r}).read())\n")
    script.chmod(0o755)
    facts = probe_amd({"PATH": str(no_rocm_smi)}, root=tmp_path)
    assert facts is not None
    assert facts.source == "rocm-smi"
    assert [gpu.gfx_target for gpu in facts.gpus] == ["gfx1031"]
    assert facts.driver_version == "6.3.6"
