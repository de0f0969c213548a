"""Relational blocks on Polars: the SQL prqlc compiled (the plan the checker typed), run by `pl.SQLContext`
over lazy frames registered as `sql_table_name(name)`.

A fused unit runs its blocks as one lazy query: each block's SQL reads the previous block's *lazy*
result, and one `collect` runs the whole chain (Polars optimises across the blocks). The intermediate
results are collected too — in the same pass, sharing the common work — only when an observer wants
node outputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import polars as pl

from heddle_engine.execute.data import Data
from heddle_lang.plan import Node
from heddle_lang.relational import sql_table_name


class QueryError(Exception):
    """A relational block has no SQL to run (the checker reported why)."""


def lazy_query(node: Node, frame_of: Callable[[str], pl.LazyFrame]) -> pl.LazyFrame:
    """The block's result as a lazy frame; `frame_of(node id)` gives each table it reads."""
    if node.sql is None:
        raise QueryError(f"the relational block on line {node.line} has no compiled SQL")
    frames = {sql_table_name(name): frame_of(source) for name, source in node.tables.items()}
    return pl.SQLContext(frames).execute(node.sql, eager=False)


def run_blocks(nodes: Sequence[Node], read: Callable[[str], Data], *, every: bool) -> dict[str, Data | None]:
    """Run the blocks of a unit as one query. The last block's output always; the others' when `every`
    (else None). `read(node id)` gives the tables from outside the unit."""
    lazies: dict[str, pl.LazyFrame] = {}

    def frame_of(node_id: str) -> pl.LazyFrame:
        return lazies[node_id] if node_id in lazies else read(node_id).lazy()

    for node in nodes:
        lazies[node.id] = lazy_query(node, frame_of)
    wanted = [n.id for n in nodes] if every else [nodes[-1].id]
    frames = pl.collect_all([lazies[i] for i in wanted]) if len(wanted) > 1 else [lazies[wanted[0]].collect()]
    collected = dict(zip(wanted, frames, strict=True))
    return {n.id: (Data(polars=collected[n.id]) if n.id in collected else None) for n in nodes}


def run_one(node: Node, read: Callable[[str], Data], computed: Mapping[str, Data]) -> Data:
    """One block alone (to find which block of a failed fused query failed)."""

    def frame_of(node_id: str) -> pl.LazyFrame:
        return (computed[node_id] if node_id in computed else read(node_id)).lazy()

    return Data(polars=lazy_query(node, frame_of).collect())
