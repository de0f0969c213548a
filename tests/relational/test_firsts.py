"""Rows dropped before a numbering or a take that keeps the first rows of an order (`lowering/firsts.py`): the
same table as numbering every row, and DuckDB's, on random tables with many ties, nulls in partition and sort
keys, partitions smaller than the number kept, and no rows; the forms it must not change keep every row."""

from __future__ import annotations

import random

import polars as pl
import pyarrow as pa
import pytest
from polars.testing import assert_frame_equal

from heddle_lang.relational import analyze_block, sql_table_name
from heddle_lang.relational.lowering import firsts, frames
from tests.differential.compare import differences
from tests.differential.reference import answer, schema_of


def _table(seed: int) -> pa.Table:
    chance = random.Random(seed)
    rows = chance.choice([0, 1, chance.randint(2, 90)])
    return pa.table({
        "g": [chance.choice([1, 2, 3, None]) for _ in range(rows)],
        "h": [chance.choice(["a", "b", None]) for _ in range(rows)],
        "x": [chance.choice([5, 1, 1, 3, 8, None]) for _ in range(rows)],
        "s": [chance.choice(["p", "q", "r", None]) for _ in range(rows)],
        "f": [chance.choice([0.5, -0.0, 0.0, float("nan"), None]) for _ in range(rows)],
        "id": list(range(rows)),
    }, schema=pa.schema([("g", pa.int64()), ("h", pa.string()), ("x", pa.int64()), ("s", pa.string()),
                         ("f", pa.float64()), ("id", pa.int64())]))


DROPPED = [
    "from t | group g (sort {-x, id} | derive {r = row_number this}) | filter r == 1 | sort {g, id}",
    "from t | group g (sort {x} | derive {r = rank x}) | filter r <= 2 | sort {g, id}",
    "from t | group {g, h} (sort {-s, x} | derive {r = rank s}) | filter r < 3 | select {g, h, id, r} | sort id",
    "from t | group g (sort {x, id} | derive {r = row_number this}) | filter 2 >= r && id > 3 | sort id",
    "from t | group g (sort {x, id} | derive {r = row_number this}) | filter r == 2 | sort id",
    "from t | group g (sort {x} | derive {r = rank x}) | filter r <= 0 | sort id",
    "from t | sort {-x, id} | derive {r = row_number this} | filter r <= 3 | sort id",
    "from t | group g (sort {-x, id} | take 2) | sort {g, id}",
    "from t | group h (sort {s, -id} | take 2..3) | sort {h, id}",
    "from t | group g (sort {x} | derive {r = rank x}) | sort {g, id} | take 7",
    "from t | group g (sort {-x, id} | derive {n = row_number this}) | sort {-g, -n} | select {g, id, n} | take 5",
    "from t | group {h, g} (sort {x, id} | derive {n = row_number this}) | group g (sort id | derive"
    " {m = lag 1 id}) | sort {g, h, id} | take 6",
]

KEPT = [
    "from t | group g (sort {f, id} | derive {r = row_number this}) | filter r == 1 | sort {g, id}",  # floats
    "from t | group g (sort {x, id} | derive {r = row_number this}) | filter r >= 2 | sort id",
    "from t | group g (sort {x, id} | derive {r = row_number this}) | filter r == 1 || id > 3 | sort id",
    "from t | group g (sort {x} | derive {r = rank_dense x}) | filter r <= 2 | sort id",
    "from t | group g (sort {x, id} | derive {r = row_number this}) | filter id > 2 | filter r == 1 | sort id",
    "from t | group g (sort {x} | derive {r = rank x}) | sort {id} | take 7",  # not by the partition
    "from t | group g (sort {x} | derive {r = rank x}) | filter x > 1 | sort {g, id} | take 7",
    "from t | group g (sort {x, id} | derive {n = row_number this}) | group h (sort id | derive"
    " {m = lag 1 id}) | sort {g, h, id} | take 6",  # a window over partitions without g
]


def _frames(table: pa.Table) -> dict[str, pl.LazyFrame]:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return {sql_table_name("t"): frame.lazy()}


def _run(query: str, table: pa.Table) -> pl.LazyFrame:
    analysis = analyze_block(query, {"t": schema_of(table)}, is_source=True)
    assert analysis.program is not None, [d.message for d in analysis.diagnostics]
    return analysis.program.lazy(_frames(table))


def _plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frames, "first_rows", lambda *args: None)
    monkeypatch.setattr(frames, "whole_partitions", lambda *args: None)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("query", DROPPED + KEPT)
def test_same_as_duckdb(seed: int, query: str) -> None:
    table = _table(seed)
    reference = answer(query, {"t": table})
    assert reference.frame is not None, reference.error
    assert differences(_run(query, table).collect(), reference) == [], reference.sql


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("query", DROPPED)
def test_same_as_numbering_every_row(seed: int, query: str, monkeypatch: pytest.MonkeyPatch) -> None:
    table = _table(seed)
    assert firsts._LAST in _run(query, table).explain() or "r <= 0" in query
    dropped = _run(query, table).collect()
    _plain(monkeypatch)
    every = _run(query, table).collect()
    assert_frame_equal(dropped, every, check_exact=True)  # NaN equal to NaN


@pytest.mark.parametrize("query", KEPT)
def test_kept_every_row(query: str) -> None:
    assert firsts._LAST not in _run(query, _table(3)).explain()
