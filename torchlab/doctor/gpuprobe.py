"""`torchlab doctor --gpu-probe`: prove that the GPU reaches containers, with a throw-away container
holding the lab image's torch: is CUDA (or ROCm) available in it, and does a matmul on the GPU
agree with the CPU's? A GPU request the engine refuses is a failure with its fix, not a skip."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from torchlab import engine
from torchlab.config import Config
from torchlab.decide.choice import choose
from torchlab.decide.findings import Finding
from torchlab.decide.runspec import IMAGE_PYTHON, probe_runspec
from torchlab.doctor.diagnose import DoctorResult
from torchlab.errors import UserError
from torchlab.images.store import ensure_for_lab
from torchlab.lab.catalog import open_catalog
from torchlab.runtimes.docker import GPU_FIX, host_gpu_groups, the_lab_user

FINDING_ID = "docker.gpu-probe"
PROBE_TIMEOUT_S = 300
PROBE_SCRIPT = """
import json, torch
out = {"torch": torch.__version__, "available": torch.cuda.is_available()}
if out["available"]:
    a, b = torch.randn(512, 512, dtype=torch.float64), torch.randn(512, 512, dtype=torch.float64)
    on_gpu = (a.float().cuda() @ b.float().cuda()).double().cpu()
    out.update(count=torch.cuda.device_count(), name=torch.cuda.get_device_name(0),
               max_abs_diff=float((on_gpu - a @ b).abs().max()))
print(json.dumps(out))
"""
MATMUL_TOLERANCE = 0.05  # float32 (TF32 at worst) against float64 for 512-long dot products of N(0,1)


def skip(title: str) -> Finding:
    return Finding(FINDING_ID, "skip", f"GPU probe skipped: {title}", area="docker")


def reason_to_skip(result: DoctorResult) -> str | None:
    plan, docker = result.plan, result.facts.docker
    if not plan.variant.startswith(("cuda", "rocm")):
        return f"no GPU for containers to reach here ({plan.reasons['variant']})"
    if docker is None or docker.state != "ok":
        return f"Docker is not usable ({docker.state if docker else 'not probed'})"
    return None


def judge(code: int, output: str) -> Finding:
    """The probe's printed JSON (its last line) as a finding."""
    lines = [line for line in output.strip().splitlines() if line.strip()]
    try:
        found: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        found = {}
    if code != 0 or "available" not in found:
        tail = " | ".join(lines[-3:]) or "no output"
        return Finding(FINDING_ID, "fail", "The GPU probe container failed", f"exit {code}: {tail}", "", "docker")
    if not found["available"]:
        return Finding(FINDING_ID, "fail", "Containers start, but torch sees no GPU in them",
                       f"torch {found.get('torch')}: torch.cuda.is_available() is False",
                       "torchlab doctor  (check the driver findings)", "docker")
    diff = float(found.get("max_abs_diff", 1e9))
    if diff > MATMUL_TOLERANCE:
        return Finding(FINDING_ID, "fail", f"A matmul on {found.get('name')} disagrees with the CPU",
                       f"max abs difference {diff:.3g} > {MATMUL_TOLERANCE}", "", "docker")
    return Finding(FINDING_ID, "ok", f"The GPU reaches containers: {found.get('count')} x {found.get('name')}",
                   f"torch {found.get('torch')}; a 512x512 matmul matches the CPU (max abs diff {diff:.2g})", area="docker")


def refused(exc: BaseException) -> Finding:
    return Finding(FINDING_ID, "fail", "Docker refuses the GPU request", engine.api_error_text(exc),
                   GPU_FIX[0].upper() + GPU_FIX[1:] + "; meanwhile labs run with --variant cpu", "docker")


def run_probe(result: DoctorResult, config: Config, env: Mapping[str, str], say: Callable[[str], None]) -> Finding:
    """The lab image for the plan's GPU variant (reused, pulled or built), then the probe in it."""
    choice = choose(result.plan, result.facts, "docker")
    image = ensure_for_lab(config, choice, open_catalog(config=config).labs[0], env, say)
    return probe_container(image, choice.variant, env, say)


def probe_container(image: str, variant: str, env: Mapping[str, str], say: Callable[[str], None]) -> Finding:
    command = (IMAGE_PYTHON, "-c", PROBE_SCRIPT)
    spec = probe_runspec(f"torchlab-gpu-probe-{secrets.token_hex(4)}", variant, image,
                         the_lab_user(env), command, host_gpu_groups())
    say(f"starting a throw-away {variant} container to check the GPU")
    try:
        client = engine.connect(env, timeout=PROBE_TIMEOUT_S)
        try:
            code, output = engine.run_to_end(client, spec.docker_kwargs(), PROBE_TIMEOUT_S)
        finally:
            client.close()
    except engine.ENGINE_ERRORS as exc:
        if engine.gpu_refused(exc):
            return refused(exc)
        return Finding(FINDING_ID, "fail", "The GPU probe container did not run", engine.api_error_text(exc), "", "docker")
    return judge(code, output)


def with_gpu_probe(result: DoctorResult, config: Config, env: Mapping[str, str] | None = None,
                   say: Callable[[str], None] = lambda _: None) -> DoctorResult:
    """The doctor's result with the probe's finding added (a skip, with its reason, where there is no GPU)."""
    if result.facts.source != "probe":
        raise UserError("--gpu-probe checks this machine's containers; it cannot be used with --from")
    why_not = reason_to_skip(result)
    finding = skip(why_not) if why_not else run_probe(result, config, os.environ if env is None else env, say)
    return replace(result, findings=(*result.findings, finding))
