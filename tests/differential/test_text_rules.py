"""The text rules of the lowering (`heddle_lang/relational/lowering/text.py`) against DuckDB on grids of values
wider than the corpus: case mapping on every code point, doubles as text, SUBSTRING bounds, LIKE patterns."""

from __future__ import annotations

import math
import random

import duckdb
import polars as pl
import pyarrow as pa
import pytest

from heddle_lang.relational.lowering import casing
from heddle_lang.relational.lowering.text import case_map, like, substring, to_text


@pytest.fixture(scope="module")
def db() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def _column(connection: duckdb.DuckDBPyConnection, sql: str, table: pa.Table) -> list[object]:
    connection.register("t", table)
    result = connection.sql(sql).arrow()
    result = result.read_all() if isinstance(result, pa.RecordBatchReader) else result
    return result.column(0).to_pylist()


@pytest.mark.parametrize("which", ["upper", "lower"])
def test_case_mapping_of_every_code_point(db: duckdb.DuckDBPyConnection, which: str) -> None:
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and not 0x10FE00 <= c < 0x10FF00]
    expected = _column(db, f"SELECT {which}(c) FROM t", pa.table({"c": chars}))
    got = pl.DataFrame({"c": chars}).select(case_map(pl.col("c"), which)).to_series().to_list()
    wrong = [(hex(ord(c)), e, g) for c, e, g in zip(chars, expected, got, strict=True) if e != g]
    assert wrong == []
    table = casing.UPPER if which == "upper" else casing.LOWER
    assert table, "the table of characters mapped apart is not empty"


def test_case_mapping_refuses_text_holding_its_placeholders() -> None:
    frame = pl.DataFrame({"c": ["ok", chr(0x10FE00)]})
    with pytest.raises(pl.exceptions.InvalidOperationError, match="private-use"):
        frame.select(case_map(pl.col("c"), "upper"))


@pytest.mark.parametrize("which", ["upper", "lower"])
def test_case_mapping_of_mixed_text(db: duckdb.DuckDBPyConnection, which: str) -> None:
    """Text mixing characters mapped apart with ASCII and other letters (the rows mapped by Polars alone and
    the rows mapped through placeholders in one column), empty text and nulls."""
    rng = random.Random(11)
    apart = [chr(c) for c in (casing.UPPER if which == "upper" else casing.LOWER)]
    pool = [*apart, *"aZ09 _-%", "é", "Ω", "ǅ", "ﬀ", "İ", "ß", "Σ", "\U0001f600", "\u0301"]
    words: list[str | None] = [None, "", "plain ASCII", "Straße İstanbul ǅ", "\u038c\u03a3\u039f\u03a3 \u03c3"]
    words += ["".join(rng.choice(pool) for _ in range(rng.randint(1, 12))) for _ in range(3000)]
    words += ["".join(rng.choice("abcXYZ éèΩ") for _ in range(rng.randint(0, 8))) for _ in range(300)]
    table = pa.table({"c": pa.array(words, pa.string())})
    expected = _column(db, f"SELECT {which}(c) FROM t", table)
    got = pl.from_arrow(table).select(case_map(pl.col("c"), which)).to_series().to_list()  # type: ignore[union-attr]
    assert [(w, e, g) for w, e, g in zip(words, expected, got, strict=True) if e != g] == []


def test_small_doubles_as_text(db: duckdb.DuckDBPyConnection) -> None:
    """Below 1e-4, where Polars' text is rewritten, next to numbers where it is kept, and nulls."""
    rng = random.Random(5)
    values: list[float | None] = [None, 0.0, -0.0, 1e-4, -1e-4, 9.999999999999999e-05, 1e-5, 1e-6, 1e-9, 1e-10]
    values += [rng.choice([1, -1]) * rng.randint(1, 10**rng.randint(1, 17)) * 10.0 ** rng.randint(-26, -4)
               for _ in range(3000)]
    values += [rng.uniform(-1, 1) for _ in range(300)]
    table = pa.table({"v": pa.array(values, pa.float64())})
    expected = _column(db, "SELECT CAST(v AS VARCHAR) FROM t", table)
    got = pl.from_arrow(table).select(to_text(pl.col("v"), pl.Float64())).to_series().to_list()  # type: ignore[union-attr]
    assert [(v, e, g) for v, e, g in zip(values, expected, got, strict=True) if e != g] == []


def test_doubles_as_text(db: duckdb.DuckDBPyConnection) -> None:
    rng = random.Random(7)
    values = [1.25, 1e20, 0.1 + 0.2, 1e-7, 100.0, math.inf, -math.inf, math.nan, -0.0, 0.0, 1e16, 1e15, 5e-324,
              1e-5, -1e-5, 1e-4, 0.0001234, 1.7976931348623157e308, 123456789012345.0, 9007199254740993.0]
    values += [rng.uniform(-1e6, 1e6) for _ in range(300)]
    values += [rng.choice([1, -1]) * 10 ** rng.uniform(-30, 30) for _ in range(2000)]
    table = pa.table({"v": pa.array(values, pa.float64())})
    expected = _column(db, "SELECT CAST(v AS VARCHAR) FROM t", table)
    got = pl.from_arrow(table).select(to_text(pl.col("v"), pl.Float64())).to_series().to_list()  # type: ignore[union-attr]
    assert [(v, e, g) for v, e, g in zip(values, expected, got, strict=True) if e != g] == []


def test_like_patterns_of_literal_and_computed_pieces(db: duckdb.DuckDBPyConnection) -> None:
    """`text.starts_with f"{col}_"` and its kin: literal pieces around a piece computed per row (wildcards and
    regex characters in either, a null piece counting as empty), as DuckDB's LIKE of their CONCAT."""
    texts = ["abc", "a_c", "a%c", "", "ab\ncd", "x.y", "(a)", "a\\b", "ÅÄÖ", "abcabc", None]
    pieces = ["a", "b", "%", "_", ".", "(", "\\", "Å", "a_", "", "ab", "c", None]
    around = ["", "%", "_", "%_", "_%", "%%", "x", ".", "%c%"]
    rows = [(t, p, b, e) for t in texts for p in pieces for b in around for e in around]
    table = pa.table({"t": [r[0] for r in rows], "p": [r[1] for r in rows], "b": [r[2] for r in rows],
                      "e": [r[3] for r in rows]})
    expected = _column(db, "SELECT t LIKE CONCAT(b, p, e) FROM t", table)
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    got: list[object] = []
    for (b, e), group in frame.with_row_index("n").group_by(["b", "e"], maintain_order=True):
        assert isinstance(b, str) and isinstance(e, str)
        got.extend(group.select("n", like(pl.col("t"), [b, pl.col("p"), e]).alias("v")).rows())
    computed = [v for _, v in sorted(got)]  # type: ignore[call-overload]
    assert [(r, x, g) for r, x, g in zip(rows, expected, computed, strict=True) if x != g] == []


def test_substring_bounds(db: duckdb.DuckDBPyConnection) -> None:
    words = ["hello", "", "héllo wörld", "a", "日本語テキスト"]
    cases = [(w, s, n) for w in words for s in range(-9, 10) for n in range(-4, 9)]
    table = pa.table({"w": [c[0] for c in cases], "s": [c[1] for c in cases], "n": [c[2] for c in cases]})
    expected = _column(db, "SELECT substring(w, s, n) FROM t", table)
    frame = pl.from_arrow(table)
    got = [frame.slice(i, 1).select(substring(pl.col("w"), s, n)).item() for i, (_, s, n) in enumerate(cases)]  # type: ignore[union-attr]
    assert [(c, e, g) for c, e, g in zip(cases, expected, got, strict=True) if e != g] == []


def test_like_patterns(db: duckdb.DuckDBPyConnection) -> None:
    texts = ["abc", "a_c", "a%c", "", "ab\ncd", "x.y", "(a)", "a\\b", "ÅÄÖ", None]
    parts = ["a", "%", "_", "b", "c", ".", "\\", "(", "Å", "a_", "%c", ""]
    patterns = sorted({p + q + r for p in parts for q in ["", "%", "_"] for r in ["", "%", "_", "c"]})
    rows = [(t, p) for t in texts for p in patterns]
    table = pa.table({"t": [r[0] for r in rows], "p": [r[1] for r in rows]})
    expected = _column(db, "SELECT t LIKE p FROM t", table)
    frame = pl.from_arrow(table)
    computed = frame.select(like(pl.col("t"), [pl.col("p")])).to_series().to_list()  # type: ignore[union-attr]
    literal = [frame.slice(i, 1).select(like(pl.col("t"), [p])).item() for i, (_, p) in enumerate(rows)]  # type: ignore[union-attr]
    assert [(r, e, g) for r, e, g in zip(rows, expected, computed, strict=True) if e != g] == []
    assert [(r, e, g) for r, e, g in zip(rows, expected, literal, strict=True) if e != g] == []
