"""Flags that name files and folders, taken as the text the user typed: an empty value is said as
empty (a Path would make it "."), and each is checked before any work starts."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from torchlab.errors import USAGE, UserError


def path_flag(value: Optional[str], flag: str) -> Optional[Path]:
    """The path a flag names, or None when it was not given; an empty or NUL-holding one is bad input."""
    if value is None:
        return None
    if not value.strip():
        raise UserError(f"{flag} {value!r}: empty; expected a path", USAGE)
    if "\x00" in value:
        raise UserError(f"{flag} {value!r}: holds a NUL byte; expected a path", USAGE)
    return Path(value).expanduser()
