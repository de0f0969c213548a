"""Config classes: keys declared as class annotations, read once at registration and at run time.

A key without a class-level default is required, unless its type admits `None` (then it defaults to
`None`). A `Secret` key holds a value that must never be shown (hovers, logs, plans).
"""

from __future__ import annotations

import copy
import types
import typing
import weakref
from collections.abc import Mapping
from typing import Any, ClassVar


class Secret(str):
    """A config value that must not be shown: `password: Secret` or `password: Annotated[str, Secret]`.

    It is a `str` (use it as one); only its `repr` is masked.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('***')"


class FilePath:
    """Marks a config key that names a file: `path: Annotated[str, FilePath]`. The checker keeps such paths
    inside the project (or in the folders its `heddle.toml` allows under `[paths] allow`)."""

    def __init__(self) -> None:
        raise TypeError("FilePath is a marker: write `Annotated[str, FilePath]`")


_MISSING: Any = object()


class ConfigField(typing.NamedTuple):
    name: str
    annotation: object
    default: object  # `_MISSING` when the key is required


def is_secret(annotation: object) -> bool:
    """Does the annotation mark a secret (`Secret`, `Annotated[T, Secret]`, optionally `| None`)?"""
    if typing.get_origin(annotation) is typing.Annotated:
        base, *metadata = typing.get_args(annotation)
        return any(m is Secret or isinstance(m, Secret) for m in metadata) or is_secret(base)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(is_secret(a) for a in typing.get_args(annotation))
    return isinstance(annotation, type) and issubclass(annotation, Secret)


def is_file_path(annotation: object) -> bool:
    """Does the annotation mark a file path (`Annotated[str, FilePath]`, optionally `| None`)?"""
    if typing.get_origin(annotation) is typing.Annotated:
        base, *metadata = typing.get_args(annotation)
        return any(m is FilePath for m in metadata) or is_file_path(base)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(is_file_path(a) for a in typing.get_args(annotation))
    return False


def admits_none(annotation: object) -> bool:
    """`Optional[T]`, `T | None`, `None`, `Any` (also under `Annotated`)."""
    if annotation is None or annotation is type(None) or annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return admits_none(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(a is type(None) for a in typing.get_args(annotation))
    return False


class Config:
    """Base of `ResourceConfig` and `StepConfig`: build one with keyword arguments or `from_mapping`."""

    _reserved: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, **values: object) -> None:
        fields = config_fields(type(self))
        unknown = sorted(set(values) - {f.name for f in fields})
        if unknown:
            raise TypeError(f"{type(self).__name__} has no key {', '.join(map(repr, unknown))}")
        for f in fields:
            if f.name in values:
                value = _convert(f.annotation, values[f.name])
            elif f.default is not _MISSING:
                value = copy.copy(f.default)
            elif admits_none(f.annotation):
                value = None
            else:
                raise TypeError(f"{type(self).__name__} needs the key {f.name!r}")
            setattr(self, f.name, value)

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> typing.Self:
        return cls(**dict(values))

    def to_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in config_fields(type(self))}

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items())
        return f"{type(self).__name__}({inner})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Config) and type(other) is type(self) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


_FIELDS: weakref.WeakKeyDictionary[type, tuple[ConfigField, ...]] = weakref.WeakKeyDictionary()


def config_fields(cls: type) -> tuple[ConfigField, ...]:
    """The keys of a `Config` subclass, in declaration order (base classes first)."""
    if cls not in _FIELDS:
        _FIELDS[cls] = _read_fields(cls)
    return _FIELDS[cls]


def _read_fields(cls: type) -> tuple[ConfigField, ...]:
    hints = typing.get_type_hints(cls, include_extras=True)
    reserved: frozenset[str] = getattr(cls, "_reserved", frozenset())
    fields = []
    for name, annotation in hints.items():
        if name.startswith("_") or typing.get_origin(annotation) is ClassVar or annotation is ClassVar:
            continue
        if name in reserved:
            raise TypeError(f"{cls.__name__}: `{name}` is reserved (injected by the engine); rename the key")
        fields.append(ConfigField(name, annotation, getattr(cls, name, _MISSING)))
    return tuple(fields)


def _convert(annotation: object, value: object) -> object:
    """Nested config classes are built from mappings; secrets are wrapped so they print masked."""
    if isinstance(value, str) and not isinstance(value, Secret) and is_secret(annotation):
        return Secret(value)
    target = annotation
    while typing.get_origin(target) in (typing.Annotated, typing.Union, types.UnionType):
        args = [a for a in typing.get_args(target) if a is not type(None)]
        if typing.get_origin(target) is not typing.Annotated and len(args) != 1:
            break
        target = args[0]
    if isinstance(target, type) and issubclass(target, Config) and isinstance(value, Mapping):
        return target.from_mapping(value)
    return value
