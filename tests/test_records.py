"""`record` answers as `@dataclass(frozen=True, slots=True)` does: each shape defined both ways, compared."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field
from typing import Any

import pytest

from heddle_lang.records import record

STRICT = dataclass(frozen=True, slots=True)


def shapes(decorate: Any) -> dict[str, Any]:
    @decorate
    class Plain:
        a: int
        b: str = field(compare=False)
        c: float = 0.0
        d: tuple[int, ...] = field(default_factory=tuple)
        e: int = field(default=3, init=False)

    @decorate
    class One:
        """Documented."""

        value: float

    @decorate
    class Empty:
        pass

    @decorate
    class Hashing:
        key: str
        note: str = field(default="", hash=False)
        shown: int = field(default=0, repr=False)

    @decorate
    class OwnEq:  # noqa: PLW1641 - __eq__ alone: dataclasses adds the hash
        x: int

        def __eq__(self, other: object) -> bool:
            return True

    @decorate
    class OwnAll:
        x: int

        def __eq__(self, other: object) -> bool:
            return isinstance(other, OwnAll)

        def __hash__(self) -> int:
            return 7

        def __repr__(self) -> str:
            return "own"

    @decorate
    class Nested:
        inner: Any = None

    @decorate
    class Child(Plain):
        f: str = "f"

    return {c.__name__: c for c in (Plain, One, Empty, Hashing, OwnEq, OwnAll, Nested, Child)}


def instances(kinds: dict[str, Any]) -> list[Any]:
    nan = float("nan")
    return [
        kinds["Plain"](1, "x"), kinds["Plain"](1, "y"), kinds["Plain"](2, "x", 0.5, (1, 2)),
        kinds["One"](1.0), kinds["One"](nan), kinds["One"](2.0), kinds["Empty"](), kinds["Empty"](),
        kinds["Hashing"]("k", "n1", 1), kinds["Hashing"]("k", "n2", 1), kinds["OwnEq"](1), kinds["OwnEq"](2),
        kinds["OwnAll"](1), kinds["Nested"](kinds["Plain"](1, "z")),
        kinds["Child"](1, "x"), kinds["Child"](1, "x", f="g"),
    ]


def observed(kinds: dict[str, Any]) -> dict[str, Any]:
    values = instances(kinds)
    values.append(values[4])  # the same NaN instance: equal to itself, as tuples compare identity first
    return {
        "eq": [[a == b for b in values] for a in values],
        "ne": [[a != b for b in values] for a in values],
        "hash": [[hash(a) == hash(b) for b in values] for a in values],
        "hashable": {name: kind.__hash__ is not None for name, kind in kinds.items()},
        "repr": [repr(v).replace(".<locals>", "") for v in values],
        "doc": {name: kind.__doc__ for name, kind in kinds.items()},
        "match_args": {name: kind.__match_args__ for name, kind in kinds.items()},
        "fields": {name: [(f.name, f.compare, f.hash, f.repr) for f in dataclasses.fields(kind)]
                   for name, kind in kinds.items()},
        "slots": {name: "__dict__" not in dir(kind()) if name == "Empty" else hasattr(kind, "__slots__")
                  for name, kind in kinds.items()},
        "replace": repr(dataclasses.replace(values[0], a=5)),
        "asdict": dataclasses.asdict(values[13]),
    }


def test_record_answers_as_the_frozen_slotted_dataclass() -> None:
    assert observed(shapes(record)) == observed(shapes(STRICT))


def test_a_record_is_frozen_and_survives_pickling() -> None:
    kinds = shapes(record)
    value = kinds["Plain"](1, "x", 2.0, (3,))
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.a = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        del value.a
    assert dataclasses.is_dataclass(value)
    globals()["Plain"] = kinds["Plain"]  # pickle finds the class by its module and name
    kinds["Plain"].__qualname__ = "Plain"
    try:
        assert pickle.loads(pickle.dumps(value)) == value
    finally:
        del globals()["Plain"]


def test_a_record_inside_itself_reprs_as_dots() -> None:
    for decorate in (record, STRICT):
        kinds = shapes(decorate)
        holder: list[Any] = []
        value = kinds["Nested"](holder)
        holder.append(value)
        assert repr(value).endswith("Nested(inner=[...])")
