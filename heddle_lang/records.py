"""`record`: what `@dataclass(frozen=True, slots=True)` makes, defined at half the cost.

On Python 3.11 a dataclass compiles every method it generates from source text of its own, about 0.3 ms a
class; the packages define some 200 of them on every command's import path, as long as importing Polars.
`record` lets `dataclasses` generate what depends on each class's fields to be exact and fast: `__init__`
(its signature, defaults and factories) and the frozen `__setattr__` and `__delattr__`. `__repr__`, `__eq__`
and `__hash__` are functions shared by every record, which read the class's fields through an
`operator.attrgetter` made once per class, compiled never. They answer as the generated ones do: equality
compares the fields with `compare=True`, in order, as tuples, of two instances of the same class only; the hash
is the hash of the tuple of the fields it covers (`hash=`, else `compare=`); the repr shows the fields with
`repr=True`, and `...` for an instance inside itself; a method the class defines itself is kept (and
`__hash__` with it, unless the class defines `__eq__` alone). `dataclasses.fields`, `replace`, `asdict`,
pickling and pattern matching work as on any dataclass; type checkers see a frozen dataclass.
"""

from __future__ import annotations

import dataclasses
import inspect
import reprlib
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T")


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def record(cls: type[T]) -> type[T]:
    """The class as a frozen dataclass with `__slots__`."""
    own = cls.__dict__
    eq = "__eq__" not in own
    explicit_hash = "__hash__" in own and not (own["__hash__"] is None and "__eq__" in own)
    show = "__repr__" not in own
    undocumented = not cls.__doc__
    if undocumented:  # dataclasses would write the signature with `inspect`, a sixth of the cost
        cls.__doc__ = cls.__name__
    made = dataclasses.dataclass(frozen=True, slots=True, repr=False, eq=False)(cls)
    fields = dataclasses.fields(made)  # type: ignore[arg-type]
    if undocumented:
        made.__doc__ = _signature(made.__name__, fields)
    if eq:
        made.__eq__ = _eq(_getter([f.name for f in fields if f.compare]))  # type: ignore[assignment]
    if not explicit_hash:
        made.__hash__ = _hash(_getter([f.name for f in fields if (f.compare if f.hash is None else f.hash)]))  # type: ignore[assignment]
    if show:
        made.__repr__ = _repr(tuple(f.name for f in fields if f.repr))  # type: ignore[assignment]
    return made


def _signature(name: str, fields: tuple[dataclasses.Field[Any], ...]) -> str:
    """The class's name and its `__init__`'s parameters, as `dataclasses` writes them in `__doc__`."""
    parameters = []
    for f in fields:
        if not f.init:
            continue
        text = f"{f.name}: {inspect.formatannotation(f.type)}"
        if f.default is not dataclasses.MISSING:
            text += f" = {f.default!r}"
        elif f.default_factory is not dataclasses.MISSING:
            text += " = <factory>"
        parameters.append(text)
    return f"{name}({', '.join(parameters)})"


def _getter(names: list[str]) -> Callable[[object], tuple[Any, ...]]:
    """A function from an instance to the tuple of these fields' values (a tuple even for one or none)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        name = names[0]
        return lambda instance: (getattr(instance, name),)
    return lambda instance: ()


def _eq(compared: Callable[[object], tuple[Any, ...]]) -> Callable[[object, object], bool]:
    def __eq__(self: object, other: object) -> bool:  # noqa: N807 - the method's name, in tracebacks
        if other.__class__ is self.__class__:
            return compared(self) == compared(other)
        return NotImplemented

    return __eq__


def _hash(hashed: Callable[[object], tuple[Any, ...]]) -> Callable[[object], int]:
    def __hash__(self: object) -> int:  # noqa: N807
        return hash(hashed(self))

    return __hash__


def _repr(shown: tuple[str, ...]) -> Callable[[object], str]:
    @reprlib.recursive_repr()
    def __repr__(self: object) -> str:  # noqa: N807
        values = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{self.__class__.__qualname__}({values})"

    return __repr__
