""".he libraries: `import "./shared/platform.he" platform` shares resources, steps and handlers between files.

A library is a `.he` file analysed on its own, in its own coordinates; what it declares is read through its
alias: `<connection=platform.pg_db>`, `| platform.enrich`, `? platform.on_fail`. Names starting with `_` are
private to their file, and a library's workflows are never imported (nor run: importing runs nothing).

The language does no I/O: a `LibraryLoader` (the command line's or the language server's workspace) reads
and analyses the file an import names; this module holds what travels between the two, and the path rules.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from heddle_lang.paths import PathPolicy
from heddle_lang.records import record

if TYPE_CHECKING:
    from heddle_lang.semantic.context import ResourceInfo, StepInfo
    from heddle_lang.semantic.model import Analysis, Definition

SUFFIX = ".he"


def is_library_path(path: str) -> bool:
    """An import of a `.he` file (relative to the importing file, or to the project with a leading `/`)."""
    return path.endswith(SUFFIX) and path.startswith(("./", "../", "/"))


def library_file(path: str, policy: PathPolicy) -> str:
    """The absolute, normalised file an import path names."""
    if path.startswith("/"):
        return posixpath.normpath(posixpath.join(policy.root, path.lstrip("/")))
    return posixpath.normpath(posixpath.join(policy.folder, path))


def is_private(name: str) -> bool:
    return name.startswith("_")


@dataclass(frozen=True)
class Exports:
    """What a file offers its importers: its resources and steps as it resolved them (handlers are its plan's
    graphs); `definitions` holds every declaration, private ones and workflows included, for messages."""

    file: str
    definitions: Mapping[str, Definition]
    resources: Mapping[str, ResourceInfo] = field(default_factory=dict)
    steps: Mapping[str, StepInfo] = field(default_factory=dict)


@dataclass(frozen=True)
class Library:
    """A library as an importer sees it: its own analysis (diagnostics in its own file) and its exports."""

    file: str
    analysis: Analysis

    @property
    def exports(self) -> Exports:
        assert self.analysis.exports is not None
        return self.analysis.exports

    @property
    def errors(self) -> int:
        return sum(d.is_error for d in self.analysis.diagnostics)


@record
class LibraryProblem:
    """Why an import names no usable library: a diagnostic code and its message."""

    code: str
    message: str


class LibraryLoader(Protocol):
    def load(self, importer: str | None, file: str) -> Library | LibraryProblem:
        """The library in `file` (absolute), imported by `importer` (None: a text with no file)."""
        ...


def relative_name(file: str, importer: str | None) -> str:
    """`file` as its importer's folder sees it, for messages."""
    if importer is None:
        return file
    return posixpath.relpath(file, posixpath.dirname(importer))


def reached(analysis: Analysis) -> list[Library]:
    """The libraries `analysis` imports, directly or through others, each once, by file."""
    found: dict[str, Library] = {}
    pending = [lib for lib in analysis.libraries.values() if lib is not None]
    while pending:
        library = pending.pop()
        if library.file not in found:
            found[library.file] = library
            pending.extend(lib for lib in library.analysis.libraries.values() if lib is not None)
    return sorted(found.values(), key=lambda lib: lib.file)


def library_of(analysis: Analysis, file: str) -> Library | None:
    """The library `file` as `analysis` read it (directly or through another library)."""
    return next((library for library in reached(analysis) if library.file == file), None)
