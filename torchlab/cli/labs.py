"""`torchlab labs`: the lab catalog, one lab's details, and a lab's workspace (init, upgrade)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from torchlab.cli.flags import path_flag
from torchlab.cli.output import echo_json, stdout_console
from torchlab.config import Config, load_config
from torchlab.errors import UserError
from torchlab.files import check_writable
from torchlab.lab.catalog import Lab, LabCatalog, find_lab, open_catalog
from torchlab.lab.workspace import (
    InitResult,
    SetAside,
    UpgradeResult,
    default_workspace_dir,
    init_workspace,
    read_record,
    upgrade_workspace,
)

app = typer.Typer(
    help="The lab catalog: list labs, show one, create or upgrade its workspace.",
    invoke_without_command=True,
    no_args_is_help=False,
    rich_markup_mode=None,
)

JSON_OPTION = typer.Option(False, "--json", help="Print one JSON document on stdout.")
LABS_DIR_OPTION = typer.Option(None, "--labs-dir", help="Another labs folder (default: the labs torchlab ships).")
DIR_OPTION = typer.Option(None, "--dir", help="The workspace folder (default: <data_dir>/workspaces/LAB).")


def parent_labs_dir(ctx: typer.Context, labs_dir: Optional[str]) -> Optional[Path]:
    """A subcommand's --labs-dir, else the one given to `torchlab labs --labs-dir DIR`."""
    if labs_dir is None and ctx.parent is not None:
        labs_dir = ctx.parent.params.get("labs_dir")
    return path_flag(labs_dir, "--labs-dir")


def workspace_summary(config: Config, lab: Lab) -> dict[str, object] | None:
    """The default workspace of lab, if there is one: its path and version (None if unreadable)."""
    path = default_workspace_dir(config, lab.id)
    try:
        record = read_record(path)
    except UserError:
        return {"path": str(path), "version": None}
    if record is None or record.lab != lab.id:
        return None
    return {"path": str(path), "version": record.version}


def listing_document(catalog: LabCatalog, config: Config) -> dict[str, object]:
    labs = [
        {
            "id": lab.id,
            "title": lab.title,
            "version": lab.version,
            "summary": lab.summary,
            "aliases": list(lab.aliases),
            "accelerator": lab.accelerator,
            "workspace": workspace_summary(config, lab),
        }
        for lab in catalog.labs
    ]
    return {"schema": "torchlab.labs/1", "labs": labs}


def workspace_text(workspace: dict[str, object] | None) -> str:
    if workspace is None:
        return "-"
    return f'{workspace["path"]} ({workspace["version"] or "damaged record"})'


def print_listing(document: dict[str, object]) -> None:
    from rich.table import Table  # start-up: rich only for people (not for --json)

    table = Table(title="Labs", title_justify="left")
    for column in ("id", "version", "title", "accelerator", "workspace"):
        table.add_column(column)
    for lab in document["labs"]:  # type: ignore[attr-defined]
        table.add_row(lab["id"], lab["version"], lab["title"], lab["accelerator"], workspace_text(lab["workspace"]))
    stdout_console().print(table)


@app.callback(invoke_without_command=True)
def labs(
    ctx: typer.Context,
    as_json: bool = JSON_OPTION,
    labs_dir: Optional[str] = LABS_DIR_OPTION,
) -> None:
    """List the labs, their versions and your workspaces."""
    if ctx.invoked_subcommand is not None:
        return
    config = load_config()
    document = listing_document(open_catalog(path_flag(labs_dir, "--labs-dir"), config), config)
    if as_json:
        echo_json(document)
    else:
        print_listing(document)


def lab_document(lab: Lab, config: Config) -> dict[str, object]:
    details = {
        "id": lab.id,
        "title": lab.title,
        "version": lab.version,
        "summary": lab.summary,
        "aliases": list(lab.aliases),
        "packages": list(lab.packages),
        "min_torch": lab.min_torch,
        "accelerator": lab.accelerator,
        "min_ram_gb": lab.min_ram_gb,
        "min_vram_gb": lab.min_vram_gb,
        "disk_gb": lab.disk_gb,
        "path": str(lab.path),
    }
    return {"schema": "torchlab.lab/1", "lab": details, "workspace": workspace_summary(config, lab)}


def print_lab(document: dict[str, object]) -> None:
    from rich.table import Table  # start-up: rich only for people (not for --json)

    lab: dict[str, object] = document["lab"]  # type: ignore[assignment]
    table = Table(show_header=False, title=f'{lab["id"]} {lab["version"]}: {lab["title"]}', title_justify="left")
    for key, value in lab.items():
        if key not in ("id", "title", "version"):
            table.add_row(key, ", ".join(value) if isinstance(value, list) else str(value))
    table.add_row("workspace", workspace_text(document["workspace"]))  # type: ignore[arg-type]
    stdout_console().print(table)


@app.command("show")
def show(
    ctx: typer.Context,
    lab: str = typer.Argument(..., help="A lab id or alias, e.g. module-1."),
    as_json: bool = JSON_OPTION,
    labs_dir: Optional[str] = LABS_DIR_OPTION,
) -> None:
    """One lab's details: packages, accelerator, resources it needs, your workspace."""
    config = load_config()
    found = find_lab(open_catalog(parent_labs_dir(ctx, labs_dir), config), lab)
    document = lab_document(found, config)
    if as_json:
        echo_json(document)
    else:
        print_lab(document)


def workspace_dir(config: Config, lab: Lab, directory: Optional[str]) -> Path:
    """--dir (checked: a folder, or one that can be made), else the default under the data folder."""
    chosen = path_flag(directory, "--dir")
    if chosen is None:
        return default_workspace_dir(config, lab.id)
    check_writable(chosen, f"--dir {chosen}", "--dir")
    return chosen


def say_set_aside(aside: Optional[SetAside]) -> None:
    """A damaged workspace record was set aside: said on stderr, the command goes on."""
    if aside is not None:
        typer.echo(f"torchlab: note: {aside.describe()}", err=True)


def describe_init(result: InitResult) -> str:
    if result.created:
        return f"created the {result.lab} {result.version} workspace at {result.path} ({len(result.added)} files)"
    line = f"{result.lab} {result.version} workspace at {result.path}: "
    if result.version != result.shipped_version:
        return line + f"nothing added; `torchlab labs upgrade {result.lab}` brings it to {result.shipped_version}"
    if result.added:
        return line + "added the missing " + ", ".join(result.added)
    return line + "complete, nothing to add"


@app.command("init")
def init(
    ctx: typer.Context,
    lab: str = typer.Argument(..., help="A lab id or alias, e.g. module-1."),
    directory: Optional[str] = DIR_OPTION,
    labs_dir: Optional[str] = LABS_DIR_OPTION,
) -> None:
    """Create the lab's workspace, or add the files missing from it (never overwrites)."""
    config = load_config()
    found = find_lab(open_catalog(parent_labs_dir(ctx, labs_dir), config), lab)
    root = workspace_dir(config, found, directory)
    if directory is None:
        check_writable(config.data_dir, f"data folder {config.data_dir}")
    result = init_workspace(found, root)
    say_set_aside(result.set_aside)
    typer.echo(describe_init(result))


def upgrade_document(result: UpgradeResult) -> dict[str, object]:
    return {
        "schema": "torchlab.upgrade/1",
        "lab": result.lab,
        "path": str(result.path),
        "from_version": result.from_version,
        "to_version": result.to_version,
        "updated": list(result.updated),
        "kept": [{"path": c.path, "side_file": c.side_file} for c in result.kept],
        "added": list(result.added),
        "removed_upstream": list(result.removed_upstream),
        "deleted_by_user": list(result.deleted_by_user),
        "unchanged": list(result.unchanged),
    }


def describe_upgrade(result: UpgradeResult) -> list[str]:
    lines = [f"{result.lab} workspace at {result.path}: {result.from_version} -> {result.to_version}"]
    lines += [f"  updated           {path}" for path in result.updated]
    lines += [f"  kept your changes {c.path}; the new version is in {c.side_file}" for c in result.kept]
    lines += [f"  added             {path}" for path in result.added]
    lines += [f"  removed upstream  {path} (left in place)" for path in result.removed_upstream]
    lines += [f"  deleted by you    {path} (stays deleted)" for path in result.deleted_by_user]
    lines.append(f"  {len(result.unchanged)} files unchanged")
    return lines


@app.command("upgrade")
def upgrade(
    ctx: typer.Context,
    lab: str = typer.Argument(..., help="A lab id or alias, e.g. module-1."),
    directory: Optional[str] = DIR_OPTION,
    as_json: bool = JSON_OPTION,
    labs_dir: Optional[str] = LABS_DIR_OPTION,
) -> None:
    """Upgrade the workspace to the lab version shipped; your changed files are kept as they are."""
    config = load_config()
    found = find_lab(open_catalog(parent_labs_dir(ctx, labs_dir), config), lab)
    result = upgrade_workspace(found, workspace_dir(config, found, directory))
    say_set_aside(result.set_aside)
    if as_json:
        echo_json(upgrade_document(result))
    else:
        typer.echo("\n".join(describe_upgrade(result)))
