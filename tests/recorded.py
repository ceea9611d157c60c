"""Real recorded outputs kept in tests/fixtures (INDEX.md names each machine and source), fed to the real parsers."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_bytes().decode("utf-8", errors="replace")


def fixture_names(pattern: str) -> list[str]:
    """The fixtures a pattern matches; never none, which would make a parametrized test vacuous."""
    found = sorted(path.name for path in FIXTURES.glob(pattern))
    assert found, f"no fixture matches {pattern} in {FIXTURES}"
    return found
