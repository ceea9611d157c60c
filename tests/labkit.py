"""Small lab folders made on disk for the catalog and workspace tests (real files, no mocks)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REAL_LABS = REPO / "labs"

BASE_TOML: dict[str, object] = {
    "title": "Tensors",
    "summary": "Tensor basics.",
    "aliases": [],
    "packages": ["numpy"],
    "min_torch": "2.1",
    "accelerator": "optional",
    "min_ram_gb": 4,
    "min_vram_gb": 0,
    "disk_gb": 1.5,
}


def toml_value(value: object) -> str:
    return json.dumps(value)  # JSON strings, numbers and lists of strings are valid TOML too


def write_lab_toml(lab_dir: Path, fields: Mapping[str, object]) -> None:
    lines = [f"{key} = {toml_value(value)}" for key, value in fields.items()]
    (lab_dir / "lab.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_lab(
    labs_dir: Path,
    lab_id: str,
    version: str = "1.0.0",
    files: Mapping[str, bytes] | None = None,
    **fields: object,
) -> Path:
    """labs_dir/lab_id with a lab.toml, smoke/checks.py and the given workspace files."""
    lab_dir = labs_dir / lab_id
    if lab_dir.exists():
        shutil.rmtree(lab_dir)
    (lab_dir / "smoke").mkdir(parents=True)
    (lab_dir / "smoke" / "checks.py").write_text("CHECKS = []\n", encoding="utf-8")
    (lab_dir / "workspace").mkdir()
    write_lab_toml(lab_dir, {"id": lab_id, **BASE_TOML, "version": version, **fields})
    for rel, data in (files or {}).items():
        path = lab_dir / "workspace" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return lab_dir


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root (relpath -> bytes), torchlab's own .torchlab folder left out."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".torchlab" not in p.relative_to(root).parts
    }
