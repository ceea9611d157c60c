"""`torchlab export devcontainer LAB [--dir D]`: the lab as a Dev Container, for VS Code and the Dev
Containers CLI. The same plan, image and workspace as `up` (decide.devcontainer says what goes in);
an existing devcontainer.json that differs is never overwritten without --force."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from enum import Enum
from pathlib import Path
from typing import Any, Optional

import typer

from torchlab.cli.flags import path_flag
from torchlab.cli.output import echo_json, stderr_console
from torchlab.config import Config, load_config
from torchlab.files import check_folder, check_replaceable, write_whole

SCHEMA = "torchlab.devcontainer/1"

app = typer.Typer(
    help="Export a lab for other tools.\n\nExit codes: 0 written (or already so); 2 bad input, or an existing "
         "file that differs (--force replaces it); 3 the host cannot run the lab in Docker.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


class Variant(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    rocm = "rocm"


def config_text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def export_devcontainer(lab_name: str, folder: Optional[Path], variant: str, force: bool, config: Config,
                        env: Mapping[str, str], say: Callable[[str], None]) -> dict[str, Any]:
    """The plan (docker), the workspace and the image as `up` makes them, then the file."""
    from torchlab.decide.devcontainer import FILE, devcontainer_config  # start-up: probes and the engine only here
    from torchlab.decide.runspec import LabTarget
    from torchlab.images.store import ensure_for_lab, spec_for_lab
    from torchlab.lab.catalog import find_lab, open_catalog
    from torchlab.runtimes.docker import give_to_lab_user, host_gpu_groups, the_lab_user
    from torchlab.up import UpRequest, plan_choice, prepare_workspace

    lab = find_lab(open_catalog(config=config), lab_name)
    if folder is not None:  # bad input before the host's questions (Docker, the GPU)
        check_folder(folder, f"--dir {folder}", must_exist=False)
    choice = plan_choice(UpRequest(lab.id, runtime="docker", variant=variant), config, env, say)
    workspace = prepare_workspace(lab, config, say)
    target = LabTarget(lab.id, lab.version, choice.variant, choice.device, workspace, config.data_dir)
    image = spec_for_lab(config, choice, lab).name
    text = config_text(devcontainer_config(target, image, the_lab_user(env), host_gpu_groups()))
    path = (folder.resolve() if folder else workspace).joinpath(*FILE)
    action = check_replaceable(path, text, force, "--force replaces it, or choose another --dir")  # a refusal costs no build
    ensure_for_lab(config, choice, lab, env, say)  # reused, pulled or built: named `image`
    if action != "unchanged":
        write_whole(path, text)
    give_to_lab_user(workspace, env)  # as `up` does: the workspace (and a file written there) is the learner's
    return {"schema": SCHEMA, "lab": lab.id, "version": lab.version, "variant": choice.variant,
            "device": choice.device, "image": image, "workspace": str(workspace), "file": str(path),
            "folder": str(path.parents[1]), "action": action}


@app.command("devcontainer")
def devcontainer(
    lab: str = typer.Argument(..., help="A lab id or alias, e.g. module-1."),
    folder: Optional[str] = typer.Option(
        None, "--dir", help="Where .devcontainer/devcontainer.json goes (default: the lab's workspace)."),
    variant: Variant = typer.Option(Variant.auto, "--variant", help="cpu, cuda, rocm, or auto (the best found)."),
    force: bool = typer.Option(False, "--force", help="Replace a devcontainer.json that differs."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document (torchlab.devcontainer/1) on stdout."),
) -> None:
    """Write .devcontainer/devcontainer.json for LAB: the lab image, its GPU, the protections of
    `up`, the workspace, the JupyterLab port and the smoke checks at each start.

    Exit codes: 0 written (or already so), 2 bad input or a different file there, 3 the host cannot do it.
    """
    from rich.markup import escape  # start-up: rich only for this command's own output

    console = stderr_console()
    document = export_devcontainer(lab, path_flag(folder, "--dir"), variant.value, force, load_config(), os.environ,
                                   lambda line: console.print(f"[dim]{escape(line)}[/]"))
    said = {"written": "wrote", "replaced": "replaced", "unchanged": "unchanged:"}[document["action"]]
    console.print(f"{said} {escape(document['file'])} ({escape(document['image'])})", soft_wrap=True)
    console.print(f"  start it: devcontainer up --workspace-folder {escape(document['folder'])}, or open the "
                  "folder in VS Code and choose Reopen in Container", soft_wrap=True)
    if json_out:
        echo_json(document)
