"""Aggregations in two phases give the one-phase table exactly: every query of the differential corpus that
`two_phases` accepts, on every data set (the real chinook data, no rows, nulls, text of many scripts, the limits
of each type), its first table cut into partitions (one of them empty), partial per partition, combined once —
the same rows, values and types, or the same refusal. And the queries it refuses say why."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
import pyarrow as pa
import pytest

from heddle_lang.relational import rq, sql_table_name
from heddle_lang.relational.analyze import analyze_block
from heddle_lang.relational.lowering import lazy_query, named
from heddle_lang.relational.lowering.phases import TwoPhases, combined_query, partial_query, two_phases
from tests.differential.corpus import load
from tests.differential.datasets import KINDS, dataset
from tests.differential.reference import schema_of

CASES = load()


@pytest.fixture(scope="module")
def data() -> dict[str, dict[str, pa.Table]]:
    return {kind: dataset(kind) for kind in KINDS}


def _program(query: str, tables: Mapping[str, pa.Table]) -> tuple[rq.Query, tuple[str, ...], tuple[str, ...]] | None:
    analysis = analyze_block(query, {name: schema_of(t) for name, t in tables.items()}, is_source=True)
    if analysis.program is None:
        return None
    return rq.parse(analysis.program.rq), analysis.program.unnamed, analysis.tables


def _parts(table: pa.Table, count: int) -> list[pa.Table]:
    """`count` consecutive slices, the second one empty."""
    size = -(-table.num_rows // (count - 1)) if table.num_rows else 0
    cuts = [table.slice(0, size), table.slice(0, 0)]
    cuts += [table.slice(size * i, size) for i in range(1, count - 1)]
    return cuts


def _result(make: object) -> pl.DataFrame | str:
    try:
        return make().collect()  # type: ignore[operator, no-any-return]
    except Exception as error:  # a refusal (an overflow): the other phase must refuse too
        return f"refused: {type(error).__name__}"


def _two_phase(query: rq.Query, split: TwoPhases, unnamed: tuple[str, ...], frames: dict[str, pl.LazyFrame],
               table: pa.Table) -> pl.DataFrame | str:
    partials = []
    for part in _parts(table, 4):
        inputs = {**frames, split.driver: pl.from_arrow(part).lazy()}
        one = _result(lambda inputs=inputs: partial_query(query, split, inputs))
        if isinstance(one, str):
            return one
        partials.append(one.to_arrow())  # as they travel between tasks
    empty = pl.LazyFrame(schema=frames[split.driver].collect_schema())
    stacked = pl.from_arrow(pa.concat_tables(partials)).lazy()

    def combined() -> pl.LazyFrame:
        lowering, state = combined_query(query, split, {**frames, split.driver: empty}, stacked)
        return named(query, lowering.finish(state, query.relation.columns), unnamed)

    return _result(combined)


def _rows(frame: pl.DataFrame | str) -> object:
    if isinstance(frame, str):
        return frame
    return frame.schema, sorted(map(repr, frame.rows()))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_two_phases_give_the_one_phase_table(case: object, data: dict[str, dict[str, pa.Table]]) -> None:
    for kind, tables in data.items():
        found = _program(case.query, tables)  # type: ignore[attr-defined]
        if found is None:
            return
        query, unnamed, names = found
        frames = {sql_table_name(n): pl.from_arrow(tables[n]).lazy() for n in names if n in tables}
        split = two_phases(query, frames)
        if not isinstance(split, TwoPhases):
            continue
        table = tables[next(n for n in names if sql_table_name(n) == split.driver)]
        one = _result(lambda query=query, frames=frames, unnamed=unnamed: lazy_query(query, frames, unnamed))
        two = _two_phase(query, split, unnamed, frames, table)
        assert _rows(two) == _rows(one), kind


def test_the_corpus_holds_queries_in_two_phases_and_refused_ones(data: dict[str, dict[str, pa.Table]]) -> None:
    tables = data["chinook"]
    verdicts: dict[str, TwoPhases | str] = {}
    for case in CASES:
        found = _program(case.query, tables)
        if found is not None:
            query, _, names = found
            verdicts[case.id] = two_phases(query, {sql_table_name(n): pl.from_arrow(tables[n]).lazy()
                                                  for n in names if n in tables})
    assert isinstance(verdicts["aggregate/aggregate_int_sum"], TwoPhases)
    assert isinstance(verdicts["aggregate/aggregate_all_any"], TwoPhases)
    assert verdicts["aggregate/aggregate_count_distinct"] == (
        "`count_distinct` does not combine exactly from partial results")
    assert verdicts["aggregate/aggregate_stddev"] == "`stddev` does not combine exactly from partial results"
    assert verdicts["aggregate/aggregate_all_rows"] == (
        "`sum` of floats changes with the order of the rows (not exact in two phases)")
    assert sum(isinstance(v, TwoPhases) for v in verdicts.values()) >= 10
