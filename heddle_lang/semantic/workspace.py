"""`Workspace`: the `.he` files of a session analysed together, each library once per version.

A library's analysis depends on its text and on the analyses of the libraries it imports, so it is kept
under that version (its text and, recursively, theirs) and shared by every importer: `heddle check` of a
folder analyses each file once, and an editor re-analyses a library only when it or what it imports changed.
Reading files is the caller's (`read`: the command line reads the disk, the language server prefers the
text of open documents); nothing here does I/O.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from heddle_lang.catalog import Catalog
from heddle_lang.paths import PathPolicy
from heddle_lang.relational.compile import PrqlCompiler, compile_prql
from heddle_lang.semantic.analyze import analyze
from heddle_lang.semantic.libraries import Library, LibraryProblem, is_library_path, library_file, relative_name
from heddle_lang.semantic.model import Analysis
from heddle_lang.syntax import ast, parse
from heddle_lang.syntax.lower import Placed
from heddle_lang.syntax.tree import SyntaxTree

Version = tuple[object, ...]


@dataclass
class _Parsed:
    text: str
    tree: SyntaxTree
    imports: tuple[str, ...]  # the library files it imports, resolved


class Workspace:
    """Libraries and their importers. `read(file)` is a file's text (None: it cannot be read); `paths_for(file)`
    the path policy of its project (where its libraries and config paths may point); `folder(file)` the context
    a file is analysed in (the engine's: relative paths a database is described with start from its folder)."""

    def __init__(self, catalog: Catalog, read: Callable[[str], str | None], paths_for: Callable[[str], PathPolicy],
                 *, compiler: PrqlCompiler = compile_prql,
                 folder: Callable[[str], AbstractContextManager[object]] | None = None) -> None:
        self.catalog = catalog
        self.folder = folder
        self.read = read
        self.paths_for = paths_for
        self.compiler = compiler
        self._parsed: dict[str, _Parsed] = {}
        self._libraries: dict[str, tuple[Version, Library]] = {}
        self._given: dict[str, SyntaxTree] = {}  # during `analyze(file, tree)`: `file` is `tree`, whatever `read` says

    # --- documents --------------------------------------------------------------------------------

    def analyze(self, file: str, tree: SyntaxTree | None = None,
                cancelled: Callable[[], bool] | None = None) -> Analysis:
        """The analysis of `file` (its `tree` when the caller holds it: an editor's, edited incrementally, which stands
        for the file while this runs, though `read` may already give a newer text). The text is analysed once,
        whether it is checked itself or imported."""
        if tree is not None:
            self._given[file] = tree
        try:
            if self._parse(file) is None:
                return self._analyze(file, parse(""), cancelled)
            found = self.load(None, file, cancelled)
            assert isinstance(found, Library)
            return found.analysis
        finally:
            self._given.pop(file, None)

    def _analyze(self, file: str, tree: SyntaxTree, cancelled: Callable[[], bool] | None = None,
                 previous: Analysis | None = None) -> Analysis:
        with self.folder(file) if self.folder is not None else nullcontext():
            return analyze(tree, self.catalog, cancelled, paths=self.paths_for(file), compiler=self.compiler,
                           file=file, libraries=self, previous=previous)

    def imports(self, file: str) -> tuple[str, ...]:
        """The library files `file` imports (its current text)."""
        parsed = self._parse(file)
        return parsed.imports if parsed is not None else ()

    def forget(self, file: str) -> None:
        """Drop what is known of `file` (deleted, or changed on disk)."""
        self._parsed.pop(file, None)
        self._libraries.pop(file, None)

    # --- LibraryLoader ----------------------------------------------------------------------------

    def load(self, importer: str | None, file: str,
             cancelled: Callable[[], bool] | None = None) -> Library | LibraryProblem:
        parsed = self._parse(file)
        if parsed is None:
            return LibraryProblem("HE3018", f"no readable library {relative_name(file, importer)}: {file} is "
                                  "missing or not UTF-8 text")
        if importer is not None:
            cycle = self._path(file, importer)
            if cycle is not None:
                chain = " → ".join(relative_name(f, importer) for f in (importer, *cycle))
                return LibraryProblem("HE3019", f"import cycle: {chain}")
        version = self._version(file, ())
        cached = self._libraries.get(file)
        if cached is not None and cached[0] == version:
            return cached[1]
        # The analysis of the file's previous version lends what its edit did not touch (`semantic.reuse`).
        previous = cached[1].analysis if cached is not None else None
        library = Library(file, self._analyze(file, parsed.tree, cancelled, previous))
        self._libraries[file] = (version, library)
        return library

    # --- versions and the import graph -------------------------------------------------------------

    def _parse(self, file: str) -> _Parsed | None:
        """`file` as `read` gives it (or the tree `analyze` was given for it), parsed once per text."""
        given = self._given.get(file)
        text = given.text if given is not None else self.read(file)
        if text is None:
            self._parsed.pop(file, None)
            return None
        cached = self._parsed.get(file)
        if cached is not None and cached.text == text:
            return cached
        tree = given if given is not None else parse(text)
        if cached is not None and _same_imports(cached.tree, tree):
            imports = cached.imports
        else:
            policy = self.paths_for(file)
            declarations = (placed.base for placed in tree.outline.placed)  # their paths only: unmoved
            imports = tuple(library_file(d.path.value, policy) for d in declarations
                            if isinstance(d, ast.Import) and d.path is not None and is_library_path(d.path.value))
        parsed = _Parsed(text, tree, imports)
        self._parsed[file] = parsed
        return parsed

    def _version(self, file: str, stack: tuple[str, ...]) -> Version:
        """`file`'s text and, recursively, the versions of the libraries it imports (a cycle is marked)."""
        parsed = self._parse(file)
        if parsed is None:
            return (file, None)
        if file in stack:
            return (file, "cycle")
        return (file, parsed.text,
                tuple(self._version(dep, (*stack, file)) for dep in parsed.imports))

    def _path(self, start: str, goal: str) -> list[str] | None:
        """The chain of imports from `start` to `goal` (both included), if there is one."""
        seen: set[str] = set()

        def walk(file: str) -> list[str] | None:
            if file == goal:
                return [file]
            if file in seen:
                return None
            seen.add(file)
            for dep in self.imports(file):
                found = walk(dep)
                if found is not None:
                    return [file, *found]
            return None

        return walk(start)


def _same_imports(before: SyntaxTree, tree: SyntaxTree) -> bool:
    """Whether `tree`, edited from `before`, imports what it imports: no import among the declarations its edit
    replaced or made (`SyntaxTree.region`), found by a search."""
    region = tree.region
    if region is None or region.base is not before:
        return False
    for version, start, end in ((before, region.start, region.end - region.delta), (tree, region.start, region.end)):
        placed = version.outline.placed
        first = bisect.bisect_left(placed, start, key=_start)
        last = bisect.bisect_left(placed, end, key=_start)
        if any(isinstance(p.base, ast.Import) for p in placed[first:last]):
            return False
    return True


def _start(placed: Placed) -> int:
    return placed.start
