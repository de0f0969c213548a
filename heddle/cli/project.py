"""The module catalog for the files a command reads: one per project (the folder of `heddle.toml`)."""

from __future__ import annotations

from pathlib import Path

from heddle.cli.catalog import project_catalog
from heddle_engine.block_store import block_store
from heddle_engine.catalog import EngineCatalog, find_project
from heddle_engine.library_files import file_folder, file_key, read_text
from heddle_engine.project import path_policy
from heddle_lang.paths import PathPolicy
from heddle_lang.relational.compile import PrqlCompiler, compile_prql
from heddle_lang.semantic.model import Analysis
from heddle_lang.semantic.workspace import Workspace
from heddle_lang.syntax.tree import SyntaxTree


class Catalogs:
    """Catalogs by project root, loaded once per command, with the resource profile asked for (`--profile`,
    else `HEDDLE_PROFILE`) in force. A profile that does not exist is a usage error."""

    def __init__(self, profile: str | None = None) -> None:
        self.profile = profile
        self._by_root: dict[Path | None, EngineCatalog] = {}
        self._workspaces: dict[Path | None, Workspace] = {}

    def for_file(self, path: Path | None) -> EngineCatalog:
        start = (path.parent if path is not None else Path.cwd()).resolve()
        root = find_project(start)
        if root not in self._by_root:
            self._by_root[root] = project_catalog(start, self.profile)
        return self._by_root[root]

    def workspace(self, path: Path | None, compiler: PrqlCompiler) -> Workspace:
        """The files of `path`'s project, read from the disk: each library is analysed once per command."""
        catalog = self.for_file(path)
        root = catalog.project.root if catalog.project is not None else None
        if root not in self._workspaces:
            def paths(file: str) -> PathPolicy:
                return path_policy(Path(file), catalog.project)
            self._workspaces[root] = Workspace(catalog, read_text, paths, compiler=compiler, folder=file_folder)
        return self._workspaces[root]

    @property
    def catalogs(self) -> dict[Path | None, EngineCatalog]:
        return dict(self._by_root)


def paths_of(path: Path | None, catalog: EngineCatalog) -> PathPolicy:
    """Where the file paths in the configs of `path` may point (its project's policy)."""
    return path_policy(path, catalog.project)

def analyze_file(tree: SyntaxTree, catalogs: Catalogs, path: Path | None, *,
                 compiler: PrqlCompiler = compile_prql) -> Analysis:
    """`analyze`, with the `.he` libraries it imports read from the disk and relative paths (an embedded database
    a query step is described against) starting from the file's folder, as they do when it runs. `compiler`: the
    commands pass their contained one (`cli/compiler.py`). Relational blocks typed by an earlier command are read
    from the project's cache (`heddle_engine.block_store`), and those typed now are added to it."""
    from heddle_lang.relational.stored import stored_in  # Polars and prqlc: imported by the analysis anyway

    store = block_store(path)
    with stored_in(store):
        analysis = catalogs.workspace(path, compiler).analyze(file_key(path), tree)
    if store is not None:
        store.flush()
    return analysis
