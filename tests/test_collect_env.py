"""torchlab.collect_env: real collect_env reports (tests/fixtures) read into HostFacts."""

from __future__ import annotations

import platform
from dataclasses import replace
import subprocess
import sys
from pathlib import Path

import pytest

from torchlab.doctor.collect_env import (
    driver_cuda_found, looks_like_collect_env, parse_collect_env, torch_cuda_warning,
)
from torchlab.facts import HostFacts, NvidiaGPU, from_dict, to_dict

from recorded import FIXTURES

REPORTS = sorted(FIXTURES.glob("collect_env_*.txt"))
OTHER_OUTPUTS = sorted(
    p for p in FIXTURES.iterdir()
    if p.is_file() and p.name != "INDEX.md" and p.suffix != ".tsv" and p not in REPORTS  # .tsv: the corpus labels
)


def read(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def facts(name: str) -> HostFacts:
    return parse_collect_env(read(name))


def test_every_kind_of_report_is_present() -> None:
    assert len(REPORTS) == 21
    assert len(OTHER_OUTPUTS) > 100


@pytest.mark.parametrize("path", REPORTS, ids=lambda p: p.name)
def test_every_report_parses(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    host = parse_collect_env(text)
    assert looks_like_collect_env(text)
    assert host.source == "collect_env"
    assert host.docker is None
    assert host.torch is not None and host.torch.version
    assert host.os.system in ("Linux", "Darwin", "Windows", "unknown")
    assert from_dict(HostFacts, to_dict(host)) == host  # the --json report round-trips
    crlf = parse_collect_env(text.replace("\n", "\r\n"))  # as pasted from Windows
    assert "Windows line ends" in crlf.report.repaired
    assert replace(crlf, report=None) == replace(host, report=None)


@pytest.mark.parametrize("path", OTHER_OUTPUTS, ids=lambda p: p.name)
def test_other_outputs_are_not_reports(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    assert not looks_like_collect_env(text)
    with pytest.raises(ValueError, match="collect_env"):
        parse_collect_env(text)


@pytest.mark.parametrize("text", ["", "  \n\t\n"])
def test_empty_text_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="^empty text"):
        parse_collect_env(text)


def test_report_cut_before_pytorch_version_is_refused() -> None:
    text = read("collect_env_linux_cuda_2.txt")
    with pytest.raises(ValueError, match="ends before its first field"):
        parse_collect_env(text[: text.index("PyTorch version")])


def test_report_cut_after_pytorch_version_is_read_and_says_what_is_missing() -> None:
    """A report that stops after its first line is still a report: what it shows is judged, what it
    never reached is named, and nothing is claimed about GPUs it never listed."""
    text = read("collect_env_linux_cuda_1.txt")
    host = parse_collect_env(text[: text.index("CUDA used to build")])
    assert host.torch.version == "1.12.1+cu116"
    assert host.report.missing == ("OS", "CUDA used to build PyTorch", "Is CUDA available",
                                   "GPU models and configuration", "Nvidia driver version")
    assert host.nvidia is None and host.os.system == "unknown"


def test_report_cut_inside_the_gpu_list_says_so() -> None:
    text = read("collect_env_linux_cuda_5.txt")
    host = parse_collect_env(text[: text.index("GPU 2:")])
    assert host.report.ends_inside == "the GPU list"
    assert [gpu.index for gpu in host.nvidia.gpus] == [0, 1]
    assert "Nvidia driver version" in host.report.missing


def test_errors_are_one_line() -> None:
    for text in ("", "x", read("nvidia-smi_L40S_595.80.txt")):
        with pytest.raises(ValueError) as caught:
            parse_collect_env(text)
        assert "\n" not in str(caught.value)


def test_linux_three_rtx_3090() -> None:
    host = facts("collect_env_linux_cuda_1.txt")
    assert (host.os.system, host.os.name) == ("Linux", "Ubuntu 22.04.1 LTS")
    assert host.os.version == "22.04.1"
    assert (host.os.arch, host.os.kernel, host.os.wsl) == ("x86_64", "5.15.0-48-generic", None)
    assert host.torch.version == "1.12.1+cu116"
    assert (host.torch.cuda_build, host.torch.hip_build) == ("11.6", None)
    assert (host.torch.cuda_available, host.torch.device_count) == (True, 3)
    assert host.nvidia.source == "collect_env"
    assert host.nvidia.driver_version == "515.65.01"
    assert host.nvidia.gpus == tuple(NvidiaGPU(i, "NVIDIA GeForce RTX 3090") for i in range(3))
    assert host.nvidia.error is None
    assert host.amd is None and host.apple is None


def test_single_line_gpu_list() -> None:
    host = facts("collect_env_linux_cuda_2.txt")
    assert host.torch.version == "1.14.0a0+410ce96"
    assert host.nvidia.gpus == (NvidiaGPU(0, "NVIDIA RTX A5000"),)
    assert host.torch.device_count == 1


def test_multi_line_gpu_list_after_trailing_space() -> None:
    host = facts("collect_env_linux_cuda_4.txt")
    names = [gpu.name for gpu in host.nvidia.gpus]
    assert names == ["NVIDIA GeForce RTX 3090", "NVIDIA GeForce RTX 2080 Ti"]
    assert host.nvidia.driver_version == "510.54"
    assert (host.os.name, host.os.version, host.os.kernel) == ("Arch Linux", None, "5.16.9-arch1-1")


def test_four_tesla_v100_on_debian() -> None:
    host = facts("collect_env_linux_cuda_5.txt")
    assert [gpu.name for gpu in host.nvidia.gpus] == ["Tesla V100-SXM2-32GB"] * 4
    assert [gpu.index for gpu in host.nvidia.gpus] == [0, 1, 2, 3]
    assert all(gpu.compute_capability is None for gpu in host.nvidia.gpus)
    assert (host.os.name, host.os.version) == ("Debian GNU/Linux 10 (buster)", "10")
    assert host.nvidia.driver_version == "450.51.06"


def test_driver_too_old_warning_before_the_report() -> None:
    host = facts("collect_env_linux_cuda-driver-too-old_1_TRUNCATED.txt")
    assert host.torch.version == "1.12.1+cu102"
    assert host.torch.cuda_build == "10.2"
    assert host.torch.init_error.startswith(
        "CUDA initialization: The NVIDIA driver on your system is too old (found version 9010).")
    assert "Triggered internally" not in host.torch.init_error
    assert host.torch.driver_cuda_found == "9.1"
    assert host.nvidia.cuda_driver_version == "9.1"
    assert host.nvidia.driver_version is None and host.nvidia.gpus == ()
    assert (host.os.system, host.torch.cuda_available) == ("unknown", None)


def test_cuda_build_without_driver() -> None:
    host = facts("collect_env_linux_cuda-unavailable_1.txt")
    torch = host.torch
    assert (torch.cuda_build, torch.cuda_available, torch.device_count) == ("11.3", False, 0)
    assert host.nvidia.error and "could not collect" in host.nvidia.error
    assert (host.nvidia.driver_version, host.nvidia.gpus) == (None, ())
    assert (host.os.name, host.os.kernel) == ("Ubuntu 18.04.6 LTS", "5.4.188+")


def test_cpu_build_has_no_nvidia_facts() -> None:
    host = facts("collect_env_linux_cpu_2.txt")
    assert host.torch.version == "1.11.0"
    torch = host.torch
    assert (torch.cuda_build, torch.cuda_available, torch.device_count) == (None, False, 0)
    assert host.nvidia is None
    assert (host.os.name, host.os.version) == ("Fedora release 34 (Thirty Four)", "34")
    assert host.os.kernel == "5.15.18-100.fc34.x86_64"


def test_lscpu_section() -> None:
    host = facts("collect_env_linux_cpu_1.txt")
    assert host.cpu.model == "Genuine Intel(R) CPU 0000%@"
    assert (host.cpu.cores_logical, host.cpu.cores_physical, host.cpu.max_mhz) == (224, 112, 1900.0)
    assert {"avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16"} <= set(host.cpu.flags)
    assert "sse2" not in host.cpu.flags and "vmx" not in host.cpu.flags
    assert host.os.name == "CentOS Stream 8"
    assert host.os.kernel == "5.16.0-rc8-intel-next-01534-g53cb5f883cf7"
    assert host.torch.cuda_build is None


def test_rocm_build_on_rx_5700_xt() -> None:
    host = facts("collect_env_linux_rocm_1-gentoo-rx5700xt_TRUNCATED.txt")
    assert host.torch.version == "2.7.0.dev20250123+rocm6.3"
    assert (host.torch.hip_build, host.torch.cuda_build) == ("6.3.42131", None)
    assert host.torch.cuda_available is True
    assert host.torch.device_count is None  # a ROCm report names device 0 only
    (gpu,) = host.amd.gpus
    assert (gpu.index, gpu.gfx_target, gpu.name) == (0, "gfx1010", "AMD Radeon RX 5700 XT")
    assert (host.amd.source, host.amd.rocm_version) == ("collect_env", "6.3.42131")
    assert host.nvidia is None
    assert (host.os.name, host.os.kernel) == ("Gentoo Linux", "6.7.7-gentoo-dist")


def test_first_line_and_report_on_one_line() -> None:
    # The source of this fixture had the first line and "PyTorch version" on one line (INDEX.md).
    text = read("collect_env_linux_rocm_1-gentoo-rx5700xt_TRUNCATED.txt")
    joined = text.replace("information...\n", "information..." + " " * 120, 1)
    assert replace(parse_collect_env(joined), report=None) == replace(parse_collect_env(text), report=None)


def test_wsl2_shows_the_windows_driver() -> None:
    host = facts("collect_env_wsl2_cuda_1-vllm_TRUNCATED.txt")
    assert (host.os.system, host.os.wsl) == ("Linux", 2)
    assert host.os.kernel == "5.15.153.1-microsoft-standard-WSL2"
    assert host.nvidia.driver_version == "551.88"
    assert host.nvidia.gpus == (NvidiaGPU(0, "NVIDIA GeForce RTX 4070 Laptop GPU"),)
    assert (host.cpu.model, host.cpu.cores_logical) == ("13th Gen Intel(R) Core(TM) i9-13950HX", 32)
    assert host.torch.version == "2.4.0+cu121"


@pytest.mark.parametrize(("name", "version"), [
    ("collect_env_macos_mps-arm64_1.txt", "13.0"), ("collect_env_macos_mps-arm64_2.txt", "12.5"),
])
def test_macos_on_apple_silicon(name: str, version: str) -> None:
    host = facts(name)
    assert (host.os.system, host.os.arch, host.os.version) == ("Darwin", "arm64", version)
    assert host.apple.arm64 is True
    assert host.apple.macos_version == version
    assert host.apple.chip is None  # these reports do not name the chip
    assert (host.torch.mps_built, host.torch.mps_available) == (None, None)
    assert host.nvidia is None and host.torch.cuda_build is None


def test_macos_on_intel_with_sysctl_cpu_line() -> None:
    host = facts("collect_env_macos_cpu-x86_2.txt")
    assert (host.os.system, host.os.name, host.os.arch) == ("Darwin", "macOS 14.5", "x86_64")
    assert host.apple.arm64 is False and host.apple.macos_version == "14.5"
    assert host.cpu.model == "Intel(R) Core(TM) i9-9880H CPU @ 2.30GHz"


def test_macos_without_platform_line() -> None:
    host = facts("collect_env_macos_cpu-x86_1.txt")
    assert (host.os.system, host.os.version, host.os.arch) == ("Darwin", "11.1", "x86_64")


def test_windows_11_with_powershell_cpu_section_and_leading_warning() -> None:
    host = facts("collect_env_windows_cpu_2-win11-xpu-script_TRUNCATED.txt")
    assert (host.os.system, host.os.name) == ("Windows", "Microsoft Windows 11 Enterprise")
    assert (host.os.version, host.os.windows_build) == ("10.0.22631", "22631")
    assert host.os.arch == "AMD64"
    assert host.cpu.model == "12th Gen Intel(R) Core(TM) i7-1270P"
    assert host.torch.init_error is None  # the NumPy warning is not a CUDA one
    assert (host.torch.cuda_available, host.nvidia) == (False, None)


def test_windows_11_with_wmic_cpu_section() -> None:
    host = facts("collect_env_windows_cuda_3-win11_TRUNCATED.txt")
    assert (host.os.name, host.os.windows_build) == ("Microsoft Windows 11 Pro", "22621")
    assert host.cpu.model == "Intel(R) Core(TM) i7-10700 CPU @ 2.90GHz"
    assert host.cpu.max_mhz == 2904.0
    assert host.nvidia.gpus == (NvidiaGPU(0, "NVIDIA GeForce GTX 1050 Ti"),)
    assert (host.nvidia.driver_version, host.torch.cuda_build) == ("535.98", "11.7")


def test_old_windows_format_with_yes_no() -> None:
    host = facts("collect_env_windows_cuda_1.txt")
    assert (host.os.system, host.os.name) == ("Windows", "Microsoft Windows 10 Pro")
    assert (host.os.version, host.os.windows_build) == (None, None)
    assert (host.torch.version, host.torch.cuda_build) == ("1.1.0", "9.0")
    assert host.torch.cuda_available is True  # "Is CUDA available: Yes"
    assert host.nvidia.gpus == (NvidiaGPU(0, "GeForce GTX 1080 Ti"),)
    assert host.nvidia.driver_version == "419.67"
    assert facts("collect_env_windows_cpu_1.txt").torch.cuda_available is False


def test_mojibake_os_name() -> None:
    host = facts("collect_env_windows_cuda_2-mojibake.txt")
    assert (host.os.system, host.os.name) == ("Windows", "Windows 10 Pro")
    assert (host.nvidia.driver_version, host.torch.version) == ("411.31", "1.3.0a0+de394b6")


def test_os_not_collected() -> None:
    host = facts("collect_env_windows_cuda_4-old-format-os-not-collected.txt")
    assert (host.os.system, host.os.name, host.os.arch) == ("unknown", "unknown", None)
    assert host.nvidia.gpus == (NvidiaGPU(0, "Quadro P1000"),)
    assert (host.nvidia.driver_version, host.torch.cuda_build) == ("426.25", "10.1")


@pytest.mark.parametrize(("name", "found"), [
    ("error_torch-driver-too-old_435-found-10010.txt", "10.1"),
    ("error_torch-driver-too-old_470-found-11040.txt", "11.4"),
    ("error_torch-driver-too-old_ci-found-12080.txt", "12.8"),
])
def test_driver_cuda_version_from_torch_warning(name: str, found: str) -> None:
    warning = torch_cuda_warning(read(name))
    assert warning.startswith("CUDA initialization: The NVIDIA driver on your system is too old")
    assert driver_cuda_found(warning) == found


def test_driver_init_failure_warning() -> None:
    warning = torch_cuda_warning(read("error_torch-cuda-driver-init-failed_python-session.txt"))
    assert warning == ("CUDA initialization: CUDA driver initialization failed, "
                       "you might not have a CUDA gpu.")
    assert driver_cuda_found(warning) is None


@pytest.mark.torch
@pytest.mark.slow
def test_this_machines_report_from_the_installed_torch() -> None:
    torch = pytest.importorskip("torch")
    report = subprocess.run([sys.executable, "-m", "torch.utils.collect_env"], capture_output=True,
                            text=True, timeout=120, check=True)
    host = parse_collect_env(report.stderr + report.stdout)
    assert host.torch.version == torch.__version__
    assert host.torch.cuda_available is torch.cuda.is_available()
    assert (host.os.system, host.os.arch) == (platform.system(), platform.machine())
    if platform.system() == "Linux":
        assert host.os.kernel == platform.release()


# --- the shapes pastes take (tests/fixtures/collect_env: real reports; INDEX.md there says from where) ---
def corpus(name: str) -> str:
    return (FIXTURES / "collect_env" / name).read_bytes().decode("utf-8")


def corpus_facts(prefix: str) -> HostFacts:
    (path,) = (FIXTURES / "collect_env").glob(f"{prefix}_*.txt")
    return parse_collect_env(path.read_bytes().decode("utf-8"))


def test_a_hand_edited_torch_1_5_report_with_full_width_colons() -> None:
    """'PyTorch version 1.5.0' without its colon, 'Os:', and 'GPU 0：' typed with a full-width colon."""
    host = corpus_facts("03")
    assert (host.torch.version, host.torch.cuda_build, host.torch.cuda_available) == ("1.5.0", "10.2", False)
    assert host.os.name == "Ubuntu 18.04.3 LTS"
    assert [gpu.name for gpu in host.nvidia.gpus] == ["Tesla P100-PCIE-16GB"] * 4
    assert host.nvidia.driver_version == "410.104"
    assert {"full-width colons", "Markdown fences"} <= set(host.report.repaired)
    assert ("GPU models and configuration", "GPU 0：Tesla P100-PCIE-16GB") not in host.report.lines
    assert any(line.startswith("GPU 0") and "：" in line for _, line in host.report.lines)


@pytest.mark.parametrize(("prefix", "repaired", "version", "system"), [
    ("21", "Markdown quote marks", "1.5.0+cu101", "Windows"),  # every line quoted with "> "
    ("04", None, "1.5.0", "Linux"),  # a 4-space-indented code block with the shell prompt line
    ("30", "backticks", "1.8.0a0+c068180", "Darwin"),  # the whole report wrapped in single backticks
    ("35", "backticks", "1.3.1", "Linux"),  # backtick lines around an indented block
    ("12", "Windows line ends", "2.0.0.dev20230228+cpu-cxx11-abi", "Linux"),  # CRLF as pasted
])
def test_markdown_and_line_ends_are_undone(prefix: str, repaired: str | None, version: str, system: str) -> None:
    host = corpus_facts(prefix)
    assert (host.torch.version, host.os.system) == (version, system)
    assert repaired is None or repaired in host.report.repaired


def test_vllms_sectioned_layout_with_padded_keys() -> None:
    host = corpus_facts("43")
    assert (host.torch.version, host.torch.cuda_build) == ("2.7.0+cu128", "12.8")
    assert host.os.name == "Ubuntu 22.04.5 LTS"
    assert [gpu.name for gpu in host.nvidia.gpus] == ["NVIDIA GeForce RTX 5080"] * 2
    assert "Nvidia driver version" in host.report.missing  # cut right after its name


def test_utf8_read_as_windows_1252_is_read_back() -> None:
    """The same real report after a trip through the wrong code page ("：" becomes "ï¼š")."""
    text = corpus("03_linux_nvidia_p100-driver410-torch1.5-fullwidth-colon.txt")
    mangled = text.encode("utf-8").decode("cp1252", errors="replace")
    assert "ï¼š" in mangled
    host = parse_collect_env(mangled)
    assert [gpu.name for gpu in host.nvidia.gpus] == ["Tesla P100-PCIE-16GB"] * 4
    assert "mojibake (UTF-8 read as Windows-1252)" in host.report.repaired


def test_a_russian_console_code_page_is_read_back() -> None:
    host = facts("collect_env_windows_cuda_2-mojibake.txt")
    assert "mojibake (cp866 read as cp1251)" in host.report.repaired
    assert host.os.name == "Windows 10 Pro"


def test_two_reports_in_one_paste_judge_the_first_and_say_so() -> None:
    first, second = read("collect_env_linux_cuda_3.txt"), read("collect_env_windows_cuda_1.txt")
    host = parse_collect_env(first + "\n" + second)
    assert host.torch.version == "1.12.0" and host.report.reports == 2
    assert host.nvidia.gpus == (NvidiaGPU(0, "NVIDIA GeForce RTX 2080"),)
    assert ("another report", "PyTorch version: 1.1.0") in host.report.lines


def test_torch_not_importable_is_read() -> None:
    host = corpus_facts("29")
    assert host.torch.version is None and host.os.name == "macOS 13.2.1"


@pytest.mark.parametrize(("prefix", "ends_inside", "missing"), [
    ("20", "the GPU list", "Nvidia driver version"),
    ("45", "the line 'GPU mod' (GPU models and configuration)", "GPU models and configuration"),
    ("15", "the line 'Is CUDA av' (Is CUDA available)", "Is CUDA available"),
])
def test_a_truncated_report_names_where_it_ends(prefix: str, ends_inside: str, missing: str) -> None:
    report = corpus_facts(prefix).report
    assert report.ends_inside == ends_inside
    assert missing in report.missing


def test_torchs_words_give_the_gpus_capability_and_the_builds_arch_list() -> None:
    host = corpus_facts("01")
    assert host.nvidia.gpus == (NvidiaGPU(0, "NVIDIA GeForce RTX 5090 D", compute_capability="12.0"),)
    assert host.torch.arch_list == ("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90")
    assert any("sm_120 is not compatible" in message for message in host.torch.messages)


@pytest.mark.parametrize(("prefix", "kind"), [
    ("15", "driver-too-old"), ("23", "no-driver"), ("26", "init-failed"), ("01", "arch-not-compatible"),
])
def test_torchs_messages_are_kept_with_their_lines(prefix: str, kind: str) -> None:
    from torchlab.decide.torch_words import understood

    host = corpus_facts(prefix)
    (message,) = [m for m in host.torch.messages if understood(m).kind == kind]
    quoted = [line for what, line in host.report.lines if what == message]
    assert quoted and all(line in corpus_text(prefix) for line in quoted)


def corpus_text(prefix: str) -> str:
    (path,) = (FIXTURES / "collect_env").glob(f"{prefix}_*.txt")
    return path.read_bytes().decode("utf-8")


def test_a_mig_line_under_a_gpu_means_mig_is_on() -> None:
    host = corpus_facts("02")
    assert host.nvidia.gpus == (NvidiaGPU(0, "A100-SXM4-40GB", mig_mode="Enabled"),)


def test_macos_cuda_driver_number_is_not_an_nvidia_driver_release() -> None:
    host = corpus_facts("31")
    assert host.nvidia.gpus == (NvidiaGPU(0, "GeForce GTX 1060 with Max-Q Design"),)
    assert host.nvidia.driver_version is None  # "Nvidia driver version: 1.1.0" is macOS's CUDA driver


@pytest.mark.parametrize("name", ["error_torch-cuda-driver-init-failed_python-session.txt",
                                  "error_torch-driver-too-old_470-found-11040.txt"])
def test_torchs_own_errors_are_understood(name: str) -> None:
    from torchlab.decide.torch_words import said_in

    kinds = {said.kind for _, _, said in said_in(read(name))}
    assert kinds & {"init-failed", "driver-too-old"}


@pytest.mark.parametrize(("listed", "gfx"), [
    ("AMD Radeon RX 6750 XT", "gfx1031"),  # torch < 2.2: the name only (corpus report 48)
    ("AMD Radeon RX 7600 XTNoGCNArchNameOnOldPyTorch", None),  # not in the sourced table: no guess
    ("AMD Radeon RX 7900 XTXNoGCNArchNameOnOldPyTorch", "gfx1100"),
    ("AMD Radeon Graphics", None),  # an APU's generic name names no one chip
    ("AMD Radeon RX 6950 XT (gfx1030)", "gfx1030"),  # the target torch printed wins
])
def test_a_rocm_gpu_named_without_its_target_gets_it_from_the_name(listed: str, gfx: str | None) -> None:
    text = read("collect_env_linux_rocm_1-gentoo-rx5700xt_TRUNCATED.txt")
    old = next(line for line in text.splitlines() if line.startswith("GPU models and configuration:"))
    host = parse_collect_env(text.replace(old, f"GPU models and configuration: {listed}"))
    assert host.amd.gpus[0].gfx_target == gfx
    assert "NoGCNArch" not in host.amd.gpus[0].name
