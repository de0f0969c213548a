"""The Python behind a plan node: the function an import path and a name stand for.

The catalog gave the checker each module's *spec*; running needs the callables themselves. An import
path resolves as the catalog resolves it — the project's `heddle.toml` (following aliases to other
paths), then the built-in modules, then installed packages — and is imported once (Python keeps it).
How a step is then called (its config, input and `**parameters`) is the SDK's `heddle.sdk.calling`,
shared with the workers that call steps for an engine elsewhere.
"""

from __future__ import annotations

import threading
import weakref
from types import ModuleType
from typing import TYPE_CHECKING

from heddle.sdk.calling import Callee, Initializer, LoadError, build_config, own_plugin, read_initializer, read_step
from heddle.sdk.plugin import Plugin
from heddle_engine.catalog import ENTRY_POINT_GROUP, EngineCatalog
from heddle_engine.loading import load_target
from heddle_engine.modules import BUILTIN_MODULES

if TYPE_CHECKING:
    from heddle_engine.workers.remote import RemoteCallee

__all__ = ["Callee", "Functions", "Initializer", "LoadError", "build_config"]


class Functions:
    """Callables of a catalog's modules, resolved on first use and kept (thread-safe). `Functions.of(catalog)`
    shares one per catalog, so runs after the first find their callables resolved."""

    @classmethod
    def of(cls, catalog: EngineCatalog) -> Functions:
        with _SHARED_LOCK:
            found = _SHARED.get(catalog)
            if found is None:
                found = _SHARED[catalog] = cls(catalog)
            return found

    def __init__(self, catalog: EngineCatalog) -> None:
        self.catalog = catalog
        self._targets: dict[str, Plugin | ModuleType] = {}
        self._callees: dict[tuple[str, str], Callee | RemoteCallee] = {}
        self._lock = threading.RLock()

    def step(self, module_path: str, name: str) -> Callee | RemoteCallee:
        """How to call the step: in this process, or (a module `heddle.toml` maps to a worker) in its worker."""
        key = (module_path, name)
        with self._lock:
            if key not in self._callees:
                self._callees[key] = self._read_step(module_path, name)
            return self._callees[key]

    def initializer(self, module_path: str, name: str) -> Initializer:
        return read_initializer(self.target(module_path), module_path, name)

    def target(self, module_path: str) -> Plugin | ModuleType:
        with self._lock:
            if module_path not in self._targets:
                self._targets[module_path] = self._resolve(module_path, ())
            return self._targets[module_path]

    # --- resolving --------------------------------------------------------------------------------

    def _resolve(self, path: str, via: tuple[str, ...]) -> Plugin | ModuleType:
        project = self.catalog.project
        if project is not None and path in project.workers:
            raise LoadError(f"module `{path}` is served by a worker: its resources are made there, for its own steps")
        try:
            if project is not None and path in project.modules:
                target = project.modules[path]
                if "/" in target and ":" not in target:
                    if target in via or target == path:
                        raise LoadError(f"heddle.toml maps module paths in a cycle: {' → '.join((*via, path))}")
                    return self._resolve(target, (*via, path))
                return own_plugin(load_target(target, project.root))
            if path in BUILTIN_MODULES:
                return own_plugin(load_target(BUILTIN_MODULES[path]))
            from importlib import metadata  # 20 ms to load: only for a path that is no project or built-in module

            for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
                if entry_point.name == path:
                    return own_plugin(entry_point.load())
        except LoadError:
            raise
        except Exception as error:  # a plugin is user code: report why it does not load
            raise LoadError(f"module `{path}` cannot be loaded: {type(error).__name__}: {error}") from error
        raise LoadError(f"no module is known by the import path `{path}`")

    def _read_step(self, module_path: str, name: str) -> Callee | RemoteCallee:
        spec_module = self.catalog.module(module_path)
        spec = spec_module.functions.get(name) if spec_module is not None else None
        if spec is None:
            reason = self.catalog.load_error(module_path) or f"it has no function `{name}`"
            raise LoadError(f"cannot run `{module_path}` `{name}`: {reason}")
        workers = self.catalog.workers
        if workers is not None and module_path in workers:
            from heddle_engine.workers.remote import RemoteCallee

            return RemoteCallee(f"{module_path} {name}", spec, module_path, name, workers.endpoint(module_path))
        return read_step(self.target(module_path), module_path, name, spec)


_SHARED: weakref.WeakKeyDictionary[EngineCatalog, Functions] = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()
