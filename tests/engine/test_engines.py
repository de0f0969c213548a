"""Which of Polars' engines runs a unit of relational blocks: the in-memory one for small inputs held in memory (it
starts a query about a millisecond sooner), the default (streaming) one for anything larger or read from a file."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from heddle_engine.execute import relational
from heddle_engine.execute.data import Data
from heddle_engine.execute.relational import SMALL_ROWS, engine_for, run_blocks
from heddle_lang.plan import Node
from heddle_lang.relational import analyze_block
from heddle_lang.types import Schema


def frame(rows: int) -> pl.DataFrame:
    return pl.DataFrame({"a": range(rows), "b": [i % 7 for i in range(rows)]})


def test_small_inputs_in_memory_take_the_in_memory_engine() -> None:
    small, large = frame(SMALL_ROWS), frame(SMALL_ROWS + 1)
    assert engine_for([Data(polars=small), Data(arrow=small.to_arrow())]) == "in-memory"
    assert engine_for([Data(polars=small), Data(polars=large)]) == "auto"
    assert engine_for([Data(polars=small), Data(lazy=small.lazy())]) == "auto"  # a scan: its rows are not counted
    assert engine_for([]) == "in-memory"  # a block of literals only


@pytest.mark.parametrize(("rows", "engine"), [(50, "in-memory"), (SMALL_ROWS + 1, "auto")])
def test_a_unit_collects_on_the_engine_its_inputs_choose(rows: int, engine: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    query = "from t | group b (aggregate {n = count this, s = sum a}) | sort b"
    analysis = analyze_block(query, {"t": Schema.of({"a": pl.Int64, "b": pl.Int64})}, is_source=True)
    assert analysis.program is not None and analysis.schema is not None
    node = Node("n1", "relational", "block", analysis.schema, tables={"t": "t"}, program=analysis.program)
    used: list[Any] = []
    collect = pl.LazyFrame.collect

    def recording(self: pl.LazyFrame, *args: Any, **kwargs: Any) -> pl.DataFrame:
        used.append(kwargs.get("engine"))
        return collect(self, *args, **kwargs)

    monkeypatch.setattr(relational.pl.LazyFrame, "collect", recording)
    data = frame(rows)
    out = run_blocks([node], lambda _: Data(polars=data), every=False)["n1"]
    assert used == [engine]
    assert out is not None
    expected = data.group_by("b").agg(n=pl.len().cast(pl.Int64), s=pl.col("a").sum()).sort("b")
    assert out.polars().cast({"n": pl.Int64}).equals(expected)
