"""How a step or a resource initializer is called: its config built, its input wrapped, its resources injected.

This is the one place that knows the calling convention, shared by every placement of a call: the engine
calling a step in its own process, and a worker (`heddle.flight`) calling it for an engine elsewhere.

A step is called with keyword arguments: its config parameter, its input parameter (a `Table`, or the
`Table` subclass it annotates), and — when its config refers to `@name` parameters — one keyword
argument per parameter, which its function receives through `**parameters`.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from heddle.core.config import Config
from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.contracts import is_table_type
from heddle.sdk.introspect import type_hints, unwrap
from heddle.sdk.plugin import Plugin
from heddle_lang.catalog import FunctionSpec
from heddle_lang.records import record


class LoadError(Exception):
    """The module or function of a node cannot be found or imported for running."""


@record
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
    lookup_batches: bool | Callable[[Mapping[str, object]], bool] = False  # see `Plugin.step`
    placement: str | None = None  # see `Plugin.step`
    rowwise: bool = False
    sink: bool = False  # see `Plugin.step`

    def batches(self, config: Mapping[str, object]) -> bool:
        """Does it take a lookup's keys in batches (`Keys` values) with this literal config?"""
        if callable(self.lookup_batches):
            try:
                return bool(self.lookup_batches(config))
            except Exception:  # a plugin's hook is user code: one key at a time then
                return False
        return bool(self.lookup_batches)

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


@record
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


def read_step(target: Plugin | ModuleType, module_path: str, name: str, spec: FunctionSpec) -> Callee:
    """The step `name` of a plugin (or the function `name` of a plain module), ready to call."""
    batches: bool | Callable[[Mapping[str, object]], bool] = False
    placement, rowwise, sink = None, False, False
    if isinstance(target, Plugin):
        declaration = target.steps.get(name)
        if declaration is None:
            raise LoadError(f"module `{module_path}` declares no step `{name}`")
        function, scope, batches = declaration.function, declaration.scope, declaration.lookup_batches
        placement, rowwise, sink = declaration.placement, declaration.rowwise, declaration.sink
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
        lookup_batches=batches,
        placement=placement,
        rowwise=rowwise,
        sink=sink,
    )


def read_initializer(target: Plugin | ModuleType, module_path: str, name: str) -> Initializer:
    """The resource initializer `name` of a plugin, ready to call."""
    if not isinstance(target, Plugin):
        raise LoadError(f"module `{module_path}` is a plain Python module: it declares no resources")
    declaration = target.resources.get(name)
    if declaration is None:
        raise LoadError(f"module `{module_path}` declares no resource `{name}`")
    function, scope = declaration.function, declaration.scope
    params = _parameters(function)
    hints = type_hints(function, scope)
    config_type = unwrap(hints.get(params[0].name, inspect.Parameter.empty)) if params else None
    return Initializer(function, config_type)


def own_plugin(target: object) -> Plugin | ModuleType:
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
