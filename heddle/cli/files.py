"""Finding and reading the `.he` files a command was given."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from heddle.cli.usage import UsageError
from heddle_engine.library_files import he_files
from heddle_lang.decoding import decode
from heddle_lang.diagnostics import Diagnostic
from heddle_lang.records import record

SUFFIX = ".he"
STDIN = "-"


@record
class Source:
    name: str  # as shown in messages: the path given, or <stdin>
    path: Path | None  # None for standard input
    text: str
    # HE1015 when the bytes are not UTF-8: `text` is then not the file (each bad byte read as U+FFFD), so a
    # command reports this and neither checks nor rewrites the file.
    encoding_error: Diagnostic | None = None


def expand(paths: list[str]) -> Iterator[str]:
    """Files as given, and the `.he` files under folders, in a stable order."""
    for raw in paths:
        if raw == STDIN:
            yield raw
            continue
        path = Path(raw)
        if path.is_dir():
            yield from (str(p) for p in he_files(path))
        elif path.is_file():
            yield raw
        else:
            raise UsageError(f"{raw}: no such file or directory")


def _bytes_of(text: str) -> bytes:
    """A text stream's bytes back (undecodable bytes come as lone surrogates in a text stream)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def read(name: str, *, stdin_filename: str | None = None) -> Source:
    """The file `name`, or standard input (`-`). `stdin_filename`: the file standard input stands for, as
    editors and formatters pass an unsaved buffer: messages name it, and it has its folder and project."""
    if name == STDIN:
        buffer = getattr(sys.stdin, "buffer", None)  # bytes: UTF-8 whatever the locale says
        decoded = decode(buffer.read() if buffer is not None else _bytes_of(sys.stdin.read()))
        if stdin_filename is not None:
            return Source(stdin_filename, Path(stdin_filename), decoded.text, decoded.error)
        return Source("<stdin>", None, decoded.text, decoded.error)
    if stdin_filename is not None:
        raise UsageError(f"--stdin-filename {stdin_filename}: give - as the file to read standard input")
    path = Path(name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{name}: {exc.strerror or exc}") from exc
    decoded = decode(data)
    return Source(name, path, decoded.text, decoded.error)
