"""`EngineCatalog`: the module catalog of a project — built-in modules, the project's `heddle.toml`, and
installed packages (entry-point group `heddle.modules`: name = import path, value = `module:attribute`).

A path is resolved the first time it is asked for: its plugin is imported and read (declarations only,
nothing runs) and the result is kept. Given a `PluginProcess`, the catalog imports only the built-in modules
itself and leaves every other (the project's and installed packages', i.e. user code) to that process.
A module that fails to load is `None`, with its reason in `load_error`; the catalog never raises.
Precedence: the project's mapping, then built-ins, then entry points.
"""

from __future__ import annotations

import dataclasses
import threading
import traceback
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from types import ModuleType

from heddle.sdk.plugin import Plugin
from heddle.sdk.spec import module_spec
from heddle_engine.loading import load_target
from heddle_engine.modules import BUILTIN_MODULES
from heddle_engine.plugin_process import PluginProcess
from heddle_engine.project import Project, find_project, read_project
from heddle_lang.catalog import ModuleSpec

__all__ = ["ENTRY_POINT_GROUP", "EngineCatalog", "find_project", "load_catalog"]

ENTRY_POINT_GROUP = "heddle.modules"


class EngineCatalog:
    def __init__(self, project: Project | None = None, *, entry_points: bool = True,
                 plugins: PluginProcess | None = None) -> None:
        self.project = project
        self.plugins = plugins
        self._use_entry_points = entry_points
        self._entry_points: dict[str, metadata.EntryPoint] | None = None
        self._loaded: dict[str, ModuleSpec | str | None] = {}
        self._lock = threading.RLock()

    @property
    def root(self) -> Path | None:
        return self.project.root if self.project is not None else None

    @property
    def problems(self) -> list[str]:
        """What is wrong with the project file itself (per-path problems are `load_error`s)."""
        return [p for key, p in self.project.problems.items() if key == ""] if self.project is not None else []

    # --- the Catalog protocol ----------------------------------------------------------------------

    def module(self, path: str) -> ModuleSpec | None:
        found = self._load(path)
        return found if isinstance(found, ModuleSpec) else None

    def paths(self) -> Sequence[str]:
        mapped: set[str] = set()
        if self.project is not None:
            mapped = {*self.project.modules, *self.project.problems} - {""}
        return sorted(mapped | set(BUILTIN_MODULES) | set(self._installed()))

    def load_error(self, path: str) -> str | None:
        found = self._load(path)
        return found if isinstance(found, str) else None

    # --- loading -----------------------------------------------------------------------------------

    def _load(self, path: str, via: tuple[str, ...] = ()) -> ModuleSpec | str | None:
        with self._lock:
            if path not in self._loaded:
                self._loaded[path] = self._resolve(path, via)
            return self._loaded[path]

    def _resolve(self, path: str, via: tuple[str, ...]) -> ModuleSpec | str | None:
        project = self.project
        if project is not None and path in project.problems:
            return project.problems[path]
        if project is not None and path in project.modules:
            target = project.modules[path]
            if "/" in target and ":" not in target:
                return self._alias(path, target, via)
            return self._import_user_code(path, lambda: load_target(target, project.root))
        if path in BUILTIN_MODULES:
            return self._import(path, lambda: load_target(BUILTIN_MODULES[path]))
        entry_point = self._installed().get(path)
        if entry_point is not None:
            return self._import_user_code(path, entry_point.load)
        return None

    def _import_user_code(self, path: str, load: Callable[[], object]) -> ModuleSpec | str:
        """A project's or an installed package's module: in the plugin process when there is one."""
        return self.plugins.load(path) if self.plugins is not None else self._import(path, load)

    def _alias(self, path: str, target: str, via: tuple[str, ...]) -> ModuleSpec | str:
        if target == path or target in via:
            chain = " → ".join((*via, path, target))
            return f"heddle.toml maps module paths in a cycle: {chain}"
        found = self._load(target, (*via, path))
        if found is None:
            return f"heddle.toml maps `{path}` to `{target}`, which is no known module path"
        if isinstance(found, str):
            return f"`{target}` (which `{path}` stands for) could not be loaded: {found}"
        return dataclasses.replace(found, path=path)

    def _import(self, path: str, load: Callable[[], object]) -> ModuleSpec | str:
        try:
            target = load()
            if not isinstance(target, Plugin | ModuleType):
                raise TypeError(f"`{path}` names a {type(target).__name__}, not a Plugin or a Python module")
            return module_spec(target, path)
        except (Exception, SystemExit) as error:  # a plugin is user code: its failure is data
            return _describe(error, self.root)

    def _installed(self) -> dict[str, metadata.EntryPoint]:
        if self._entry_points is None:
            found: dict[str, metadata.EntryPoint] = {}
            if self._use_entry_points:
                for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
                    found.setdefault(entry_point.name, entry_point)
            self._entry_points = found
        return self._entry_points


def load_catalog(start: Path, *, isolated: bool = False) -> EngineCatalog:
    """The catalog of the project `start` (a file or a folder) belongs to; built-ins only outside a project.

    `isolated`: plugins are imported in a separate process (the language server's choice), not in this one.
    """
    root = find_project(start)
    plugins = PluginProcess(root) if isolated else None
    return EngineCatalog(read_project(root) if root is not None else None, plugins=plugins)


def _describe(error: BaseException, root: Path | None) -> str:
    """`ModuleNotFoundError: No module named 'x'`, with the innermost line of the project's code that failed."""
    text = f"{type(error).__name__}: {error}"
    if root is None or isinstance(error, SyntaxError):
        return text
    resolved = root.resolve()
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if f.filename and Path(f.filename).resolve().is_relative_to(resolved)]
    if frames:
        frame = frames[-1]
        text += f" ({Path(frame.filename).resolve().relative_to(resolved)}:{frame.lineno})"
    return text
