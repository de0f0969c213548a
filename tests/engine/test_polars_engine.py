"""A Polars query that fails turns the process to Polars' in-memory engine: a failure on the streaming engine can
leave it unable to finish a later query (`heddle_engine.execute.polars_engine`), and the engine runs a failed unit
again block by block."""

from __future__ import annotations

import polars as pl
import pytest

from heddle_engine.execute import polars_engine
from heddle_engine.execute.data import Data
from heddle_engine.execute.errors import PolarsPanic, panics_as_failures
from heddle_engine.execute.relational import SMALL_ROWS, QueryError, run_blocks, run_one
from heddle_lang.plan import Node
from heddle_lang.relational import analyze_block
from heddle_lang.types import Schema

SCHEMA = {"t": Schema.of({"a": pl.Int64, "b": pl.Int64})}
DATA = pl.DataFrame({"a": range(SMALL_ROWS + 1), "b": [i % 7 for i in range(SMALL_ROWS + 1)]})  # streamed


def block(query: str) -> Node:
    analysis = analyze_block(query, SCHEMA, is_source=True)
    assert analysis.program is not None and analysis.schema is not None
    return Node("n1", "relational", "block", analysis.schema, tables={"t": "t"}, program=analysis.program)


def affinity() -> str | None:
    return pl.Config.state(if_set=True).get("POLARS_ENGINE_AFFINITY")  # type: ignore[return-value]


def test_a_failed_block_turns_the_process_to_the_in_memory_engine() -> None:
    assert not polars_engine.streaming_avoided() and affinity() is None
    overflowing = block("from t | derive {x = a * 9223372036854775807}")
    with pytest.raises(QueryError, match="overflow"):
        run_blocks([overflowing], lambda _: Data(polars=DATA), every=False)
    assert polars_engine.streaming_avoided() and affinity() == "in-memory"
    # the block alone, as the executor runs it to name the failing block, fails the same way; another answers
    with pytest.raises(QueryError, match="overflow"):
        run_one(overflowing, lambda _: Data(polars=DATA), {})
    summed = run_one(block("from t | group b (aggregate {s = sum a}) | sort b"), lambda _: Data(polars=DATA), {})
    assert summed.polars().equals(DATA.group_by("b").agg(s=pl.col("a").sum()).sort("b"))


def test_a_polars_panic_turns_it_too() -> None:
    with pytest.raises(PolarsPanic), panics_as_failures():
        raise pl.exceptions.PanicException("a defect")
    assert polars_engine.streaming_avoided()


def test_a_failure_outside_polars_leaves_the_engine_as_it_was() -> None:
    with pytest.raises(KeyError), panics_as_failures():  # a step's own code failing
        raise KeyError("missing")
    assert not polars_engine.streaming_avoided() and affinity() is None
