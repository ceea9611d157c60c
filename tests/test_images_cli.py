"""The `torchlab images` and `torchlab config` commands in-process (no engine needed for these),
what a failed pull means, and the progress people and logs see."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from imagekit import TORCH_WHEEL, cli_env, make_world, spec_of
from typer.testing import CliRunner

from torchlab.cli import app
from torchlab.engine import RegistryError, registry_error_kind
from torchlab.errors import HOST_UNFIT, USAGE
from torchlab.images.progress import PlainProgress
from torchlab.images.store import fallback_line


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    return make_world(tmp_path)


# --- the commands, in-process (no engine needed for these) -------------------------------------


def test_images_plan_json(world) -> None:
    result = CliRunner().invoke(app, ["images", "plan", "--variant", "cpu", "--json"], env=cli_env(world))
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["schema"] == "torchlab.images.plan/1"
    assert document["image"] == spec_of(world).name
    assert document["torch"] == {"spec": "torch==2.13.0+cpu", "index": "cpu",
                                 "source": f"wheelhouse {world['wheels'] / TORCH_WHEEL}"}
    assert document["reasons"]["ca_bundle"] == f"{world['ca']} (env TORCHLAB_CA_BUNDLE)"
    assert document["registry_image"] is None


def test_images_build_with_missing_ca_bundle_exits_2_before_docker(world) -> None:
    env = cli_env(world, TORCHLAB_CA_BUNDLE=str(world["root"] / "nope.pem"), DOCKER_HOST="unix:///nonexistent.sock")
    result = CliRunner().invoke(app, ["images", "build", "--variant", "cpu"], env=env)
    assert result.exit_code == USAGE
    assert f"CA bundle {world['root'] / 'nope.pem'}" in result.output


def test_images_build_without_an_engine_gives_doctors_fix_and_exit_3(world, tmp_path: Path) -> None:
    env = cli_env(world, DOCKER_HOST=f"unix://{tmp_path}/docker.sock")
    result = CliRunner().invoke(app, ["images", "build", "--variant", "cpu", "--json"], env=env)
    assert result.exit_code == HOST_UNFIT
    assert result.stdout == ""
    assert "fix:" in result.output and "Docker" in result.output


def test_config_show_json_names_each_origin(world) -> None:
    config_file = world["root"] / "config.toml"
    config_file.write_text('registry = "127.0.0.1:5000/torchlab"\nbase_image = "debian:bookworm"\n')
    env = {k: None for k in os.environ if k.startswith("TORCHLAB_")}
    env.update({"TORCHLAB_CONFIG": str(config_file), "TORCHLAB_BASE_IMAGE": "torchlab-ci/debian:bookworm"})
    result = CliRunner().invoke(app, ["config", "show", "--json"], env=env)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    settings = {s["name"]: s for s in document["settings"]}
    assert document["schema"] == "torchlab.config/1" and document["config_file"] == str(config_file)
    assert settings["registry"]["value"] == "127.0.0.1:5000/torchlab"
    assert settings["registry"]["origin"] == f"config file {config_file}"
    assert (settings["base_image"]["value"], settings["base_image"]["origin"]) == ("torchlab-ci/debian:bookworm", "env TORCHLAB_BASE_IMAGE")
    assert settings["ca_bundle"] == {"name": "ca_bundle", "value": None, "origin": "default", "env": "TORCHLAB_CA_BUNDLE",
                                     "meaning": "a CA bundle that builds and native installs trust"}


# --- what a failed pull means (the engine's own words, as dockerd 20.10 said them here) ---------

ENGINE_SAID = {
    "unreachable": 'Get "http://127.0.0.1:9/v2/": dial tcp 127.0.0.1:9: connect: connection refused',
    "missing": "manifest for 127.0.0.1:5000/torchlab/lab-cpu:nope not found: manifest unknown: manifest unknown",
    "no such host": 'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host',
}


def test_registry_errors_are_told_apart() -> None:
    assert registry_error_kind(ENGINE_SAID["unreachable"]) == "unreachable"
    assert registry_error_kind(ENGINE_SAID["no such host"]) == "unreachable"
    assert registry_error_kind(ENGINE_SAID["missing"]) == "missing"


def test_fallback_is_one_line_naming_the_registry_or_the_image() -> None:
    remote = "127.0.0.1:5000/torchlab/lab-cpu:0.1.0-0123456789ab"
    missing_line = fallback_line(RegistryError("missing", ENGINE_SAID["missing"]), remote)
    assert missing_line == f"{remote} is not in the registry; building it here"
    down = fallback_line(RegistryError("unreachable", ENGINE_SAID["unreachable"]), remote)
    assert down == f"registry 127.0.0.1:5000 cannot be reached ({ENGINE_SAID['unreachable']}); building the image here"


# --- progress for people and logs --------------------------------------------------------------


def test_plain_progress_prints_steps_output_and_each_layer_state_once() -> None:
    out = io.StringIO()
    progress = PlainProgress(out)
    events = [
        {"stream": "Step 7/36 : RUN sh /opt/torchlab/bin/setup-system.sh\n"},
        {"stream": "\x1b[91mUsing Python 3.11.2 environment at: /opt/torchlab/venv\n\x1b[0m"},
        {"status": "Pulling fs layer", "progressDetail": {}, "id": "1a2b3c4d5e6f"},
        {"status": "Downloading", "progressDetail": {"current": 100, "total": 1000}, "id": "1a2b3c4d5e6f"},
        {"status": "Downloading", "progressDetail": {"current": 900, "total": 1000}, "id": "1a2b3c4d5e6f"},
        {"status": "Pull complete", "progressDetail": {}, "id": "1a2b3c4d5e6f"},
        {"status": "Pull complete", "progressDetail": {}, "id": "1a2b3c4d5e6f"},
    ]
    for event in events:
        progress.event(event)
    progress.say("pulling 127.0.0.1:5000/torchlab/lab-cpu:0.1.0-0123456789ab")
    assert out.getvalue().splitlines() == [
        "Step 7/36 : RUN sh /opt/torchlab/bin/setup-system.sh",
        "    Using Python 3.11.2 environment at: /opt/torchlab/venv",
        "layer 1a2b3c4d5e6f: Pulling fs layer",
        "layer 1a2b3c4d5e6f: Pull complete",
        "torchlab: pulling 127.0.0.1:5000/torchlab/lab-cpu:0.1.0-0123456789ab",
    ]
