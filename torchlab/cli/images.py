"""`torchlab images plan|list|build|pull|push`: the images behind the labs."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import typer

from torchlab.cli.output import echo_json, stderr_console
from torchlab.config import Config, load_config
from torchlab.decide.choice import choose_variant, needs_plan
from torchlab.decide.compat import LAB_TORCH_VERSION
from torchlab.decide.plan import Plan, make_plan
from torchlab.images.inputs import read_inputs
from torchlab.images.spec import BuildSpec, make_build_spec, plan_document
from torchlab.lab.catalog import open_catalog
from torchlab.cli import INTERRUPTED_NOTES

if TYPE_CHECKING:  # pragma: no cover - types only
    from torchlab.images.store import ImageResult

INTERRUPTED = 130

app = typer.Typer(
    help=(
        "The images behind the labs: one recipe (images/Dockerfile) for cpu, cuda and rocm, named by "
        "a hash of all that goes into it and reused while that is unchanged.\n\n"
        "Exit codes: 0 done; 2 a bad option or setting (a CA bundle that is not there, a wheelhouse "
        "without the torch wheel, no registry set); 3 Docker cannot be used, the base image is "
        "missing, the PyTorch wheel index a build needs does not answer (with a PyPI index_url, every "
        "build but PyPI's own comes from it), or a build or push failed; 130 interrupted (the layers "
        "built so far are cached)."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)

VARIANT_OPTION = typer.Option(
    "auto", "--variant", help="auto (this host's, as doctor plans it), cpu, cuda, rocm, or exact: cuda-12.6, rocm-7.2."
)
JSON_OPTION = typer.Option(False, "--json", help="Print one JSON document on stdout; progress stays on stderr.")


def host_plan(config: Config) -> Plan:
    from torchlab.probe.host import probe_host  # start-up: probes (and docker-py) only when the plan is needed

    return make_plan(probe_host(os.environ, config.data_dir))


def current_spec(variant: str, config: Config) -> BuildSpec:
    plan = host_plan(config) if needs_plan(variant) else None
    choice = choose_variant(variant, plan, plan.torch_version if plan else LAB_TORCH_VERSION)
    return make_build_spec(choice, config, read_inputs(config, open_catalog(config=config)))


@app.command("plan")
def plan_command(variant: str = VARIANT_OPTION, json_output: bool = JSON_OPTION) -> None:
    """Which image this host needs, from what, and why (nothing is built)."""
    config = load_config()
    document = plan_document(current_spec(variant, config), config.get("registry"))
    if json_output:
        echo_json(document)
        return
    from rich.markup import escape  # start-up: rich only for people (not for --json)

    console = stderr_console(soft_wrap=True)
    console.print(f"[bold]{escape(document['image'])}[/]")
    for key, why in document["reasons"].items():
        console.print(f"  {key:<11} {escape(why)}")
    console.print(f"  {'packages':<11} {escape(', '.join(document['packages']) or 'none')}")
    if document["registry_image"]:
        console.print(f"  {'registry':<11} {escape(document['registry_image'])}")


@app.command("list")
def list_command(json_output: bool = JSON_OPTION) -> None:
    """The lab images this engine has."""
    from torchlab.images import store  # start-up: docker-py only for the commands that use the engine

    client = store.connect_engine(os.environ)
    try:
        found = store.lab_images(client)
    finally:
        client.close()
    images = [
        {
            "image": next(iter(info.tags), info.id),
            "tags": list(info.tags),
            "variant": info.labels.get("org.torchlab.variant"),
            "torch": info.labels.get("org.torchlab.torch"),
            "id": info.id,
            "size_bytes": info.size,
            "created": info.created,
        }
        for info in found
    ]
    if json_output:
        echo_json({"schema": "torchlab.images.list/1", "images": images})
        return
    from rich.table import Table  # start-up: rich only for people (not for --json)

    table = Table(title="Lab images", title_justify="left")
    for column in ("image", "variant", "torch", "size", "created"):
        table.add_column(column)
    for image in images:
        table.add_row(image["image"], image["variant"] or "", image["torch"] or "",
                      f"{image['size_bytes'] / 1e9:.2f} GB", image["created"][:19])
    stderr_console(soft_wrap=True).print(table if images else "No lab images yet: `torchlab images build` makes one.")


Action = Callable[[ModuleType, Any, BuildSpec, Config, Any], "ImageResult"]  # (images.store, client, spec, config, progress)


def run_action(action: Action, schema: str, variant: str, json_output: bool) -> None:
    """Compute the spec, act through the engine, report; Ctrl-C is one line and exit 130."""
    from torchlab.images import progress as shown, store  # start-up: docker-py and rich only for the commands that act

    config = load_config()
    spec = current_spec(variant, config)
    client = store.connect_engine(os.environ)
    progress = shown.progress_for(json_output)
    try:
        result = action(store, client, spec, config, progress)
    except KeyboardInterrupt:
        progress.close()
        INTERRUPTED_NOTES.append("the layers built so far are cached: run the same command again to go on")
        raise
    finally:
        progress.close()
        client.close()
    report(result, schema, json_output)


def report(result: ImageResult, schema: str, json_output: bool) -> None:
    if json_output:
        echo_json(result.to_json(schema))
        return
    from rich.markup import escape  # start-up: rich only for people (not for --json)

    where = f" ({result.registry_image})" if result.registry_image else ""
    stderr_console(soft_wrap=True).print(
        f"{escape(result.image)}: {result.action}{escape(where)} in {result.seconds:.1f} s, {result.size / 1e9:.2f} GB"
    )
    typer.echo(result.image)


@app.command("build")
def build_command(variant: str = VARIANT_OPTION, json_output: bool = JSON_OPTION) -> None:
    """Build the lab image here; an image whose name (hash) exists is reused, never rebuilt."""
    run_action(lambda store, client, spec, _config, progress: store.build(client, spec, progress),
               "torchlab.images.build/1", variant, json_output)


@app.command("pull")
def pull_command(variant: str = VARIANT_OPTION, json_output: bool = JSON_OPTION) -> None:
    """Pull the lab image from the registry (TORCHLAB_REGISTRY); build it when it is not there."""
    run_action(lambda store, client, spec, config, progress: store.pull(client, spec, config.get("registry"), progress),
               "torchlab.images.pull/1", variant, json_output)


@app.command("push")
def push_command(variant: str = VARIANT_OPTION, json_output: bool = JSON_OPTION) -> None:
    """Push the lab image to the registry (course staff); builds it first if needed."""
    run_action(lambda store, client, spec, config, progress: store.push(client, spec, config.get("registry"), progress),
               "torchlab.images.push/1", variant, json_output)
