"""JupyterLab's start, as data: the page it opens and the name its kernel shows. Pure.

A lab opens on its workspace's first notebook (else its README), not on an empty launcher, and
its kernel is named for the lab, its torch and its device ("module-4 · torch 2.13.0 · cuda"):
a kernelspec named python3 (the kernel every lab notebook asks for) in a folder put first on
JUPYTER_PATH. The lab image is shared by every lab, so neither can be baked into it: in a
container, START (run by the image's Python just before JupyterLab, which it then becomes) writes
them from the torch that is installed and the notebooks the workspace holds at that moment; the
native runtime writes the same from these functions. The setting that is the same everywhere (no
"get notified about Jupyter news?" prompt) is JupyterLab's settings override shipped in images/.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable
from typing import Any

KERNEL = "python3"  # the name in every lab notebook's metadata: JupyterLab picks it without asking
TORCH_PLACEHOLDER = "{torch}"

# What START does, kept in step with first_page, default_url_arg and kernelspec below
# (tests/test_runspec.py runs it against them).
START = """\
import json, os, sys, urllib.parse
from importlib import metadata
from pathlib import Path
home, workspace, name, argv = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4:]
try:
    torch = metadata.version("torch").split("+")[0]
except metadata.PackageNotFoundError:
    torch = "not installed"
kernel = home / "kernels" / "python3"
kernel.mkdir(parents=True, exist_ok=True)
spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": name.replace("{torch}", torch), "language": "python", "metadata": {"debugger": True}}
(kernel / "kernel.json").write_text(json.dumps(spec, ensure_ascii=False, indent=1), encoding="utf-8")
os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(home), os.environ.get("JUPYTER_PATH")) if p)
names = [p.name for p in workspace.iterdir() if p.is_file() and not p.name.startswith(".")]
pages = sorted(n for n in names if n.endswith(".ipynb")) or [n for n in names if n == "README.md"]
if pages:
    argv.append("--LabApp.default_url=/lab/tree/" + urllib.parse.quote(pages[0]))
os.execvp(argv[0], argv)
"""


def kernel_name(lab: str, device: str, torch: str = TORCH_PLACEHOLDER) -> str:
    """The kernel's display name; START puts the lab's torch release in place of {torch}."""
    return f"{lab} · torch {torch} · {device}"


def kernelspec(python: str, display_name: str) -> dict[str, Any]:
    return {"argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": display_name, "language": "python", "metadata": {"debugger": True}}


def first_page(names: Iterable[str]) -> str | None:
    """The file a lab opens on: its first notebook by name, else its README; None: neither."""
    visible = [name for name in names if not name.startswith(".")]
    notebooks = sorted(name for name in visible if name.endswith(".ipynb"))
    return notebooks[0] if notebooks else ("README.md" if "README.md" in visible else None)


def default_url_arg(page: str | None) -> tuple[str, ...]:
    """JupyterLab's argument to open page (sent there from "/", token and all)."""
    return (f"--LabApp.default_url=/lab/tree/{urllib.parse.quote(page)}",) if page else ()


def start_command(python: str, home: str, workspace: str, lab: str, device: str,
                  jupyter: tuple[str, ...]) -> tuple[str, ...]:
    """JupyterLab's command line, run through START by the lab's python; home: a folder the lab
    may write, for the kernelspec."""
    return (python, "-c", START, home, workspace, kernel_name(lab, device), *jupyter)
