"""torchlab.knowledge: the sourced tables and their lookups, checked against the recorded fixtures."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from torchlab.knowledge import (
    CUDA_ARCH_LISTS,
    CUDA_DRIVER_FLOORS,
    GPUS,
    PYPI_CUDA_BUILDS,
    ROCM_TARGETS,
    TORCH_RELEASES,
    arch_list,
    arch_list_row,
    capability_supported,
    compute_capability,
    cuda_builds,
    find_gpu,
    min_driver,
    parse_torch_version,
    ptx_capabilities,
    pypi_cuda_build,
    rocm_gfx,
    sm_capabilities,
    to_arch_list,
    torch_release,
)
from torchlab.knowledge.nvidia_gpus import Gpu, match

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# --- GPU names as the recorded outputs print them -----------------------------------------------------
_TABLE_ROW = re.compile(r"^\|\s+\d+\s+(\S.*?)\s+(?:On|Off|WDDM|TCC)\s+\|")  # nvidia-smi: "|   0  NVIDIA ...  On  |"
_PRODUCT_NAME = re.compile(r"^\s*Product Name\s*:\s*(\S.*?)\s*$")  # nvidia-smi -q / -a
_XML_NAME = re.compile(r"<product_name>\s*(.*?)\s*</product_name>")  # nvidia-smi -q -x
_LIST_LINE = re.compile(r"^GPU \d+: (\S.*?) \(UUID:")  # nvidia-smi -L
_ENV_GPU = re.compile(r"^\s*(?:GPU models and configuration:\s*)?GPU \d+:\s*(\S.*?)\s*$")  # collect_env
_ENV_SINGLE = re.compile(r"^\s*GPU models and configuration:\s*(\S.*?)\s*$")
_LSPCI = re.compile(r"NVIDIA Corporation [A-Z]{2}\d{3}[A-Z]* \[([^\]]+)\]")  # lspci: "GA102 [GeForce RTX 3090]"
_NOT_A_GPU = re.compile(r"^(No CUDA|Could not collect|None|N/A|Device [0-9a-f]{4})$|AMD|Radeon|Instinct|gfx\d", re.I)

# Names a recorded output prints that name no single GPU: the matcher must answer None, not guess.
UNRESOLVABLE = {
    "NVIDIA GeForce ...": "nvidia-smi cut the name before the model number: any GeForce",
    "Graphics Device": "what a driver older than the GPU prints instead of its name",
}


def _fixture_texts() -> list[tuple[Path, str]]:
    files = [p for p in sorted(FIXTURES.rglob("*")) if p.is_file() and p.name != "INDEX.md"]
    return [(p, p.read_bytes().decode("utf-8", errors="replace")) for p in files]


def _csv_rows(text: str) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or "name" not in [c.strip() for c in rows[0]]:
        return []
    header = [c.strip() for c in rows[0]]
    return [dict(zip(header, (c.strip() for c in row))) for row in rows[1:] if row]


def fixture_gpu_names() -> list[tuple[str, str, str]]:
    """(fixture file, kind of output, GPU name) for every NVIDIA GPU name under tests/fixtures: nvidia-smi
    tables, -q/-a "Product Name", -q -x <product_name>, -L lines, --query-gpu CSV, collect_env "GPU n:"
    lines, and lspci's "[GeForce ...]" names."""
    found: list[tuple[str, str, str]] = []
    for path, text in _fixture_texts():
        rel = str(path.relative_to(FIXTURES))
        names: list[tuple[str, str]] = []
        if path.suffix == ".csv":
            names += [("csv", row["name"]) for row in _csv_rows(text) if row.get("name")]
        names += [("xml", name) for name in _XML_NAME.findall(text)]
        names += [("lspci", name) for name in _LSPCI.findall(text)]
        collect_env = "GPU models and configuration" in text
        for line in text.splitlines():
            for kind, pattern in (("table", _TABLE_ROW), ("query", _PRODUCT_NAME), ("list", _LIST_LINE)):
                hit = pattern.match(line)
                if hit:
                    names.append((kind, hit.group(1)))
            if collect_env:
                hit = _ENV_GPU.match(line) or _ENV_SINGLE.match(line)
                if hit:
                    names.append(("collect_env", hit.group(1)))
        for kind, name in names:
            name = name.strip()
            if name and not _NOT_A_GPU.search(name) and (rel, kind, name) not in found:
                found.append((rel, kind, name))
    return found


FIXTURE_NAMES = fixture_gpu_names()
UNIQUE_NAMES = sorted({name for _, _, name in FIXTURE_NAMES})


def test_the_fixtures_name_many_gpus_in_every_kind_of_output():
    assert len(UNIQUE_NAMES) >= 40, UNIQUE_NAMES
    kinds = {kind for _, kind, _ in FIXTURE_NAMES}
    assert kinds == {"csv", "xml", "lspci", "table", "query", "list", "collect_env"}, kinds


@pytest.mark.parametrize("name", UNIQUE_NAMES)
def test_every_recorded_gpu_name_resolves(name):
    if name in UNRESOLVABLE:
        assert compute_capability(name) is None, UNRESOLVABLE[name]
        return
    capability = compute_capability(name)
    assert capability is not None, f"{name!r} (from {[r for r, _, n in FIXTURE_NAMES if n == name]}) does not resolve"
    assert re.fullmatch(r"\d+\.\d", capability)


def test_the_recorded_compute_cap_column_agrees():
    """nvidia-smi --query-gpu=...,compute_cap prints the capability beside the name: the table must agree."""
    checked = 0
    for path, text in _fixture_texts():
        if path.suffix != ".csv":
            continue
        for row in _csv_rows(text):
            if row.get("name") and re.fullmatch(r"\d+\.\d+", row.get("compute_cap", "")):
                assert compute_capability(row["name"]) == row["compute_cap"], (path.name, row["name"])
                checked += 1
    assert checked >= 5


@pytest.mark.parametrize("name,cc", [
    ("GeForce 210", "1.2"),
    ("GeForce GTX 1660 Ti", "7.5"),
    ("NVIDIA GeForce RTX 3090", "8.6"),
    ("NVIDIA GeForce RTX 5090", "12.0"),
    ("NVIDIA A100-SXM4-40GB", "8.0"),
    ("NVIDIA A100 80GB PCIe", "8.0"),
    ("NVIDIA H100 80GB HBM3", "9.0"),
    ("NVIDIA H100 PCIe", "9.0"),
    ("Tesla T4", "7.5"),
    ("Tesla K80", "3.7"),
    ("Jetson Orin", "8.7"),
    ("Orin (nvgpu)", "8.7"),
    ("NVIDIA Jetson AGX Orin", "8.7"),
    ("NVIDIA B200", "10.0"),
    ("NVIDIA RTX PRO 6000 Blackwell", "12.0"),
    ("NVIDIA RTX PRO 6000 Blackwell Max-Q Workstation Edition", "12.0"),
    ("NVIDIA GeForce RTX 3060 Laptop GPU", "8.6"),
    ("GeForce GTX 1080 Ti", "6.1"),
    ("Tesla V100-SXM2-16GB", "7.0"),
    ("Quadro P2000", "6.1"),
    ("NVIDIA RTX A5000", "8.6"),
    ("NVIDIA RTX 2000 Ada Generation", "8.9"),
    ("NVIDIA GH200 480GB", "9.0"),
    ("NVIDIA GeForce RTX 4090 D", "8.9"),
    ("NVIDIA GeForce RTX 4060", "8.9"),
    ("NVIDIA GeForce RTX 2050", "8.6"),
    ("NVIDIA GeForce MX450", "7.5"),
    ("GeForce GTX 1060 with Max-Q Design", "6.1"),
    ("TITAN X (Pascal)", "6.1"),
    ("GeForce GTX TITAN X", "5.2"),
    ("Quadro RTX 6000", "7.5"),
    ("NVIDIA RTX 6000 Ada Generation", "8.9"),
    ("NVIDIA GB10", "12.1"),
    ("NVIDIA B300 SXM6 AC", "10.3"),
    ("NVIDIA Thor", "11.0"),
    ("GRID P4-1Q", "6.1"),
    ("Tesla V100S-PCIE-32GB", "7.0"),
    ("NVIDIA GeForce RTX 4070 ...", "8.9"),
    ("NVIDIA RTX 2000 Ada Gene...", "8.9"),
])
def test_known_capabilities(name, cc):
    assert compute_capability(name) == cc


@pytest.mark.parametrize("name,row", [
    ("GeForce GTX 1070", "GeForce GTX 1070"),
    ("GeForce GTX 1070 Ti", "GeForce GTX 1070 Ti"),
    ("NVIDIA A10", "NVIDIA A10"),
    ("NVIDIA A10G", "NVIDIA A10G"),
    ("NVIDIA A100", "NVIDIA A100"),
    ("NVIDIA GeForce RTX 4080 SUPER", "GeForce RTX 4080 SUPER"),
    ("NVIDIA GeForce RTX 4080", "GeForce RTX 4080"),
    ("GeForce GTX 960M", "GeForce GTX 960M"),
    ("GeForce GTX 960", "GeForce GTX 960"),
    ("NVIDIA RTX 4000 SFF Ada Generation", "NVIDIA RTX 4000 SFF Ada"),
    ("NVIDIA RTX 4000 Ada Generation", "NVIDIA RTX 4000 Ada"),
    ("NVIDIA L40S", "NVIDIA L40S"),
    ("NVIDIA L4", "NVIDIA L4"),
    ("NVIDIA H200", "NVIDIA H200"),
    ("NVIDIA H20", "NVIDIA H20"),
])
def test_the_most_specific_row_wins(name, row):
    assert find_gpu(name).name == row


def test_a_name_never_matches_a_shorter_number_or_a_variant_it_lacks():
    rtx40 = Gpu("GeForce RTX 40", "0.0", "test", "test")
    gtx1070 = Gpu("GeForce GTX 1070", "6.1", "test", "test")
    gtx1070ti = Gpu("GeForce GTX 1070 Ti", "6.1", "test", "test")
    a100 = Gpu("NVIDIA A100", "8.0", "test", "test")
    assert match("NVIDIA GeForce RTX 4060", (rtx40,)) == ()
    assert match("GeForce GTX 1070 Ti", (gtx1070,)) == ()  # the Ti is another product
    assert match("GeForce GTX 1070", (gtx1070ti,)) == ()
    assert match("NVIDIA A10", (a100,)) == ()
    assert match("NVIDIA A10G", (a100,)) == ()
    assert match("NVIDIA A100-SXM4-80GB", (a100,)) == (a100,)


def test_unknown_and_ambiguous_names_give_none():
    for name in ("", "Graphics Device", "NVIDIA GeForce ...", "AMD Radeon RX 7900 XTX", "Intel(R) UHD Graphics 630",
                 "NVIDIA Quantum Widget 9000"):
        assert compute_capability(name) is None, name


def test_gpu_rows_are_sourced_and_consistent():
    names = [row.name for row in GPUS]
    assert len(names) == len(set(names))
    assert len(GPUS) >= 500
    for row in GPUS:
        assert re.fullmatch(r"\d+\.\d", row.cc), row
        assert row.source and row.family, row
        assert row.verified or row.note, f"{row.name}: an unverified row says why"
        # every row resolves to itself, whatever the other rows are
        assert compute_capability(row.name) == row.cc, row.name


# --- torch builds -------------------------------------------------------------------------------------
@pytest.mark.parametrize("version,expected", [
    ("2.6.0+cu126", ("2.6", "cu126")),
    ("1.8.1+cu102", ("1.8", "cu102")),
    ("1.5.0", ("1.5", None)),
    ("2.10.0a0+git1234abc", ("2.10", "git1234abc")),
    ("2.13.0+CPU", ("2.13", "cpu")),
])
def test_parse_torch_version(version, expected):
    assert parse_torch_version(version) == expected


def test_arch_lists_of_known_wheels():
    assert "sm_120" not in arch_list("2.6.0+cu126")
    assert {"sm_120", "compute_120"} <= set(arch_list("2.7.0+cu128"))
    assert "sm_70" not in arch_list("2.7.1+cu128")
    assert "sm_70" in arch_list("2.8.0+cu128")
    assert "sm_80" not in arch_list("1.8.1+cu102")
    assert "sm_80" in arch_list("1.8.1+cu111")
    assert arch_list("1.8.1+cu102") == arch_list("1.8.1", "10.2") == ("sm_37", "sm_50", "sm_60", "sm_70")
    assert arch_list("1.9.0+cu111") == ("sm_37", "sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86")
    assert arch_list("2.7.0", "cu128") == ("sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120", "compute_120")
    assert arch_list("2.8.0+cu126") == ("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90")
    assert "compute_120" in arch_list("2.9.1+cu130")
    assert "sm_37" in arch_list("2.0.1+cu118") and "sm_90" in arch_list("2.0.1+cu118")
    assert "sm_37" not in arch_list("2.1.0+cu121")


def test_a_plain_version_means_the_pypi_build():
    assert arch_list("1.5.0") == arch_list("1.5.0+cu102")
    assert arch_list("1.10.1") == ("sm_37", "sm_50", "sm_60", "sm_70")
    assert arch_list("2.7.0") == arch_list("2.7.0+cu126")
    assert arch_list_row("2.13.0").cuda == "13.0"


def test_builds_without_cuda_have_no_arch_list():
    for version in ("2.13.0+cpu", "2.6.0+rocm6.2.4", "0.4.1", "9.9.0+cu999"):
        assert arch_list(version) is None, version


@pytest.mark.parametrize("version,index", [
    ("1.0.1", "cu90"), ("1.2.0", "cu100"), ("1.4.0", "cu101"), ("1.5.0", "cu102"), ("1.8.1", "cu102"),
    ("1.10.1", "cu102"), ("1.12.1", "cu102"), ("1.13.1", "cu117"), ("2.0.1", "cu117"), ("2.1.0", "cu121"),
    ("2.2.2", "cu121"), ("2.3.1", "cu121"), ("2.4.1", "cu121"), ("2.5.1", "cu124"), ("2.6.0", "cu124"),
    ("2.7.1", "cu126"), ("2.8.0", "cu128"), ("2.9.1", "cu128"), ("2.10.0", "cu128"), ("2.11.0", "cu130"),
    ("2.12.0", "cu130"), ("2.13.0", "cu130"), ("2.13.0+cu126", "cu130"), ("2.14.0", "cu130"),
])
def test_pypi_cuda_build(version, index):
    assert pypi_cuda_build(version) == index


def test_pypi_cuda_build_of_unknown_release():
    assert pypi_cuda_build("0.4.1") is None
    assert pypi_cuda_build("not a version") is None


def test_cuda_builds_per_release():
    assert cuda_builds("2.6.0+cu126") == ("11.8", "12.4", "12.6")
    assert cuda_builds("1.8.1") == ("10.1", "10.2", "11.1")
    assert cuda_builds("1.0.0") == ("8.0", "9.0", "10.0")
    assert torch_release("2.13.0").rocm == ("7.2",)
    assert torch_release("0.4.1") is None
    minors = [release.minor for release in TORCH_RELEASES]
    assert minors[-1] == "1.0" and len(minors) == len(set(minors))


def test_the_tables_agree_with_each_other():
    releases = {release.minor: release for release in TORCH_RELEASES}
    for row in PYPI_CUDA_BUILDS:
        assert row.cuda in releases[row.torch].cuda, f"PyPI's {row.torch} build {row.cuda} is not a {row.torch} build"
    tabled = {(minor, row.cuda) for row in CUDA_ARCH_LISTS for minor in row.torch}
    assert len(tabled) == sum(len(row.torch) for row in CUDA_ARCH_LISTS), "one arch list per (torch, CUDA)"
    for release in TORCH_RELEASES:
        if release.minor == "2.14":  # not released when the table was written: no arch lists
            continue
        for cuda in release.cuda:
            assert (release.minor, cuda) in tabled, (release.minor, cuda)
        for rocm in release.rocm:
            row = next(r for r in ROCM_TARGETS if r.rocm == rocm)
            assert release.minor in row.torch, (release.minor, rocm)
    for row in ROCM_TARGETS:
        for minor in row.torch:
            assert row.rocm in releases[minor].rocm, (minor, row.rocm)
    for minor, cuda in tabled:
        assert cuda in releases[minor].cuda, (minor, cuda)


def test_build_rows_are_sourced():
    for table in (TORCH_RELEASES, CUDA_ARCH_LISTS, ROCM_TARGETS, PYPI_CUDA_BUILDS, CUDA_DRIVER_FLOORS):
        for row in table:
            assert row.source, row
            assert row.verified or row.note, f"{row}: an unverified row says why"


def test_to_arch_list_keeps_sass_and_ptx_apart():
    assert to_arch_list("3.5;5.0+PTX;6.0") == ("sm_35", "sm_50", "sm_60", "compute_50")
    arches = to_arch_list("7.5;8.0;8.6;9.0;10.0;12.0+PTX")
    assert sm_capabilities(arches) == ("7.5", "8.0", "8.6", "9.0", "10.0", "12.0")
    assert ptx_capabilities(arches) == ("12.0",)


def test_capability_supported():
    assert not capability_supported("12.0", arch_list("2.6.0+cu126"))  # RTX 5090 on 2.6 cu126
    assert capability_supported("12.0", arch_list("2.7.0+cu128"))
    assert capability_supported("8.9", arch_list("2.0.1+cu117"))  # sm_86 SASS runs on 8.9
    assert capability_supported("12.1", arch_list("2.13.0+cu130"))  # GB10 runs sm_120 SASS
    assert not capability_supported("7.0", arch_list("2.11.0+cu128"))  # Volta dropped from cu128
    assert not capability_supported("3.5", arch_list("1.8.1+cu102"))  # K40 below the 3.7 floor
    assert capability_supported("12.8", ("sm_90", "compute_120"))  # PTX JIT for a newer GPU
    assert not capability_supported("", ("sm_90",))


def test_rocm_gfx():
    assert "gfx1100" in rocm_gfx("6.2.4")
    assert rocm_gfx("rocm6.2.4") == rocm_gfx("6.2.4")
    assert rocm_gfx("6.3.42131") == rocm_gfx("6.3")  # the HIP runtime version collect_env prints
    assert "gfx950" in rocm_gfx("7.2") and "gfx1151" in rocm_gfx("7.2")
    assert rocm_gfx("4.0.1") == ("gfx900", "gfx906", "gfx908")
    assert "gfx90a" in rocm_gfx("4.5.2")
    assert rocm_gfx("1.0") is None


# --- drivers --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cuda,windows,floor", [
    ("12.6", False, "525.60.13"), ("12.6", True, "528.33"), ("cu126", False, "525.60.13"),
    ("12.1.105", False, "525.60.13"), ("13.0.2", False, "580"), ("cu130", True, "580"),
    ("11.8", False, "450.80.02"), ("11.0", False, "450.36.06"), ("10.2", True, "441.22"), ("cu92", False, "396.26"),
    ("7.5", False, None), ("", False, None),
])
def test_min_driver(cuda, windows, floor):
    assert min_driver(cuda, windows) == floor
