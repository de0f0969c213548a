"""The analysis cache: keyed by block text, `is_source` and the schemas of the tables the block reads."""

from __future__ import annotations

import polars as pl

from heddle_lang.relational import analyze_block, cache_clear, cache_info
from heddle_lang.relational.cache import LruCache
from heddle_lang.types import Schema
from tests.relational.schemas import EXAMPLE

QUERY = "from input join users (input.user_id == users.id) select amount, name"


def test_second_call_is_a_hit_and_a_schema_change_a_miss() -> None:
    cache_clear()
    first = analyze_block(QUERY, EXAMPLE, is_source=False)
    assert (cache_info().hits, cache_info().misses) == (0, 1)
    # Equal schemas in a new mapping: a hit, the very same result.
    assert analyze_block(QUERY, dict(EXAMPLE), is_source=False) is first
    assert (cache_info().hits, cache_info().misses) == (1, 1)
    # A table the block does not read changed: still a hit.
    assert analyze_block(QUERY, {**EXAMPLE, "other": Schema.unknown()}, is_source=False) is first
    assert cache_info().hits == 2
    # A table it reads changed: a miss, and a new answer.
    changed = {**EXAMPLE, "users": Schema.of({"id": pl.Int64(), "name": pl.Categorical()})}
    second = analyze_block(QUERY, changed, is_source=False)
    assert cache_info().misses == 2
    assert second.schema is not None and second.schema.get("name") is not None
    assert second.schema != first.schema
    # `is_source` is part of the key.
    analyze_block(QUERY, EXAMPLE, is_source=True)
    assert cache_info().misses == 3
    assert cache_info().currsize == 3


def test_unknown_table_suggestions_follow_the_available_names() -> None:
    cache_clear()
    query = "from userz"
    first = analyze_block(query, EXAMPLE, is_source=True)
    other = analyze_block(query, {"userx": Schema.unknown()}, is_source=True)
    assert "`users`" in first.diagnostics[0].message
    assert "`userx`" in other.diagnostics[0].message


def test_lru_is_bounded() -> None:
    cache: LruCache[int] = LruCache(maxsize=2)
    assert cache.get_or_compute("a", lambda: 1) == 1
    assert cache.get_or_compute("b", lambda: 2) == 2
    assert cache.get_or_compute("a", lambda: 0) == 1  # refreshes "a"
    assert cache.get_or_compute("c", lambda: 3) == 3  # evicts "b"
    assert cache.get_or_compute("b", lambda: 4) == 4
    assert cache.info().currsize == 2
    assert (cache.info().hits, cache.info().misses) == (1, 4)


def test_available_names_only_feed_suggestions() -> None:
    cache_clear()
    d = analyze_block("from rowz", {}, is_source=True, available=["rows", "other"]).diagnostics[0]
    assert (d.code, d.fixes[0].edits) == ("HE6002", ((5, 9, "rows"),))
    assert "did you mean `rows`?" in d.message
    # A block whose tables are all known does not depend on them.
    analyze_block("from rows", {"rows": Schema.unknown()}, is_source=True, available=["a"])
    analyze_block("from rows", {"rows": Schema.unknown()}, is_source=True, available=["b"])
    assert cache_info().hits == 1
