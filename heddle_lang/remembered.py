"""Results remembered per declaration text across checks (an edit checks again only the declarations it changed),
bounded in proportion to the documents checked.

A long editing session makes a new text for the declaration under the cursor at each keystroke: the memo holds at
most `SLACK` times the declarations of the largest document checked so far (at least `FLOOR` entries) and is cleared
when full, so it never keeps much more than the documents themselves need.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T", bound=Hashable)
V = TypeVar("V")

FLOOR = 2_000
SLACK = 3


class Remembered(Generic[K, V]):
    def __init__(self) -> None:
        self._data: dict[K, V] = {}
        self._largest = 0  # the most declarations a document checked so far had

    def get(self, key: K) -> V | None:
        return self._data.get(key)

    def put(self, key: K, value: V, declarations: int) -> None:
        """Remember `value` for a declaration of a document with `declarations` declarations."""
        self._largest = max(self._largest, declarations)
        if len(self._data) >= max(FLOOR, SLACK * self._largest):
            self._data.clear()
        self._data[key] = value

    def clear(self) -> None:
        self._data.clear()


_SETS: dict[frozenset[Any], frozenset[Any]] = {}
SETS_BOUND = 4_096  # distinct sets kept for sharing; cleared when full


def shared(items: frozenset[T]) -> frozenset[T]:
    """One frozenset object for equal sets. A declaration's analysis keeps the few names it reads as sets, and most
    declarations read the same few (a frozenset of one name takes 216 bytes: ~3 MB at 50,000 lines unshared)."""
    found = _SETS.get(items)
    if found is None:
        if len(_SETS) >= SETS_BOUND:
            _SETS.clear()
        found = _SETS[items] = items
    return found
