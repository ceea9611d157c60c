"""OS, WSL, CPU and disk probes: parsers on real recorded files, the live probe on this machine."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from torchlab.probe.pci import pci_gpu_vendors
from torchlab.probe.system import (
    in_container,
    kernel_release,
    parse_cpuinfo,
    parse_os_release,
    probe_cpu,
    probe_disk,
    probe_os,
    wsl_version,
)

from recorded import fixture_names, fixture_text


@pytest.mark.parametrize("name,distro,version,pretty", [
    ("os-release_debian-13.txt", "debian", "13", "Debian GNU/Linux 13 (trixie)"),
    ("os-release_ubuntu-24.04.3.txt", "ubuntu", "24.04", "Ubuntu 24.04.3 LTS"),
    ("os-release_ubuntu-22.04.5.txt", "ubuntu", "22.04", "Ubuntu 22.04.5 LTS"),
    ("os-release_fedora-42.txt", "fedora", "42", "Fedora Linux 42 (Forty Two)"),
    ("os-release_rhel-9.6.txt", "rhel", "9.6", "Red Hat Enterprise Linux 9.6 (Plow)"),
    ("os-release_arch.txt", "arch", None, "Arch Linux"),
])
def test_os_release(name, distro, version, pretty):
    release = parse_os_release(fixture_text(name))
    assert (release["ID"], release.get("VERSION_ID"), release["PRETTY_NAME"]) == (distro, version, pretty)


@pytest.mark.parametrize("name", fixture_names("uname-a_wsl*") + fixture_names("proc-version_wsl*"))
def test_wsl_version_from_kernel_strings(name):
    expected = 2 if "_wsl2_" in name else 1
    assert wsl_version(fixture_text(name)) == expected


def test_plain_linux_kernels_are_not_wsl():
    assert wsl_version("Linux version 5.15.0-48-generic (buildd@lcy02-amd64-080)") is None
    assert wsl_version(platform.release()) is None


def test_kernel_release_from_uname_and_proc_version():
    assert kernel_release(fixture_text("uname-a_wsl2_5.15.133.1.txt")) == "5.15.133.1-microsoft-standard-WSL2"
    assert kernel_release(fixture_text("proc-version_wsl2_4.19.128-microsoft-standard.txt")) == "4.19.128-microsoft-standard"


def test_this_machine_agrees_with_the_standard_library():
    """The live probe against independent readers: the platform module's own os-release parser
    and kernel release. WSL is judged from the kernel name by a rule written here, not ours."""
    facts = probe_os()
    assert facts.system == platform.system() and facts.arch == platform.machine()
    if facts.system != "Linux":
        return
    release = platform.freedesktop_os_release()
    assert (facts.distro, facts.version) == (release["ID"], release.get("VERSION_ID"))
    kernel = platform.release()
    expected_wsl = (2 if "microsoft-standard" in kernel.lower() or "wsl2" in kernel.lower()
                    else 1 if "Microsoft" in kernel else None)
    assert facts.wsl == expected_wsl


def test_cpuinfo_of_this_machine_keeps_only_the_flags_that_matter():
    text = Path("/proc/cpuinfo").read_text()
    parsed = parse_cpuinfo(text)
    assert parsed.cores_logical == text.count("processor\t:")
    all_flags = set(next(line for line in text.splitlines() if line.startswith("flags")).split(":")[1].split())
    assert set(parsed.flags) == all_flags & {"avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8"}
    assert probe_cpu().flags == parsed.flags


def test_container_markers(tmp_path):
    assert not in_container(tmp_path)
    (tmp_path / "proc/1").mkdir(parents=True)
    (tmp_path / "proc/1/cgroup").write_text("0::/kubepods/besteffort/pod1234\n")
    assert in_container(tmp_path)
    (tmp_path / "proc/1/cgroup").write_text("0::/init.scope\n")
    (tmp_path / ".dockerenv").write_text("")
    assert in_container(tmp_path)


def test_disk_of_a_folder_not_made_yet_is_its_parents(tmp_path):
    disk = probe_disk("data", tmp_path / "not" / "yet")
    assert disk.path == str(tmp_path / "not" / "yet")
    assert disk.free_bytes and disk.total_bytes and disk.free_bytes <= disk.total_bytes


def test_pci_display_devices(tmp_path):
    """sysfs layout: class and vendor files per device (the values are PCI-SIG registry ids)."""
    for slot, pci_class, vendor in (("0000:01:00.0", "0x030000", "0x10de"), ("0000:00:02.0", "0x030000", "0x8086"),
                                    ("0000:02:00.0", "0x020000", "0x1002")):
        device = tmp_path / "sys/bus/pci/devices" / slot
        device.mkdir(parents=True)
        (device / "class").write_text(pci_class + "\n")
        (device / "vendor").write_text(vendor + "\n")
    assert pci_gpu_vendors(tmp_path) == ("intel", "nvidia")
    assert pci_gpu_vendors() == ()  # this machine: no GPU on its bus
