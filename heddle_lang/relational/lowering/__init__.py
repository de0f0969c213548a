"""A relational block's RQ (prqlc's relational IR) lowered to a Polars lazy query.

    lazy_query(query, inputs, unnamed)   the block's result as a `pl.LazyFrame`

The same function types a block at check time (on empty frames of the known schemas: `collect_schema`)
and runs it (on the real frames), so the schema `heddle plan` shows is the one the run produces. What
it cannot compute exactly as PRQL defines it raises `UnsupportedError` (HE6007 at check time); a value that
PRQL's SQL rejects only at run time (an integer overflow, `% 0`) fails the query with a message that
`refusal_message` recognises. The reference for "as PRQL defines it" is DuckDB running the SQL prqlc
compiles for it (`tests/differential/`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from heddle_lang.relational import rq
from heddle_lang.relational.lowering.errors import UnsupportedError, refusal_message
from heddle_lang.relational.lowering.frames import Lowered, Lowering

__all__ = ["UnsupportedError", "lazy_query", "output_names", "refusal_message"]


def output_names(columns: Sequence[rq.RelColumn], wildcard_names: Sequence[Sequence[str]],
                 unnamed: Sequence[str]) -> list[str]:
    """The block's column names: PRQL's names; `unnamed` for the columns PRQL leaves unnamed (in order);
    a wildcard's columns keep theirs; a name taken earlier gets `:1`, `:2`, ..."""
    names: list[str] = []
    spare = list(unnamed)
    for column, expanded in zip(columns, wildcard_names, strict=True):
        if column.wildcard:
            names.extend(expanded)
        elif column.name is not None:
            names.append(column.name)
        else:
            names.append(spare.pop(0) if spare else f"_expr_{len(names)}")
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        candidate, count = name, 0
        while candidate in seen:
            count += 1
            candidate = f"{name}:{count}"
        seen.add(candidate)
        out.append(candidate)
    return out


def lazy_query(query: rq.Query, inputs: Mapping[str, pl.LazyFrame], unnamed: Sequence[str] = ()) -> pl.LazyFrame:
    """The block's result: `inputs` maps each table the RQ reads (`__heddle_<name>`) to its frame."""
    return named(query, Lowering(query, inputs).relation(query.relation), unnamed)


def named(query: rq.Query, lowered: Lowered, unnamed: Sequence[str]) -> pl.LazyFrame:
    """The main relation's frame with the block's column names, in output order."""
    expanded = [[lowered.originals.get(n, n) for n in names] for names in lowered.columns]
    names = output_names(query.relation.columns, expanded, unnamed)
    physical = [n for names_ in lowered.columns for n in names_]
    named = dict(zip(physical, names, strict=True))
    return lowered.frame.select([pl.col(p).alias(named[p]) for p in lowered.ordered()])
