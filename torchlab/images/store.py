"""Act on lab images: reuse the one whose name (hash) exists, else pull it from the registry, else
build it; push for course staff. The engine is reached only through torchlab.engine."""

from __future__ import annotations

import io
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import IO, Any, Optional

from torchlab import engine
from torchlab.config import Config
from torchlab.decide.choice import TorchBuild
from torchlab.decide.findings.docker import why_no_docker
from torchlab.errors import HOST_UNFIT, USAGE, UserError
from torchlab.images.inputs import read_inputs
from torchlab.images.progress import ImageProgress, progress_for
from torchlab.images.spec import WHEELHOUSE_HOST, BuildSpec, make_build_spec, unreachable_fix
from torchlab.lab.catalog import Lab, load_catalog
from torchlab.probe.docker import docker_facts_from_api, probe_docker
from torchlab.probe.index import why_index_fails

CONTEXT_MTIME = 1577836800  # 2020-01-01: the same files give the same context, so the engine's cache holds
CONTEXT_DIRS = ("certs", "labs", "smoke", "wheels", "wheels/other")  # COPY needs them, empty or not
REGISTRY_HINT = "set TORCHLAB_REGISTRY (or `registry` in the config file), e.g. 127.0.0.1:5000/torchlab"


@dataclass(frozen=True)
class ImageResult:
    image: str
    variant: str
    action: str  # "cached" | "built" | "pulled" | "pushed"
    image_id: str
    size: int
    seconds: float
    registry_image: Optional[str] = None
    note: Optional[str] = None  # the one line said when a pull fell back to a build

    @property
    def cached(self) -> bool:
        return self.action == "cached"

    def to_json(self, schema: str) -> dict[str, Any]:
        return {
            "schema": schema,
            "image": self.image,
            "variant": self.variant,
            "action": self.action,
            "cached": self.cached,
            "id": self.image_id,
            "size_bytes": self.size,
            "seconds": round(self.seconds, 1),
            "registry_image": self.registry_image,
            "note": self.note,
        }


def connect_engine(env: Mapping[str, str], timeout: float = engine.LONG_TIMEOUT, otherwise: str = "") -> Any:
    """A client of an engine that answers (the default timeout is long: build steps can be silent
    for minutes), or the doctor's finding and fix as a UserError (exit 3), then `otherwise`."""
    facts = probe_docker(env)
    if facts.state != "ok":
        raise UserError(why_no_docker(facts) + otherwise, HOST_UNFIT)
    return engine.connect(env, timeout=timeout)


def lab_images(client: Any) -> list[engine.ImageInfo]:
    """The lab images this engine has (they carry the variant label), newest first."""
    return engine.list_images(client, "org.torchlab.variant")


# --- the build context ---------------------------------------------------------------------------


def context_dirs(spec: BuildSpec) -> list[str]:
    """Every folder the context needs: the fixed ones and each file's parents."""
    found = set(CONTEXT_DIRS)
    for item in spec.context:
        found.update(str(parent) for parent in PurePosixPath(item.path).parents if str(parent) != ".")
    return sorted(found)


def write_context(spec: BuildSpec, fileobj: IO[bytes]) -> None:
    """The context as an uncompressed tar: fixed owner and mtime, modes from the spec."""
    with tarfile.open(fileobj=fileobj, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for directory in context_dirs(spec):
            info = tarfile.TarInfo(directory)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, CONTEXT_MTIME
            tar.addfile(info)
        for item in spec.context:
            info = tarfile.TarInfo(item.path)
            info.size, info.mode, info.mtime = item.size, 0o755 if item.executable else 0o644, CONTEXT_MTIME
            if item.data is not None:
                tar.addfile(info, io.BytesIO(item.data))
            else:
                assert item.source is not None
                with item.source.open("rb") as source:
                    tar.addfile(info, source)


# --- build, pull, push -------------------------------------------------------------------------------


def existing(client: Any, spec: BuildSpec, started: float) -> Optional[ImageResult]:
    info = engine.image_info(client, spec.name)
    if info is None:
        return None
    return ImageResult(spec.name, spec.variant, "cached", info.id, info.size, time.monotonic() - started)


def ensure_base_image(client: Any, base: str, progress: ImageProgress) -> None:
    """The base image, here already or pulled; else say how to provide one (exit 3)."""
    if engine.image_info(client, base) is not None:
        return
    progress.say(f"base image {base} is not here; pulling it")
    try:
        engine.pull_image(client, base, progress.event)
    except engine.RegistryError as exc:
        raise UserError(
            f"base image {base}: not on this engine and it cannot be pulled ({exc}); "
            f"pull or load it where a registry is reachable (docker pull {base}, or docker load -i FILE), "
            "or set TORCHLAB_BASE_IMAGE to an image this engine has (docker images)",
            HOST_UNFIT,
        ) from None


def check_torch_index(spec: BuildSpec) -> None:
    """A build the configured (PyPI-like) index cannot serve comes from PyTorch's wheel index: if that
    does not answer, say so with the fix (exit 3) before any layer is built."""
    if spec.torch_only_on is None:
        return
    why = why_index_fails(spec.torch_only_on, "torch", spec.ca_bundle)
    if why is not None:
        raise UserError(unreachable_fix(spec, why), HOST_UNFIT)


def build(client: Any, spec: BuildSpec, progress: ImageProgress) -> ImageResult:
    """Reuse the image when its name exists (never rebuilt), else build it."""
    started = time.monotonic()
    found = existing(client, spec, started)
    if found is not None:
        progress.say(f"{spec.name} exists; reused")
        return found
    check_torch_index(spec)
    ensure_base_image(client, spec.base_image, progress)
    progress.say(f"building {spec.name} (torch from {spec.torch_source})")
    try:
        image_id = run_build(client, spec, progress.event)
    except engine.ImageBuildError as exc:
        for line in exc.log_tail:
            progress.say(f"  {line}")
        raise UserError(f"building {spec.name} failed: {exc}", HOST_UNFIT) from None
    info = engine.image_info(client, spec.name)
    return ImageResult(spec.name, spec.variant, "built", image_id, info.size if info else 0, time.monotonic() - started)


def run_build(client: Any, spec: BuildSpec, on_event: Callable[[dict[str, Any]], None], no_cache: bool = False) -> str:
    """Send the context and build, the wheelhouse served meanwhile; the new image's id."""
    if spec.wheels:
        check_wheelhouse_reach(spec, loopback_out_of_reach(client))
    with tempfile.TemporaryFile() as context, served_wheelhouse(spec) as (args, hosts):
        write_context(spec, context)
        context.seek(0)
        return engine.build_image(client, context, spec.name, args, spec.labels(), on_event, no_cache=no_cache,
                                  extra_hosts=hosts)


def loopback_out_of_reach(client: Any) -> str | None:
    """Why this engine's builds cannot reach a server on this machine's loopback (the served
    wheelhouse), in words; None when they can (a rootful engine on this machine's unix socket)."""
    url = engine.base_url(client)
    if url not in engine.LOCAL_SOCKET_URLS:
        return f"the engine is not on this machine's unix socket ({url or 'unknown'})"
    facts = docker_facts_from_api(engine.engine_info(client), {})
    if facts.desktop:
        return "Docker Desktop runs its engine in a VM of its own"
    if facts.rootless:
        return "rootless Docker runs its builds in a network namespace of their own"
    return None


def check_wheelhouse_reach(spec: BuildSpec, out_of_reach: str | None) -> None:
    """Before any step runs: a wheelhouse this engine's builds cannot reach is one line (exit 3)."""
    if out_of_reach:
        raise UserError(f"the wheelhouse {spec.wheelhouse} cannot reach this engine's builds: torchlab serves it on "
                        f"this machine's loopback, and {out_of_reach}; build without it (unset TORCHLAB_WHEELHOUSE, or "
                        "`wheelhouse` in the config file: torch then comes from its index), or with a Docker engine "
                        "that runs on this machine as root", HOST_UNFIT)


@contextmanager
def served_wheelhouse(spec: BuildSpec) -> Iterator[tuple[dict[str, str], dict[str, str]]]:
    """(build args, extra hosts) of a build: with a wheelhouse, it is served until the block ends,
    and its wheels' sha256 joins the args (the torch layer's cache follows their bytes)."""
    if not spec.wheels:
        yield dict(spec.build_args), {}
        return
    from torchlab.images import wheelhouse  # start-up: http.server (~10 ms), for builds only

    digest = wheelhouse.sha256_of(spec.wheels)
    with ExitStack() as stack:
        try:
            address = stack.enter_context(wheelhouse.serve(spec.wheels))
        except OSError as exc:
            raise UserError(f"cannot serve the wheelhouse {spec.wheelhouse} to the build on this host's loopback "
                            f"({exc.strerror or exc})", HOST_UNFIT) from None
        yield {**spec.build_args, "WHEELHOUSE_SHA256": digest}, {WHEELHOUSE_HOST: address}


def fallback_line(exc: engine.RegistryError, remote: str) -> str:
    registry = remote.split("/", 1)[0]
    if exc.kind == "unreachable":
        return f"registry {registry} cannot be reached ({exc}); building the image here"
    if exc.kind == "denied":
        return f"registry {registry} refused {remote} ({exc}); building the image here"
    if exc.kind == "missing":
        return f"{remote} is not in the registry; building it here"
    return f"pulling {remote} failed ({exc}); building the image here"


def pull(client: Any, spec: BuildSpec, registry: Optional[str], progress: ImageProgress) -> ImageResult:
    """Reuse, else pull from the registry, else (saying why in one line) build."""
    started = time.monotonic()
    found = existing(client, spec, started)
    if found is not None:
        progress.say(f"{spec.name} exists; reused")
        return found
    if not registry:
        raise UserError(f"no registry to pull from; {REGISTRY_HINT}", USAGE)
    remote = spec.remote_name(registry)
    progress.say(f"pulling {remote}")
    try:
        engine.pull_image(client, remote, progress.event)
        check_pulled(client, spec, remote)
    except engine.RegistryError as exc:
        note = fallback_line(exc, remote)
        progress.say(note)
        return replace(build(client, spec, progress), note=note)
    engine.tag_image(client, remote, spec.name)
    info = engine.image_info(client, spec.name)
    assert info is not None
    return ImageResult(spec.name, spec.variant, "pulled", info.id, info.size, time.monotonic() - started, remote)


def check_pulled(client: Any, spec: BuildSpec, remote: str) -> None:
    """The pulled image must be the one its tag names: same digest label, else it is not used."""
    info = engine.image_info(client, remote)
    digest = info.labels.get("org.torchlab.digest") if info else None
    if digest != spec.digest:
        engine.remove_image(client, remote)
        raise engine.RegistryError("error", f"its digest label {digest} is not {spec.digest}")


def push(client: Any, spec: BuildSpec, registry: Optional[str], progress: ImageProgress) -> ImageResult:
    """Build the image if it is not here, then push it to the registry (course staff)."""
    if not registry:
        raise UserError(f"no registry to push to; {REGISTRY_HINT}", USAGE)
    started = time.monotonic()
    local = build(client, spec, progress)
    remote = spec.remote_name(registry)
    engine.tag_image(client, spec.name, remote)
    progress.say(f"pushing {remote}")
    try:
        engine.push_image(client, remote, progress.event)
    except engine.RegistryError as exc:
        raise UserError(f"pushing {remote} failed: {exc}", HOST_UNFIT) from None
    return replace(local, action="pushed", registry_image=remote, seconds=time.monotonic() - started)


# --- for `up` --------------------------------------------------------------------------------


def spec_for_lab(config: Config, choice: TorchBuild, lab: Lab) -> BuildSpec:
    """The image `up` needs: this choice's variant, the labs of the catalog the lab is from."""
    return make_build_spec(choice, config, read_inputs(config, load_catalog(lab.path.parent)))


def ensure_for_lab(config: Config, choice: TorchBuild, lab: Lab, env: Mapping[str, str], say: Callable[[str], None]) -> str:
    """The image for this variant: reused when there, else pulled from the registry, else built."""
    spec = spec_for_lab(config, choice, lab)
    registry = config.get("registry")
    client = connect_engine(env)
    progress = progress_for(json_output=False)
    try:
        result = pull(client, spec, registry, progress) if registry else build(client, spec, progress)
    finally:
        progress.close()
        client.close()
    say(f"image {result.image}: {result.action}")
    return result.image
