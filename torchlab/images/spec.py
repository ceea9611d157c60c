"""Which lab image this host needs: the variant, the torch source and every build input, and a
name that changes exactly when one of them does. Pure: reading the inputs is
torchlab.images.inputs's; building, pulling and pushing are torchlab.images.store's; which
variant is torchlab.decide.choice's.

An image is `torchlab/lab-<variant>:<torchlab version>-<12 hex of sha256 over its inputs>`: the
recipe's bytes, the build arguments, the labs' packages, the wheelhouse's file names and sizes,
the CA bundle's bytes and the lab files copied into it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from torchlab import __version__
from torchlab.config import Config
from torchlab.decide.choice import TorchBuild, torch_wheel_index
from torchlab.errors import USAGE, UserError

REPOSITORY = "torchlab/lab"
JUPYTERLAB_SPEC = "jupyterlab>=4,<5"
UV_SPEC = "uv"
LEARNER_ID = "1000"
NO_INDEX = "none"  # index_url = "none": install from the wheelhouse only (an offline classroom)
RECIPE_FILES = ("Dockerfile", "setup-system.sh", "install-packages", "prune-torch")
EXECUTABLE = ("setup-system.sh", "install-packages", "prune-torch")
WHEEL_SUFFIXES = (".whl", ".tar.gz", ".zip")
# Wheels that only the torch install needs; the rest of a wheelhouse also serves later layers.
TORCH_FAMILY = re.compile(r"^(torch|triton|pytorch_triton.*|nvidia_.*|cuda_.*)$")
REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class ContextFile:
    """One file of the build context: its path there, and where its bytes come from."""

    path: str  # "wheels/torch/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"
    size: int
    source: Optional[Path] = None  # a file on disk, or
    data: Optional[bytes] = None  # bytes made here
    executable: bool = False

    def fingerprint(self) -> str:
        """What the image name hashes: the bytes, except a wheel's name and size stand for it."""
        if self.data is not None:
            return hashlib.sha256(self.data).hexdigest()
        if self.path.startswith("wheels/"):
            return f"size:{self.size}"
        assert self.source is not None
        return hashlib.sha256(self.source.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Wheel:
    name: str  # the file name
    size: int
    path: Path


@dataclass(frozen=True)
class BuildInputs:
    """What the build reads from disk, gathered once (see read_inputs)."""

    recipe: tuple[ContextFile, ...]  # images/Dockerfile and its scripts
    lab_files: tuple[ContextFile, ...]  # smoke/... and labs/<id>/...
    packages: tuple[str, ...]  # every lab's packages, as written in lab.toml
    wheelhouse: Optional[Path] = None
    wheels: tuple[Wheel, ...] = ()
    ca_bundle: Optional[Path] = None
    ca_bytes: bytes = b""


@dataclass(frozen=True)
class BuildSpec:
    variant: str
    torch_index: str
    torch_version: str
    torch_spec: str  # "torch==2.13.0+cpu": the local label makes the variant exact
    torch_source: str  # the index URL or the wheelhouse file torch comes from
    base_image: str
    index_url: Optional[str]
    wheelhouse: Optional[Path]
    ca_bundle: Optional[Path]
    packages: tuple[str, ...]
    build_args: dict[str, str]
    context: tuple[ContextFile, ...]
    digest: str  # sha256 hex over everything above that goes into the image
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def repository(self) -> str:
        return f"{REPOSITORY}-{self.variant}"

    @property
    def tag(self) -> str:
        return f"{__version__}-{self.digest[:12]}"

    @property
    def name(self) -> str:
        return f"{self.repository}:{self.tag}"

    def remote_name(self, registry: str) -> str:
        """Where the image lies in a registry such as 127.0.0.1:5000/torchlab."""
        return f"{registry.rstrip('/')}/{self.repository.split('/', 1)[1]}:{self.tag}"

    def labels(self) -> dict[str, str]:
        return {
            "org.torchlab.variant": self.variant,
            "org.torchlab.torch": self.torch_spec,
            "org.torchlab.digest": self.digest,
            "org.torchlab.version": __version__,
        }


# --- the torch source -------------------------------------------------------------------------


def torch_index_url(torch_index: str, index_url: Optional[str]) -> str:
    """download.pytorch.org/whl/<tag>, unless an index is configured (it then serves torch too)."""
    if index_url and index_url != NO_INDEX:
        return index_url
    return torch_wheel_index(torch_index)


def wheel_fields(file_name: str) -> tuple[str, str]:
    """(distribution, version) of a wheel file name; pip's downloads may spell "+" as %2B."""
    parts = file_name.replace("%2B", "+").split("-")
    return parts[0].lower().replace(".", "_"), parts[1] if len(parts) > 1 else ""


def torch_wheels(wheels: tuple[Wheel, ...], version: str, torch_index: str) -> tuple[Wheel, ...]:
    wanted = f"{version}+{torch_index}"
    return tuple(w for w in wheels if w.name.endswith(".whl") and wheel_fields(w.name) == ("torch", wanted))


def torch_source(choice: TorchBuild, inputs: BuildInputs, index_url: Optional[str]) -> tuple[str, str]:
    """(TORCH_INDEX_URL build argument, what to tell people); the wheelhouse wins over any index."""
    if inputs.wheelhouse is not None:
        found = torch_wheels(inputs.wheels, choice.torch_version, choice.torch_index)
        if not found:
            looked_for = f"torch-{choice.torch_version}+{choice.torch_index}-*.whl"
            have = ", ".join(w.name for w in inputs.wheels if wheel_fields(w.name)[0] == "torch") or "no torch wheel"
            raise UserError(f"wheelhouse {inputs.wheelhouse}: no {looked_for} for variant {choice.variant} (found: {have})", USAGE)
        return "", f"wheelhouse {inputs.wheelhouse / found[0].name}"
    if index_url == NO_INDEX:
        raise UserError('index_url is "none" (wheelhouse only) but no wheelhouse is set; set TORCHLAB_WHEELHOUSE', USAGE)
    url = torch_index_url(choice.torch_index, index_url)
    return url, f"index {url}"


# --- the build spec ---------------------------------------------------------------------------


def lab_requirements(packages: tuple[str, ...]) -> tuple[str, ...]:
    """The labs' packages, once each, sorted; torch itself is the torch layer's, never reinstalled."""
    wanted = {p.strip() for p in packages if p.strip()}
    return tuple(sorted(p for p in wanted if _requirement_name(p) != "torch"))


def _requirement_name(requirement: str) -> str:
    match = REQUIREMENT_NAME.match(requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else ""


def build_args(choice: TorchBuild, base_image: str, torch_index_arg: str, index_url: Optional[str]) -> dict[str, str]:
    return {
        "BASE_IMAGE": base_image,
        "TORCH_SPEC": f"torch=={choice.torch_version}+{choice.torch_index}",
        "TORCH_INDEX_URL": torch_index_arg,
        "INDEX_URL": index_url or "",
        "UV_SPEC": UV_SPEC,
        "JUPYTERLAB_SPEC": JUPYTERLAB_SPEC,
        "LEARNER_UID": LEARNER_ID,
        "LEARNER_GID": LEARNER_ID,
    }


def context_files(inputs: BuildInputs, requirements: tuple[str, ...]) -> tuple[ContextFile, ...]:
    wheel_files = tuple(
        ContextFile(f"wheels/{'torch' if TORCH_FAMILY.match(wheel_fields(w.name)[0]) else 'other'}/{w.name}", w.size, source=w.path)
        for w in inputs.wheels
    )
    generated = (
        ContextFile("certs/extra-ca.crt", len(inputs.ca_bytes), data=inputs.ca_bytes),
        _text_file("lab-requirements.txt", "".join(f"{r}\n" for r in requirements)),
    )
    files = inputs.recipe + generated + wheel_files + inputs.lab_files
    return tuple(sorted(files, key=lambda f: f.path))


def _text_file(path: str, text: str) -> ContextFile:
    data = text.encode("utf-8")
    return ContextFile(path, len(data), data=data)


def digest_of(args: dict[str, str], context: tuple[ContextFile, ...]) -> str:
    document = {"build_args": args, "context": [[f.path, f.fingerprint(), f.executable] for f in context]}
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode("utf-8")).hexdigest()


def make_build_spec(choice: TorchBuild, config: Config, inputs: BuildInputs) -> BuildSpec:
    """The image for this variant, these settings and these inputs: args, context and name."""
    index_url = config.get("index_url")
    base_image = config.get("base_image") or "python:3.11-slim"
    torch_index_arg, source = torch_source(choice, inputs, index_url)
    args = build_args(choice, base_image, torch_index_arg, index_url)
    requirements = lab_requirements(inputs.packages)
    context = context_files(inputs, requirements)
    return BuildSpec(
        variant=choice.variant,
        torch_index=choice.torch_index,
        torch_version=choice.torch_version,
        torch_spec=args["TORCH_SPEC"],
        torch_source=source,
        base_image=base_image,
        index_url=index_url,
        wheelhouse=inputs.wheelhouse,
        ca_bundle=inputs.ca_bundle,
        packages=requirements,
        build_args=args,
        context=context,
        digest=digest_of(args, context),
        reasons=spec_reasons(choice, config, source),
    )


def spec_reasons(choice: TorchBuild, config: Config, source: str) -> dict[str, str]:
    def setting(name: str) -> str:
        return f"{config.get(name) or 'not set'} ({config.origin(name)})"

    return {
        "variant": choice.reason,
        "torch": f"torch=={choice.torch_version}+{choice.torch_index} from {source}",
        "base_image": setting("base_image"),
        "index_url": setting("index_url"),
        "wheelhouse": setting("wheelhouse"),
        "ca_bundle": setting("ca_bundle"),
    }


def plan_document(spec: BuildSpec, registry: Optional[str]) -> dict[str, Any]:
    """`torchlab images plan --json`: the image this host needs and why."""
    return {
        "schema": "torchlab.images.plan/1",
        "image": spec.name,
        "variant": spec.variant,
        "torch": {"spec": spec.torch_spec, "index": spec.torch_index, "source": spec.torch_source},
        "base_image": spec.base_image,
        "index_url": spec.index_url,
        "wheelhouse": str(spec.wheelhouse) if spec.wheelhouse else None,
        "ca_bundle": str(spec.ca_bundle) if spec.ca_bundle else None,
        "packages": list(spec.packages),
        "build_args": spec.build_args,
        "context": [{"path": f.path, "size": f.size} for f in spec.context],
        "registry_image": spec.remote_name(registry) if registry else None,
        "reasons": spec.reasons,
    }

