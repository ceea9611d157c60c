"""A pasted collect_env report as lines and fields, however it was pasted.

People paste `python -m torch.utils.collect_env` into Markdown: inside fences, quoted with "> ",
indented four spaces, wrapped in backticks, with Windows line ends, with full-width colons
("GPU 0：") from an input method, with text that went through the wrong code page, two reports in a
row, or cut short. This module undoes what it can (`clean`), keeps each line as pasted (the evidence a
finding quotes), and reads the "Key: value" fields of one report (`read_fields`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

GPUS = "GPU models and configuration"
LIBRARIES = "Versions of relevant libraries"
# Every field collect_env has printed (torch 0.4 to 2.x, and vLLM's copy of the script), as it prints it.
FIELD_NAMES = (
    "PyTorch version", "Is debug build", "CUDA used to build PyTorch", "ROCM used to build PyTorch",
    "OS", "GCC version", "Clang version", "CMake version", "Libc version", "Python version",
    "Python platform", "Is CUDA available", "CUDA runtime version", "CUDA_MODULE_LOADING set to",
    GPUS, "Nvidia driver version", "cuDNN version", "HIP runtime version", "MIOpen runtime version",
    "Is XNNPACK available", "Is XPU available", "XPU used to build PyTorch", "Intel GPU driver version",
    "Intel GPU models onboard", "Intel GPU models detected", "CPU", LIBRARIES,
)
_ALIASES = {"version of relevant libraries": LIBRARIES}  # a hand-edited header seen in a real paste
_KNOWN = {name.lower(): name for name in FIELD_NAMES} | _ALIASES
TORCH_FIELDS = ("PyTorch version", "Is debug build", "CUDA used to build PyTorch", "Is CUDA available")
START = "Collecting environment information..."

_KEY_VALUE = re.compile(r"^(?P<key>[A-Za-z][\w .()/-]*?)\s*:(?:\s*(?P<value>.*))?$")
_NO_COLON = re.compile(r"^(?P<key>PyTorch version)\s+(?P<value>\d\S*)$", re.IGNORECASE)  # "PyTorch version 1.5.0"
GPU_LINE = re.compile(r"^GPU (?P<index>\d+): (?P<name>.+?)(?: \(UUID: [^)]*\))?\s*$")
_FENCE = re.compile(r"^(```|~~~)")
# (sign, code page it was shown in, code page it was written in, what it was): UTF-8 shown as Windows-1252
# ("ï¼š" for "：", "Ã©" for "é"); a Russian Windows console's cp866 shown as cp1251 ("Њ ©Єа®б®дв").
_MISREADINGS = (
    (re.compile("[ÃÂâï][\u0080-\u00bf\u0152-\u2122]"), "cp1252", "utf-8", "mojibake (UTF-8 read as Windows-1252)"),
    (re.compile("[\u0400-\u04ff][©®]|[©®][\u0400-\u04ff]"), "cp1251", "cp866", "mojibake (cp866 read as cp1251)"),
)


@dataclass(frozen=True)
class Line:
    number: int  # 1-based, in the paste
    raw: str  # as pasted, without its line end
    text: str  # what is left to read: no quote marks, fences, indentation, backticks, full-width colons


@dataclass(frozen=True)
class Paste:
    lines: tuple[Line, ...]
    repaired: tuple[str, ...]  # what clean() had to undo, in words


@dataclass
class Field:
    name: str  # as collect_env prints it: "GPU models and configuration"
    value: str  # continuation lines joined with "\n"
    lines: list[Line] = field(default_factory=list)


def clean(text: str) -> Paste:
    """The paste's lines, each with the text left to read once Markdown and encoding damage are undone."""
    repaired: set[str] = set()
    lines = tuple(Line(number, raw, _readable(raw, repaired)) for number, raw in enumerate(text.splitlines(), 1))
    if "\r\n" in text:
        repaired.add("Windows line ends")
    return Paste(lines, tuple(sorted(repaired)))


def _readable(raw: str, repaired: set[str]) -> str:
    text = _unmangled(raw, repaired).strip()
    if text.startswith(">"):
        text = re.sub(r"^(?:>\s?)+", "", text).strip()
        repaired.add("Markdown quote marks")
    if _FENCE.match(text):
        repaired.add("Markdown fences")
        return ""
    if "`" in text[:1] + text[-1:]:
        text = text.strip("`").strip()
        repaired.add("backticks")
    if "：" in text:
        text = text.replace("：", ": ").replace(":  ", ": ")
        repaired.add("full-width colons")
    if text.startswith(START) and len(text) > len(START):
        text = text[len(START):].strip()  # the first line and the report on one line (a terminal-wrap paste)
    return text


def _unmangled(raw: str, repaired: set[str]) -> str:
    """A line whose bytes were read in the wrong code page, read again in the right one; else as it is."""
    for pattern, wrong, right, what in _MISREADINGS:
        if not pattern.search(raw):
            continue
        try:
            fixed = raw.encode(wrong).decode(right)
        except UnicodeError:
            continue
        repaired.add(what)
        return fixed
    return raw


def field_of(text: str) -> tuple[str, str] | None:
    """("PyTorch version", "2.6.0+cu126") for a line of a known field; None for any other line."""
    match = _KEY_VALUE.match(text) or _NO_COLON.match(text)
    if not match:
        return None
    name = _KNOWN.get(match["key"].strip().lower())
    return (name, (match["value"] or "").strip()) if name else None


def is_torch_version(line: Line) -> bool:
    found = field_of(line.text)
    return found is not None and found[0] == "PyTorch version"


def looks_like_collect_env(text: str) -> bool:
    """A "PyTorch version" line, or the script's first line, or several of its fields."""
    lines = clean(text).lines
    if any(is_torch_version(line) or line.text.startswith(START) for line in lines):
        return True
    names = {found[0] for line in lines if (found := field_of(line.text))}
    return len(names) >= 3 and bool(names & set(TORCH_FIELDS))


def reports_in(lines: tuple[Line, ...]) -> list[tuple[Line, ...]]:
    """The reports of a paste: one per "PyTorch version" line, each from the script's first line (or
    its own first field) before it to where the next begins."""
    starts = [i for i, line in enumerate(lines) if is_torch_version(line)]
    if len(starts) <= 1:
        return [lines]
    bounds = [0] + [_report_start(lines, previous, start) for previous, start in zip(starts, starts[1:])]
    return [lines[a:b] for a, b in zip(bounds, bounds[1:] + [len(lines)])]


def _report_start(lines: tuple[Line, ...], previous: int, start: int) -> int:
    """Where the report whose "PyTorch version" line is `start` begins: at the script's first line
    between the two reports, else at that "PyTorch version" line."""
    for i in range(start, previous, -1):
        if lines[i].raw.strip().lstrip(">` ").startswith(START) or lines[i].text.startswith(START):
            return i
    return start


def read_fields(lines: tuple[Line, ...]) -> tuple[dict[str, Field], Field | None]:
    """The fields of one report (the first of each name), and the field still open when the text ended
    (None when the report reached its library list, or a blank line closed its last field)."""
    fields: dict[str, Field] = {}
    current: Field | None = None
    for line in lines:
        found = field_of(line.text)
        if current is not None and _continues(current, line.text, found):
            current.value = f"{current.value}\n{line.text}".strip()
            current.lines.append(line)
            continue
        current = None
        if found is None or found[0] in fields:
            continue
        if found[0] == LIBRARIES:
            return fields, None
        current = fields[found[0]] = Field(found[0], found[1], [line])
    return fields, current


_WRAPPING = ("cuDNN version", "Python version")  # values people's terminals and mailers wrap


def _continues(current: Field, text: str, found: tuple[str, str] | None) -> bool:
    """Whether a line belongs to the field before it: more GPUs, the CPU section, a wrapped value."""
    if not text or found:
        return False
    if current.name == GPUS:
        return bool(GPU_LINE.match(text) or text.startswith("MIG ") or not current.value)
    if current.name == "CPU":
        return True
    return current.name in _WRAPPING and "Warning" not in text and not _KEY_VALUE.match(text)


def cut_field_name(text: str) -> str | None:
    """A last line that is the start of a field's name ("GPU mod", "Is CUDA av"): the name it was."""
    lowered = text.lower()
    if not lowered or field_of(text):
        return None
    return next((name for key, name in _KNOWN.items() if key.startswith(lowered) and len(lowered) >= 2), None)
