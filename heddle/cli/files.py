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


def read(name: str, *, stdin_filename: str | None = None) -> Source:
    """The file `name`, or standard input (`-`). `stdin_filename`: the file standard input stands for, as
    editors and formatters pass an unsaved buffer: messages name it, and it has its folder and project."""
    if name == STDIN:
        buffer = getattr(sys.stdin, "buffer", None)  # bytes: UTF-8 whatever the locale says
        text = buffer.read().decode("utf-8", errors="replace") if buffer is not None else sys.stdin.read()
        if stdin_filename is not None:
            return Source(stdin_filename, Path(stdin_filename), text)
        return Source("<stdin>", None, text)
    if stdin_filename is not None:
        raise UsageError(f"--stdin-filename {stdin_filename}: give - as the file to read standard input")
    path = Path(name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{name}: {exc.strerror or exc}") from exc
    return Source(name, path, data.decode("utf-8", errors="replace"))
