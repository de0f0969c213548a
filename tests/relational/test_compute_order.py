"""Where a derive is computed around the sort that ends a pipeline (`frames._passes_pending`): before it when the
computes read more columns than they make that nothing else keeps (the sort moves fewer), after it otherwise
and whenever a take or a filter follows the sort (only the rows kept are computed). DuckDB's answers either
way, on random tables with nulls and shuffled sort keys."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from tests.differential.compare import differences
from tests.differential.reference import answer
from tests.relational.lowered import lowered

BEFORE = [
    'from t | derive {label = f"{a} / {b}"} | select {id, label} | sort id',
    'from t | derive {label = f"{a} / {b}"} | select {id, label} | sort {-id} | select {label}',
]
AFTER = [
    'from t | derive {x = f"{a}!", y = f"{a}?"} | select {id, x, y} | sort id',  # makes more than it reads
    'from t | derive {label = f"{a} / {b}"} | select {id, a, b, label} | sort id',  # its inputs are kept
    'from t | derive {label = f"{a} / {b}"} | select {id, label} | sort id | take 3',
    'from t | derive {label = f"{a} / {b}"} | sort id | filter id > 2 | select {id, label}',
    'from t | derive {label = f"{a} / {id}"} | select {id, label} | sort id',  # it reads the sort key
]


def _table(seed: int) -> dict[str, pa.Table]:
    chance = random.Random(seed)
    rows = chance.choice([0, 1, chance.randint(2, 50)])
    ids = list(range(rows))
    chance.shuffle(ids)
    return {"t": pa.table({
        "id": ids,
        "a": [chance.choice(["x", "ü", "", None]) for _ in range(rows)],
        "b": [chance.choice(["long enough to be stored apart", "y", None]) for _ in range(rows)],
    }, schema=pa.schema([("id", pa.int64()), ("a", pa.string()), ("b", pa.string())]))}


def _computed_before_the_sort(query: str) -> bool:
    plan = lowered(query, _table(1)).explain()  # the plan reads from the top: the last step first
    return plan.index("SORT BY") < plan.index("concat_horizontal")


@pytest.mark.parametrize("query", BEFORE)
def test_computed_before_the_sort(query: str) -> None:
    assert _computed_before_the_sort(query)


@pytest.mark.parametrize("query", AFTER)
def test_computed_after_the_sort(query: str) -> None:
    assert not _computed_before_the_sort(query)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("query", BEFORE + AFTER)
def test_same_as_duckdb(seed: int, query: str) -> None:
    tables = _table(seed)
    reference = answer(query, tables)
    assert reference.frame is not None, reference.error
    assert differences(lowered(query, tables).collect(), reference) == [], reference.sql
