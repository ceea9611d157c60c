"""decide() and the findings, table-driven over host profiles built from real recorded outputs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from torchlab.decide.plan import make_plan
from torchlab.doctor.collect_env import parse_collect_env
from torchlab.facts import AmdFacts, DockerFacts, HostFacts, OSFacts
from torchlab.decide.findings import collect_findings
from torchlab.doctor.diagnose import diagnose
from torchlab.probe.amd import amd_gpu_from_kfd
from torchlab.probe.nvidia import parse_smi_xml
from torchlab.probe.nvidia_smi import parse_smi_csv, parse_smi_query, parse_smi_table
from torchlab.probe.system import parse_os_release, wsl_version

from recorded import FIXTURES, fixture_text

DOCKER_OK = DockerFacts(state="ok", server_version="20.10.24", api_version="1.41", runtimes=("io.containerd.runc.v2", "runc"))


def linux(os_release: str = "os-release_ubuntu-24.04.3.txt", kernel: str | None = None) -> OSFacts:
    release = parse_os_release(fixture_text(os_release))
    kernel_text = fixture_text(kernel) if kernel else ""
    return OSFacts("Linux", release["PRETTY_NAME"], release.get("VERSION_ID"), release.get("ID"),
                   arch="x86_64", wsl=wsl_version(kernel_text))


def nvidia_host(fixture: str, parse=parse_smi_xml, **changes) -> HostFacts:
    return HostFacts(os=linux(), nvidia=parse(fixture_text(fixture)), docker=DOCKER_OK, **changes)


def amd_host(*kfd_fixtures: str, override: str | None = None) -> HostFacts:
    gpus = tuple(amd_gpu_from_kfd(2, fixture_text(name), index) for index, name in enumerate(kfd_fixtures))
    return HostFacts(os=linux("os-release_rhel-9.6.txt"), docker=DOCKER_OK,
                     amd=AmdFacts(source="kfd", gpus=gpus, hsa_override_gfx_version=override))


def ids(facts: HostFacts) -> dict[str, str]:
    return {f.id: f.status for f in collect_findings(facts, make_plan(facts))}


# (profile, expected variant, expected device, a finding id that must be there, its status)
PROFILES = [
    ("RTX 3080, driver 595.58.03 (CUDA 13.2)", lambda: nvidia_host("nvidia-smi-q-x_RTX3080_595.58.03.xml"), "cuda-13.0", "cuda", "nvidia.driver", "ok"),
    ("RTX 3090, driver 525.147.05", lambda: nvidia_host("nvidia-smi-q-x_RTX3090_525.147.05.xml"), "cuda-12.6", "cuda", "nvidia.driver", "ok"),
    ("2x RTX 2080, driver 590.44.01", lambda: nvidia_host("nvidia-smi-q-x_2xRTX2080_590.44.01.xml"), "cuda-13.0", "cuda", "nvidia.driver", "ok"),
    ("Quadro P2000 (Pascal 6.1), driver 525.125.06", lambda: nvidia_host("nvidia-smi-q-x_QuadroP2000_525.125.06.xml"), "cuda-12.6", "cuda", "nvidia.driver", "ok"),
    ("TITAN V (Volta 7.0), driver 560.35.03", lambda: nvidia_host("nvidia-smi-q_TITANV_560.35.03.txt", parse_smi_query), "cuda-12.6", "cuda", "nvidia.driver", "ok"),
    ("H100 80GB HBM3, driver 590.48.01", lambda: nvidia_host("nvidia-smi-query-gpu_H100-80GB-HBM3_590.48.01.csv", parse_smi_csv), "cuda-13.0", "cuda", "nvidia.driver", "ok"),
    ("H100 with MIG, driver 590.48.01", lambda: nvidia_host("nvidia-smi-query-gpu_H100-MIG_590.48.01.csv", parse_smi_csv), "cuda-13.0", "cuda", "nvidia.mig-enabled", "warn"),
    ("GT 1030, driver 470.74", lambda: nvidia_host("nvidia-smi-q-x_GT1030_470.74.xml"), "cpu", "cpu", "nvidia.driver-too-old", "fail"),
    ("Tesla P100, driver 510.47.03", lambda: nvidia_host("nvidia-smi-q-x_TeslaP100_510.47.03.xml"), "cpu", "cpu", "nvidia.driver-too-old", "fail"),
    ("GTX 680, driver 470.256.02", lambda: nvidia_host("nvidia-smi_GTX680_470.256.02.txt", parse_smi_table), "cpu", "cpu", "nvidia.driver-too-old", "fail"),
    ("nvidia-smi cannot talk to the driver", lambda: nvidia_host("error_nvidia-smi-failed-communicate-driver_1.txt", parse_smi_table), "cpu", "cpu", "nvidia.driver-missing", "fail"),
    ("RTX 3090 but no NVIDIA Container Toolkit", lambda: nvidia_host("nvidia-smi-q-x_RTX3090_525.147.05.xml"), "cuda-12.6", "cuda", "docker.nvidia-runtime-missing", "warn"),
    ("MI210 (gfx90a)", lambda: amd_host("kfd-properties_MI210_node2-gpu-gfx90a.txt"), "rocm-7.2", "cuda", "rocm.gpu", "ok"),
    ("MI300X (gfx942)", lambda: amd_host("kfd-properties_MI300X-CPX_node2-gpu-gfx942.txt"), "rocm-7.2", "cuda", "rocm.gpu", "ok"),
    ("MI210 with HSA_OVERRIDE_GFX_VERSION=10.3.0", lambda: amd_host("kfd-properties_MI210_node2-gpu-gfx90a.txt", override="10.3.0"), "rocm-7.2", "cuda", "rocm.hsa-override", "warn"),
]


@pytest.mark.parametrize("name,make,variant,device,finding,status", PROFILES, ids=[p[0] for p in PROFILES])
def test_plan_and_findings_per_host(name, make, variant, device, finding, status):
    facts = make()
    plan = make_plan(facts)
    assert (plan.variant, plan.device) == (variant, device)
    assert ids(facts).get(finding) == status
    assert plan.reasons["variant"] and plan.reasons["runtime"]


def test_torch_index_follows_variant():
    facts = nvidia_host("nvidia-smi-q-x_RTX3090_525.147.05.xml")
    plan = make_plan(replace(facts, docker=replace(DOCKER_OK, nvidia_toolkit=True)))
    assert (plan.torch_index, plan.runtime) == ("cu126", "docker")


def test_a_gpu_plan_names_a_runtime_that_reaches_the_gpu():
    """The recorded 4xA100 host with an engine that has no NVIDIA runtime: docker cannot start a GPU
    lab there, so the labs run natively on the GPU, and a warning says how to get GPU containers."""
    facts = nvidia_host("nvidia-smi-q-x_4xA100-SXM4-80GB_535.54.03.xml")
    plan = make_plan(facts)
    found = {f.id: f for f in collect_findings(facts, plan)}
    assert (plan.runtime, plan.variant, plan.device) == ("native", "cuda-12.6", "cuda")
    assert "cannot reach the NVIDIA GPU" in plan.reasons["runtime"]
    assert found["docker.nvidia-runtime-missing"].status == "warn"
    assert "nvidia-ctk runtime configure" in found["docker.nvidia-runtime-missing"].fix
    with_toolkit = make_plan(replace(facts, docker=replace(DOCKER_OK, nvidia_toolkit=True)))
    assert (with_toolkit.runtime, with_toolkit.variant) == ("docker", "cuda-12.6")


def test_docker_down_means_native_runtime_and_a_warning_with_a_fix():
    facts = HostFacts(os=linux(), docker=DockerFacts(state="daemon-down", detail="connection refused"))
    plan = make_plan(facts)
    found = {f.id: f for f in collect_findings(facts, plan)}
    assert plan.runtime == "native" and plan.variant == "cpu"
    assert found["docker.daemon-down"].status == "warn"
    assert "systemctl start docker" in found["docker.daemon-down"].fix
    assert found["gpu.none"].status == "warn"


@pytest.mark.parametrize("state,finding", [("missing", "docker.missing"), ("permission-denied", "docker.permission-denied")])
def test_each_docker_state_has_its_finding_and_fix(state, finding):
    facts = HostFacts(os=linux(), docker=DockerFacts(state=state, socket="/var/run/docker.sock"))
    found = {f.id: f for f in collect_findings(facts, make_plan(facts))}
    assert found[finding].fix


def test_toolkit_present_clears_the_container_gpu_finding():
    facts = nvidia_host("nvidia-smi-q-x_RTX3090_525.147.05.xml")
    facts = replace(facts, docker=replace(DOCKER_OK, nvidia_toolkit=True))
    assert ids(facts)["docker.nvidia-runtime"] == "ok"
    assert "docker.nvidia-runtime-missing" not in ids(facts)


def test_wsl2_without_libcuda_is_explained():
    nvidia = parse_smi_table(fixture_text("nvidia-smi_RTX4070-series-WSL2_555.52.01-drv555.99_TRUNCATED.txt"))
    facts = HostFacts(os=linux("os-release_ubuntu-22.04.5.txt", "uname-a_wsl2_5.15.133.1.txt"),
                      nvidia=replace(nvidia, wsl_libcuda=False))
    assert facts.os.wsl == 2
    assert ids(facts)["wsl.cuda-libs-missing"] == "fail"


@pytest.mark.parametrize(("fixture", "title"), [
    # cut at its platform line, "...-microsoft-standard-WSL2-...": the OS line names only the distribution
    ("collect_env/33_wsl2_nvidia_driver-version-0-torch1.10-cu111_TRUNCATED.txt", "Ubuntu 20.04.4 LTS on WSL2 (x86_64)"),
    ("collect_env_wsl2_cuda_1-vllm_TRUNCATED.txt", "Ubuntu 22.04.2 LTS on WSL2 (x86_64)"),
    ("collect_env_linux_cuda_3.txt", "Linux Mint 20.3 (x86_64)"),  # a kernel without "microsoft": no WSL
])
def test_the_os_line_says_wsl2_when_the_kernel_does(fixture, title):
    facts = parse_collect_env(fixture_text(fixture))
    detected = next(f for f in collect_findings(facts, make_plan(facts)) if f.id == "os.detected")
    assert detected.title == title


def test_wsl1_cannot_run_gpu_labs():
    facts = HostFacts(os=linux("os-release_ubuntu-22.04.5.txt", "uname-a_wsl1_4.4.0-17763-Microsoft.txt"))
    assert ids(facts)["wsl.version-1"] == "fail"


def test_amd_gpu_without_a_torch_target_fails():
    facts = parse_collect_env(fixture_text("collect_env_linux_rocm_1-gentoo-rx5700xt_TRUNCATED.txt"))
    plan = make_plan(facts)
    assert plan.variant == "cpu"
    assert ids(facts)["rocm.gfx-unsupported"] == "fail"


def test_cpu_torch_on_a_gpu_host():
    """A real RTX 3090 driver report with the torch of a real CPU-only collect_env."""
    cpu_torch = parse_collect_env(fixture_text("collect_env_linux_cpu_1.txt")).torch
    facts = nvidia_host("nvidia-smi-q-x_RTX3090_525.147.05.xml", torch=cpu_torch)
    assert ids(facts)["torch.cpu-build-on-gpu-host"] == "fail"


@pytest.mark.parametrize("fixture,finding,status", [
    ("collect_env_linux_cuda-driver-too-old_1_TRUNCATED.txt", "nvidia.driver-too-old", "fail"),
    ("collect_env_linux_cuda-unavailable_1.txt", "nvidia.driver-missing", "warn"),  # no GPU named: maybe none
    ("collect_env_linux_rocm_1-gentoo-rx5700xt_TRUNCATED.txt", "rocm.gfx-unsupported", "fail"),
    ("collect_env_macos_mps-arm64_1.txt", "mps.unavailable", "warn"),
    ("collect_env_macos_mps-arm64_2.txt", "mps.unavailable", "warn"),
    ("collect_env_macos_cpu-x86_2.txt", "macos.intel", "warn"),
    ("collect_env_linux_cuda_5.txt", "nvidia.driver-too-old", "fail"),  # 450.51.06: too old for the labs' torch
    ("collect_env_linux_cuda_1.txt", "nvidia.driver-too-old", "fail"),  # 515.65.01 < 525.60.13 (cu126)
    ("collect_env_windows_cuda_3-win11_TRUNCATED.txt", "nvidia.driver", "ok"),
    ("collect_env_wsl2_cuda_1-vllm_TRUNCATED.txt", "nvidia.driver", "ok"),
])
def test_collect_env_reports_are_diagnosed(fixture, finding, status):
    assert ids(parse_collect_env(fixture_text(fixture))).get(finding) == status


def test_finding_ids_are_unique_per_verdict_in_a_report():
    facts = parse_collect_env(fixture_text("collect_env_linux_cuda_5.txt"))
    found = [(f.id, f.about) for f in collect_findings(facts, make_plan(facts))]
    assert len(found) == len(set(found))


def test_macos_runs_natively_on_mps_when_eligible():
    facts = parse_collect_env(fixture_text("collect_env_macos_mps-arm64_1.txt"))
    facts = replace(facts, apple=replace(facts.apple, macos_version="14.5"))
    plan = make_plan(facts)
    assert (plan.runtime, plan.device) == ("native", "mps")


def test_a_driver_too_old_for_both_torches_is_one_finding_per_verdict():
    """collect_env_linux_cuda_1: driver 515.65.01; the installed cu116 torch is fine, the labs' is not.
    With the torch of the WSL2 report (cu121, needs 525.60.13) both checks fire: one finding on the
    learner's torch, one on the labs' torch, each saying which torch it means."""
    facts = parse_collect_env(fixture_text("collect_env_linux_cuda_1.txt"))
    newer_torch = parse_collect_env(fixture_text("collect_env_wsl2_cuda_1-vllm_TRUNCATED.txt")).torch
    found = [f for f in collect_findings(replace(facts, torch=newer_torch), make_plan(facts)) if f.id == "nvidia.driver-too-old"]
    assert sorted(f.about for f in found) == ["labs", "torch"]
    labs, torch = sorted(found, key=lambda f: f.about)
    assert "2.13.0" in labs.title and "2.4.0+cu121" in torch.title


def corpus_facts(prefix: str) -> HostFacts:
    """A real report of tests/fixtures/collect_env (its INDEX.md and LABELS.tsv say whose, and why)."""
    (path,) = (FIXTURES / "collect_env").glob(f"{prefix}_*.txt")
    return parse_collect_env(path.read_bytes().decode("utf-8"))


def test_an_rtx_5090_on_driver_570_is_never_silently_on_the_cpu():
    """pytorch#150733: torch 2.6.0+cu126 on an RTX 5090 D, driver 570. The learner's torch has no
    sm_120 kernels (torch says so in the paste); the labs' only build with them is CUDA 13.0, which
    needs driver 580: two failures, two verdicts, and the plan is cpu for a reason the findings give."""
    facts = corpus_facts("01")
    plan = make_plan(facts)
    found = {(f.id, f.about): f for f in collect_findings(facts, plan)}
    assert plan.variant == "cpu"
    labs = found[("nvidia.driver-too-old", "labs")]
    assert labs.status == "fail" and "580" in labs.fix
    assert "CUDA 13.0" in labs.detail and "sm_120" in labs.detail
    yours = found[("nvidia.gpu-arch-unsupported", "torch")]
    assert "sm_120" in yours.title and "cu128" in yours.fix
    assert any("sm_120 is not compatible" in line for line in yours.evidence)
    verdicts = diagnose(facts).verdicts
    assert verdicts["labs"].says.startswith("torchlab's labs will use cuda-13.0 once the driver is 580 or newer")
    assert verdicts["your_torch"].status == "fail" and "sm_120" in verdicts["your_torch"].says


def test_a_driver_the_report_does_not_show_is_inferred_from_the_torch_that_runs_on_it():
    """pytorch#134366: 8xA100, torch 2.4.1+cu121 reaches them, the report is cut before the driver
    line: the driver meets CUDA 12.1's floor (525.60.13), enough for the labs' cu126 build."""
    plan = make_plan(corpus_facts("37"))
    assert plan.variant == "cuda-12.6"
    assert "not shown" in plan.reasons["variant"] and "525.60.13" in plan.reasons["variant"]


def test_a_driver_only_known_from_below_is_unknown_not_too_old():
    """vLLM#19906: 2x RTX 5080 with torch 2.7.0+cu128 running; the paste stops at the driver line.
    The driver is at least 525.60.13, maybe 580: doctor says it cannot tell, not that it is too old."""
    facts = corpus_facts("43")
    found = {(f.id, f.about): f.status for f in collect_findings(facts, make_plan(facts))}
    assert found.get(("nvidia.driver-unknown", "labs")) == "warn"
    assert ("nvidia.driver-too-old", "labs") not in found


def test_a_gpu_no_lab_build_has_kernels_for_is_named_with_the_last_torch_that_had_them():
    """pytorch#31876: a GeForce 210 (compute capability 1.2) on torch 1.2: no build, then or now."""
    facts = corpus_facts("39")
    found = {(f.id, f.about): f for f in collect_findings(facts, make_plan(facts))}
    assert found[("nvidia.gpu-arch-unsupported", "labs")].status == "fail"
    assert "GeForce 210 (compute capability 1.2)" in found[("nvidia.gpu-arch-unsupported", "torch")].title


def test_cuda_that_fails_to_start_on_a_new_enough_driver():
    facts = corpus_facts("27")  # pytorch#31179: GTX 1080, driver 435.21, torch 1.3.1 (CUDA 10.1), no CUDA
    found = {(f.id, f.about): f for f in collect_findings(facts, make_plan(facts))}
    assert found[("nvidia.cuda-init-failed", "torch")].status == "fail"
    assert ("nvidia.driver-too-old", "torch") not in found


def test_an_x86_python_on_an_apple_chip_is_rosetta():
    facts = corpus_facts("10")  # pytorch#146236: "OS: macOS 15.3 (x86_64)" and "CPU: Apple M2 Pro"
    found = {f.id: f for f in collect_findings(facts, make_plan(facts))}
    assert found["macos.rosetta-python"].status == "warn" and "arm64" in found["macos.rosetta-python"].fix
    assert "macos.intel" not in found
