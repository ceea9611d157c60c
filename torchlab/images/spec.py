"""Which lab image this host needs: the variant, the torch source and every build input, and a
name that changes exactly when one of them does. Pure: reading the inputs is
torchlab.images.inputs's; building, pulling and pushing are torchlab.images.store's; which
variant is torchlab.decide.choice's.

An image is `torchlab/lab-<variant>:<torchlab version>-<12 hex of sha256 over its inputs>`: the
recipe's bytes, the build arguments, the labs' packages, the wheelhouse's file names and sizes,
the CA bundle's bytes and the lab files copied into it.

The wheelhouse reaches the build two ways: all of it served over HTTP while the build runs (the
torch step reads it there: no wheel becomes a layer, and the context stays small), and the wheels
that are not torch's (small) in the context, copied into the image for the later steps and for
offline classrooms' seat images.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from torchlab import __version__
from torchlab.config import Config
from torchlab.decide.choice import TORCH_INDEX_BASE, TorchBuild, torch_wheel_index
from torchlab.errors import USAGE, UserError
from torchlab.knowledge import pypi_cuda_build

REPOSITORY = "torchlab/lab"
JUPYTERLAB_SPEC = "jupyterlab>=4,<5"
UV_SPEC = "uv"
LEARNER_ID = "1000"
NO_INDEX = "none"  # index_url = "none": install from the wheelhouse only (an offline classroom)
JUPYTERLAB_SETTINGS = "jupyterlab-overrides.json"  # JupyterLab's settings overrides (no news prompt)
RECIPE_FILES = ("Dockerfile", "setup-system.sh", "install-packages", "prune-torch", JUPYTERLAB_SETTINGS)
EXECUTABLE = ("setup-system.sh", "install-packages", "prune-torch")
WHEEL_SUFFIXES = (".whl", ".tar.gz", ".zip")
# The wheelhouse as the build reaches it: this name, mapped to a loopback address of this build's
# own server (torchlab.images.wheelhouse), and this port. Both fixed: the URL is a build argument,
# and the layer cache keys on it.
WHEELHOUSE_HOST = "torchlab-wheelhouse"
WHEELHOUSE_PORT = 47613
WHEELHOUSE_URL = f"http://{WHEELHOUSE_HOST}:{WHEELHOUSE_PORT}/"
# Wheels that only the torch install needs (served, never copied); the rest also serve later layers.
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
    torch_spec: str  # "torch==2.13.0+cpu": the local label makes the variant exact; PyPI's build has none
    torch_source: str  # the index URL or the wheelhouse file torch comes from
    base_image: str
    index_url: Optional[str]
    wheelhouse: Optional[Path]
    ca_bundle: Optional[Path]
    packages: tuple[str, ...]
    build_args: dict[str, str]
    context: tuple[ContextFile, ...]
    wheels: tuple[Wheel, ...]  # the wheelhouse, served to the build at WHEELHOUSE_URL
    digest: str  # sha256 hex over everything above that goes into the image
    reasons: dict[str, str] = field(default_factory=dict)
    torch_only_on: Optional[str] = None  # the PyTorch wheel index, when the configured index cannot serve the build

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
# PyPI has one Linux torch wheel per release, without a local version: the CUDA build of
# knowledge.PYPI_CUDA_BUILDS (2.13.0 is cu130). Every other build (+cpu, +cu126, +rocm7.2) is only
# on PyTorch's wheel index, download.pytorch.org/whl/<tag>. A configured index that is not on that
# host is taken for PyPI or a mirror of it.


@dataclass(frozen=True)
class TorchSource:
    requirement: str  # TORCH_SPEC: "torch==2.13.0+cu126", or "torch==2.13.0" (PyPI's build)
    index: str  # TORCH_INDEX_URL; "" when the wheelhouse holds torch
    said: str  # where torch comes from, for people
    only_on: Optional[str] = None  # the PyTorch wheel index, when index_url (PyPI-like) cannot serve the build


def is_pytorch_index(url: str) -> bool:
    """An index on download.pytorch.org (any of its /whl/<tag> folders)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    return host == urllib.parse.urlsplit(TORCH_INDEX_BASE).hostname


def pypi_carries(choice: TorchBuild) -> bool:
    """Is this build the one a plain `torch==X` from PyPI is (2.13.0: cu130)?"""
    return choice.torch_index == pypi_cuda_build(choice.torch_version)


def wheel_fields(file_name: str) -> tuple[str, str]:
    """(distribution, version) of a wheel file name; pip's downloads may spell "+" as %2B."""
    parts = file_name.replace("%2B", "+").split("-")
    return parts[0].lower().replace(".", "_"), parts[1] if len(parts) > 1 else ""


def torch_wheels(wheels: tuple[Wheel, ...], version: str, torch_index: str, plain: bool = False) -> tuple[Wheel, ...]:
    """The wheelhouse's torch wheels of this build: torch-2.13.0+cu130-..., or (plain: PyPI's build)
    also torch-2.13.0-... as `pip download torch==2.13.0` saves it."""
    wanted = {f"{version}+{torch_index}"} | ({version} if plain else set())
    return tuple(w for w in wheels if w.name.endswith(".whl") and wheel_fields(w.name)[0] == "torch"
                 and wheel_fields(w.name)[1] in wanted)


def torch_source(choice: TorchBuild, inputs: BuildInputs, index_url: Optional[str]) -> TorchSource:
    """Where torch comes from: the wheelhouse wins over any index; a PyPI-like index serves only PyPI's build."""
    exact = f"torch=={choice.torch_version}+{choice.torch_index}"
    if inputs.wheelhouse is not None:
        return wheelhouse_source(choice, inputs, exact)
    if index_url == NO_INDEX:
        raise UserError('index_url is "none" (wheelhouse only) but no wheelhouse is set; set TORCHLAB_WHEELHOUSE', USAGE)
    if index_url and not is_pytorch_index(index_url):
        return pypi_like_source(choice, index_url, exact)
    url = torch_wheel_index(choice.torch_index)  # an index_url on download.pytorch.org: its folder for this build
    return TorchSource(exact, url, f"index {url}")


def wheelhouse_source(choice: TorchBuild, inputs: BuildInputs, exact: str) -> TorchSource:
    """The build's wheel (torch-2.13.0+cu130-...), or PyPI's plain one (torch-2.13.0-...) when it is that build."""
    assert inputs.wheelhouse is not None
    version, pypi = choice.torch_version, pypi_carries(choice)
    found = torch_wheels(inputs.wheels, version, choice.torch_index, plain=pypi)
    if not found:
        looked_for = f"torch-{version}+{choice.torch_index}-*.whl" + (f" (or PyPI's torch-{version}-*.whl)" if pypi else "")
        have = ", ".join(w.name for w in inputs.wheels if wheel_fields(w.name)[0] == "torch") or "no torch wheel"
        raise UserError(f"wheelhouse {inputs.wheelhouse}: no {looked_for} for variant {choice.variant} (found: {have})", USAGE)
    plain = "+" not in wheel_fields(found[0].name)[1]
    return TorchSource(f"torch=={version}" if plain else exact, "", f"wheelhouse {inputs.wheelhouse / found[0].name}")


def pypi_like_source(choice: TorchBuild, index_url: str, exact: str) -> TorchSource:
    """index_url is PyPI or a mirror of it: PyPI's own build from it, any other from PyTorch's index."""
    version, pypi = choice.torch_version, pypi_cuda_build(choice.torch_version)
    if pypi_carries(choice):
        return TorchSource(f"torch=={version}", index_url, f"index {index_url} (PyPI's torch {version} is the {pypi} build)")
    url = torch_wheel_index(choice.torch_index)
    has = f"only the {pypi} build of torch {version}" if pypi else f"no CUDA build of torch {version} that torchlab knows"
    said = f"index {url} (index_url {index_url} is taken for PyPI or a mirror, which has {has})"
    return TorchSource(exact, url, said, only_on=url)


def cuda_variant(tag: str) -> str:
    """'cu130' -> 'cuda-13.0'."""
    return f"cuda-{int(tag[2:-1])}.{tag[-1]}"


def unreachable_fix(spec: "BuildSpec", why: str) -> str:
    """The one line when the PyTorch wheel index a build needs cannot be reached (store.build says it)."""
    pypi = pypi_cuda_build(spec.torch_version)
    other = (f"use --variant {cuda_variant(pypi)} (the {pypi} build, which PyPI and its mirrors carry as "
             f"torch=={spec.torch_version}), " if pypi else "")
    return (f"{spec.torch_spec} (variant {spec.variant}) is only on the PyTorch wheel index {spec.torch_only_on}, "
            f"which cannot be reached from here ({why}); index_url {spec.index_url} cannot serve it: {other}"
            f"let this machine reach {spec.torch_only_on}, or put the wheels in TORCHLAB_WHEELHOUSE")


# --- the build spec ---------------------------------------------------------------------------


def lab_requirements(packages: tuple[str, ...]) -> tuple[str, ...]:
    """The labs' packages, once each, sorted; torch itself is the torch layer's, never reinstalled."""
    wanted = {p.strip() for p in packages if p.strip()}
    return tuple(sorted(p for p in wanted if _requirement_name(p) != "torch"))


def _requirement_name(requirement: str) -> str:
    match = REQUIREMENT_NAME.match(requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else ""


def build_args(torch: TorchSource, base_image: str, index_url: Optional[str], wheels: tuple[Wheel, ...]) -> dict[str, str]:
    return {
        "BASE_IMAGE": base_image,
        "TORCH_SPEC": torch.requirement,
        "TORCH_INDEX_URL": torch.index,
        "INDEX_URL": index_url or "",
        "UV_SPEC": UV_SPEC,
        "WHEELHOUSE_URL": WHEELHOUSE_URL if wheels else "",
        "JUPYTERLAB_SPEC": JUPYTERLAB_SPEC,
        "LEARNER_UID": LEARNER_ID,
        "LEARNER_GID": LEARNER_ID,
    }


def context_files(inputs: BuildInputs, requirements: tuple[str, ...]) -> tuple[ContextFile, ...]:
    """The recipe, the generated files, the labs, and the wheels that are not torch's."""
    wheel_files = tuple(
        ContextFile(f"wheels/other/{w.name}", w.size, source=w.path)
        for w in inputs.wheels if not TORCH_FAMILY.match(wheel_fields(w.name)[0])
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


def digest_of(args: dict[str, str], context: tuple[ContextFile, ...], wheels: tuple[Wheel, ...] = ()) -> str:
    """Over the build args, the context and the served wheelhouse (a wheel's name and size stand for it)."""
    document = {"build_args": args, "context": [[f.path, f.fingerprint(), f.executable] for f in context],
                "wheelhouse": [[w.name, w.size] for w in sorted(wheels, key=lambda w: w.name)]}
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode("utf-8")).hexdigest()


def make_build_spec(choice: TorchBuild, config: Config, inputs: BuildInputs) -> BuildSpec:
    """The image for this variant, these settings and these inputs: args, context and name."""
    index_url = config.get("index_url")
    base_image = config.get("base_image") or "python:3.11-slim"
    torch = torch_source(choice, inputs, index_url)
    args = build_args(torch, base_image, index_url, inputs.wheels)
    requirements = lab_requirements(inputs.packages)
    context = context_files(inputs, requirements)
    return BuildSpec(
        variant=choice.variant,
        torch_index=choice.torch_index,
        torch_version=choice.torch_version,
        torch_spec=args["TORCH_SPEC"],
        torch_source=torch.said,
        base_image=base_image,
        index_url=index_url,
        wheelhouse=inputs.wheelhouse,
        ca_bundle=inputs.ca_bundle,
        packages=requirements,
        build_args=args,
        context=context,
        wheels=inputs.wheels,
        digest=digest_of(args, context, inputs.wheels),
        reasons=spec_reasons(choice, config, torch),
        torch_only_on=torch.only_on,
    )


def spec_reasons(choice: TorchBuild, config: Config, torch: TorchSource) -> dict[str, str]:
    def setting(name: str) -> str:
        return f"{config.get(name) or 'not set'} ({config.origin(name)})"

    return {
        "variant": choice.reason,
        "torch": f"{torch.requirement} from {torch.said}",
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
        "wheelhouse_served": [{"name": w.name, "size": w.size} for w in spec.wheels],
        "registry_image": spec.remote_name(registry) if registry else None,
        "reasons": spec.reasons,
    }

