"""The Python behind a plan node: the function an import path and a name stand for, and how to call it.

The catalog gave the checker each module's *spec*; running needs the callables themselves. An import
path resolves as the catalog resolves it — the project's `heddle.toml` (following aliases to other
paths), then the built-in modules, then installed packages — and is imported once (Python keeps it).

A step is called with keyword arguments: its config parameter, its input parameter (a `Table`, or the
`Table` subclass it annotates), and — when its config refers to `@name` parameters — one keyword
argument per parameter, which its function receives through `**parameters`.
"""

from __future__ import annotations

import dataclasses
import inspect
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata
from types import ModuleType
from typing import Any

from heddle.core.config import Config
from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.contracts import is_table_type
from heddle.sdk.introspect import type_hints, unwrap
from heddle.sdk.plugin import Plugin
from heddle_engine.catalog import ENTRY_POINT_GROUP, EngineCatalog
from heddle_engine.loading import load_target
from heddle_engine.modules import BUILTIN_MODULES
from heddle_lang.catalog import FunctionSpec


class LoadError(Exception):
    """The module or function of a node cannot be found or imported for running."""


@dataclass(frozen=True, slots=True)
class Callee:
    """A step function, read once: how to build its config and call it."""

    label: str  # `alias.function` or the module path and name, for messages
    function: Callable[..., object]
    spec: FunctionSpec
    config_param: str | None  # the name of its config parameter, if it takes one
    config_type: object  # that parameter's annotation, unwrapped (`Annotated`, `| None`)
    input_param: str | None  # the name of its input parameter (None for a source)
    input_type: type[Table]  # what the input is wrapped in
    takes_parameters: bool  # it accepts `**parameters`

    def build_config(self, values: Mapping[str, object], resources: Mapping[str, object]) -> object:
        """The config object its function expects, from the literal config; resources injected."""
        return build_config(self.config_type, values, resources)

    def call(self, config: object, table: Table | None, parameters: Mapping[str, object]) -> object:
        arguments: dict[str, Any] = dict(parameters) if self.takes_parameters else {}
        if self.config_param is not None:
            arguments[self.config_param] = config
        if self.input_param is not None:
            arguments[self.input_param] = table
        return self.function(**arguments)


@dataclass(frozen=True, slots=True)
class Initializer:
    """A resource initializer and the config type it takes."""

    function: Callable[..., object]
    config_type: object

    def build_config(self, values: Mapping[str, object]) -> object:
        return build_config(self.config_type, values, {})

    def call(self, config: object) -> object:
        return self.function(config) if self.config_type is not None else self.function()


def build_config(target: object, values: Mapping[str, object], resources: Mapping[str, object]) -> object:
    """A `StepConfig`/`ResourceConfig` subclass, a dataclass, or (TypedDict, mapping, none) a plain dict;
    `target` is the config parameter's annotation, unwrapped."""
    if isinstance(target, type) and issubclass(target, Config):
        config = target.from_mapping(values)
        if isinstance(config, StepConfig):
            config.inject(resources)
        return config
    if isinstance(target, type) and dataclasses.is_dataclass(target):
        return target(**values)
    return dict(values)


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
        self._callees: dict[tuple[str, str], Callee] = {}
        self._lock = threading.RLock()

    def step(self, module_path: str, name: str) -> Callee:
        key = (module_path, name)
        with self._lock:
            if key not in self._callees:
                self._callees[key] = self._read_step(module_path, name)
            return self._callees[key]

    def initializer(self, module_path: str, name: str) -> Initializer:
        target = self.target(module_path)
        if isinstance(target, Plugin):
            declaration = target.resources.get(name)
            if declaration is None:
                raise LoadError(f"module `{module_path}` declares no resource `{name}`")
            function, scope = declaration.function, declaration.scope
        else:
            raise LoadError(f"module `{module_path}` is a plain Python module: it declares no resources")
        params = _parameters(function)
        hints = type_hints(function, scope)
        config_type = unwrap(hints.get(params[0].name, inspect.Parameter.empty)) if params else None
        return Initializer(function, config_type)

    def target(self, module_path: str) -> Plugin | ModuleType:
        with self._lock:
            if module_path not in self._targets:
                self._targets[module_path] = self._resolve(module_path, ())
            return self._targets[module_path]

    # --- resolving --------------------------------------------------------------------------------

    def _resolve(self, path: str, via: tuple[str, ...]) -> Plugin | ModuleType:
        project = self.catalog.project
        try:
            if project is not None and path in project.modules:
                target = project.modules[path]
                if "/" in target and ":" not in target:
                    if target in via or target == path:
                        raise LoadError(f"heddle.toml maps module paths in a cycle: {' → '.join((*via, path))}")
                    return self._resolve(target, (*via, path))
                return _own_plugin(load_target(target, project.root))
            if path in BUILTIN_MODULES:
                return _own_plugin(load_target(BUILTIN_MODULES[path]))
            for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
                if entry_point.name == path:
                    return _own_plugin(entry_point.load())
        except LoadError:
            raise
        except Exception as error:  # a plugin is user code: report why it does not load
            raise LoadError(f"module `{path}` cannot be loaded: {type(error).__name__}: {error}") from error
        raise LoadError(f"no module is known by the import path `{path}`")

    def _read_step(self, module_path: str, name: str) -> Callee:
        spec_module = self.catalog.module(module_path)
        spec = spec_module.functions.get(name) if spec_module is not None else None
        if spec is None:
            reason = self.catalog.load_error(module_path) or f"it has no function `{name}`"
            raise LoadError(f"cannot run `{module_path}` `{name}`: {reason}")
        target = self.target(module_path)
        if isinstance(target, Plugin):
            declaration = target.steps.get(name)
            if declaration is None:
                raise LoadError(f"module `{module_path}` declares no step `{name}`")
            function, scope = declaration.function, declaration.scope
        else:
            function, scope = getattr(target, name, None), None
            if not callable(function):
                raise LoadError(f"module `{module_path}` has no function `{name}`")
        hints = type_hints(function, scope)
        params = _parameters(function)
        tables = [p.name for p in params if is_table_type(hints.get(p.name))]
        others = [p.name for p in params if p.name not in tables]
        input_type = unwrap(hints[tables[0]]) if tables else Table
        takes_parameters = any(p.kind is inspect.Parameter.VAR_KEYWORD
                               for p in inspect.signature(function).parameters.values())
        return Callee(
            label=f"{module_path} {name}", function=function, spec=spec,
            config_param=others[0] if others else None,
            config_type=unwrap(hints.get(others[0], inspect.Parameter.empty)) if others else None,
            input_param=tables[0] if tables else None,
            input_type=input_type if isinstance(input_type, type) and issubclass(input_type, Table) else Table,
            takes_parameters=takes_parameters,
        )


_SHARED: weakref.WeakKeyDictionary[EngineCatalog, Functions] = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()


def _own_plugin(target: object) -> Plugin | ModuleType:
    """A module that creates exactly one plugin is that plugin (as the catalog reads it)."""
    if isinstance(target, Plugin):
        return target
    if isinstance(target, ModuleType):
        own = [p for p in vars(target).values() if isinstance(p, Plugin) and p.module == target.__name__]
        unique = list({id(p): p for p in own}.values())
        return unique[0] if len(unique) == 1 else target
    raise LoadError(f"names a {type(target).__name__}, not a Plugin or a Python module")


def _parameters(function: Callable[..., object]) -> list[inspect.Parameter]:
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [p for p in inspect.signature(function).parameters.values() if p.kind not in variadic]
