"""The `let` lines that tell prqlc what each table holds.

prqlc knows nothing of a table's columns, so the compiled text starts with one line per table the
block reads:

    let users = (from __heddle_users | select {this.id, this.name})  # a closed schema
    let events = (from __heddle_events)                             # an open (or unknown) schema

With the columns listed, prqlc resolves names after a join and reports unknown and ambiguous names
itself; the SQL it emits reads `__heddle_<name>` (see `model.sql_table_name`). An open schema cannot
list its columns: prqlc then attributes unknown names to it, and the planner adds them as columns of
unknown type.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from heddle_lang.records import record
from heddle_lang.relational.model import sql_table_name
from heddle_lang.types import Schema

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Words prqlc's parser reads as keywords or literals: a name spelt like one needs backticks.
_KEYWORDS = frozenset({
    "let", "into", "case", "prql", "type", "module", "internal", "func", "import", "enum", "true", "false",
    "null", "this", "that",
})


def quote_name(name: str) -> str | None:
    """`name` as a PRQL identifier (backticks when needed); None when it cannot be written."""
    if _PLAIN.match(name) and name not in _KEYWORDS:
        return name
    if "`" in name or "\n" in name or not name:
        return None
    return f"`{name}`"


@record
class Prelude:
    text: str  # ends with a line break; the block's PRQL follows it
    tables: tuple[str, ...]


def build_prelude(tables: Iterable[tuple[str, Schema]]) -> Prelude:
    lines: list[str] = []
    names: list[str] = []
    for name, schema in tables:
        table = quote_name(name)
        source = quote_name(sql_table_name(name))
        if table is None or source is None:
            continue
        names.append(name)
        if schema.open:
            lines.append(f"let {table} = (from {source})")
            continue
        columns: list[str] = []
        seen: set[str] = set()
        for column in schema.columns:
            quoted = quote_name(column.name)
            if quoted is not None and column.name not in seen:
                seen.add(column.name)
                # `this.` lets a column share its name with a PRQL type or function (`timestamp`, `sum`).
                columns.append(f"this.{quoted}")
        lines.append(f"let {table} = (from {source} | select {{{', '.join(columns)}}})")
    return Prelude("".join(line + "\n" for line in lines), tuple(names))
