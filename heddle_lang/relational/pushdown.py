"""Relational pushdown: the filters, projection and limit of a block that a database step can run itself.

`push(program, table, schema, dialect, query)` reads the block's RQ and, for the table `table` (a step
whose config holds the SELECT `query` in SQL dialect `dialect`), returns the query to send instead:

    WITH __heddle_src AS (<query>) SELECT <columns> FROM __heddle_src WHERE <filters> LIMIT <n>

written by prqlc for the dialect from a small RQ of the pushed part. The block is not changed: it applies
its filters and limit again to the rows that come back, which gives the same result as long as the
database keeps every row the block keeps. So only what every dialect computes exactly as the block does
is pushed:

- columns: the step's columns the block reads anywhere (the rest are not fetched; the engine gives the
  block typed null columns in their place, which it never reads);
- filters: the terms (of the `&&`s) of filters that come first in the block, right after `from`, made
  of the step's columns compared with literals (numbers with `== != < > <= >=`; booleans, and text as
  collations order text differently, only with `==`/`!=`), `== null`, `in [...]` and `&&`/`||`/`!` of
  those; a term that is not pushed stays with the block only. A column of unknown type (an offline
  typed query rarely knows them) is compared as its literal says: where the database holds another
  type, the comparison fails there as it would in the block;
- the limit: `take n` / `take a..b` without `sort` and without a group, when every filter before it was
  pushed and keeps exactly the block's rows (no text equality: a padded CHAR column or a
  case-insensitive collation keeps more rows, which the block then drops).

A number compared with a column of another kind (an integer with a float column, a float with an integer
column or a column of unknown type) is pushed only below 2**53 in magnitude: the block compares such
pairs as doubles, databases compare them exactly. A float is never compared with a 32-bit float column.

ClickHouse (`clickhouse`) is written for every server from 18.16 on: the step's query is a subquery
(`SELECT ... FROM (<query>) AS __heddle_src ...`, as old servers have no `WITH name AS (...)`); ordered
comparisons only on integer columns (it orders NaN as IEEE does, the block as greatest); no boolean
literal but on a column known to be boolean (old servers have neither the type nor `true`); text compared
as the block sees the column, `toString(column) = '...'` with the literal escaped for ClickHouse (an Enum,
UUID or FixedString column reaches the block as that text); `in [...]` never before a pushed limit (an old
server's `NULL IN (...)` is false, not null, so `!(x | in [...])` keeps null rows there); a column name
with a backtick or backslash pushes nothing.

Nothing is pushed for a table the block reads with a wildcard (an open schema), joins more than once, or
that is not the block's first table (`from`) — its projection is still pushed if the block reads it
plainly. The result is None when nothing at all would change.

`text_needles(program, table)` finds, in the same filters, the text a row's column must hold to be kept
(`text.contains "Love"`): the engine looks for it in Arrow data before converting the rows (see
`heddle_engine.execute.needles`).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import polars as pl

from heddle_lang.records import record
from heddle_lang.relational.model import Program, sql_table_name
from heddle_lang.relational.rq_json import kind_of, table_refs
from heddle_lang.types import Schema

SOURCE = "__heddle_src"
_COMPARISONS = frozenset({"std.eq", "std.ne", "std.gt", "std.lt", "std.gte", "std.lte"})
_EQUALITY = frozenset({"std.eq", "std.ne"})
_NAN_GREATEST = frozenset({"postgres", "sqlite", "duckdb"})
_SUBQUERY = frozenset({"clickhouse"})  # dialects given the step's query as a subquery, not a WITH
_EXACT_DOUBLE = 2**53  # integers below it in magnitude are doubles exactly


@record
class Pushed:
    sql: str  # the query to send
    columns: tuple[str, ...]  # the step's columns it returns
    filters: int  # filter terms pushed
    limit: str | None  # e.g. "LIMIT 10 OFFSET 5", when pushed

    def describe(self) -> str:
        parts = [f"columns {', '.join(self.columns)}"]
        if self.filters:
            parts.append(f"{self.filters} filter term{'s' if self.filters != 1 else ''}")
        if self.limit:
            parts.append(self.limit.lower())
        return "; ".join(parts)


def _cids(node: object) -> set[int]:
    """Every column id a JSON fragment of RQ mentions (references, selects, sorts, partitions)."""
    found: set[int] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "ColumnRef" and isinstance(value, int):
                found.add(value)
            elif key in ("Select", "partition", "compute") and isinstance(value, list):
                found.update(v for v in value if isinstance(v, int))
            elif key == "column" and isinstance(value, int):
                found.add(value)
            elif key == "columns" and isinstance(value, list):
                continue  # a table reference's own column list declares, it does not use
            else:
                found.update(_cids(value))
    elif isinstance(node, list):
        for item in node:
            found.update(_cids(item))
    return found


class _Terms:
    """Which filter expressions the database computes as the block does (see the module)."""

    def __init__(self, types: dict[int, pl.DataType | None], dialect: str) -> None:
        self.types = types  # the step's columns (by cid in the block) and their types (None: unknown)
        self.exact = True  # every pushed term keeps exactly the block's rows (not more)
        # NaN is greater than every number for PostgreSQL and DuckDB (and SQLite has none); ClickHouse
        # compares it as IEEE does (`nan > 1` is false): only equality is the same there
        self.ordered = dialect in _NAN_GREATEST
        self.clickhouse = dialect == "clickhouse"

    def _literal(self, expr: dict[str, Any]) -> tuple[str, Any] | None:
        """A literal's kind (`Integer`, `Float`, `Boolean`, `String`, `Null`) and value."""
        kind, value = kind_of(expr.get("kind"))
        if kind == "Operator" and value["name"] == "std.neg" and len(value["args"]) == 1:
            inner = self._literal(value["args"][0])
            return inner if inner is not None and inner[0] in ("Integer", "Float") else None
        if kind != "Literal":
            return None
        literal, content = kind_of(value)
        return (literal, content) if literal in ("Integer", "Float", "Boolean", "String", "Null") else None

    def _column(self, expr: dict[str, Any]) -> tuple[bool, pl.DataType | None]:
        kind, value = kind_of(expr.get("kind"))
        if kind == "ColumnRef" and value in self.types:
            return True, self.types[value]
        return False, None

    def pushable(self, expr: dict[str, Any]) -> bool:
        kind, value = kind_of(expr.get("kind"))
        if kind != "Operator":
            return False
        name, args = value["name"], value["args"]
        if name in ("std.and", "std.or"):
            return all(self.pushable(a) for a in args)
        if name == "std.not":
            return self.pushable(args[0])
        if name == "std.array_in":
            is_column, dtype = self._column(args[0])
            items_kind, items = kind_of(args[1].get("kind"))
            if not is_column or items_kind != "Array":
                return False
            literals = [self._literal(i) for i in items]
            if self.clickhouse:
                self.exact = False  # an old server's `NULL IN (...)` is false: `!(x | in [...])` keeps nulls
                if len({literal[0] for literal in literals if literal is not None and literal[0] != "Null"}) > 1:
                    return False  # text and numbers in one list
            return all(self._compatible(dtype, literal, "std.eq") for literal in literals)
        if name not in _COMPARISONS or len(args) != 2:
            return False
        left, right = args
        left_column, left_type = self._column(left)
        right_column, right_type = self._column(right)
        if left_column == right_column:
            return False
        literal = self._literal(right) if left_column else self._literal(left)
        return self._compatible(left_type if left_column else right_type, literal, name)

    def _compatible(self, column: pl.DataType | None, literal: tuple[str, Any] | None, operator: str) -> bool:
        """`column OP literal` computed alike; a column of unknown type compares as its literal says (a
        database that holds another type fails on the comparison, as the block would)."""
        if literal is None:
            return False
        kind, value = literal
        if kind == "Null":
            return operator in _EQUALITY
        if kind in ("Integer", "Float"):
            if not self.ordered and operator not in _EQUALITY and not (column is not None and column.is_integer()):
                return False
            if column is not None and not (column.is_integer() or column.is_float()):
                return False
            if kind == "Float" and column == pl.Float32:
                return False  # the block compares in 32 bits, a database in 64
            same_kind = column is not None and (column.is_integer() if kind == "Integer" else column.is_float())
            return same_kind or abs(float(value)) < _EXACT_DOUBLE
        if kind == "Boolean":
            if self.clickhouse:
                return operator in _EQUALITY and column == pl.Boolean
            return operator in _EQUALITY and column in (None, pl.Boolean)
        if kind == "String" and operator in _EQUALITY and column in (None, pl.String):
            # padded CHAR columns and case-insensitive collations make the database keep more rows:
            # still right (the block filters again), but a limit after it would not be
            self.exact = False
            return True
        return False


def _conjuncts(expr: dict[str, Any]) -> list[dict[str, Any]]:
    kind, value = kind_of(expr.get("kind"))
    if kind == "Operator" and value["name"] == "std.and":
        return [t for a in value["args"] for t in _conjuncts(a)]
    return [expr]


def _literal_int(expr: dict[str, Any] | None) -> int | None:
    if expr is None:
        return None
    kind, value = kind_of(expr.get("kind"))
    literal, number = kind_of(value) if kind == "Literal" else ("", None)
    return int(number) if literal == "Integer" else None


def _remap(node: Any, cids: dict[int, int]) -> Any:
    if isinstance(node, dict):
        return {k: (cids[v] if k == "ColumnRef" and v in cids else _remap(v, cids)) for k, v in node.items()}
    if isinstance(node, list):
        return [_remap(item, cids) for item in node]
    return node


def _reads(rq: dict[str, Any], table: str) -> tuple[int, list[dict[str, Any]], list[str], set[str]] | None:
    """How the block reads `table`: the prelude's declaration of it, the references to that declaration,
    its column names, and the names of the columns the block uses. None when it reads it otherwise (a
    wildcard of an open schema, not through the prelude)."""
    decls = {t["id"]: t for t in rq.get("tables", ())}
    extern = next((tid for tid, t in decls.items()
                   if kind_of(t["relation"]["kind"]) == ("ExternRef", {"LocalTable": [sql_table_name(table)]})), None)
    if extern is None:
        return None
    # the prelude's `let table = (from __heddle_table | select {...})`, read by the block
    prelude = next((tid for tid, t in decls.items()
                    if any(r["source"] == extern for r in table_refs(t["relation"]))), None)
    refs = [r for r in table_refs(rq) if r["source"] == prelude]
    if prelude is None or not refs or any(c == "Wildcard" for r in refs for c, _ in r["columns"]):
        return None
    names = [c.get("Single") for c, _ in refs[0]["columns"]]
    if any(not isinstance(n, str) for n in names):
        return None
    used: set[str] = set()
    live = _live(rq)
    for ref in refs:
        used.update(name for (_, cid), name in zip(ref["columns"], names, strict=True) if cid in live)
    return prelude, refs, names, used


def _live(rq: dict[str, Any]) -> set[int]:
    """The column ids whose values the block's result depends on: the result's columns, what every
    transform reads (filters, sorts, takes, joins, groups, every compute), and the columns of a `let`
    relation that its readers use — a column a relation only passes on, that nobody reads further on, is
    not live. An `append` stacks by position: every column its pipeline selects, and every column of the
    relation it appends, are live. A pipeline with a `loop` keeps everything it mentions and reads."""
    tables = {t["id"]: t["relation"] for t in rq.get("tables", ())}
    refs = table_refs(rq)
    live: set[int] = set()
    while True:
        before = len(live)
        live |= _pipeline_live(rq["relation"], None)
        for tid, relation in tables.items():
            needed = {position for ref in refs if ref["source"] == tid
                      for position, (_, cid) in enumerate(ref["columns"]) if cid in live}
            live |= _pipeline_live(relation, needed)
        if len(live) == before:
            return live


def _pipeline_live(relation: dict[str, Any], needed: set[int] | None) -> set[int]:
    """The ids one relation makes live when its readers use its output columns at positions `needed`
    (None: all of them)."""
    kind, transforms = kind_of(relation["kind"])
    if kind != "Pipeline" or not isinstance(transforms, list):
        return set()
    steps = [kind_of(t) for t in transforms]
    selects = [value for name, value in steps if name == "Select"]
    if any(name not in _LIVENESS_KNOWN for name, _ in steps) or not selects or (
            len(selects[-1]) != len(relation["columns"])):
        return _cids(transforms) | {cid for ref in table_refs(transforms) for _, cid in ref["columns"]}
    found = {cid for position, cid in enumerate(selects[-1]) if needed is None or position in needed}
    if any(name == "Append" for name, _ in steps):
        found |= {cid for select in selects for cid in select}
    for name, value in steps:
        if name == "Append":
            found |= {cid for _, cid in value["columns"]}
        elif name == "Join":
            found |= _cids({key: part for key, part in value.items() if key != "with"})
        elif name not in ("Select", "From"):
            found |= _cids({name: value})
    return found


_LIVENESS_KNOWN = frozenset({"From", "Select", "Filter", "Sort", "Take", "Compute", "Aggregate", "Join", "Append"})


@lru_cache(maxsize=1024)
def columns_read(program: Program, table: str) -> frozenset[str] | None:
    """The columns of `table` the block reads; None when that is not known (it reads them all). Cached: a
    stream's blocks ask it again for every batch."""
    try:
        found = _reads(json.loads(program.rq), table)
    except (ValueError, KeyError, TypeError):
        return None
    return frozenset(found[3]) if found is not None else None


def push(program: Program, table: str, schema: Schema, dialect: str, query: str) -> Pushed | None:
    """The query to send for step table `table` (output `schema`), or None when nothing can be pushed."""
    try:
        rq = json.loads(program.rq)
        found = _reads(rq, table)
    except (ValueError, KeyError, TypeError):
        return None
    if found is None or schema.open:
        return None
    prelude, refs, names, used = found
    columns = [c.name for c in schema.columns if c.name in used] or [schema.columns[0].name]

    filters: list[dict[str, Any]] = []
    limit: tuple[int, int | None] | None = None
    main = rq["relation"]["kind"]
    pipeline = main.get("Pipeline") if isinstance(main, dict) else None
    first = kind_of(pipeline[0]) if pipeline else ("", None)
    cids: dict[int, int] = {}
    if first[0] == "From" and first[1]["source"] == prelude and len(refs) == 1:
        ref_cids = [cid for _, cid in first[1]["columns"]]
        cids = {cid: position for position, cid in enumerate(ref_cids)}
        declared = {c.name: c.dtype for c in schema.columns}
        terms = _Terms({cid: declared.get(name) for cid, name in zip(ref_cids, names, strict=True)}, dialect)
        whole = True  # every filter so far was pushed
        for transform in pipeline[1:]:
            kind, value = kind_of(transform)
            if kind == "Filter":
                for term in _conjuncts(value):
                    if terms.pushable(term):
                        filters.append(term)
                    else:
                        whole = False
            elif kind == "Take" and not value["partition"] and not value["sort"] and whole and terms.exact:
                start = _literal_int(value["range"].get("start")) or 1
                end = _literal_int(value["range"].get("end"))
                if value["range"].get("end") is not None and end is None:
                    break
                limit = (start, end)
                break
            elif kind != "Select":
                break
    if not filters and limit is None and len(columns) == len(schema.columns):
        return None
    pushed = [_remap(term, cids) for term in filters]
    if dialect == "clickhouse":
        if any("`" in c.name or "\\" in c.name for c in schema.columns):
            return None
        pushed = [_clickhouse_text(term) for term in pushed]
    return _compile([c.name for c in schema.columns], columns, pushed, limit, dialect=dialect, query=query)


def _clickhouse_text(term: dict[str, Any]) -> dict[str, Any]:
    """A pushed term with each comparison of a column with text written as `(toString(column) = '...')`: the
    column as the block reads it, the literal escaped as ClickHouse reads literals (backslash escapes)."""
    kind, value = kind_of(term.get("kind"))
    if kind != "Operator":
        return term
    name, args = value["name"], value["args"]
    if name in ("std.and", "std.or", "std.not"):
        return {**term, "kind": {"Operator": {"name": name, "args": [_clickhouse_text(a) for a in args]}}}
    if name == "std.array_in":
        items = kind_of(args[1]["kind"])[1]
        texts = [_text_of(item) for item in items]
        if None in texts or all(t == "NULL" for t in texts):
            return term  # numbers (pushable lists are of one kind)
        return _sstring(args[0], f" IN ({', '.join(t for t in texts if t is not None)}))")
    if name in _EQUALITY:
        column, other = (args[0], args[1]) if kind_of(args[0]["kind"])[0] == "ColumnRef" else (args[1], args[0])
        text = _text_of(other)
        if text is not None and text != "NULL":
            return _sstring(column, f" {'=' if name == 'std.eq' else '<>'} {text})")
    return term


def _text_of(expr: dict[str, Any]) -> str | None:
    """A text literal as ClickHouse SQL (`NULL` for null), None for anything else."""
    kind, value = kind_of(expr.get("kind"))
    literal, content = kind_of(value) if kind == "Literal" else ("", None)
    if literal == "Null":
        return "NULL"
    if literal != "String" or not isinstance(content, str):
        return None
    escaped = "".join("\\\\" if c == "\\" else "''" if c == "'" else f"\\x{ord(c):02X}" if ord(c) < 32 or c == "\x7f"
                      else c for c in content)
    return f"'{escaped}'"


def _sstring(column: dict[str, Any], rest: str) -> dict[str, Any]:
    return {"kind": {"SString": [{"String": "(toString("}, {"Expr": {"expr": column, "format": None}},
                                 {"String": ")" + rest}]}, "span": None}


def _literal(number: int) -> dict[str, Any]:
    return {"kind": {"Literal": {"Integer": number}}, "span": None}


def _compile(all_names: list[str], columns: list[str], filters: list[dict[str, Any]],
             limit: tuple[int, int | None] | None, *, dialect: str, query: str) -> Pushed | None:
    transforms: list[Any] = [{"From": {"source": 0, "columns": [[{"Single": n}, i] for i, n in enumerate(all_names)],
                                       "name": SOURCE, "prefer_cte": True}}]
    for term in filters:
        transforms.append({"Filter": term})
    limit_text = None
    if limit is not None:
        start, end = limit
        bounds = {"start": _literal(start) if start > 1 else None, "end": _literal(end) if end is not None else None}
        transforms.append({"Take": {"range": bounds, "partition": [], "sort": []}})
        length = None if end is None else max(end - start + 1, 0)
        limit_text = " ".join(p for p in (f"LIMIT {length}" if length is not None else "",
                                          f"OFFSET {start - 1}" if start > 1 else "") if p) or None
    keep = [all_names.index(c) for c in columns]
    transforms.append({"Select": keep})
    rq = {
        "def": {"version": None, "other": {}},
        "tables": [{"id": 0, "name": None, "relation": {
            "kind": {"ExternRef": {"LocalTable": [SOURCE]}}, "columns": [{"Single": n} for n in all_names]}}],
        "relation": {"kind": {"Pipeline": transforms}, "columns": [{"Single": c} for c in columns]},
    }
    import prqlc  # here: a run without a database step to push into never loads prqlc (1.4 MB resident)

    options = prqlc.CompileOptions(format=False, signature_comment=False, target=f"sql.{dialect}")
    try:
        outer = prqlc.rq_to_sql(json.dumps(rq), options)
    except Exception:  # a dialect prqlc does not know, or an RQ it refuses: push nothing
        return None
    if outer.lstrip().upper().startswith("WITH"):
        return None
    inner = query.strip().rstrip(";")
    if dialect in _SUBQUERY:
        at = _from_source(outer)
        if at is None:
            return None
        sql = f"{outer[:at]}FROM ({inner}) AS {SOURCE}{outer[at + len('FROM ' + SOURCE):]}"
        return Pushed(sql, tuple(columns), len(filters), limit_text)
    return Pushed(f"WITH {SOURCE} AS ({inner}) {outer}", tuple(columns), len(filters), limit_text)


def _from_source(outer: str) -> int | None:
    """Where `FROM __heddle_src` starts in prqlc's `SELECT <columns> FROM __heddle_src ...`: the first `FROM`
    outside quotes (None if it is not that)."""
    position, quote = 0, ""
    while position < len(outer):
        char = outer[position]
        if quote:
            if char == "\\":
                position += 1
            elif char == quote:
                quote = ""
        elif char in "'\"`":
            quote = char
        elif outer.startswith(" FROM ", position):
            start = position + 1
            end = start + len(f"FROM {SOURCE}")
            tail = outer[end:end + 1]
            return start if outer[start:end] == f"FROM {SOURCE}" and not (tail.isalnum() or tail == "_") else None
        position += 1
    return None


_SEARCHES = frozenset({"std.text.contains", "std.text.starts_with", "std.text.ends_with"})
_HARMLESS = frozenset({"std.and", "std.or", "std.not", "std.array_in", *_COMPARISONS})


def _harmless(expr: dict[str, Any]) -> bool:
    """Is `expr` made of columns, literals, comparisons, `in`, `&&`/`||`/`!` and text searches for literal
    patterns only: nothing that refuses a row (an integer overflow, a division by zero)?"""
    kind, value = kind_of(expr.get("kind"))
    if kind in ("ColumnRef", "Literal"):
        return True
    if kind == "Array":
        return all(_harmless(item) for item in value)
    if kind != "Operator":
        return False
    name, args = value["name"], value["args"]
    if name in _SEARCHES:
        return len(args) == 2 and kind_of(args[0].get("kind"))[0] == "Literal" and _harmless(args[1])
    return name in _HARMLESS and all(_harmless(a) for a in args)


def _needle(term: dict[str, Any], names: dict[int, str]) -> tuple[str, str] | None:
    """`column | text.contains "text"` (a column of the table, text without wildcards, not empty) as
    (column name, text)."""
    kind, value = kind_of(term.get("kind"))
    if kind != "Operator" or value["name"] != "std.text.contains" or len(value["args"]) != 2:
        return None
    pattern, column = value["args"]
    literal, text = kind_of(kind_of(pattern.get("kind"))[1])
    is_column, cid = kind_of(column.get("kind"))
    if literal != "String" or not isinstance(text, str) or not text or "%" in text or "_" in text:
        return None
    return (names[cid], text) if is_column == "ColumnRef" and cid in names else None


@lru_cache(maxsize=1024)
def text_needles(program: Program, table: str) -> tuple[tuple[str, str], ...]:
    """(column, text) for each `column | text.contains "text"` term of the filters that come first in the
    block, right after `from table` (as `push` finds them): a row of `table` whose column does not hold the
    text is in no result, and dropping it first changes nothing else, as every term of those filters is
    `_harmless` (a term that refuses a row would see fewer rows). Empty when there is none, or the block
    reads `table` otherwise."""
    try:
        rq = json.loads(program.rq)
        found = _reads(rq, table)
    except (ValueError, KeyError, TypeError):
        return ()
    if found is None:
        return ()
    prelude, refs, names, _ = found
    main = rq["relation"]["kind"]
    pipeline = main.get("Pipeline") if isinstance(main, dict) else None
    first = kind_of(pipeline[0]) if pipeline else ("", None)
    if first[0] != "From" or first[1]["source"] != prelude or len(refs) != 1:
        return ()
    columns = {cid: name for (_, cid), name in zip(first[1]["columns"], names, strict=True)}
    terms: list[dict[str, Any]] = []
    for transform in pipeline[1:]:
        kind, value = kind_of(transform)
        if kind == "Filter":
            terms.extend(_conjuncts(value))
        elif kind != "Select":
            break
    if not all(_harmless(term) for term in terms):
        return ()
    return tuple(needle for needle in (_needle(term, columns) for term in terms) if needle is not None)
