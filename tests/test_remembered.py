"""`remembered.shared`: equal sets are one object, and the table of them stays bounded."""

from __future__ import annotations

from heddle_lang import remembered
from heddle_lang.remembered import SETS_BOUND, shared


def test_equal_sets_are_one_object() -> None:
    first = shared(frozenset({"pg", "ch"}))
    again = shared(frozenset(["ch", "pg"]))
    assert again is first and again == {"pg", "ch"}
    assert shared(frozenset()) is shared(frozenset())
    assert shared(frozenset({"pg"})) is not first


def test_the_table_is_bounded() -> None:
    for number in range(SETS_BOUND * 2 + 3):
        assert shared(frozenset({number})) == {number}
    assert len(remembered._SETS) <= SETS_BOUND
