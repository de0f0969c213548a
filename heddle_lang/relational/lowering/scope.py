"""The columns an expression can see, and the types Polars gives expressions over them.

RQ names columns by number (`cid`); in a Polars frame the lowering names them `#<cid>` (a name no PRQL
identifier spells without backticks), so a join never meets two columns of the same name. `Scope.dtype`
asks Polars for an expression's type by planning it on an empty frame of the scope's schema: the
lowering's choices that depend on types (checked integer arithmetic, text formatting, temporal
arithmetic) follow exactly what Polars will compute.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import polars as pl

from heddle_lang.relational import rq


def physical(cid: int) -> str:
    """The frame column that holds RQ column `cid`."""
    return f"#{cid}"


class Scope:
    """`columns`: cid → frame column; `schema`: the frame's types; `definitions`: cids whose expression is
    evaluated where it is used (aggregations, see `frames.py`)."""

    def __init__(self, columns: Mapping[int, str], schema: Mapping[str, pl.DataType],
                 definitions: Mapping[int, rq.Expr] | None = None) -> None:
        self.columns = dict(columns)
        self.schema = dict(schema)
        self.definitions = definitions if definitions is not None else {}
        self._probe: pl.LazyFrame | None = None

    def col(self, cid: int) -> pl.Expr:
        return pl.col(self.columns[cid])

    def dtype(self, expr: pl.Expr) -> pl.DataType:
        """The type Polars gives `expr` on a frame of this scope's schema (raises Polars' error)."""
        if self._probe is None:
            self._probe = _empty(tuple(self.schema.items()))
        return self._probe.select(expr.alias("_")).collect_schema()["_"]


@functools.lru_cache(maxsize=256)
def _empty(schema: tuple[tuple[str, pl.DataType], ...]) -> pl.LazyFrame:
    """An empty frame of `schema` (made once per schema: making one costs more than planning on it)."""
    return pl.LazyFrame(schema=dict(schema))
