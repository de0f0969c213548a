"""The compact one-line form, normalised into PRQL with a map back to what the user wrote."""

from __future__ import annotations

import pytest

from heddle_lang.relational.normalize import normalize


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("from input select id, email", "from input\nselect {id, email}"),
        ("from input filter id > 100", "from input\nfilter id > 100"),
        ("(from input select id)", "(from input | select id)"),
        ("select id", "from input\nselect id"),
        ("filter id > 1", "from input\nfilter id > 1"),
        ("from t select a, b sort -a, b take 3", "from t\nselect {a, b}\nsort {-a, b}\ntake 3"),
        ("from t sort -a", "from t\nsort {-a}"),
        ("from t derive x = 1, y = 2", "from t\nderive {x = 1, y = 2}"),
        ("from t derive x = math.abs a", "from t\nderive {x = math.abs a}"),
        ("from t group a, b (aggregate n = count this, s = sum x)",
         "from t\ngroup {a, b} (aggregate {n = count this, s = sum x})"),
        ("from t join (from u select id, name) (==id)", "from t\njoin (from u | select {id, name}) (==id)"),
        ("from t | select {a, b}", "from t | select {a, b}"),
        ("from t\nselect {a, b}  # keep, this\n", "from t\nselect {a, b}  # keep, this\n"),
        ('from t filter s == "select a, b"', 'from t\nfilter s == "select a, b"'),
        ("from t derive {take = 1}", "from t\nderive {take = 1}"),
        ("from select select a", "from select\nselect a"),
    ],
)
def test_compact_forms(written: str, canonical: str) -> None:
    assert normalize(written).text == canonical
    assert normalize(written).habits == ()


def test_lookup_join_keeps_one_key() -> None:
    marker = 'filter "heddle:using" == "heddle:using"'  # see heddle_lang/relational/using.py
    assert normalize("from t join u (==id)").text == f"from t\njoin u (==id)\nselect !{{u.id}}\n{marker}"
    # Kept when the block names the joined key, or for a right join.
    assert normalize("from t join u (==id) select u.id").text == "from t\njoin u (==id)\nselect u.id"
    assert normalize("from t join side:right u (==id)").text == "from t\njoin side:right u (==id)"


def test_position_map_points_at_what_was_written() -> None:
    written = "select a, b"
    normalized = normalize(written)
    text = normalized.text  # "from input\nselect {a, b}"
    b = text.index("b}")
    assert normalized.rewritten.to_original(b, b + 1) == (written.index("b"), written.index("b") + 1)
    # The implied `from input` maps to the start of the first word.
    assert normalized.rewritten.to_original(0, 4) == (0, 0)
    assert normalized.implicit_input == (0, 6)


def test_empty_blocks() -> None:
    assert normalize("").empty
    assert normalize("  # nothing\n ").empty
