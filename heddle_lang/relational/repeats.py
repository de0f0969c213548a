"""A block's output columns as PRQL's SQL names them, when a join brings one name from two tables.

PRQL's relational IR (RQ) keeps both `unit_price` columns of `from invoice_items | join tracks (==track_id)`,
but prqlc's SQL, whose answer is what a block means, names each output column once: its last SELECT leaves
the second `unit_price` out, and a SELECT inside a CTE renames it (`_expr_0`). The engine runs the RQ, so
`follow_sql` gives the RQ the SQL's columns before anything reads it:

- the same number of columns: a repeated name the SQL spells otherwise takes the SQL's name;
- fewer: the repeated-name columns the SQL leaves out are dropped from the RQ's output, when exactly one
  choice of them gives the SQL's names in order;
- anything else (more columns, an unexplained name, two ways to drop) refuses the block: a table that may
  not be PRQL's is never returned.

Only an output with a repeated name is compared, so the SQL is parsed (sqlglot) for those blocks alone.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from heddle_lang.relational.rq_json import kind_of, span_of


@dataclass(frozen=True, slots=True)
class Followed:
    rq: str  # the RQ whose output has the SQL's columns (the input when nothing changed)
    # each repeated column the SQL spells otherwise: (its name, the SQL's name, or None where it is left out)
    changes: tuple[tuple[str, str | None], ...] = ()
    refusal: str | None = None  # why the output cannot be made the SQL's (then `rq` is the input)
    span: tuple[int, int] | None = None  # the join that repeats a name (compiled text), for the refusal


def follow_sql(rq_json: str, sql: str) -> Followed:
    data = json.loads(rq_json)
    relation = data.get("relation", {})
    columns = relation.get("columns", [])
    names = [_name(c) for c in columns]
    counts = Counter(n for n in names if n not in (None, "*"))
    repeated = {n for n, k in counts.items() if k > 1}
    if not repeated or "*" in names:
        return Followed(rq_json)
    pipeline = relation.get("kind", {}).get("Pipeline") if isinstance(relation.get("kind"), dict) else None
    span = _last_join(pipeline or [])
    sql_names = _sql_names(sql)
    if sql_names is None or "*" in sql_names:
        return Followed(rq_json, refusal="a join that brings a name from two tables, in a query whose SQL "
                        "columns cannot be read", span=span)
    last = kind_of(pipeline[-1]) if pipeline else ("", None)
    if last[0] != "Select" or len(last[1]) != len(columns):
        return Followed(rq_json, refusal="a join that brings a name from two tables, in a query that does not "
                        "end with its columns", span=span)
    if len(sql_names) == len(names):
        renamed = _renamed(names, sql_names, repeated)
        if renamed is None:
            return Followed(rq_json, refusal=_ambiguous(repeated), span=span)
        for position, name in renamed:
            columns[position] = {"Single": name}
        changes = tuple((str(names[position]), name) for position, name in renamed)
        return Followed(json.dumps(data) if renamed else rq_json, changes)
    kept = _kept(names, sql_names, repeated)
    if kept is None:
        return Followed(rq_json, refusal=_ambiguous(repeated), span=span)
    relation["columns"] = [columns[i] for i in kept]
    pipeline[-1] = {"Select": [last[1][i] for i in kept]}
    left_out = set(range(len(names))) - set(kept)
    return Followed(json.dumps(data), tuple((str(names[i]), None) for i in sorted(left_out)))


def _name(column: Any) -> str | None:
    if column == "Wildcard":
        return "*"
    return column.get("Single") if isinstance(column, dict) else None


def _last_join(pipeline: list[Any]) -> tuple[int, int] | None:
    for transform in reversed(pipeline):
        kind, value = kind_of(transform)
        if kind == "Join" and isinstance(value, dict):
            return span_of(value.get("filter", {}).get("span"))
    return None


def _ambiguous(repeated: set[str]) -> str:
    shown = ", ".join(f"`{n}`" for n in sorted(repeated))
    return (f"a join that brings {shown} from two tables where PRQL's SQL keeps them otherwise than its IR; "
            "select or rename the columns you need")


def _sql_names(sql: str) -> list[str] | None:
    """The output names of the SQL's outermost query ('' for an unnamed expression, '*' for a star)."""
    import sqlglot  # 0.1-0.2 s to load: only for the blocks whose output repeats a name
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except SqlglotError:
        return None
    if not isinstance(tree, exp.Query):
        return None
    names: list[str] = []
    for select in tree.selects:
        if isinstance(select, exp.Star) or (isinstance(select, exp.Column) and select.is_star):
            names.append("*")
        else:
            names.append(select.alias_or_name if isinstance(select, exp.Alias | exp.Column) else "")
    return names


def _matches(name: str | None, sql_name: str) -> bool:
    return name is None or name == sql_name


def _renamed(names: list[str | None], sql_names: list[str], repeated: set[str]) -> list[tuple[int, str]] | None:
    """The positions whose repeated name the SQL spells otherwise, with the SQL's name; None on another mismatch."""
    renamed: list[tuple[int, str]] = []
    for position, (name, sql_name) in enumerate(zip(names, sql_names, strict=True)):
        if _matches(name, sql_name):
            continue
        if name not in repeated or not sql_name:
            return None
        renamed.append((position, sql_name))
    return renamed


def _kept(names: list[str | None], sql_names: list[str], repeated: set[str]) -> list[int] | None:
    """The positions of `names` that give `sql_names` in order, dropping repeated names only, when exactly one
    choice does."""
    n, m = len(names), len(sql_names)
    # ways[i][j]: how many choices (capped at 2) match names[i:] to sql_names[j:]
    ways = [[0] * (m + 1) for _ in range(n + 1)]
    ways[n][m] = 1
    for i in range(n - 1, -1, -1):
        for j in range(m, -1, -1):
            total = ways[i + 1][j] if names[i] in repeated else 0
            if j < m and _matches(names[i], sql_names[j]):
                total += ways[i + 1][j + 1]
            ways[i][j] = min(total, 2)
    if ways[0][0] != 1:
        return None
    kept: list[int] = []
    i = j = 0
    while i < n:
        if j < m and _matches(names[i], sql_names[j]) and ways[i + 1][j + 1] == 1:
            kept.append(i)
            j += 1
        i += 1
    return kept
