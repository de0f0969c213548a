"""Plugins and plain Python modules → `ModuleSpec`s, the checker's view of a module.

A plain module's functions are its public functions that take a `Table` and return a `Table`, named as
in Python. A module that creates exactly one `Plugin` is that plugin.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections import abc
from collections.abc import Callable, Mapping
from types import ModuleType

from heddle.sdk.config_schema import config_schema
from heddle.sdk.contracts import input_contract, is_table_type, output_contract
from heddle.sdk.introspect import doc_of, function_location, module_location, type_hints
from heddle.sdk.plugin import Plugin, ResourceDeclaration, StepDeclaration
from heddle_lang.call_keys import CALL_KEYS
from heddle_lang.catalog import (
    FunctionSpec,
    InferenceError,
    InferHook,
    ModuleSpec,
    ResourceSlot,
    ResourceSpec,
)
from heddle_lang.records import record
from heddle_lang.types import ConfigSchema, Schema


def module_spec(target: Plugin | ModuleType, path: str) -> ModuleSpec:
    """The module an import path names. Raises (`TypeError`, `NameError`, ...) on a faulty declaration."""
    if isinstance(target, Plugin):
        return plugin_spec(target, path)
    if isinstance(target, ModuleType):
        own = list({id(p): p for p in vars(target).values()
                    if isinstance(p, Plugin) and p.module == target.__name__}.values())
        if len(own) == 1:
            return plugin_spec(own[0], path)
        if len(own) > 1:
            names = ", ".join(n for n, v in vars(target).items() if isinstance(v, Plugin))
            raise TypeError(f"module {target.__name__} creates several plugins ({names}): "
                            f"name one, as `{target.__name__}:attribute`")
        return python_module_spec(target, path)
    raise TypeError(f"a Heddle module is a Plugin or a Python module, not {type(target).__name__}")


def plugin_spec(plugin: Plugin, path: str) -> ModuleSpec:
    resources = {name: resource_spec(decl) for name, decl in plugin.resources.items()}
    functions = {name: step_spec(decl, plugin, resources) for name, decl in plugin.steps.items()}
    return ModuleSpec(path, plugin.namespace, resources, functions, plugin.doc, plugin.location)


def python_module_spec(module: ModuleType, path: str) -> ModuleSpec:
    functions = {}
    for name, value in vars(module).items():
        if name.startswith("_") or not inspect.isfunction(value) or value.__module__ != module.__name__:
            continue
        signature = _signature_if_step(value)
        if signature is not None and signature.input is not None and signature.returns_table:
            functions[name] = _function_spec(name, value, signature, doc=None)
    namespace = module.__name__.rpartition(".")[2]
    return ModuleSpec(path, namespace, {}, functions, doc_of(module), module_location(module))


def resource_spec(decl: ResourceDeclaration) -> ResourceSpec:
    hints = type_hints(decl.function, decl.scope)
    params = _parameters(decl.function)
    if len(params) > 1:
        raise TypeError(f"resource initializer {decl.function.__qualname__} takes one parameter, its config")
    config = config_schema(hints.get(params[0].name, inspect.Parameter.empty)) if params else ConfigSchema()
    doc = decl.doc if decl.doc is not None else doc_of(decl.function)
    return ResourceSpec(decl.name, decl.kind, config, doc, function_location(decl.function))


def step_spec(decl: StepDeclaration, plugin: Plugin, resources: Mapping[str, ResourceSpec]) -> FunctionSpec:
    slots = []
    for slot in decl.slots:
        namespace, _, name = slot.kind.rpartition(".")
        own = resources.get(name) if namespace == plugin.namespace else None
        if namespace == plugin.namespace and own is None:
            raise ValueError(f"step `{decl.name}` asks for a resource of kind `{slot.kind}`, which plugin "
                             f"`{plugin.namespace}` does not declare (it has: {', '.join(resources) or 'none'})")
        slots.append(ResourceSlot(slot.key, slot.kind, slot.required, own.doc if own is not None else ""))
    signature = step_signature(decl.function, decl.scope, stream=decl.stream)
    if decl.stream:
        _check_stream_source(decl, signature)
    spec = _function_spec(decl.name, decl.function, signature, decl.doc, passthrough=decl.passthrough,
                          takes_input=decl.takes_input)
    static, hook = ((), decl.parameters) if callable(decl.parameters) else (tuple(decl.parameters), None)
    infer = _checked_hook(decl.infer, f"{plugin.namespace}.{decl.name}") if decl.infer is not None else None
    return dataclasses.replace(spec, resources=tuple(slots), infer=infer, parameters=static, parameters_of=hook,
                               describe=decl.describe,
                               pushdown=decl.pushdown, stream=decl.stream)


def _check_stream_source(decl: StepDeclaration, signature: StepSignature) -> None:
    function = inspect.unwrap(decl.function)
    if not inspect.isgeneratorfunction(function):
        raise TypeError(f"stream source {decl.function.__qualname__} must be a generator function (it yields "
                        "its batches)")
    if signature.input is not None or decl.takes_input:
        raise TypeError(f"stream source {decl.function.__qualname__} takes no input table: it starts a workflow")


@record
class StepSignature:
    config: object  # the config parameter's annotation; None without a config parameter
    input: object  # the input parameter's annotation (a Table type); None for a source
    output: object  # the return annotation (`inspect.Parameter.empty` when absent)

    @property
    def returns_table(self) -> bool:
        return is_table_type(self.output)

    @property
    def returns_none(self) -> bool:
        return self.output is None or self.output is type(None)


def step_signature(function: Callable[..., object], scope: Mapping[str, object] | None = None, *,
                   stream: bool = False) -> StepSignature:
    """`(config, input: SomeTable) -> OtherTable`, in either order; the config and the input are optional.
    A stream source (`stream`) is annotated `-> Iterator[SomeTable]` (or not at all): its batches' type."""
    hints = type_hints(function, scope)
    params = _parameters(function)
    tables = [p for p in params if is_table_type(hints.get(p.name))]
    if len(tables) > 1:
        raise TypeError(f"step {function.__qualname__} takes one input table, not {len(tables)}")
    others = [p for p in params if p not in tables]
    if len(others) > 1:
        raise TypeError(f"step {function.__qualname__} takes (config, input: Table); "
                        f"cannot tell the input among {', '.join(p.name for p in others)}: annotate it with a Table")
    config = hints.get(others[0].name, inspect.Parameter.empty) if others else None
    output = hints.get("return", inspect.Parameter.empty)
    if stream and output is not inspect.Parameter.empty:
        output = _yielded(function, output)
    signature = StepSignature(config, hints[tables[0].name] if tables else None, output)
    if output is not inspect.Parameter.empty and not signature.returns_table and not signature.returns_none:
        raise TypeError(f"step {function.__qualname__} must return a Table (or a subclass), or None for a sink; "
                        f"it is annotated {output!r}")
    return signature


def _yielded(function: Callable[..., object], annotation: object) -> object:
    """What a stream source's batches are: `T` of `Iterator[T]`, `Iterable[T]`, `Generator[T, ...]`; a
    `Batch` says nothing of its table's columns (the step's `infer` does)."""
    from heddle.core.stream import Batch

    if typing.get_origin(annotation) in (abc.Iterator, abc.Iterable, abc.Generator):
        args = typing.get_args(annotation)
        item = args[0] if args else inspect.Parameter.empty
        return inspect.Parameter.empty if item is Batch else item
    raise TypeError(f"stream source {function.__qualname__} yields its batches: annotate it `-> Iterator[Table]` "
                    f"(or a Table subclass), not {annotation!r}")


def _function_spec(name: str, function: Callable[..., object], signature: StepSignature, doc: str | None, *,
                   passthrough: bool = False, takes_input: bool | None = None) -> FunctionSpec:
    passthrough = passthrough or signature.returns_none
    config = config_schema(signature.config) if signature.config is not None else ConfigSchema()
    for key in CALL_KEYS:
        if config.get(key) is not None:
            raise TypeError(f"step {function.__qualname__}: its config may not have a key `{key}`: every call "
                            f"accepts `{key}` (the retry policy and the timeout of its attempts)")
    return FunctionSpec(
        name,
        config=config,
        takes_input=takes_input if takes_input is not None else signature.input is not None,
        input=input_contract(signature.input),
        output=output_contract(signature.output, passthrough),
        passthrough=passthrough,
        doc=doc if doc is not None else doc_of(function),
        location=function_location(function),
    )


def _signature_if_step(function: Callable[..., object]) -> StepSignature | None:
    """A plain module's function: its signature when it reads as a step, else None (helpers are skipped)."""
    try:
        return step_signature(function)
    except (TypeError, NameError) as error:
        if "Table" in str(getattr(function, "__annotations__", {})):
            raise TypeError(f"{function.__qualname__} looks like a step but cannot be read: {error}") from error
        return None


def _parameters(function: Callable[..., object]) -> list[inspect.Parameter]:
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [p for p in inspect.signature(function).parameters.values() if p.kind not in variadic]


def _checked_hook(hook: InferHook, label: str) -> InferHook:
    """The hook, made to answer a `Schema` (a mapping of column types is accepted too)."""

    @functools.wraps(hook)
    def checked(config: Mapping[str, object], input_schema: Schema | None) -> Schema:
        result: object = hook(config, input_schema)
        if isinstance(result, Schema):
            return result
        if isinstance(result, Mapping):
            return Schema.of(result)
        raise InferenceError(f"the inference hook of `{label}` returned {type(result).__name__}, not a Schema")

    return checked
