"""Moving an AST value by a number of bytes: the same nodes, every span shifted.

An edit moves every declaration after it; lowering reuses those declarations and moves one when its AST is read
(`lower.Placed`), which an IDE request may do for a whole document: it is allocation-bound, and each node class gets a
mover of its own, written once from its fields' declared types (a span is rebuilt, a string or a flag is
shared, a node or a tuple of nodes is moved in turn), instead of one generic walk that inspects every value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, is_dataclass
from typing import Any, TypeVar

from heddle_lang.text import Span, moved_span

_T = TypeVar("_T")

_new = object.__new__
# Field types that hold no span: shared by the moved node as they are.
_PLAIN = frozenset({"str", "str | None", "bool", "int", "float", "int | float", "tuple[str, ...]"})
_MOVERS: dict[type, Callable[[Any, int], Any]] = {}


def moved(value: _T, delta: int) -> _T:
    """`value` (an AST node, a tuple of them, or None) with every span moved by `delta` bytes."""
    if delta == 0 or value is None:
        return value
    return _move(value, delta)  # type: ignore[no-any-return]


def _move(value: Any, delta: int) -> Any:
    cls = type(value)
    if cls is tuple:
        return tuple([_move(item, delta) for item in value])
    mover = _MOVERS.get(cls)
    if mover is None:
        mover = _MOVERS[cls] = _mover(cls)
    return mover(value, delta)


def _mover(cls: type) -> Callable[[Any, int], Any]:
    """The mover of one node class: a function that builds the moved node field by field."""
    if cls is Span:
        return moved_span
    if not is_dataclass(cls):
        raise TypeError(f"{cls.__name__} is not an AST value")  # a bug in the AST's field types
    env: dict[str, Any] = {"new": _new, "cls": cls, "span": moved_span, "move": _move}
    body = ["def mover(value, delta):", "    out = new(cls)"]
    for index, field in enumerate(fields(cls)):
        setter = env[f"set{index}"] = cls.__dict__[field.name].__set__
        assert setter is not None
        get = f"value.{field.name}"
        if field.type in _PLAIN:
            body.append(f"    set{index}(out, {get})")
        elif field.type == "Span":
            body.append(f"    set{index}(out, span({get}, delta))")
        elif field.type == "Span | None":
            body.append(f"    item = {get}")
            body.append(f"    set{index}(out, None if item is None else span(item, delta))")
        else:  # a node, a union of nodes, a tuple of them, or None
            body.append(f"    item = {get}")
            body.append(f"    set{index}(out, None if item is None else move(item, delta))")
    body.append("    return out")
    exec("\n".join(body), env)  # generated from the class's own field list, as dataclasses does
    return env["mover"]  # type: ignore[no-any-return]


def relocator(cls: type[_T], spans: tuple[str, ...], lines: tuple[str, ...] = ()) -> Callable[[_T, int, int], _T]:
    """A function `(value, delta, rows)`: a copy of `value` (a slotted dataclass) with its `spans` fields moved by
    `delta` bytes and its `lines` fields (line numbers) by `rows`, every other field shared."""
    env: dict[str, Any] = {"new": _new, "cls": cls, "span": moved_span}
    body = ["def relocate(value, delta, rows):", "    out = new(cls)"]
    for index, field in enumerate(fields(cls)):  # type: ignore[arg-type]
        env[f"set{index}"] = cls.__dict__[field.name].__set__
        get = f"value.{field.name}"
        if field.name in spans:
            body.append(f"    set{index}(out, span({get}, delta))")
        elif field.name in lines:
            body.append(f"    set{index}(out, {get} + rows)")
        else:
            body.append(f"    set{index}(out, {get})")
    body.append("    return out")
    exec("\n".join(body), env)
    return env["relocate"]  # type: ignore[no-any-return]
