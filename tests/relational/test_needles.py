"""Rows of Arrow text searched for a `text.contains` needle before they become Polars (`pushdown.text_needles`,
`heddle_engine.execute.needles`): which filters give needles, that every row holding one is found, and that a
block over Arrow data answers as over Polars data and as DuckDB does (nulls, empty texts, non-ASCII text,
overlapping and repeated matches, tables in several chunks and slices)."""

from __future__ import annotations

import random
from bisect import bisect_right
from itertools import accumulate

import polars as pl
import pyarrow as pa
import pytest

from heddle_engine.execute import needles
from heddle_engine.execute.data import Data
from heddle_engine.execute.relational import run_blocks
from heddle_lang.plan import Node
from heddle_lang.relational import analyze_block
from heddle_lang.relational.pushdown import text_needles
from tests.differential.reference import answer, schema_of

ALPHABET = ["a", "b", "c", "a", "é", "€", "😀", " ", "%", "_", "\n", "Ω"]


def _texts(rng: random.Random, rows: int, nulls: float = 0.1) -> list[str | None]:
    return [None if rng.random() < nulls else "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 9)))
            for _ in range(rows)]


def _table(rows: int, seed: int = 3) -> pa.Table:
    rng = random.Random(seed)
    return pa.table({
        "id": pa.array(range(rows), pa.int64()),
        "s": pa.array(_texts(rng, rows), pa.string()),
        "t": pa.array(_texts(rng, rows, nulls=0.3), pa.large_string()),
        "n": pa.array([None if rng.random() < 0.1 else rng.randint(-5, 5) for _ in range(rows)], pa.int64()),
        "w": pa.array([None if i % 9 == 0 else f"k{i % 7}" for i in range(rows)], pa.string()),
    })


def _node(query: str, tables: dict[str, pa.Table]) -> Node:
    analysis = analyze_block(query, {name: schema_of(table) for name, table in tables.items()}, is_source=True)
    assert analysis.program is not None and analysis.schema is not None, [d.message for d in analysis.diagnostics]
    return Node("n1", "relational", "block", analysis.schema, tables={name: name for name in tables},
                program=analysis.program)


@pytest.mark.parametrize(("query", "expected"), [
    ('from x | filter (s | text.contains "ab")', (("s", "ab"),)),
    ('from x | filter (s | text.contains "é€") && n > 1 && (t | text.contains "c")', (("s", "é€"), ("t", "c"))),
    ('from x | select {id, s} | filter (s | text.contains "ab") | filter id != 3 | sort id', (("s", "ab"),)),
    ('from x | filter (s | text.contains "ab") && (n | in [1, 2]) && !(t == null)', (("s", "ab"),)),
    ('from x | filter (s | text.contains "ab") | derive {m = n + 1} | filter m > 1', (("s", "ab"),)),
    ('from x | filter (s | text.contains "a_b")', ()),  # `_` is a wildcard
    ('from x | filter (s | text.contains "a%")', ()),
    ('from x | filter (s | text.contains "")', ()),
    ('from x | filter (s | text.contains "ab") || n > 1', ()),
    ('from x | filter !(s | text.contains "ab")', ()),
    ('from x | filter (s | text.contains "ab") == (n > 1)', ()),
    ('from x | filter (s | text.contains f"{t}")', ()),
    ('from x | filter (s | text.contains "ab") && n + 1 > 1', ()),  # `+` refuses an overflow: on every row
    ('from x | filter (s | text.contains "ab") && (n % 2 == 0)', ()),
    ('from x | derive {m = 1} | filter (s | text.contains "ab")', ()),
    ('from x | sort n | filter (s | text.contains "ab")', ()),
    ('from x | take 5 | filter (s | text.contains "ab")', ()),
    ('from x | join side:left y (==id) | filter (x.s | text.contains "ab")', ()),
])
def test_the_needles_of_a_block(query: str, expected: tuple[tuple[str, str], ...]) -> None:
    table = _table(3)
    node = _node(query, {"x": table, "y": table} if "join" in query else {"x": table})
    assert node.program is not None
    assert text_needles(node.program, "x") == expected


SEARCHES = pytest.mark.skipif(not needles.byte_offsets(), reason="this Polars' str.find_many gives no byte offsets")


@SEARCHES
@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
@pytest.mark.parametrize("needle", ["ab", "aa", "é€", "😀 ", "Ω\n", "c a", "%_"])
def test_every_row_holding_the_needle_is_found(kind: pa.DataType, needle: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Small pieces and batches (matches near and across their ends), chunks, a slice."""
    monkeypatch.setattr(needles, "PIECE", 7)
    monkeypatch.setattr(needles, "BATCH", 40)
    rng = random.Random(len(needle))
    texts = _texts(rng, 2000)
    whole = pa.array(texts, kind)
    column = pa.chunked_array([whole.slice(0, 3), whole.slice(3, 0), whole.slice(3, 1200), whole.slice(1203)])
    for values, array in ((texts, column), (texts[11:1500], column.slice(11, 1489))):
        holding = {i for i, text in enumerate(values) if text is not None and needle in text}
        # the rows a match starts in, running into the rows after it or not (a null row has no text here):
        # the rows found are among them (a match across the end of a piece is not found)
        joined = "".join(text or "" for text in values)
        ends = list(accumulate(len(text or "") for text in values))
        starting = {bisect_right(ends, k) for k in range(len(joined)) if joined.startswith(needle, k)}
        found = needles.rows_holding(array, needle)
        assert found is not None and holding
        rows = found.to_list()
        assert rows == sorted(set(rows)) and holding <= set(rows) <= starting


@SEARCHES
def test_a_needle_in_most_rows_is_not_searched_for() -> None:
    column = pa.chunked_array([pa.array(["xab", "ab", "b", "abab", None] * 1000)])
    assert needles.rows_holding(column, "ab") is None
    assert needles.rows_holding(column, "xa") is not None


def test_other_columns_are_not_searched() -> None:
    assert needles.rows_holding(pa.chunked_array([pa.array(["ab"], pa.string_view())]), "ab") is None
    assert needles.rows_holding(pa.chunked_array([pa.array([b"ab"], pa.binary())]), "ab") is None


@SEARCHES
def test_a_null_holding_the_needle_in_its_bytes_is_taken_then_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Arrow leaves the bytes of a null row undefined: they may hold the needle."""
    monkeypatch.setattr("heddle_engine.execute.data.LEAST_ROWS", 100)
    rows = 2000
    offsets = pa.array([min(i, 2) * 3 for i in range(rows + 1)], pa.int32())
    validity = pa.array([i != 0 for i in range(rows)]).buffers()[1]
    column = pa.Array.from_buffers(pa.string(), rows, [validity, offsets.buffers()[1], pa.py_buffer(b"xabyab")])
    table = pa.table({"id": pa.array(range(rows), pa.int64()), "s": column})
    assert needles.rows_holding(table.column("s"), "ab").to_list() == [0, 1]  # type: ignore[union-attr]
    node = _node('from x | filter (s | text.contains "ab")', {"x": table})
    result = run_blocks([node], lambda _: Data(arrow=table), every=False)["n1"]
    assert result is not None and result.polars().to_dict(as_series=False) == {"id": [1], "s": ["yab"]}


QUERIES = [
    'from x | filter (s | text.contains "ab") | sort id',
    'from x | filter (t | text.contains "é€") | select {id, t} | sort id',
    'from x | filter (s | text.contains "a") | sort id',  # in about half the rows
    'from x | filter (w | text.contains "k") | sort id',  # in most rows: not searched for
    'from x | filter (s | text.contains "aa") && n > 0 | sort id',
    'from x | filter (s | text.contains "😀") && (t | text.contains "b") | sort id',
    'from x | filter !(s | text.contains "ab") && (t | text.contains "b") | sort id',
    'from x | filter (s | text.contains "c a") | derive {u = text.upper s} | select {id, u} | sort id',
    'from x | filter (t | text.contains "Ω\n") | take 7',
    'from x | filter (s | text.contains "bab") | aggregate {k = count this, m = max id}',
    'from x | filter (s | text.contains "ab") | group n (aggregate {k = count this}) | sort n',
]


@pytest.mark.parametrize("query", QUERIES)
def test_a_block_over_arrow_answers_as_over_polars_and_as_duckdb(query: str, monkeypatch: pytest.MonkeyPatch) -> None:
    table = _table(30_000, seed=9)
    chunked = pa.concat_tables([table.slice(0, 7000), table.slice(7000, 15000), table.slice(22000)])
    searched: list[bool] = []
    taken = needles.taken

    def recording(arrow: pa.Table, found: needles.Needles) -> pa.Table | None:
        result = taken(arrow, found)
        searched.append(result is not None)
        return result

    monkeypatch.setattr("heddle_engine.execute.data.taken", recording)
    monkeypatch.setattr("heddle_engine.execute.data.LEAST_ROWS", 10_000)
    node = _node(query, {"x": table})
    polars = run_blocks([node], lambda _: Data(polars=pl.from_arrow(table)), every=False)["n1"]  # type: ignore[arg-type]
    assert polars is not None and searched == []
    expected = answer(query, {"x": table}).frame
    assert expected is not None and polars.polars().equals(expected), (polars.polars(), expected)
    for arrow in (table, chunked, table.slice(0, 20_000)):
        result = run_blocks([node], lambda _, arrow=arrow: Data(arrow=arrow), every=False)["n1"]
        assert result is not None
        rows = arrow.num_rows
        reference = polars.polars() if rows == table.num_rows else answer(query, {"x": arrow}).frame
        assert reference is not None and result.polars().equals(reference)
    assert searched == [("w |" not in query) and needles.byte_offsets()] * 3


def test_a_polars_whose_search_gives_no_byte_offsets_is_not_searched_with(monkeypatch: pytest.MonkeyPatch) -> None:
    """Polars 2.2's `str.find_many` gives character offsets: mapped as bytes, a match after a character beyond ASCII
    would point at an earlier row. The rows are then converted whole."""
    monkeypatch.setattr(needles, "byte_offsets", lambda: False)
    column = pa.chunked_array([pa.array(["é€ab", "xab", None, "b"] * 5000)])
    assert needles.rows_holding(column, "ab") is None
