"""Lab images on a real engine and a real registry, through the installed command, as staff and
learners run it: a cpu image from the local Debian base, the local torch wheelhouse and the host's
CA bundle (the proxy's CA is in it); cache hits; pull with its fallbacks; push; Ctrl-C; and the
lab's smoke checks inside the image.

.ci/run starts the engine and the registry and makes the base image; with CI=true anything
missing fails these tests instead of skipping them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest
from conftest import missing
from labkit import REAL_LABS
from upkit import CA_FILES, WHEELHOUSE_VARIABLES, ca_bundle, wheelhouse

from torchlab import engine

pytestmark = [pytest.mark.docker, pytest.mark.slow]

BASE = os.environ.get("TORCHLAB_TEST_BASE_IMAGE", "torchlab-ci/debian:bookworm")
REGISTRY = os.environ.get("TORCHLAB_TEST_REGISTRY", "127.0.0.1:5000/torchlab")
WHEELHOUSE = Path(wheelhouse() or "")
CA_BUNDLE = Path(ca_bundle() or "")
UNREACHABLE_REGISTRY = "127.0.0.1:9/torchlab"  # the discard port: nothing listens there
NAME = re.compile(r"^torchlab/lab-cpu:\d+\.\d+\.\d+-[0-9a-f]{12}$")


def registry_answers(registry: str) -> bool:
    try:
        urllib.request.urlopen(f"http://{registry.split('/', 1)[0]}/v2/", timeout=5)
    except OSError:
        return False
    return True


@pytest.fixture(scope="module")
def ready(docker_engine, tmp_path_factory):
    """What the builds need: the base image, the registry, the torch wheel; made images removed after."""
    if engine.image_info(docker_engine, BASE) is None:
        missing(f"base image {BASE} is not on the engine (.ci/make-base-image makes it)")
    if not registry_answers(REGISTRY):
        missing(f"no registry answers at {REGISTRY} (.ci/start-registry starts one)")
    if not wheelhouse() or not list(WHEELHOUSE.glob("torch-2.13.0+cpu-*.whl")):
        missing(f"no torch-2.13.0+cpu wheel in a wheelhouse ({WHEELHOUSE_VARIABLES}: {wheelhouse()})")
    if not ca_bundle():
        missing(f"no CA bundle for the builds ({', '.join(CA_FILES)})")
    made: set[str] = set()
    yield {"client": docker_engine, "root": tmp_path_factory.mktemp("images"), "made": made}
    for name in sorted(made):
        engine.remove_image(docker_engine, name)


def labs_copy(ready, packages: str = "[]") -> Path:
    """The shipped labs with a marker file of their own (so the image name is this test's) and
    module-0's packages set as given."""
    target = ready["root"] / f"labs-{uuid.uuid4().hex[:8]}"
    shutil.copytree(REAL_LABS, target, ignore=shutil.ignore_patterns("__pycache__"))
    (target / "module-0" / "workspace" / "ci-marker.txt").write_text(target.name, encoding="utf-8")
    toml = target / "module-0" / "lab.toml"
    text = toml.read_text(encoding="utf-8")
    assert "packages = []" in text
    toml.write_text(text.replace("packages = []", f"packages = {packages}"), encoding="utf-8")
    return target


def env_for(ready, labs: Path, registry: str = REGISTRY) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TORCHLAB_")}
    env.update({
        "TORCHLAB_CONFIG": str(ready["root"] / "no-config.toml"),
        "TORCHLAB_DATA_DIR": str(ready["root"] / "data"),
        "TORCHLAB_LABS_DIR": str(labs),
        "TORCHLAB_BASE_IMAGE": BASE,
        "TORCHLAB_WHEELHOUSE": str(WHEELHOUSE),
        "TORCHLAB_CA_BUNDLE": str(CA_BUNDLE),
        "TORCHLAB_REGISTRY": registry,
    })
    return env


def torchlab(ready, env: dict[str, str], *args: str) -> tuple[dict, str]:
    """Run `torchlab images ... --json` as a user would; (its JSON document, its stderr)."""
    done = subprocess.run([sys.executable, "-m", "torchlab", "images", *args, "--variant", "cpu", "--json"],
                          capture_output=True, text=True, env=env, timeout=1200, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(done.stdout)  # nothing but the document on stdout
    ready["made"].add(document["image"])
    if document.get("registry_image"):
        ready["made"].add(document["registry_image"])
    return document, done.stderr


@pytest.fixture(scope="module")
def first(ready):
    """The first image: built (or found) from the wheelhouse, with the host's CA bundle."""
    labs = labs_copy(ready)
    document, stderr = torchlab(ready, env_for(ready, labs), "build")
    return {"labs": labs, "document": document, "stderr": stderr}


def test_build_names_the_image_and_a_second_build_is_a_cache_hit(ready, first) -> None:
    document = first["document"]
    assert NAME.match(document["image"]) and document["schema"] == "torchlab.images.build/1"
    assert document["action"] == "built" and document["cached"] is False
    assert "Step 1/" in first["stderr"]
    again, stderr = torchlab(ready, env_for(ready, first["labs"]), "build")
    assert (again["image"], again["id"], again["action"], again["cached"]) == (document["image"], document["id"], "cached", True)
    assert "Step " not in stderr and again["seconds"] < 10


def test_list_shows_the_image_with_its_variant_and_torch(ready, first) -> None:
    done = subprocess.run([sys.executable, "-m", "torchlab", "images", "list", "--json"], capture_output=True, text=True,
                          env=env_for(ready, first["labs"]), timeout=60, check=True)
    document = json.loads(done.stdout)
    assert document["schema"] == "torchlab.images.list/1"
    listed = {image["image"]: image for image in document["images"]}
    mine = listed[first["document"]["image"]]
    assert (mine["variant"], mine["torch"], mine["id"]) == ("cpu", "torch==2.13.0+cpu", first["document"]["id"])


def test_missing_base_image_says_how_to_provide_one_and_exits_3(ready) -> None:
    env = env_for(ready, labs_copy(ready))
    env["TORCHLAB_BASE_IMAGE"] = "torchlab-ci/no-such-base:1"
    done = subprocess.run([sys.executable, "-m", "torchlab", "images", "build", "--variant", "cpu", "--json"],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 3 and done.stdout == ""
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("torchlab: error: base image torchlab-ci/no-such-base:1: not on this engine and it cannot be pulled (")
    assert "docker load -i FILE" in last and "TORCHLAB_BASE_IMAGE" in last


def test_pull_of_an_image_the_registry_lacks_builds_it_reusing_the_torch_layer(ready, first) -> None:
    labs = labs_copy(ready, packages='["six"]')
    document, stderr = torchlab(ready, env_for(ready, labs), "pull")
    assert document["action"] == "built" and document["image"] != first["document"]["image"]
    line = f"{REGISTRY}/lab-cpu:{document['image'].split(':')[1]} is not in the registry; building it here"
    assert document["note"] == line and f"torchlab: {line}" in stderr
    # A lab-package change: every step before the labs' packages (system, torch) came from the
    # cache; the first to run is the copy of lab-requirements.txt.
    steps = stderr.split("\nStep ")[1:]
    ran = [step.splitlines()[0] for step in steps if (" RUN " in step or " COPY " in step) and "Using cache" not in step]
    assert ran and "COPY lab-requirements.txt" in ran[0], ran
    # torch goes straight into the image's venv (its wheel served, never a layer): one step, cached.
    torch_steps = [step for step in steps if "$TORCH_SPEC" in step]
    assert len(torch_steps) == 1 and "Using cache" in torch_steps[0]
    assert not [step for step in steps if "COPY --from" in step or "COPY wheels/torch" in step]
    old = engine.image_info(ready["client"], first["document"]["image"])
    new = engine.image_info(ready["client"], document["image"])
    assert len(new.layers) == len(old.layers) and new.layers[-1] != old.layers[-1]


def test_pull_from_an_unreachable_registry_builds_and_says_why(ready) -> None:
    labs = labs_copy(ready)
    document, stderr = torchlab(ready, env_for(ready, labs, registry=UNREACHABLE_REGISTRY), "pull")
    assert document["action"] == "built"
    assert document["note"].startswith("registry 127.0.0.1:9 cannot be reached (")
    assert document["note"].endswith("); building the image here")
    assert stderr.count("cannot be reached") == 1


def test_push_remove_pull_then_smoke_checks_pass_inside(ready, first) -> None:
    client, image = ready["client"], first["document"]["image"]
    env = env_for(ready, first["labs"])
    pushed, _ = torchlab(ready, env, "push")
    remote = f"{REGISTRY}/lab-cpu:{image.split(':')[1]}"
    assert (pushed["action"], pushed["image"], pushed["registry_image"]) == ("pushed", image, remote)
    for name in (image, remote):
        assert engine.remove_image(client, name)
    assert engine.image_info(client, image) is None
    pulled, stderr = torchlab(ready, env, "pull")
    assert (pulled["action"], pulled["image"], pulled["registry_image"]) == ("pulled", image, remote)
    assert re.search(r"^layer [0-9a-f]{12}: Pull complete$", stderr, re.MULTILINE)
    assert engine.image_info(client, image).labels["org.torchlab.digest"].startswith(image.rsplit("-", 1)[1])
    output = client.containers.run(
        image, ["python", "/opt/torchlab/smoke/runner.py", "/opt/torchlab/labs/module-1", "--device", "cpu", "--json"],
        user="4321:4321", remove=True, stdout=True, stderr=False,
    )
    report = json.loads(output)
    assert (report["lab"], report["device"], report["torch"], report["status"]) == ("module-1", "cpu", "2.13.0+cpu", "passed")
    # The build wrote nothing under HOME (a root-owned ~/.cache, copied into a learner's new home
    # volume, would keep inductor from making its cache there).
    strays = client.containers.run(image, ["find", "/home/learner", "-mindepth", "1", "!", "-user", "learner"],
                                   remove=True, stdout=True, stderr=True)
    assert strays == b""
    assert report["checks"] and all(check["status"] == "pass" for check in report["checks"])


def test_a_failing_step_is_exit_3_with_its_output_and_leaves_no_container(ready, first) -> None:
    """A package no index has: the labs' step fails; the step's own lines say why, the cached
    layers stay, and the steps' containers (kept until the build ends) are gone."""
    labs = labs_copy(ready, packages='["torchlab-no-such-package-' + uuid.uuid4().hex[:8] + '"]')
    containers_before = all_container_ids(ready["client"])
    done = subprocess.run([sys.executable, "-m", "torchlab", "images", "build", "--variant", "cpu"],
                          capture_output=True, text=True, env=env_for(ready, labs), timeout=600, check=False)
    assert done.returncode == 3, done.stderr[-3000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("torchlab: error: building torchlab/lab-cpu:") and " failed: " in last, last
    assert "torchlab-no-such-package" in done.stderr and "Traceback" not in done.stderr
    assert all_container_ids(ready["client"]) == containers_before


def test_ctrl_c_during_a_build_is_one_line_and_exit_130_and_the_rerun_reuses_the_cache(ready, first) -> None:
    labs = labs_copy(ready, packages='["toolz"]')
    env = env_for(ready, labs)
    containers_before = all_container_ids(ready["client"])
    argv = [sys.executable, "-m", "torchlab", "images", "build", "--variant", "cpu"]
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert child.stderr is not None
    previous = ""
    for line in child.stderr:
        if line.strip().startswith("---> Running in ") and "--requirement /opt/torchlab/lab-requirements.txt" in previous:
            child.send_signal(signal.SIGINT)
            break
        previous = line
    rest = child.stderr.read()
    assert child.wait(timeout=120) == 130
    assert rest.strip().splitlines()[-1] == (
        "torchlab: interrupted; the layers built so far are cached: run the same command again to go on")
    assert "Traceback" not in rest
    # The step's container, stopped midway, went with the build (torchlab removes them at its end).
    assert all_container_ids(ready["client"]) == containers_before
    document, stderr = torchlab(ready, env, "build")
    assert document["action"] == "built"
    steps = stderr.split("Step ")
    torch_step = next(step for step in steps if "$TORCH_SPEC" in step)
    assert "Using cache" in torch_step
    assert all_container_ids(ready["client"]) == containers_before


def test_a_step_container_the_output_never_named_is_found_after_an_interrupted_read(ready) -> None:
    """Ctrl-C or a dropped connection can land after the engine made a step's container and before
    its "Running in" line was read: the sweep finds it by the last image the build reported, and
    leaves a lab's (labelled) container and the ones already named alone."""
    client = ready["client"]
    image = engine.image_info(client, BASE).id.split(":")[-1][:12]
    unseen = client.api.create_container(image, command=["/bin/sh", "-c", "#(nop) ", "USER learner"])["Id"]
    labelled = client.api.create_container(image, command=["true"], labels={"org.torchlab.lab": "x"})["Id"]
    named = client.api.create_container(image, command=["/bin/sh", "-c", "true"])["Id"]
    try:
        found = engine.unseen_step_containers(client, ["0123456789ab", image], [named[:12]])
        assert unseen in found and labelled not in found and named not in found
        assert engine.unseen_step_containers(client, [], []) == []
    finally:
        engine.remove_step_containers(client, [unseen, labelled, named])
    assert not {unseen, labelled, named} & all_container_ids(client)


def all_container_ids(client) -> set[str]:
    return {container.id for container in client.containers.list(all=True)}


EVENTS_CHECK = """
import importlib.util, io, json, logging
from jupyter_events import EventLogger
schema = {"$id": "http://torchlab.test/event", "version": "1", "title": "t", "description": "d", "type": "object",
          "properties": {"where": {"type": "string", "format": "uri"}, "n": {"type": "integer"}}, "required": ["n"]}
seen = io.StringIO()
logger = EventLogger(handlers=[logging.StreamHandler(seen)])
logger.register_event_schema(schema)
logger.emit(schema_id=schema["$id"], data={"where": "http://x/y", "n": 1})
try:
    logger.emit(schema_id=schema["$id"], data={"n": "one"})
    rejected = None
except Exception as exc:
    rejected = type(exc).__name__
print(json.dumps({"rfc3987_syntax": importlib.util.find_spec("rfc3987_syntax") is not None,
                  "emitted": '"n": 1' in seen.getvalue(), "rejected": rejected}))
"""


def test_jupyter_events_validates_without_rfc3987_syntax(ready, first) -> None:
    # rfc3987-syntax is uninstalled in the build (its import builds a grammar: 0.7 CPU-s of every
    # JupyterLab start); jupyter_events, which JupyterLab's server logs through, still validates.
    output = ready["client"].containers.run(first["document"]["image"], ["python", "-c", EVENTS_CHECK],
                                            user="4321:4321", remove=True, stdout=True, stderr=False)
    assert json.loads(output) == {"rfc3987_syntax": False, "emitted": True, "rejected": "ValidationError"}
