"""NVIDIA parsers and probe, fed the real recorded outputs in tests/fixtures."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from torchlab.probe import nvidia
from torchlab.probe.nvidia import (
    cuda_version_from_int,
    is_wsl2,
    parse_proc_version,
    parse_smi_csv,
    parse_smi_query,
    parse_smi_table,
    parse_smi_xml,
    probe_nvidia,
)

from recorded import fixture_names, fixture_text



TABLE_FAILURES = {"nvidia-smi_WSL2-segfault_555.42.03-drv555.85.txt"}
TABLES = [name for name in fixture_names("nvidia-smi_*.txt") if name not in TABLE_FAILURES]


def driver_in_name(name: str) -> str:
    """The driver version the fixture's file name records: "..._590.44.01.xml" -> "590.44.01"."""
    match = re.search(r"_(\d+\.\d+(?:\.\d+)?)(?:_windows|_load)*\.\w+$", name)
    assert match, name
    return match.group(1)


# nvidia-smi -q -x ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", fixture_names("nvidia-smi-q-x_*.xml"))
def test_every_xml_report_parses(name: str) -> None:
    facts = parse_smi_xml(fixture_text(name))
    assert facts.error is None
    assert facts.source == "nvidia-smi-xml"
    assert facts.driver_version == driver_in_name(name)
    assert re.fullmatch(r"\d+\.\d+", facts.cuda_driver_version or "")
    assert facts.gpus and all(gpu.name and gpu.memory_total_mib for gpu in facts.gpus)


def test_xml_dual_rtx2080() -> None:
    facts = parse_smi_xml(fixture_text("nvidia-smi-q-x_2xRTX2080_590.44.01.xml"))
    assert (facts.driver_version, facts.cuda_driver_version) == ("590.44.01", "13.1")
    assert [gpu.index for gpu in facts.gpus] == [0, 1]
    assert {gpu.name for gpu in facts.gpus} == {"NVIDIA GeForce RTX 2080"}
    assert facts.gpus[0].uuid == "GPU-12345678-aaaa-bbbb-cccc-0123456789ab"
    assert facts.gpus[0].memory_total_mib == 8192
    assert facts.gpus[0].mig_mode is None  # <current_mig>N/A</current_mig>


def test_xml_mig_enabled_counts_memory_of_the_gpu_not_its_mig_devices() -> None:
    facts = parse_smi_xml(fixture_text("nvidia-smi-q-x_A100-SXM4-40GB-MIG_510.47.03.xml"))
    (gpu,) = facts.gpus
    assert gpu.name == "NVIDIA A100-SXM4-40GB"
    assert gpu.mig_mode == "Enabled"
    assert gpu.memory_total_mib == 40960


def test_xml_old_driver_without_mig_element() -> None:
    facts = parse_smi_xml(fixture_text("nvidia-smi-q-x_GTX1660Ti_418.43.xml"))
    assert facts.cuda_driver_version == "10.1"
    assert facts.gpus[0].name == "Graphics Device"
    assert facts.gpus[0].mig_mode is None


def test_xml_reports_the_gpu_elements_present() -> None:
    # attached_gpus says 4 but the capture holds one <gpu>.
    facts = parse_smi_xml(fixture_text("nvidia-smi-q-x_4xA100-SXM4-80GB_535.54.03.xml"))
    assert len(facts.gpus) == 1
    assert facts.gpus[0].memory_total_mib == 81920


def test_xml_parser_reports_text_that_is_not_xml() -> None:
    facts = parse_smi_xml(fixture_text("error_nvidia-smi-failed-communicate-driver_3-gcp-debian11.txt"))
    assert facts.error and "XML" in facts.error
    assert facts.gpus == ()


# nvidia-smi -q -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", fixture_names("nvidia-smi-q_*.txt") + fixture_names("nvidia-smi-a_*.txt"))
def test_every_query_report_parses(name: str) -> None:
    facts = parse_smi_query(fixture_text(name))
    assert facts.error is None
    assert facts.driver_version == driver_in_name(name)
    assert facts.gpus and all(gpu.name.startswith("NVIDIA") for gpu in facts.gpus)
    assert all(gpu.uuid and gpu.uuid.startswith("GPU-") for gpu in facts.gpus)


def test_query_eight_h100() -> None:
    facts = parse_smi_query(fixture_text("nvidia-smi-q_8xH100_535.161.08.txt"))
    assert (facts.driver_version, facts.cuda_driver_version) == ("535.161.08", "12.2")
    assert [gpu.index for gpu in facts.gpus] == list(range(8))
    first = facts.gpus[0]
    assert first.name == "NVIDIA H100 80GB HBM3"
    assert first.uuid == "GPU-ee7954ec-da95-fd7a-ddfd-c6b32cc2f8aa"
    assert first.memory_total_mib == 81559  # FB memory, not BAR1 (131072)
    assert first.mig_mode == "Disabled"


def test_query_geforce_has_no_mig() -> None:
    facts = parse_smi_query(fixture_text("nvidia-smi-q_8xRTX4090_535.154.05.txt"))
    assert len(facts.gpus) == 8
    assert facts.gpus[7].uuid == "GPU-78289b93-0248-1915-dc72-4427058400fa"
    assert all(gpu.mig_mode is None and gpu.memory_total_mib == 24564 for gpu in facts.gpus)


# nvidia-smi (the table) --------------------------------------------------------------------------


@pytest.mark.parametrize("name", TABLES)
def test_every_table_parses(name: str) -> None:
    facts = parse_smi_table(fixture_text(name))
    assert facts.error is None
    assert facts.driver_version
    assert facts.gpus and all(gpu.name.startswith("NVIDIA") for gpu in facts.gpus)
    assert all(gpu.memory_total_mib for gpu in facts.gpus)
    assert [gpu.index for gpu in facts.gpus] == list(range(len(facts.gpus)))


@pytest.mark.parametrize("name", [n for n in TABLES if "WSL2" not in n])
def test_table_driver_matches_the_machine(name: str) -> None:
    assert parse_smi_table(fixture_text(name)).driver_version == driver_in_name(name)


def test_table_nine_rtx_a6000() -> None:
    facts = parse_smi_table(fixture_text("nvidia-smi_9xRTXA6000_550.127.05.txt"))
    assert (facts.driver_version, facts.cuda_driver_version) == ("550.127.05", "12.4")
    assert len(facts.gpus) == 9
    assert facts.gpus[8].name == "NVIDIA RTX A6000"
    assert facts.gpus[8].memory_total_mib == 46068
    assert facts.gpus[8].mig_mode is None


def test_table_keeps_truncated_names_as_printed() -> None:
    facts = parse_smi_table(fixture_text("nvidia-smi_GTX680_470.256.02.txt"))
    assert facts.gpus[0].name == "NVIDIA GeForce ..."
    assert facts.gpus[0].memory_total_mib == 2000
    assert facts.cuda_driver_version == "11.4"


def test_table_windows_driver_model_is_not_part_of_the_name() -> None:
    facts = parse_smi_table(fixture_text("nvidia-smi_RTX2080SUPER_591.86_windows.txt"))
    assert facts.gpus[0].name == "NVIDIA GeForce RTX 2080 ..."
    assert facts.gpus[0].memory_total_mib == 8192


def test_table_mig_modes() -> None:
    pending = parse_smi_table(fixture_text("nvidia-smi_A30-MIG-pending-enable_535.183.01.txt"))
    enabled = parse_smi_table(fixture_text("nvidia-smi_A30-MIG-3-instances_535.183.01.txt"))
    h100 = parse_smi_table(fixture_text("nvidia-smi_H100-80GB-HBM3_590.48.01.txt"))
    assert pending.gpus[0].mig_mode == "Enabled*"
    assert len(enabled.gpus) == 1  # the MIG devices table lists instances, not GPUs
    assert (enabled.gpus[0].name, enabled.gpus[0].mig_mode) == ("NVIDIA A30", "Enabled")
    assert enabled.gpus[0].memory_total_mib == 24576
    assert h100.gpus[0].mig_mode == "Disabled"


def test_table_wsl_cuda_err_is_unknown() -> None:
    facts = parse_smi_table(fixture_text("nvidia-smi_RTX3060-Laptop-WSL2_545.46-drv546.80_CUDA-ERR_TRUNCATED.txt"))
    assert facts.driver_version == "546.80"  # the Windows driver, not NVIDIA-SMI 545.46
    assert facts.cuda_driver_version is None
    assert facts.gpus[0].memory_total_mib == 6144


def test_table_kmd_and_cuda_umd_header() -> None:
    facts = parse_smi_table(fixture_text("nvidia-smi_RTX2080SUPER_610.57.04.txt"))
    assert (facts.driver_version, facts.cuda_driver_version) == ("610.57.04", "13.3")


def test_table_segfault_is_an_error_with_no_gpus() -> None:
    facts = parse_smi_table(fixture_text("nvidia-smi_WSL2-segfault_555.42.03-drv555.85.txt"))
    assert facts.gpus == ()
    assert facts.error and "segmentation fault" in facts.error
    assert (facts.driver_version, facts.cuda_driver_version) == ("555.85", "12.5")


@pytest.mark.parametrize("name", fixture_names("error_nvidia-smi-*") + fixture_names("error_nvml-*"))
def test_failure_messages_become_error(name: str) -> None:
    facts = parse_smi_table(fixture_text(name))
    assert facts.gpus == ()
    assert facts.driver_version is None
    assert facts.error and "\n" not in facts.error


def test_failure_message_is_the_tools_own_words() -> None:
    comms = parse_smi_table(fixture_text("error_nvidia-smi-failed-communicate-driver_3-gcp-debian11.txt"))
    mismatch = parse_smi_table(fixture_text("error_nvml-driver-library-version-mismatch_580.txt"))
    wsl = parse_smi_table(fixture_text("error_nvidia-smi-failed_WSL2-driver-not-loaded.txt"))
    assert comms.error == (
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
        "Make sure that the latest NVIDIA driver is installed and running."
    )
    assert mismatch.error is not None
    assert mismatch.error.startswith("Failed to initialize NVML: Driver/library version mismatch")
    assert "580.178" in mismatch.error
    assert wsl.error is not None and wsl.error.endswith("Driver Not Loaded")


# nvidia-smi --query-gpu --format=csv ----------------------------------------------------------


@pytest.mark.parametrize("name", fixture_names("nvidia-smi-query-gpu_*.csv"))
def test_every_csv_parses(name: str) -> None:
    facts = parse_smi_csv(fixture_text(name))
    assert facts.error is None
    assert len(facts.gpus) == 1


@pytest.mark.parametrize("name", [n for n in fixture_names("nvidia-smi-query-gpu_*.csv") if "mig-mode" not in n])
def test_full_csv_driver_and_capability(name: str) -> None:
    facts = parse_smi_csv(fixture_text(name))
    assert facts.driver_version == driver_in_name(name)
    assert re.fullmatch(r"\d+\.\d+", facts.gpus[0].compute_capability or "")


def test_csv_h100() -> None:
    (gpu,) = parse_smi_csv(fixture_text("nvidia-smi-query-gpu_H100-80GB-HBM3_590.48.01.csv")).gpus
    assert (gpu.index, gpu.name, gpu.compute_capability) == (0, "NVIDIA H100 80GB HBM3", "9.0")
    assert (gpu.memory_total_mib, gpu.mig_mode) == (81559, "Disabled")
    assert gpu.uuid == "GPU-00000000-0000-0000-0000-000000000000"


def test_csv_not_available_values_are_none() -> None:
    (gpu,) = parse_smi_csv(fixture_text("nvidia-smi-query-gpu_L40S_595.80.csv")).gpus
    assert gpu.mig_mode is None  # "[N/A]"
    assert gpu.compute_capability == "8.9"
    assert gpu.memory_total_mib == 46068


def test_csv_with_only_some_columns() -> None:
    facts = parse_smi_csv(fixture_text("nvidia-smi-query-gpu_A30_mig-mode_535.183.01.csv"))
    assert facts.driver_version is None
    assert facts.gpus[0].mig_mode == "Enabled"
    assert facts.gpus[0].memory_total_mib is None


def test_csv_parser_reports_a_failure_message() -> None:
    facts = parse_smi_csv(fixture_text("error_nvidia-smi-failed-communicate-driver_3-gcp-debian11.txt"))
    assert facts.error and facts.error.startswith("NVIDIA-SMI has failed")


# /proc/driver/nvidia/version, CUDA integers, WSL ------------------------------------------------


@pytest.mark.parametrize("name", [n for n in fixture_names("proc-driver-nvidia-version_*") if "jetson" not in n])
def test_every_proc_version_parses(name: str) -> None:
    version = re.search(r"_(\d+\.\d+(?:\.\d+)?)", name)
    assert version
    facts = parse_proc_version(fixture_text(name))
    assert (facts.source, facts.driver_version, facts.error) == ("proc", version.group(1), None)


def test_proc_open_kernel_module() -> None:
    facts = parse_proc_version(fixture_text("proc-driver-nvidia-version_565.57.01-open_ubuntu24.04.txt"))
    assert facts.driver_version == "565.57.01"


def test_proc_jetson_is_an_l4t_release_not_a_driver() -> None:
    facts = parse_proc_version(fixture_text("proc-driver-nvidia-version_jetson-orin-nx_35.3.1.txt"))
    assert facts.driver_version is None
    assert facts.error and "35.3.1" in facts.error and "L4T" in facts.error


@pytest.mark.parametrize(
    ("value", "expected"), [(12040, "12.4"), (13010, "13.1"), (12000, "12.0"), (11080, "11.8")]
)
def test_cuda_version_from_int(value: int, expected: str) -> None:
    assert cuda_version_from_int(value) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # INDEX.md: driver 435.21 supports CUDA 10.1, 470.223.02 CUDA 11.4, the CI driver CUDA 12.8.
        ("error_torch-driver-too-old_435-found-10010.txt", "10.1"),
        ("error_torch-driver-too-old_470-found-11040.txt", "11.4"),
        ("error_torch-driver-too-old_ci-found-12080.txt", "12.8"),
    ],
)
def test_cuda_version_from_torch_warnings(name: str, expected: str) -> None:
    found = re.search(r"found version (\d+)", fixture_text(name))
    assert found
    assert cuda_version_from_int(int(found.group(1))) == expected


@pytest.mark.parametrize("name", fixture_names("proc-version_*") + fixture_names("uname-a_*"))
def test_wsl2_is_told_from_wsl1(name: str) -> None:
    assert is_wsl2(fixture_text(name)) == ("_wsl2_" in name)


# the live probe ------------------------------------------------------------------------------


def _has_nvidia_driver() -> bool:
    return Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None


@pytest.mark.skipif(_has_nvidia_driver(), reason="this machine has an NVIDIA driver")
def test_probe_on_this_machine_finds_no_nvidia() -> None:
    assert probe_nvidia(dict(os.environ)) is None


@pytest.fixture
def no_nvml_no_smi(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Hide this machine's NVML and nvidia-smi; return a bin folder for a recorded nvidia-smi."""
    monkeypatch.setattr(nvidia, "_ask_nvml", lambda: None)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir


def recorded_smi(bin_dir: Path, output: str, exit_status: int = 0) -> Path:
    """An `nvidia-smi` that prints a recorded output, the way the real one printed it, and logs each
    command line it was given (the log file's path is returned)."""
    log = bin_dir / "calls.txt"
    (bin_dir / "output.txt").write_text(output, encoding="utf-8")
    script = bin_dir / "nvidia-smi"
    script.write_text(
        f"#!{sys.executable}\nimport sys\n"
        f"open({str(log)!r}, 'a', encoding='utf-8').write(' '.join(sys.argv[1:]) + '\\n')\n"
        f"sys.stdout.write(open({str(bin_dir / 'output.txt')!r}, encoding='utf-8').read())\n"
        f"sys.exit({exit_status})\n"
    )
    script.chmod(0o755)
    return log


def place(root: Path, relative: str, fixture_name: str) -> None:
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(fixture_text(fixture_name), encoding="utf-8")


def test_probe_reads_the_kernel_module_when_nothing_else_answers(no_nvml_no_smi: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    place(root, "proc/driver/nvidia/version", "proc-driver-nvidia-version_565.57.01-open_ubuntu24.04.txt")
    facts = probe_nvidia(dict(os.environ), root=root)
    assert facts is not None
    assert (facts.source, facts.driver_version, facts.gpus, facts.error) == ("proc", "565.57.01", (), None)
    assert facts.wsl_libcuda is None


def test_probe_asks_nvidia_smi_for_xml(no_nvml_no_smi: Path, tmp_path: Path) -> None:
    recorded_smi(no_nvml_no_smi, fixture_text("nvidia-smi-q-x_RTX3060_570.124.04.xml"), 0)
    facts = probe_nvidia(dict(os.environ), root=tmp_path / "empty")
    assert facts is not None
    assert (facts.source, facts.driver_version, facts.cuda_driver_version) == ("nvidia-smi-xml", "570.124.04", "12.8")
    assert [gpu.name for gpu in facts.gpus] == ["NVIDIA GeForce RTX 3060"]


def test_probe_driver_library_mismatch(no_nvml_no_smi: Path, tmp_path: Path) -> None:
    # The TrueNAS machine: nvidia-smi fails, the kernel module still says which driver it is.
    transcript = fixture_text("error_nvml-driver-library-version-mismatch_580.txt").splitlines(keepends=True)
    smi_output = "".join(line for line in transcript[1:3])
    assert smi_output.startswith("Failed to initialize NVML")
    recorded_smi(no_nvml_no_smi, smi_output, 18)
    root = tmp_path / "root"
    place(root, "proc/driver/nvidia/version", "proc-driver-nvidia-version_580.173.02_truenas.txt")
    facts = probe_nvidia(dict(os.environ), root=root)
    assert facts is not None
    assert facts.driver_version == "580.173.02"
    assert facts.error and "Driver/library version mismatch" in facts.error
    assert facts.gpus == ()


def test_probe_wsl2_with_libcuda(no_nvml_no_smi: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    place(root, "proc/version", "proc-version_wsl2_5.4.72-microsoft-standard-WSL2.txt")
    (root / nvidia.WSL_LIBCUDA).parent.mkdir(parents=True)
    (root / nvidia.WSL_LIBCUDA).touch()
    facts = probe_nvidia(dict(os.environ), root=root)
    assert facts is not None
    assert facts.wsl_libcuda is True
    assert facts.error and "libcuda.so.1" in facts.error


def test_probe_wsl2_without_libcuda_finds_nothing(no_nvml_no_smi: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    place(root, "proc/version", "proc-version_wsl2_5.4.72-microsoft-standard-WSL2.txt")
    assert probe_nvidia(dict(os.environ), root=root) is None


def test_probe_wsl2_failure_keeps_the_libcuda_fact(no_nvml_no_smi: Path, tmp_path: Path) -> None:
    recorded_smi(no_nvml_no_smi, fixture_text("error_nvidia-smi-failed_WSL2-driver-not-loaded.txt"), 9)
    root = tmp_path / "root"
    place(root, "proc/version", "proc-version_wsl2_4.19.128-microsoft-standard.txt")
    facts = probe_nvidia(dict(os.environ), root=root)
    assert facts is not None
    assert facts.source == "nvidia-smi"
    assert facts.wsl_libcuda is False
    assert facts.error and facts.error.startswith("NVIDIA-SMI has failed")


def test_the_mig_instances_are_asked_for_when_a_gpu_has_mig_on(no_nvml_no_smi: Path, monkeypatch, tmp_path: Path) -> None:
    # The same H100 host (driver 590.48.01): NVML's view as its query-gpu CSV, and its `nvidia-smi -L`.
    monkeypatch.setattr(nvidia, "_ask_nvml", lambda: parse_smi_csv(fixture_text("nvidia-smi-query-gpu_H100-MIG_590.48.01.csv")))
    monkeypatch.setattr(nvidia, "_driver_signs", lambda root: True)
    log = recorded_smi(no_nvml_no_smi, fixture_text("nvidia-smi-L_H100-MIG_590.48.01.txt"))
    facts = probe_nvidia(dict(os.environ), root=tmp_path / "empty")
    assert facts is not None and facts.gpus[0].mig_mode == "Enabled"
    assert [device.profile for device in facts.mig_devices] == ["3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb"]
    assert all(device.uuid.startswith("MIG-") and device.gpu_index == 0 for device in facts.mig_devices)
    assert log.read_text(encoding="utf-8") == "-L\n"


def test_nothing_more_is_run_for_a_gpu_without_mig(no_nvml_no_smi: Path, tmp_path: Path) -> None:
    log = recorded_smi(no_nvml_no_smi, fixture_text("nvidia-smi-q-x_RTX3060_570.124.04.xml"))
    facts = probe_nvidia(dict(os.environ), root=tmp_path / "empty")
    assert facts is not None and facts.gpus and facts.mig_devices == ()
    assert log.read_text(encoding="utf-8") == "-q -x\n"
