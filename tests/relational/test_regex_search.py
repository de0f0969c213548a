"""`~=` with a constant pattern of plain text (anchored or not) runs as a text search: the same answer as the regex,
on texts with line breaks, non-ASCII letters, empty texts and nulls."""

from __future__ import annotations

import polars as pl
import pytest

from heddle_lang.relational.lowering.text import regex_search

TEXTS = ["The End", "the end", "The", "", None, "a\nThe End", "The End\n", "Thé Ënd", "End. The", "x$y", "a+b",
         "ab", "a b", "tab\there", "ΩThe"]


@pytest.mark.parametrize("pattern", ["^The", "End$", "^The End$", "The", "^Thé", "Ënd$", "^The End\n$", " ",
                                     "^", "$", "^$", "a+b", "a.b", "x\\$y", "\\$y$", "^a b$", "tab\there", "Ω"])
def test_a_plain_text_pattern_searches_as_its_regex_does(pattern: str) -> None:
    frame = pl.DataFrame({"t": TEXTS}, schema={"t": pl.String})
    expected = frame.select(pl.col("t").str.contains(pattern)).to_series()
    assert frame.select(regex_search(pl.col("t"), pattern)).to_series().to_list() == expected.to_list()
