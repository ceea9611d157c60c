"""probe_host runs the probes that wait side by side: nvidia-smi and rocm-smi (here: the recorded
outputs of real machines, each given back after a pause, as the tools take a while) overlap, and each
probe's facts land in their own place."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from recorded import fixture_text
from torchlab.probe import nvidia
from torchlab.probe.amd import parse_rocm_smi_json
from torchlab.probe.host import probe_host
from torchlab.probe.nvidia import parse_smi_xml

PAUSE_S = 0.5
NVIDIA_SMI = "nvidia-smi-q-x_4xA100-SXM4-80GB_535.54.03.xml"
ROCM_SMI = "rocm-smi-json_MI100_rocm5.7.1.json"
TOOL = """#!{python}
import json, sys, time
started = time.time()
time.sleep({pause})
with open({log!r}, "a") as log:
    log.write(json.dumps([{name!r}, started, time.time()]) + "\\n")
sys.stdout.write(open({output!r}, encoding="utf-8").read())
"""


def tool_on_path(bin_dir: Path, name: str, recorded: str, log: Path) -> None:
    """`name` on PATH: it answers with a real machine's recorded output after a pause, and logs when it ran."""
    output = bin_dir / f"{name}.out"
    output.write_text(fixture_text(recorded), encoding="utf-8")
    script = bin_dir / name
    script.write_text(TOOL.format(python=sys.executable, pause=PAUSE_S, log=str(log), name=name, output=str(output)))
    script.chmod(0o755)


@pytest.fixture
def gpu_tools(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setattr(nvidia, "_ask_nvml", lambda: None)  # no NVML library here: nvidia-smi answers
    bin_dir, log = tmp_path / "bin", tmp_path / "ran.jsonl"
    bin_dir.mkdir()
    tool_on_path(bin_dir, "nvidia-smi", NVIDIA_SMI, log)
    tool_on_path(bin_dir, "rocm-smi", ROCM_SMI, log)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return log


def test_the_gpu_tools_run_side_by_side_and_each_fact_lands_in_its_place(gpu_tools: Path, tmp_path: Path) -> None:
    facts = probe_host(dict(os.environ), tmp_path / "data")
    ran: dict[str, tuple[float, float]] = {}
    for name, started, ended in map(json.loads, gpu_tools.read_text().splitlines()):
        ran.setdefault(name, (started, ended))  # each tool's first run (nvidia-smi -L follows where MIG is on)
    assert set(ran) == {"nvidia-smi", "rocm-smi"}
    (nv_start, nv_end), (amd_start, amd_end) = ran["nvidia-smi"], ran["rocm-smi"]
    assert nv_start < amd_end and amd_start < nv_end, ran  # their runs overlap: neither waited for the other
    assert facts.nvidia is not None and facts.nvidia.gpus == parse_smi_xml(fixture_text(NVIDIA_SMI)).gpus != ()
    assert facts.amd is not None and facts.amd.gpus == parse_rocm_smi_json(fixture_text(ROCM_SMI)).gpus != ()
    assert facts.docker is not None and facts.os.system and facts.disks[0].purpose == "data"
