"""`sort {...}` by several keys, every row read (no `take` follows): the rows in the order of a stable sort
by the keys (nulls last either way, NaN above every number, -0.0 equal to 0.0, text by code point, ties in
the frame's order), checked against a plain Python reading of the rule on random tables full of ties, nulls,
NaN, signed zeros, empty and non-ASCII text, and on an empty table."""

from __future__ import annotations

import datetime as dt
import math
import random

import polars as pl
import pytest

from heddle_lang.relational import analyze_block, sql_table_name
from heddle_lang.types import Schema

COLUMNS = {"f": pl.Float64(), "i": pl.Int64(), "s": pl.String(), "b": pl.Boolean(), "d": pl.Date(), "id": pl.Int64()}
SCHEMA = Schema.of(COLUMNS)
VALUES: dict[str, list[object]] = {
    "f": [0.0, -0.0, 1.5, -2.0, math.nan, math.inf, -math.inf, None],
    "i": [1, 2, 2, -(2**63), 2**63 - 1, None],
    "s": ["", "a", "A", "é", "e\u0301", "ß", "\U0001f600", "ab", None],
    "b": [True, False, None],
    "d": [dt.date(1970, 1, 1), dt.date(2024, 2, 29), dt.date(1, 1, 1), None],
}


def _key(value: object) -> tuple[int, object]:
    """Ascending order within a key's non-null values; nulls are placed by `_ordered`."""
    if isinstance(value, float):
        return (1, 0.0) if math.isnan(value) else (0, value + 0.0)  # -0.0 + 0.0 == 0.0
    return (0, value)


def expected(rows: list[dict[str, object]], keys: list[tuple[str, bool]]) -> list[int]:
    ordered = list(rows)
    for column, descending in reversed(keys):  # stable sorts, the last key first
        present = sorted((r for r in ordered if r[column] is not None), key=lambda r: _key(r[column]),
                         reverse=descending)  # `reverse` keeps ties in order
        ordered = present + [r for r in ordered if r[column] is None]
    return [int(r["id"]) for r in ordered]  # type: ignore[call-overload]


def _run(query: str, frame: pl.DataFrame) -> pl.DataFrame:
    analysis = analyze_block(query, {"t": SCHEMA}, is_source=True)
    assert analysis.program is not None, analysis.diagnostics
    return analysis.program.lazy({sql_table_name("t"): frame.lazy()}).collect()


@pytest.mark.parametrize("seed", range(24))
def test_rows_in_the_order_of_several_keys(seed: int) -> None:
    chance = random.Random(seed)
    rows = [{**{c: chance.choice(v) for c, v in VALUES.items()}, "id": n} for n in range(chance.randint(0, 80))]
    keys = [(c, chance.random() < 0.5) for c in chance.sample(list(VALUES), chance.randint(2, 4))]
    sort = ", ".join(f"{'-' if d else ''}{c}" for c, d in keys)
    result = _run(f"from t | sort {{{sort}}} | select {{id, {', '.join(c for c, _ in keys)}}}",
                  pl.DataFrame(rows, schema=COLUMNS))
    assert result["id"].to_list() == expected(rows, keys), sort
    assert result.columns == ["id", *(c for c, _ in keys)]


def test_a_derived_float_key() -> None:
    """As `sort_on_derived`: a float made per row (NaN, ±inf, -0.0 and null among them), then an integer."""
    rows = [{"a": a, "b": b, "id": n} for n, (a, b) in enumerate(
        [(0.0, 1.0), (-0.0, 1.0), (math.nan, 2.0), (1.0, math.inf), (-1.0, math.inf), (2.0, -0.0), (None, 1.0),
         (0.0, -1.0), (math.nan, 0.0), (1.0, 0.5), (-0.0, -1.0)])]
    schema = {"a": pl.Float64(), "b": pl.Float64(), "id": pl.Int64()}
    analysis = analyze_block("from t | derive {q = a * b} | sort {-q, id} | select {id, q}", {"t": Schema.of(schema)},
                             is_source=True)
    assert analysis.program is not None, analysis.diagnostics
    result = analysis.program.lazy({sql_table_name("t"): pl.DataFrame(rows, schema=schema).lazy()}).collect()
    products = [{"q": None if r["a"] is None else r["a"] * r["b"], "id": r["id"]} for r in rows]  # type: ignore[operator]
    assert result["id"].to_list() == expected(products, [("q", True), ("id", False)])
    assert result["id"].to_list()[:3] == [2, 8, 3]  # NaN first, then inf
