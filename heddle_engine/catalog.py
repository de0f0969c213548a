"""`EngineCatalog`: the module catalog of a project — built-in modules, the project's `heddle.toml`, and
installed packages (entry-point group `heddle.modules`: name = import path, value = `module:attribute`).

A path is resolved the first time it is asked for: its plugin is imported and read (declarations only,
nothing runs) and the result is kept. Given a `PluginProcess`, the catalog imports only the built-in modules
itself and leaves every other (the project's and installed packages', i.e. user code) to that process.
A module that fails to load is `None`, with its reason in `load_error`; the catalog never raises.
Precedence: the project's mapping, then built-ins, then entry points.

With a plugin process (the editor's catalog) a user module's source file is also watched: when it changes
after the process imported it, it is read again without running it (`plugin_source`, parso) and its
functions' locations move with their names; and a module the process cannot import is not lost: its spec is
the static reading, marked with `import_error`, which the checker reports as a warning. parso (8 MB
resident) is imported only for those two cases: on the happy path the process's locations are exact. Without a
process (`heddle check`, `heddle run`: running needs the real module) a module that cannot be imported stays
a load error.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from heddle.sdk.config_schema import reading_docs
from heddle.sdk.plugin import Plugin
from heddle.sdk.spec import module_spec
from heddle_engine.loading import find_module_file, load_target
from heddle_engine.modules import BUILTIN_MODULES
from heddle_engine.profiles import ProfileError, read_profiles, wanted_profile
from heddle_engine.project import Project, read_project
from heddle_engine.project_root import find_project
from heddle_lang.catalog import NO_PROFILES, ModuleSpec, Profiles
from heddle_lang.records import record

if TYPE_CHECKING:
    from importlib import metadata

    from heddle_engine.plugin_process import PluginProcess
    from heddle_engine.plugin_source import ModuleSource
    from heddle_engine.workers.endpoints import Workers

__all__ = ["ENTRY_POINT_GROUP", "EngineCatalog", "find_project", "load_catalog"]

ENTRY_POINT_GROUP = "heddle.modules"


@record
class _Sourced:
    """What the plugin process answered for a path, and the source file read beside it."""

    answer: ModuleSpec | str
    file: Path
    attribute: str
    stamp: tuple[int, int] | None  # the file's (mtime, size) when it was read


class EngineCatalog:
    def __init__(self, project: Project | None = None, *, entry_points: bool = True,
                 plugins: PluginProcess | None = None, profiles: Profiles = NO_PROFILES,
                 profile_error: str | None = None, docs: bool = True) -> None:
        """`docs`: read the docstrings of config keys (hovers and completions show them; `heddle check` and
        `heddle run` do not, and skip reading plugins' sources for them)."""
        self.project = project
        self.docs = docs
        self.plugins = plugins
        self.profiles = profiles  # the resource profiles of heddle.toml, the active one chosen
        self.profile_error = profile_error  # the profile asked for does not exist, or [profiles] is malformed
        self._use_entry_points = entry_points
        self._entry_points: dict[str, metadata.EntryPoint] | None = None
        self._loaded: dict[str, ModuleSpec | str | None] = {}
        self._sourced: dict[str, _Sourced] = {}
        self._workers: Workers | None = None
        self._lock = threading.RLock()
        self.imported_user_code = False  # a project's or an installed package's module imported in this process

    @property
    def root(self) -> Path | None:
        return self.project.root if self.project is not None else None

    @property
    def workers(self) -> Workers | None:
        """The workers of the modules `heddle.toml` maps to one (None when it maps none)."""
        if self._workers is None and self.project is not None and self.project.workers:
            from heddle_engine.workers.endpoints import Workers

            with self._lock:
                if self._workers is None:
                    self._workers = Workers(self.project.workers, self.project.root)
        return self._workers

    def close(self) -> None:
        """Stop what this catalog started: its plugin process, the workers of commands."""
        if self.plugins is not None:
            self.plugins.close()
        if self._workers is not None:
            self._workers.close()

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
            mapped = {*self.project.modules, *self.project.workers, *self.project.problems} - {""}
        return sorted(mapped | set(BUILTIN_MODULES) | set(self._installed()))

    def load_error(self, path: str) -> str | None:
        found = self._load(path)
        return found if isinstance(found, str) else None

    # --- loading -----------------------------------------------------------------------------------

    def _load(self, path: str, via: tuple[str, ...] = ()) -> ModuleSpec | str | None:
        with self._lock:
            sourced = self._sourced.get(path)
            if sourced is not None and _stamp(sourced.file) != sourced.stamp:  # edited since it was read
                self._loaded[path] = self._with_source(path, sourced.answer, sourced.file, sourced.attribute,
                                                       read=True)
            if path not in self._loaded:
                self._loaded[path] = self._resolve(path, via)
            return self._loaded[path]

    def _resolve(self, path: str, via: tuple[str, ...]) -> ModuleSpec | str | None:
        project = self.project
        if project is not None and path in project.problems:
            return project.problems[path]
        if project is not None and path in project.workers:
            workers = self.workers
            assert workers is not None
            return workers.module(path)
        if project is not None and path in project.modules:
            target = project.modules[path]
            if "/" in target and ":" not in target:
                return self._alias(path, target, via)
            return self._import_user_code(path, target, lambda: load_target(target, project.root))
        if path in BUILTIN_MODULES:
            return self._import(path, lambda: load_target(BUILTIN_MODULES[path]))
        entry_point = self._installed().get(path)
        if entry_point is not None:
            return self._import_user_code(path, entry_point.value, entry_point.load)
        return None

    def _import_user_code(self, path: str, target: str, load: Callable[[], object]) -> ModuleSpec | str:
        """A project's or an installed package's module: in the plugin process when there is one, and then
        read from its source too (`target`: `module:attribute`)."""
        if self.plugins is None:
            self.imported_user_code = True
            return self._import(path, load)
        answer = self.plugins.load(path)
        module, _, attribute = target.partition(":")
        file = find_module_file(module.strip(), self._source_folders())
        if file is None:  # not a file of its own (a namespace, an extension): the process's answer as it is
            return answer
        return self._with_source(path, answer, file, attribute.strip(), read=isinstance(answer, str))

    def _with_source(self, path: str, answer: ModuleSpec | str, file: Path, attribute: str, *,
                     read: bool) -> ModuleSpec | str:
        """The process's answer, kept with its file's stamp; `read`: with locations from the source as it is
        now, or, when the process could not import the module, the module as its source declares it."""
        stamp = _stamp(file)
        self._sourced[path] = _Sourced(answer, file, attribute, stamp)
        if not read:
            return answer
        from heddle_engine.plugin_source import read_plugin_file
        from heddle_engine.source_spec import module_spec_from_source

        source = read_plugin_file(file, attribute)
        if source is None:
            return answer
        if isinstance(answer, ModuleSpec):
            return _located(answer, source)
        if source.plugin is None and not source.functions:
            return answer
        return module_spec_from_source(source, path, answer)

    def _source_folders(self) -> list[Path]:
        """Where the plugin process finds modules: the project's root first, then the import path."""
        root = [self.root] if self.root is not None else []
        return [*root, *(Path(p) for p in sys.path if p)]

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
            with reading_docs(self.docs):
                return module_spec(target, path)
        except (Exception, SystemExit) as error:  # a plugin is user code: its failure is data
            return _describe(error, self.root)

    def _installed(self) -> dict[str, metadata.EntryPoint]:
        if self._entry_points is None:
            found: dict[str, metadata.EntryPoint] = {}
            if self._use_entry_points:
                from importlib import metadata  # 20 ms to load: only when a path is no built-in or project module

                for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
                    found.setdefault(entry_point.name, entry_point)
            self._entry_points = found
        return self._entry_points


def load_catalog(start: Path, *, isolated: bool = False, profile: str | None = None,
                 docs: bool = True) -> EngineCatalog:
    """The catalog of the project `start` (a file or a folder) belongs to; built-ins only outside a project.

    `isolated`: plugins are imported in a separate process (the language server's choice), not in this one,
    and read from their sources when that process cannot import them. `profile`: the resource profile in
    force (else `HEDDLE_PROFILE`'s); one that does not exist leaves none in force, and says so in
    `profile_error`. `docs`: see `EngineCatalog`.
    """
    root = find_project(start)
    plugins = None
    if isolated:  # the language server's: `heddle check` and `heddle run` import no plugin process
        from heddle_engine.plugin_process import PluginProcess

        plugins = PluginProcess(root)
    try:
        profiles, problem = read_profiles(root, wanted_profile(profile)), None
    except ProfileError as error:
        profiles, problem = NO_PROFILES, str(error)
    return EngineCatalog(read_project(root) if root is not None else None, plugins=plugins, profiles=profiles,
                         profile_error=problem, docs=docs)


def _stamp(file: Path) -> tuple[int, int] | None:
    try:
        status = file.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size


def _located(module: ModuleSpec, source: ModuleSource) -> ModuleSpec:
    """`module` with each function's and resource's location read from `source` (the range of its name)."""
    steps = {f.name: f.location for f in source.functions if f.kind != "resource"}
    resources = {f.name: f.location for f in source.functions if f.kind == "resource"}
    functions = {name: dataclasses.replace(spec, location=steps.get(name, spec.location))
                 for name, spec in module.functions.items()}
    members = {name: dataclasses.replace(spec, location=resources.get(name, spec.location))
               for name, spec in module.resources.items()}
    return dataclasses.replace(module, functions=functions, resources=members)


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
