"""`torchlab doctor --gpu-probe`: prove that the GPU reaches containers, with what is at hand.

A probe, not a build: when this engine has the lab image of the plan's variant, a throw-away container
of it runs torch (is CUDA/ROCm available, does a matmul on the GPU agree with the CPU?); otherwise a
throw-away container of the small base image asks for the GPU and looks for it (NVIDIA: the
`nvidia-smi` the NVIDIA Container Toolkit puts in; AMD: /dev/kfd, /dev/dri and the gfx targets sysfs
shows inside). Nothing is built; only the base image may be pulled when it is missing. A GPU request
the engine refuses is a failure with its fix, not a skip."""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from torchlab import engine
from torchlab.config import Config
from torchlab.decide.findings import Finding
from torchlab.decide.runspec import IMAGE_PYTHON, probe_runspec
from torchlab.doctor.diagnose import DoctorResult
from torchlab.errors import UserError
from torchlab.runtimes.docker import GPU_FIX, host_gpu_groups, the_lab_user

FINDING_ID = "docker.gpu-probe"
PROBE_TIMEOUT_S = 300
VARIANT_LABEL = "org.torchlab.variant"
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
# Without torch: what the GPU request put into the container.
NVIDIA_LOOK = ("nvidia-smi", "-L")
AMD_LOOK = ("sh", "-c", "ls /dev/kfd /dev/dri && cat /sys/class/kfd/kfd/topology/nodes/*/properties | grep gfx_target_version")


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
    """The torch probe's printed JSON (its last line) as a finding."""
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


def judge_look(variant: str, image: str) -> Callable[[int, str], Finding]:
    """How to read what a container of the base image saw of the GPU (no torch in it)."""
    def read(code: int, output: str) -> Finding:
        lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
        if variant.startswith("cuda"):
            gpus = [line for line in lines if re.match(r"GPU \d+: ", line)]
            seen = f"{len(gpus)} GPU(s): " + "; ".join(re.sub(r" \(UUID: [^)]*\)", "", g) for g in gpus)
            fix = GPU_FIX[0].upper() + GPU_FIX[1:]
        else:
            gpus = [line for line in lines if "gfx_target_version" in line and not line.endswith(" 0")]
            seen = f"/dev/kfd and /dev/dri are there; {len(gpus)} GPU node(s) in sysfs"
            fix = "Check that /dev/kfd and /dev/dri exist on the host and that you are in the video and render groups"
        if code != 0 or not gpus:
            tail = " | ".join(lines[-3:]) or "no output"
            return Finding(FINDING_ID, "fail", "A container that asked for the GPU does not see it",
                           f"{' '.join(NVIDIA_LOOK if variant.startswith('cuda') else AMD_LOOK[:2])} in {image}: "
                           f"exit {code}: {tail}", fix, "docker")
        return Finding(FINDING_ID, "ok", f"The GPU reaches containers: {seen}",
                       f"seen from a throw-away container of {image} (no torch in it: the labs' image is not here yet)",
                       area="docker")
    return read


def refused(exc: BaseException) -> Finding:
    return Finding(FINDING_ID, "fail", "Docker refuses the GPU request", engine.api_error_text(exc),
                   GPU_FIX[0].upper() + GPU_FIX[1:] + "; meanwhile labs run with --variant cpu", "docker")


def did_not_run(exc: BaseException) -> Finding:
    if engine.gpu_refused(exc):
        return refused(exc)
    return Finding(FINDING_ID, "fail", "The GPU probe container did not run", engine.api_error_text(exc), "", "docker")


def lab_image(client: Any, variant: str) -> str | None:
    """The newest lab image of this variant the engine has (any torchlab version will do to prove the GPU)."""
    for image in engine.list_images(client, VARIANT_LABEL):
        if image.labels.get(VARIANT_LABEL) == variant:
            return image.tags[0] if image.tags else image.id
    return None


def base_at_hand(client: Any, base: str, say: Callable[[str], None]) -> str | None:
    """None when the base image is here (pulled if it was not); else why it is not."""
    if engine.image_info(client, base) is not None:
        return None
    say(f"base image {base} is not here; pulling it for the probe (nothing is built)")
    try:
        engine.pull_image(client, base, lambda event: None)
    except engine.RegistryError as exc:
        return (f"neither the lab image nor the base image {base} is on this engine, and {base} cannot be pulled "
                f"({exc}); `torchlab images pull` or `docker pull {base}` gives it one")
    return None


def run_probe(result: DoctorResult, config: Config, env: Mapping[str, str], say: Callable[[str], None]) -> Finding:
    """The probe with what is at hand: the lab image when the engine has it, else the base image."""
    variant = result.plan.variant
    try:
        client = engine.connect(env, timeout=PROBE_TIMEOUT_S)
        try:
            image = lab_image(client, variant)
            if image:
                return probe_container(image, variant, env, say)
            base = config.get("base_image") or "python:3.11-slim"
            why_not = base_at_hand(client, base, say)
            if why_not:
                return skip(why_not)
            look = NVIDIA_LOOK if variant.startswith("cuda") else AMD_LOOK
            return run_container(client, base, variant, look, env, say, judge_look(variant, base))
        finally:
            client.close()
    except engine.ENGINE_ERRORS as exc:
        return did_not_run(exc)


def probe_container(image: str, variant: str, env: Mapping[str, str], say: Callable[[str], None]) -> Finding:
    """torch in a throw-away container of a lab image: is the GPU there, and does it compute right?"""
    try:
        client = engine.connect(env, timeout=PROBE_TIMEOUT_S)
        try:
            return run_container(client, image, variant, (IMAGE_PYTHON, "-c", PROBE_SCRIPT), env, say, judge)
        finally:
            client.close()
    except engine.ENGINE_ERRORS as exc:
        return did_not_run(exc)


def run_container(client: Any, image: str, variant: str, command: tuple[str, ...], env: Mapping[str, str],
                  say: Callable[[str], None], read: Callable[[int, str], Finding]) -> Finding:
    spec = probe_runspec(f"torchlab-gpu-probe-{secrets.token_hex(4)}", variant, image,
                         the_lab_user(env), command, host_gpu_groups())
    say(f"starting a throw-away {variant} container of {image} to check the GPU")
    try:
        # No network: the probe needs none, and an engine whose bridge is broken can still answer the GPU request.
        code, output = engine.run_to_end(client, {**spec.docker_kwargs(), "network_mode": "none"}, PROBE_TIMEOUT_S)
    except engine.ENGINE_ERRORS as exc:
        return did_not_run(exc)
    return read(code, output)


def with_gpu_probe(result: DoctorResult, config: Config, env: Mapping[str, str] | None = None,
                   say: Callable[[str], None] = lambda _: None) -> DoctorResult:
    """The doctor's result with the probe's finding added (a skip, with its reason, where there is no GPU)."""
    if result.facts.source != "probe":
        raise UserError("--gpu-probe checks this machine's containers; it cannot be used with --from")
    why_not = reason_to_skip(result)
    finding = skip(why_not) if why_not else run_probe(result, config, os.environ if env is None else env, say)
    return replace(result, findings=(*result.findings, finding))
