"""Window functions and frames against DuckDB on prqlc's SQL, on random tables whose partitions hold many rows
with ties, nulls (in partition keys, sort keys and values), NaN, ±0.0 and infinities: the corpus' edge data
sets hold a row or two per partition, so the rewrites that work on whole partitions (range frames found once
for all their aggregates, in the frame's order; rows frames of a few rows side by side) are checked here."""

from __future__ import annotations

import math
import random

import polars as pl
import pyarrow as pa
import pytest

from heddle_lang.relational import analyze_block, sql_table_name
from tests.differential.compare import differences
from tests.differential.reference import Database, answer

_FLOATS = [0.5, -1.0, 2.0, 2.0, 3.5, -0.0, 0.0, math.inf, -math.inf, math.nan, None]
_INTS = [1, 2, 2, 3, 5, 8, -4, None]
_FAR = 1e6


def _table(seed: int, rows: int) -> pa.Table:
    chance = random.Random(seed)
    return pa.table({
        "g": [chance.choice([1, 2, 3, None]) for _ in range(rows)],
        "k": [chance.choice(_FLOATS) for _ in range(rows)],
        "i": [chance.choice(_INTS) for _ in range(rows)],
        "v": [chance.choice([1.5, -2.25, 4.0, None, 0.0]) for _ in range(rows)],
        "n": [chance.choice([3, -7, 11, None]) for _ in range(rows)],
        "id": list(range(rows)),
        "x": [chance.choice([2**62, 2**62 + 2, 2**62 - 3, -(2**62), None]) for _ in range(rows)],
        "u": [chance.choice([5, 6, 9, 2**63 + 1, 2**64 - 7, None]) for _ in range(rows)],
        # far from 0 next to their spread (a standard deviation made of sums of squares loses it), often equal
        "w": [chance.choice([_FAR + 0.25, _FAR + 0.5, _FAR + 0.5, _FAR + 0.75, None]) for _ in range(rows)],
    }, schema=pa.schema([("g", pa.int64()), ("k", pa.float64()), ("i", pa.int64()), ("v", pa.float64()),
                         ("n", pa.int64()), ("id", pa.int64()), ("x", pa.int64()), ("u", pa.uint64()),
                         ("w", pa.float64())]))


QUERIES = [
    # range frames: several aggregates of one frame, float and integer keys, both directions, open ends
    "from t | group g (sort k | window range:-1..2 (derive {a = sum v, b = min v, c = count this, d = max n,"
    " e = average n})) | sort id",
    "from t | group g (sort {-k} | window range:-1..3 (derive {a = sum n, b = max v, c = count this,"
    " d = stddev v})) | sort id",
    "from t | group g (sort {-i} | window range:..1 (derive {a = min v, b = stddev v, c = sum n, f = max k})"
    " | window range:-2.. (derive {d = min n, e = count this, h = min k})) | sort id",
    # standard deviations over frames that start at the partition's first row or end at its last
    "from t | group g (sort {-i} | window range:..1 (derive {a = stddev w, b = stddev v}) | window range:-2.."
    " (derive {c = stddev w, d = stddev n})) | sort id",
    "from t | group g (sort k | window range:..2 (derive {a = stddev w}) | window range:1.. (derive"
    " {b = stddev w, c = stddev v})) | sort id",
    "from t | sort {-k} | window range:..-1 (derive {a = stddev w}) | window range:2.. (derive {b = stddev n})"
    " | sort id",
    "from t | group g (sort k | window range:..1 (derive {a = max v, b = min k}) | window range:1.. (derive"
    " {c = max k, d = min n})) | sort id",
    "from t | group g (sort i | window range:-3..-1 (derive {a = sum v, b = min n, c = count this})) | sort id",
    "from t | sort {-k} | window range:0..2 (derive {a = sum n, b = max v, c = count this}) | sort id",
    "from t | sort i | window range:-2..2 (derive {a = min v, b = max v, c = count this}) | sort id",
    # integer keys far from 0 (a key's distance from the least one packs it) and a span past 2^63
    "from t | group g (sort {-x} | window range:-3..2 (derive {a = count this, b = sum n, c = min v})) | sort id",
    "from t | filter x > 0 | sort x | window range:-2..0 (derive {a = count this, b = max n}) | sort id",
    # unsigned 64-bit keys past 2^63, both directions
    "from t | group g (sort {-u} | window range:-1..3 (derive {a = count this, b = sum n, c = max v})) | sort id",
    "from t | sort u | window range:-4..0 (derive {a = count this, b = min n}) | sort id",
    # a range frame's ends kept for the next compute over the same window, not past a filter or another window
    "from t | group g (sort k | window range:-1..2 (derive {a = sum v})) | filter v != null | group g (sort k"
    " | window range:-1..2 (derive {b = count this, c = min n})) | sort id",
    "from t | group g (sort {-i} | window range:0..2 (derive {a = count this}) | window range:-1..0 (derive"
    " {b = sum n}) | window range:0..2 (derive {c = max v, d = count this, e = stddev v})) | sort id",
    "from t | sort {-k} | window range:-2..1 (derive {a = count this, b = sum n}) | filter n != 3 | window"
    " range:-2..1 (derive {c = count this, d = min v}) | sort id",
    # rows frames: of a few rows (side by side) and of more, running
    "from t | group g (sort {i, id} | window rows:-2..1 (derive {a = sum n, b = sum v, c = count v, d = average n,"
    " e = min v, f = max k})) | sort id",
    "from t | group g (sort {-k, id} | window rows:-20..0 (derive {a = sum n, b = average v, c = count k}))"
    " | sort id",
    "from t | group g (sort {i, id} | window rows:1..3 (derive {a = sum n, b = sum k, c = count n})) | sort id",
    # rows frames whose ends leave the partition on one side only; lag and lead in partitions and without
    "from t | group g (sort {i, id} | window rows:..-1 (derive {a = sum n, b = min v, c = count this})"
    " | window rows:2.. (derive {d = sum v, e = max n, f = average n})) | sort id",
    "from t | group g (sort {k, id} | derive {a = lag 1 v, b = lead 2 n, c = lag 3 id}) | sort id",
    "from t | group g (sort {-i, id} | derive {a = first v, b = last n, c = first k}) | sort id",
    "from t | group {g, i} (sort {id} | derive {a = first k}) | sort id",
    "from t | sort {i, id} | window rows:-3..-1 (derive {a = sum n, b = min v}) | derive {c = lead 1 v, d = lag 2 k}"
    " | sort id",
    # whole partitions: all/any over null values (partitions without values give null)
    "from t | derive {big = v > 0} | group {g, i} (derive {a = all big, b = any big, c = sum n}) | sort id",
]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("query", QUERIES)
def test_same_as_duckdb(seed: int, query: str) -> None:
    table = _table(seed, random.Random(seed).randint(0, 80))
    database = Database({"t": table})
    try:
        reference = answer(query, {"t": table}, database)
        assert reference.frame is not None, reference.error
        analysis = analyze_block(query, database.schemas, is_source=True)
        assert analysis.program is not None, [d.message for d in analysis.diagnostics]
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        result = analysis.program.lazy({sql_table_name("t"): frame.lazy()}).collect()
        assert differences(result, reference) == [], reference.sql
    finally:
        database.close()


def _edge(kind: str) -> pa.Table:
    """A random table made an edge case: no rows, a partition per row, every sort key null, only NaN and
    infinite float keys, every key tied."""
    frame = pl.from_arrow(_table(11, 60))
    assert isinstance(frame, pl.DataFrame)
    if kind == "empty":
        frame = frame.head(0)
    elif kind == "single":
        frame = frame.with_columns(pl.col("id").alias("g"))
    elif kind == "null_keys":
        frame = frame.with_columns(pl.lit(None, pl.Float64).alias("k"), pl.lit(None, pl.Int64).alias("i"),
                                   pl.lit(None, pl.UInt64).alias("u"))
    elif kind == "nan_keys":
        frame = frame.with_columns(pl.Series("k", [[math.nan, math.inf, -math.inf][at % 3] for at in range(60)]))
    else:
        frame = frame.with_columns(pl.lit(2.0).alias("k"), pl.lit(3, pl.Int64).alias("i"),
                                   pl.lit(5, pl.UInt64).alias("u"))
    return frame.to_arrow()


@pytest.mark.parametrize("kind", ["empty", "single", "null_keys", "nan_keys", "ties"])
@pytest.mark.parametrize("query", [q for q in QUERIES if "range:" in q])
def test_edge_tables_same_as_duckdb(kind: str, query: str) -> None:
    table = _edge(kind)
    database = Database({"t": table})
    try:
        reference = answer(query, {"t": table}, database)
        assert reference.frame is not None, reference.error
        analysis = analyze_block(query, database.schemas, is_source=True)
        assert analysis.program is not None, [d.message for d in analysis.diagnostics]
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        result = analysis.program.lazy({sql_table_name("t"): frame.lazy()}).collect()
        assert differences(result, reference) == [], reference.sql
    finally:
        database.close()
