"""The position map of rewritten text: copied, replaced and inserted ranges."""

from __future__ import annotations

from heddle_lang.relational.edits import Edit, Rewritten


def test_copied_replaced_and_inserted_ranges() -> None:
    original = "from t where a = 1"
    rewritten = Rewritten(original, [Edit(7, 12, "filter"), Edit(15, 16, "=="), Edit(0, 0, "# x\n", order=0)])
    assert rewritten.text == "# x\nfrom t filter a == 1"
    text = rewritten.text
    # Copied text maps one to one.
    a = text.index("a ==")
    assert rewritten.to_original(a, a + 1) == (13, 14)
    # Replaced text maps to what it replaced.
    f = text.index("filter")
    assert rewritten.to_original(f, f + 6) == (7, 12)
    assert rewritten.to_original(f + 2, f + 3) == (7, 12)
    eq = text.index("==")
    assert rewritten.to_original(eq, eq + 2) == (15, 16)
    # Inserted text maps to the point where it was inserted.
    assert rewritten.to_original(0, 3) == (0, 0)
    # The end of the text.
    assert rewritten.to_original(len(text), len(text)) == (len(original), len(original))


def test_overlapping_edits_keep_the_first() -> None:
    rewritten = Rewritten("abcdef", [Edit(1, 4, "X"), Edit(2, 3, "Y"), Edit(3, 3, "")])
    assert rewritten.text == "aXef"


def test_insertions_at_one_point_follow_their_order() -> None:
    rewritten = Rewritten("a b", [Edit(1, 2, "\n", order=2), Edit(1, 1, "}", order=0)])
    assert rewritten.text == "a}\nb"
