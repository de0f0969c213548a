"""Relational blocks on Polars: the RQ prqlc compiled, lowered to a lazy Polars query by the same
function that typed it at check time (`heddle_lang.relational.lowering`), over the lazy frames of the
tables it reads (`sql_table_name(name)` → frame).

A fused unit runs its blocks as one lazy query: each block's SQL reads the previous block's *lazy*
result, and one `collect` runs the whole chain (Polars optimises across the blocks). The intermediate
results are collected too — in the same pass, sharing the common work — only when an observer wants
node outputs.

On a cluster, a block that aggregates may run in two phases (`heddle_lang.relational.lowering.phases`):
`run_blocks(..., partial=...)` ends a unit's row-local blocks with the aggregating block's partial aggregate
(per partition), `run_combined` combines the partials of every partition and runs the blocks after it.

A unit whose inputs are all in memory and small (`SMALL_ROWS`) runs on Polars' in-memory engine: its streaming
engine, the default, costs about a millisecond more to start a query, which is most of a query over a few
thousand rows (a cross join of 5 by 25 rows: 1.8 ms streaming, 0.4 ms in memory); past about 10,000 rows
streaming is as fast or faster, and it is the one that runs a query larger than memory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import polars as pl

from heddle_engine.execute.data import Data
from heddle_engine.execute.errors import panics_as_failures
from heddle_engine.execute.needles import Needles
from heddle_lang.plan import Node
from heddle_lang.relational import rq, sql_table_name
from heddle_lang.relational.lowering import named, refusal_message
from heddle_lang.relational.lowering.phases import TwoPhases, combined_query, partial_query, two_phases
from heddle_lang.relational.pushdown import columns_read, text_needles


class QueryError(Exception):
    """A relational block has nothing to run (the checker reported why), or its data holds a value PRQL's
    SQL refuses (an integer overflow, a division by zero in `%`)."""


FrameOf = Callable[[str, frozenset[str] | None, Needles], pl.LazyFrame]


def lazy_query(node: Node, frame_of: FrameOf) -> pl.LazyFrame:
    """The block's result as a lazy frame; `frame_of(node id, columns read, needles)` gives each table it
    reads (`needles`: text its rows must hold to be kept, `pushdown.text_needles`)."""
    if node.program is None:
        raise QueryError(f"the relational block on line {node.line} has no compiled query")
    return node.program.lazy(_frames(node, frame_of))


def _refused(error: Exception, nodes: Sequence[Node]) -> Exception:
    """A run-time refusal of the lowering as a `QueryError` with its own message; other errors as they are."""
    message = refusal_message(error)
    if message is None:
        return error
    lines = ", ".join(str(n.line) for n in nodes)
    where = f"the relational block on line {lines}" if len(nodes) == 1 else f"the relational blocks on lines {lines}"
    return QueryError(f"{where}: {message}")


Pads = Mapping[str, Mapping[str, object]]  # node id -> columns it did not fetch (pushdown) and their types


def _outside(read: Callable[[str], Data], pads: Pads, node_id: str, columns: frozenset[str] | None,
             needles: Needles = ()) -> pl.LazyFrame:
    """A table from outside the unit, converted to Polars only in the `columns` the block reads (and, for
    Arrow text, maybe only in the rows that hold its `needles`: `Data.lazy`); a pushed-down step's columns
    that were not fetched are typed nulls (the block never reads them: Polars drops them before anything runs)."""
    frame = read(node_id).lazy(columns, needles)
    missing = pads.get(node_id)
    if missing:
        frame = frame.with_columns([pl.lit(None, dtype).alias(name) for name, dtype in missing.items()])  # type: ignore[arg-type]
    return frame


def lazy_blocks(nodes: Sequence[Node], read: Callable[[str], Data], pads: Pads | None = None,
                partial: TwoPhases | None = None) -> dict[str, pl.LazyFrame]:
    """The blocks of a unit as lazy queries, each reading the one before it; nothing runs yet. With `partial`,
    the last block is only aggregated in part (phase one of `partial`): its query gives its partial aggregate."""
    lazies: dict[str, pl.LazyFrame] = {}

    def frame_of(node_id: str, columns: frozenset[str] | None, needles: Needles) -> pl.LazyFrame:
        return lazies[node_id] if node_id in lazies else _outside(read, pads or {}, node_id, columns, needles)

    for node in nodes[:-1] if partial is not None else nodes:
        lazies[node.id] = lazy_query(node, frame_of)
    if partial is not None:
        last = nodes[-1]
        lazies[last.id] = partial_query(_query(last), partial, _frames(last, frame_of))
    return lazies


SMALL_ROWS = 10_000  # inputs of at most this many rows each, all in memory: the in-memory engine
Engine = Literal["auto", "in-memory"]


def run_blocks(nodes: Sequence[Node], read: Callable[[str], Data], *, every: bool, ends: Sequence[str] = (),
               pads: Pads | None = None, partial: TwoPhases | None = None) -> dict[str, Data | None]:
    """Run the blocks of a unit as one query. The last block's output always (or the outputs of `ends`: the
    last block of each chain of a joint unit, collected by one `collect_all`, so the scan they share is read
    once); the others' when `every` (else None). `read(node id)` gives the tables from outside the unit. With
    `partial`, the last block's output is its partial aggregate (`lazy_blocks`)."""
    inputs: list[Data] = []

    def reading(node_id: str) -> Data:
        data = read(node_id)
        inputs.append(data)
        return data

    lazies = lazy_blocks(nodes, reading, pads, partial)
    return _collect(nodes, lazies, every, ends, engine=engine_for(inputs))


def engine_for(inputs: Sequence[Data]) -> Engine:
    """Polars' in-memory engine for inputs all in memory and small (see the module's description), else its default."""
    rows = [data.rows_in_memory for data in inputs]
    return "in-memory" if all(n is not None and n <= SMALL_ROWS for n in rows) else "auto"


def run_combined(nodes: Sequence[Node], read: Callable[[str], Data], split: TwoPhases, partials: Data,
                 driver: Mapping[str, pl.DataType], *, every: bool, pads: Pads | None = None) -> dict[str, Data | None]:
    """Phase two of `split`, the first block's aggregation: `partials` (every partition's, stacked) combined,
    then the first block's rest and the blocks after it as one query. `driver` is the schema of the table the
    partials were made from."""
    lazies: dict[str, pl.LazyFrame] = {}

    def frame_of(node_id: str, columns: frozenset[str] | None, needles: Needles) -> pl.LazyFrame:
        return lazies[node_id] if node_id in lazies else _outside(read, pads or {}, node_id, columns, needles)

    first = nodes[0]
    source = next(iter(first.tables.values()))
    empty = Data(polars=pl.DataFrame(schema=dict(driver)))  # its types, as phase one read them

    def first_frame(node_id: str, columns: frozenset[str] | None, needles: Needles) -> pl.LazyFrame:
        if node_id == source:
            return _outside(lambda _: empty, pads or {}, node_id, columns)
        return frame_of(node_id, columns, needles)

    query = _query(first)
    lowering, state = combined_query(query, split, _frames(first, first_frame), partials.lazy())
    lazies[first.id] = named(query, lowering.finish(state, query.relation.columns), first.program.unnamed
                             if first.program is not None else ())
    for node in nodes[1:]:
        lazies[node.id] = lazy_query(node, frame_of)
    return _collect(nodes, lazies, every)


def split_of(node: Node, columns: Callable[[str], Mapping[str, pl.DataType]]) -> TwoPhases | str:
    """Can `node` aggregate in two phases, its first table cut into partitions? Its split, or why not.
    `columns(node id)` gives the schema of each table it reads."""
    if node.program is None or not node.tables:
        return "it has no compiled query"
    first, *others = node.tables.items()
    if any(source == first[1] for _, source in others):
        return "it reads its first table twice"
    frames = {sql_table_name(name): pl.LazyFrame(schema=dict(columns(source))) for name, source in node.tables.items()}
    try:
        split = two_phases(_query(node), frames)
    except Exception as error:  # a query the lowering refuses: it runs (and fails) in one phase
        return f"its aggregation cannot be planned ({type(error).__name__})"
    if isinstance(split, TwoPhases) and split.driver != sql_table_name(first[0]):
        return "it does not aggregate the rows of its first table"
    return split


def output_columns(nodes: Sequence[Node], columns: Callable[[str], Mapping[str, pl.DataType]]
                   ) -> dict[str, dict[str, pl.DataType]]:
    """The schema of each block's output, planned on empty frames (`columns(node id)`: a table from outside)."""
    schemas: dict[str, dict[str, pl.DataType]] = {}

    def frame_of(node_id: str, _: frozenset[str] | None, __: Needles) -> pl.LazyFrame:
        return pl.LazyFrame(schema=dict(schemas[node_id] if node_id in schemas else columns(node_id)))

    for node in nodes:
        schemas[node.id] = dict(lazy_query(node, frame_of).collect_schema())
    return schemas


def _query(node: Node) -> rq.Query:
    if node.program is None:
        raise QueryError(f"the relational block on line {node.line} has no compiled query")
    return rq.parse(node.program.rq)


def _frames(node: Node, frame_of: FrameOf) -> dict[str, pl.LazyFrame]:
    program = node.program
    assert program is not None
    return {sql_table_name(name): frame_of(source, columns_read(program, name), text_needles(program, name))
            for name, source in node.tables.items()}


def _collect(nodes: Sequence[Node], lazies: Mapping[str, pl.LazyFrame], every: bool,
             ends: Sequence[str] = (), engine: Engine = "auto") -> dict[str, Data | None]:
    wanted = [n.id for n in nodes] if every else list(ends) or [nodes[-1].id]
    try:
        with panics_as_failures():
            frames = (pl.collect_all([lazies[i] for i in wanted], engine=engine) if len(wanted) > 1
                      else [lazies[wanted[0]].collect(engine=engine)])
    except Exception as error:
        raise _refused(error, nodes) from error
    collected = dict(zip(wanted, frames, strict=True))
    return {n.id: (Data(polars=collected[n.id]) if n.id in collected else None) for n in nodes}


def run_one(node: Node, read: Callable[[str], Data], computed: Mapping[str, Data], pads: Pads | None = None) -> Data:
    """One block alone (to find which block of a failed fused query failed)."""

    def frame_of(node_id: str, columns: frozenset[str] | None, needles: Needles) -> pl.LazyFrame:
        if node_id in computed:
            return computed[node_id].lazy()
        return _outside(read, pads or {}, node_id, columns, needles)

    try:
        with panics_as_failures():
            return Data(polars=lazy_query(node, frame_of).collect())
    except Exception as error:
        raise _refused(error, [node]) from error
