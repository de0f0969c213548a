"""prqlc's relational IR (RQ), read from its JSON into typed, immutable values.

RQ is what prqlc makes of a PRQL query once names are resolved and functions inlined: a list of table
declarations and a main relation, each a pipeline of a few transforms (`From`, `Compute`, `Select`,
`Filter`, `Aggregate`, `Sort`, `Take`, `Join`, `Append`, `Loop`) over columns identified by number
(`cid`). Expressions are column references, literals, `std.*` operators, `case`, s-strings, parameters
and arrays. `parse(text)` reads prqlc's JSON (`prqlc.pl_to_rq`); a shape it does not know raises
`RqFormatError` (a prqlc version this module was not written for). Spans are `(start, end)` character
offsets into the compiled PRQL text.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Literal, TypeAlias

from heddle_lang.records import record
from heddle_lang.relational.rq_json import span_of

Span: TypeAlias = tuple[int, int] | None


class RqFormatError(ValueError):
    """prqlc's JSON has a shape this reader does not know."""


# --- expressions -----------------------------------------------------------------------------------


@record
class Lit:
    """A literal. `kind`: Null, Integer, Float, Boolean, String, RawString, Date, Time, Timestamp,
    ValueAndUnit (an interval: `value` is `(n, unit)`)."""

    kind: str
    value: Any
    span: Span = None


@record
class ColumnRef:
    cid: int
    span: Span = None


@record
class Operator:
    name: str  # `std.add`, `std.text.lower`, ...
    args: tuple[Expr, ...]
    span: Span = None


@record
class Case:
    cases: tuple[tuple[Expr, Expr], ...]  # (condition, value)
    span: Span = None


@record
class SString:
    items: tuple[str | Expr, ...]
    span: Span = None


@record
class Param:
    name: str
    span: Span = None


@record
class Array:
    items: tuple[Expr, ...]
    span: Span = None


Expr: TypeAlias = Lit | ColumnRef | Operator | Case | SString | Param | Array


# --- transforms ------------------------------------------------------------------------------------


@record
class RelColumn:
    name: str | None  # None: an unnamed column
    wildcard: bool = False  # "and every column not named"


@record
class TableRef:
    source: int  # the table declaration's id
    columns: tuple[tuple[RelColumn, int], ...]  # each column of the table, with the cid it gets here
    name: str | None


@record
class SortKey:
    cid: int
    descending: bool


@record
class Frame:
    kind: Literal["rows", "range"]
    start: Expr | None  # None: unbounded
    end: Expr | None


@record
class Window:
    frame: Frame
    partition: tuple[int, ...]
    sort: tuple[SortKey, ...]


@record
class From:
    table: TableRef


@record
class Compute:
    cid: int
    expr: Expr
    window: Window | None = None
    is_aggregation: bool = False


@record
class Select:
    cids: tuple[int, ...]


@record
class Filter:
    expr: Expr


@record
class Aggregate:
    partition: tuple[int, ...]
    compute: tuple[int, ...]


@record
class Sort:
    keys: tuple[SortKey, ...]


@record
class Take:
    start: Expr | None
    end: Expr | None
    partition: tuple[int, ...]
    sort: tuple[SortKey, ...]
    span: Span = None


@record
class Join:
    side: Literal["inner", "left", "right", "full"]
    table: TableRef
    condition: Expr


@record
class Append:
    table: TableRef


@record
class Loop:
    transforms: tuple[Transform, ...]


Transform: TypeAlias = From | Compute | Select | Filter | Aggregate | Sort | Take | Join | Append | Loop


# --- relations -------------------------------------------------------------------------------------


@record
class Extern:
    name: str  # the table's name (`__heddle_users`)


@record
class Pipeline:
    transforms: tuple[Transform, ...]


@record
class LiteralRows:
    columns: tuple[str, ...]
    rows: tuple[tuple[Lit, ...], ...]


@record
class OtherRelation:
    """A relation the engine cannot compute (an s-string of SQL, a built-in function such as
    `read_parquet`): `what` names it for the user."""

    what: str


@record
class Relation:
    kind: Extern | Pipeline | LiteralRows | OtherRelation
    columns: tuple[RelColumn, ...]


@record
class Query:
    tables: tuple[tuple[int, Relation], ...]  # the table declarations, with their ids
    relation: Relation

    def table(self, tid: int) -> Relation:
        for key, relation in self.tables:
            if key == tid:
                return relation
        raise RqFormatError(f"RQ refers to table {tid}, which it does not declare")


# --- reading ---------------------------------------------------------------------------------------


def _one(value: object, what: str) -> tuple[str, Any]:
    if isinstance(value, str):
        return value, None
    if isinstance(value, dict) and len(value) == 1:
        ((key, inner),) = value.items()
        return key, inner
    raise RqFormatError(f"unexpected {what}: {str(value)[:80]}")


def _literal(value: object, span: Span) -> Lit:
    kind, inner = _one(value, "literal")
    if kind == "ValueAndUnit":
        return Lit(kind, (int(inner["n"]), str(inner["unit"])), span)
    return Lit(kind, inner, span)


def _expr(data: dict[str, Any]) -> Expr:
    span = span_of(data.get("span"))
    kind, inner = _one(data["kind"], "expression")
    if kind == "ColumnRef":
        return ColumnRef(int(inner), span)
    if kind == "Literal":
        return _literal(inner, span)
    if kind == "Operator":
        return Operator(str(inner["name"]), tuple(_expr(a) for a in inner["args"]), span)
    if kind == "Case":
        return Case(tuple((_expr(c["condition"]), _expr(c["value"])) for c in inner), span)
    if kind == "SString":
        return SString(_interpolation(inner), span)
    if kind == "Param":
        return Param(str(inner), span)
    if kind == "Array":
        return Array(tuple(_expr(a) for a in inner), span)
    raise RqFormatError(f"unknown expression kind {kind}")


def _interpolation(items: list[Any]) -> tuple[str | Expr, ...]:
    out: list[str | Expr] = []
    for item in items:
        kind, inner = _one(item, "s-string item")
        out.append(str(inner) if kind == "String" else _expr(inner["expr"]))
    return tuple(out)


def _column(value: object) -> RelColumn:
    kind, inner = _one(value, "relation column")
    if kind == "Wildcard":
        return RelColumn(None, wildcard=True)
    return RelColumn(None if inner is None else str(inner))


def _table_ref(data: dict[str, Any]) -> TableRef:
    columns = tuple((_column(c), int(cid)) for c, cid in data["columns"])
    return TableRef(int(data["source"]), columns, data.get("name"))


def _sorts(items: list[dict[str, Any]]) -> tuple[SortKey, ...]:
    return tuple(SortKey(int(s["column"]), s["direction"] == "Desc") for s in items)


def _ids(items: list[Any]) -> tuple[int, ...]:
    """A list of column ids (a select, a partition, an aggregation's computes)."""
    return tuple(int(c) for c in items)


def _range(bounds: dict[str, Any]) -> tuple[Expr | None, Expr | None]:
    """A window frame's or a take's start and end (None: unbounded)."""
    start, end = bounds.get("start"), bounds.get("end")
    return None if start is None else _expr(start), None if end is None else _expr(end)


def _window(data: dict[str, Any] | None) -> Window | None:
    if data is None:
        return None
    frame = data["frame"]
    kind: Literal["rows", "range"] = "range" if frame["kind"] == "Range" else "rows"
    return Window(Frame(kind, *_range(frame["range"])), _ids(data["partition"]), _sorts(data["sort"]))


_SIDES = {"Inner": "inner", "Left": "left", "Right": "right", "Full": "full"}


def _transform(value: object) -> Transform:
    kind, inner = _one(value, "transform")
    if kind == "From":
        return From(_table_ref(inner))
    if kind == "Compute":
        return Compute(int(inner["id"]), _expr(inner["expr"]), _window(inner.get("window")),
                       bool(inner.get("is_aggregation", False)))
    if kind == "Select":
        return Select(_ids(inner))
    if kind == "Filter":
        return Filter(_expr(inner))
    if kind == "Aggregate":
        return Aggregate(_ids(inner["partition"]), _ids(inner["compute"]))
    if kind == "Sort":
        return Sort(_sorts(inner))
    if kind == "Take":
        bounds = inner["range"]
        return Take(*_range(bounds), _ids(inner["partition"]), _sorts(inner["sort"]), span_of(bounds.get("span")))
    if kind == "Join":
        side = _SIDES.get(str(inner["side"]))
        if side is None:
            raise RqFormatError(f"unknown join side {inner['side']}")
        return Join(side, _table_ref(inner["with"]), _expr(inner["filter"]))  # type: ignore[arg-type]
    if kind == "Append":
        return Append(_table_ref(inner))
    if kind == "Loop":
        return Loop(tuple(_transform(t) for t in inner))
    raise RqFormatError(f"unknown transform {kind}")


def _relation(data: dict[str, Any]) -> Relation:
    columns = tuple(_column(c) for c in data["columns"])
    kind, inner = _one(data["kind"], "relation")
    if kind == "ExternRef":
        ref_kind, ref = _one(inner, "table reference")
        if ref_kind != "LocalTable":
            return Relation(OtherRelation(f"the table `{ref}`"), columns)
        name = ".".join(ref) if isinstance(ref, list) else str(ref)
        return Relation(Extern(name), columns)
    if kind == "Pipeline":
        return Relation(Pipeline(tuple(_transform(t) for t in inner)), columns)
    if kind == "Literal":
        rows = tuple(tuple(_literal(v, None) for v in row) for row in inner["rows"])
        return Relation(LiteralRows(tuple(str(c) for c in inner["columns"]), rows), columns)
    if kind == "SString":
        return Relation(OtherRelation("an s-string of SQL as a table (`from s\"...\"`)"), columns)
    if kind == "BuiltInFunction":
        return Relation(OtherRelation(f"the function `{inner.get('name')}` as a table"), columns)
    raise RqFormatError(f"unknown relation kind {kind}")


@lru_cache(maxsize=1024)
def parse(text: str) -> Query:
    """The query of prqlc's RQ JSON `text`. Raises `RqFormatError` for a shape it does not know."""
    try:
        data = json.loads(text)
        tables = tuple((int(t["id"]), _relation(t["relation"])) for t in data["tables"])
        return Query(tables, _relation(data["relation"]))
    except RqFormatError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise RqFormatError(f"cannot read prqlc's RQ: {type(error).__name__}: {error}") from None
