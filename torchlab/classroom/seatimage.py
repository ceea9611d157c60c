"""The seat image: the lab image (torchlab.images.store: reused, pulled or built as for `up`) with
jupyterhub-singleuser in its environment, the version of the hub that spawns it. One thin layer
on top, built by the engine from a one-file context; named by a hash of its recipe, and reused
while that is unchanged."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable, Mapping
from typing import Any

from torchlab import __version__, engine
from torchlab.config import Config
from torchlab.decide.choice import TorchBuild
from torchlab.decide.runspec import short_hash
from torchlab.errors import HOST_UNFIT, UserError
from torchlab.images.progress import progress_for
from torchlab.images.store import connect_engine, ensure_for_lab
from torchlab.lab.catalog import Lab

REPOSITORY = "torchlab/classroom"
RECIPE = """\
# The seat image of a torchlab classroom: the lab image, and the single-user server of JupyterHub.
FROM {lab_image}
USER root
ARG INDEX_URL=
RUN TORCHLAB_INDEX_URL="$INDEX_URL" install-packages \\
      --constraint /opt/torchlab/venv/torch-constraint.txt "{jupyterhub}"
USER learner
CMD ["jupyterhub-singleuser"]
"""


def seat_recipe(lab_image: str, jupyterhub_version: str) -> str:
    return RECIPE.format(lab_image=lab_image, jupyterhub=f"jupyterhub=={jupyterhub_version}")


def seat_image_name(lab_image: str, variant: str, jupyterhub_version: str, registry: str | None = None) -> str:
    """torchlab/classroom-<variant>:<torchlab version>-<hash of the recipe>; under a registry when given."""
    tag = f"{__version__}-{short_hash(seat_recipe(lab_image, jupyterhub_version), 12)}"
    repository = f"{registry.rstrip('/')}/classroom" if registry else REPOSITORY
    return f"{repository}-{variant}:{tag}"


def seat_context(recipe: str) -> io.BytesIO:
    data = recipe.encode("utf-8")
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size, info.mode, info.mtime = len(data), 0o644, 1577836800
        tar.addfile(info, io.BytesIO(data))
    archive.seek(0)
    return archive


def ensure_seat_image(config: Config, choice: TorchBuild, lab: Lab, jupyterhub_version: str,
                      env: Mapping[str, str], say: Callable[[str], None]) -> str:
    """The seat image for this lab and variant: reused when there, else built on the lab image."""
    lab_image = ensure_for_lab(config, choice, lab, env, say)
    name = seat_image_name(lab_image, choice.variant, jupyterhub_version)
    client = connect_engine(env)
    try:
        if engine.image_info(client, name) is None:
            say(f"building {name}: {lab_image} with jupyterhub {jupyterhub_version}")
            build_seat_image(client, name, lab_image, jupyterhub_version, config.get("index_url") or "")
        else:
            say(f"seat image {name}: reused")
    finally:
        client.close()
    return name


def build_seat_image(client: Any, name: str, lab_image: str, jupyterhub_version: str, index_url: str) -> None:
    progress = progress_for(json_output=False)
    labels = {"org.torchlab.seat-image": lab_image, "org.torchlab.jupyterhub": jupyterhub_version}
    try:
        engine.build_image(client, seat_context(seat_recipe(lab_image, jupyterhub_version)), name,
                           {"INDEX_URL": index_url}, labels, progress.event)
    except engine.ImageBuildError as exc:
        for line in exc.log_tail:
            progress.say(f"  {line}")
        raise UserError(f"building the seat image {name} failed: {exc}", HOST_UNFIT) from None
    finally:
        progress.close()
