"""The module catalog for the files a command reads: one per project (the folder of `heddle.toml`)."""

from __future__ import annotations

from pathlib import Path

from heddle_engine.catalog import EngineCatalog, find_project, load_catalog
from heddle_engine.project import path_policy
from heddle_lang.paths import PathPolicy


class Catalogs:
    """Catalogs by project root, loaded once per command."""

    def __init__(self) -> None:
        self._by_root: dict[Path | None, EngineCatalog] = {}

    def for_file(self, path: Path | None) -> EngineCatalog:
        start = (path.parent if path is not None else Path.cwd()).resolve()
        root = find_project(start)
        if root not in self._by_root:
            self._by_root[root] = load_catalog(start)
        return self._by_root[root]


def paths_of(path: Path | None, catalog: EngineCatalog) -> PathPolicy:
    """Where the file paths in the configs of `path` may point (its project's policy)."""
    return path_policy(path, catalog.project)
