"""Finding and reading the `.he` files a command was given."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SUFFIX = ".he"
_SKIP_DIRS = {".git", ".heddle", ".venv", "venv", "node_modules", "__pycache__"}
STDIN = "-"


class UsageError(Exception):
    """A command-line mistake: reported on stderr, exit status 2."""


@dataclass(frozen=True, slots=True)
class Source:
    name: str  # as shown in messages: the path given, or <stdin>
    path: Path | None  # None for standard input
    text: str


def expand(paths: list[str]) -> Iterator[str]:
    """Files as given, and the `.he` files under folders, in a stable order."""
    for raw in paths:
        if raw == STDIN:
            yield raw
            continue
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob(f"*{SUFFIX}")
                if p.is_file() and not any(part in _SKIP_DIRS for part in p.relative_to(path).parts)
            )
            yield from (str(p) for p in found)
        elif path.is_file():
            yield raw
        else:
            raise UsageError(f"{raw}: no such file or directory")


def read(name: str) -> Source:
    if name == STDIN:
        return Source("<stdin>", None, sys.stdin.read())
    path = Path(name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{name}: {exc.strerror or exc}") from exc
    return Source(name, path, data.decode("utf-8", errors="replace"))
