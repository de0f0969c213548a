"""`LazyTable`: a table of declarations of a spliced analysis (`semantic.splice`), each made when first read."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import TypeVar

V = TypeVar("V")


class LazyTable(MutableMapping[str, V]):
    """A table of declarations by name (`index`: its position in the outline), each made where it stands now when first
    read (`make`); one set is that one (a declaration analysed again). `built` gives one as it was made, unmoved."""

    __slots__ = ("_built", "_index", "_made", "_make")

    def __init__(self, index: Mapping[str, int], make: Callable[[int], V],
                 built: Callable[[int], V] | None = None) -> None:
        self._index = index
        self._make = make
        self._built = built or make
        self._made: dict[str, V] = {}

    def values_as_built(self) -> list[V]:
        """Every value, those not read yet as they were made (not moved where they stand now)."""
        made, built = self._made, self._built
        return [made[name] if name in made else built(at) for name, at in self._index.items()]

    def __getitem__(self, name: str) -> V:
        found = self._made.get(name)
        if found is None:
            found = self._made[name] = self._make(self._index[name])
        return found

    def get(self, name: str, default: V | None = None) -> V | None:  # type: ignore[override]
        return self[name] if name in self._index else default

    def __setitem__(self, name: str, value: V) -> None:
        if name not in self._index:
            raise KeyError(name)  # the names are the index's: a splice declares no other
        self._made[name] = value

    def __delitem__(self, name: str) -> None:
        del self._made[name]  # made again when next read

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)
