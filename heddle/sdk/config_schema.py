"""Python annotations → config schemas (`ConfigSchema`, `ValueType`), the checker's view of `{ ... }` blocks.

Accepted config types: a `TypedDict` (required keys from `__required_keys__`), a `ResourceConfig` /
`StepConfig` subclass (a key with a class-level default, or whose type admits `None`, is optional), a
dataclass, or a plain mapping / `Any` (any keys).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import enum
import inspect
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

from heddle.core.config import _MISSING, Config, admits_none, config_fields, is_file_path, is_secret
from heddle.sdk.introspect import attribute_docs, type_hints
from heddle_lang.types import ANY, ConfigSchema, Field, ValueType

_READ_DOCS: contextvars.ContextVar[bool] = contextvars.ContextVar("heddle_config_docs", default=True)


@contextlib.contextmanager
def reading_docs(read: bool) -> Iterator[None]:
    """Inside, `config_schema` reads the docstrings of config keys only if `read`: they are read from the
    class's source file, which a command that only checks or runs never shows (editors do)."""
    token = _READ_DOCS.set(read)
    try:
        yield
    finally:
        _READ_DOCS.reset(token)


_SIMPLE: dict[object, str] = {str: "str", int: "int", float: "float", bool: "bool"}
_SEQUENCES = (list, tuple, set, frozenset, Sequence, typing.Sequence, typing.List)  # noqa: UP006
_MAPPINGS = (dict, Mapping, typing.Mapping, typing.Dict)  # noqa: UP006


def config_schema(annotation: object, _seen: frozenset[type] = frozenset()) -> ConfigSchema:
    """The schema of a config parameter's annotation (`inspect.Parameter.empty` or `Any`: any keys)."""
    annotation = _strip(annotation)
    if annotation is inspect.Parameter.empty or annotation is Any or annotation is object:
        return ConfigSchema(open=True)
    origin = typing.get_origin(annotation) or annotation
    if origin in _MAPPINGS:
        return ConfigSchema(open=True)
    if not isinstance(annotation, type) or not is_record(annotation):
        raise TypeError(f"a config must be a TypedDict, a ResourceConfig/StepConfig subclass, a dataclass or a "
                        f"mapping, not {annotation!r}")
    if annotation in _seen:
        return ConfigSchema(open=True)  # a recursive config: its inner levels are not checked
    seen = _seen | {annotation}
    docs = _docs(annotation) if _READ_DOCS.get() else {}
    fields = []
    for name, hint, required, default in _keys(annotation):
        value_type = value_type_of(hint, seen)
        fields.append(Field(name, value_type, required=required, doc=docs.get(name, ""),
                            secret=is_secret(hint), default=default, path=is_file_path(hint)))
    return ConfigSchema(tuple(fields))


def is_record(cls: type) -> bool:
    return typing.is_typeddict(cls) or issubclass(cls, Config) or dataclasses.is_dataclass(cls)


def value_type_of(annotation: object, _seen: frozenset[type] = frozenset()) -> ValueType:
    """`str`, `int`, `float`, `bool`, `list[T]`, `dict[str, T]`, records, `Any`; `None` in a union: nullable."""
    annotation = _strip(annotation)
    nullable = False
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        nullable = type(None) in args
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1:
            return dataclasses.replace(ANY, nullable=nullable)
        annotation = _strip(rest[0])
        origin = typing.get_origin(annotation)
    base = _value_type(annotation, origin, _seen)
    return dataclasses.replace(base, nullable=True) if nullable else base


def _value_type(annotation: object, origin: object, seen: frozenset[type]) -> ValueType:
    if annotation in _SIMPLE:
        return ValueType(_SIMPLE[annotation])
    if isinstance(annotation, type) and issubclass(annotation, str):  # Secret, str enums
        return ValueType("str")
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        kinds = {_SIMPLE.get(type(m.value)) for m in annotation}
        return ValueType(kinds.pop() or "any") if len(kinds) == 1 else ANY
    if origin is Literal:
        kinds = {_SIMPLE.get(type(v)) for v in typing.get_args(annotation)}
        return ValueType(kinds.pop() or "any") if len(kinds) == 1 else ANY
    if annotation in _SEQUENCES or origin in _SEQUENCES:
        args = typing.get_args(annotation)
        return ValueType("list", item=value_type_of(args[0], seen) if args else ANY)
    if annotation in _MAPPINGS or origin in _MAPPINGS:
        args = typing.get_args(annotation)
        return ValueType("dict", item=value_type_of(args[1], seen) if len(args) == 2 else ANY)
    if isinstance(annotation, type) and is_record(annotation):
        return ValueType("record", record=config_schema(annotation, seen))
    return ANY


def _strip(annotation: object) -> object:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Required, typing.NotRequired):
        return _strip(typing.get_args(annotation)[0])
    return annotation


def _keys(cls: type) -> list[tuple[str, object, bool, object]]:
    """(name, annotation, required, default) of each key."""
    if issubclass(cls, Config):
        return [(f.name, f.annotation, f.default is _MISSING and not admits_none(f.annotation),
                 None if f.default is _MISSING else f.default) for f in config_fields(cls)]
    if dataclasses.is_dataclass(cls):
        hints = type_hints(cls)
        keys = []
        for f in dataclasses.fields(cls):
            has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
            default = f.default if f.default is not dataclasses.MISSING else None
            keys.append((f.name, hints.get(f.name, Any), not has_default, default))
        return keys
    required_keys: frozenset[str] = getattr(cls, "__required_keys__", frozenset())
    keys = []
    for name, hint in type_hints(cls).items():
        # `NotRequired[...]` is missed by `__required_keys__` when annotations are strings (PEP 563)
        marker = typing.get_origin(hint)
        required = True if marker is typing.Required else False if marker is typing.NotRequired else None
        keys.append((name, hint, name in required_keys if required is None else required, None))
    return keys


def _docs(cls: type) -> dict[str, str]:
    docs: dict[str, str] = {}
    for base in reversed(cls.__mro__):
        if base.__module__ not in ("builtins", "typing") and base is not Config:
            docs.update(attribute_docs(base))
    if typing.is_typeddict(cls):  # a TypedDict's MRO is flat: its bases are in __orig_bases__
        for base in getattr(cls, "__orig_bases__", ()):
            if isinstance(base, type) and typing.is_typeddict(base):
                docs = {**attribute_docs(base), **docs}
        docs.update(attribute_docs(cls))
    return docs
