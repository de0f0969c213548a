"""Workflow parameters: the `@name`s of step configs that no lookup binds, given as text, checked and
converted before anything runs.

`heddle run FILE --param timestamp=2026-01-01` gives `@timestamp` the text `2026-01-01`. A parameter's
type comes from its SQL when the SQL casts it (`CAST(@n AS INTEGER)`, `@day::date`): the text must then
read as that type (an integer, a decimal number, `true`/`false`, an ISO date, time or timestamp) and is
bound as that Python value. Otherwise the text is bound as it is and the database reads it as the
comparison needs (SQLite's affinity, PostgreSQL's `unknown` literal).
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Callable, Mapping

import polars as pl

from heddle_engine.execute.errors import ParameterError
from heddle_engine.execute.lower import ExecPlan
from heddle_lang.records import record
from heddle_lang.text import Span
from heddle_lang.types import dtype_name


@record
class Parameter:
    name: str
    dtype: pl.DataType | None  # the type its SQL casts it to; None: bound as text
    steps: tuple[str, ...]  # labels of the nodes that use it
    span: Span | None = None  # where `@name` is first written in the file


def workflow_parameters(plan: ExecPlan, source: str | None = None) -> list[Parameter]:
    """The parameters a run of the lowered workflow needs, in order of first use."""
    found: list[Parameter] = []
    for name, uses in plan.parameters().items():
        graphs = {g.graph.name: g.graph for g in plan.graphs}
        nodes = [graphs[graph].node(node_id) for graph, node_id in uses]
        types = {t for n in nodes if (t := _cast_type(n.config, name)) is not None}
        dtype = types.pop() if len(types) == 1 else None
        labels = tuple(dict.fromkeys(n.label for n in nodes))
        found.append(Parameter(name, dtype, labels, _where(source, name) or nodes[0].span))
    return found


def bind_parameters(parameters: list[Parameter], given: Mapping[str, str]) -> tuple[dict[str, object],
                                                                                     list[ParameterError]]:
    """Each parameter's value, converted; and what is missing, unknown or mistyped."""
    values: dict[str, object] = {}
    errors: list[ParameterError] = []
    known = {p.name for p in parameters}
    for parameter in parameters:
        if parameter.name not in given:
            used = ", ".join(f"`{s}`" for s in parameter.steps)
            errors.append(ParameterError(
                "HR1001", f"the workflow parameter `@{parameter.name}` (used by {used}) has no value: pass "
                f"`--param {parameter.name}=VALUE`", parameter.span, parameter.name))
            continue
        text = given[parameter.name]
        try:
            values[parameter.name] = convert(text, parameter.dtype)
        except ValueError as error:
            errors.append(ParameterError(
                "HR1003", f"the workflow parameter `@{parameter.name}` is {dtype_name(parameter.dtype)} (its SQL "
                f"casts it), but `{text}` {error}", parameter.span, parameter.name))
    for name in given:
        if name not in known:
            listed = ", ".join(f"`{p.name}`" for p in parameters) or "none"
            errors.append(ParameterError(
                "HR1002", f"`--param {name}=...` names no parameter of this workflow (its parameters: {listed})",
                None, name))
    return values, errors


# --- conversion -------------------------------------------------------------------------------------

_INTEGER = re.compile(r"[+-]?\d+")
_TRUE, _FALSE = {"true", "t", "yes", "y", "1"}, {"false", "f", "no", "n", "0"}


def convert(text: str, dtype: pl.DataType | None) -> object:
    """`text` as a value of `dtype` (text itself when the type is unknown); ValueError says why not."""
    if dtype is None or dtype in (pl.String, pl.Null):
        return text
    reader = _reader(dtype)
    if reader is None:
        return text
    return reader(text.strip())


def _reader(dtype: pl.DataType) -> Callable[[str], object] | None:
    if dtype.is_integer():
        return _integer
    if dtype.is_float():
        return lambda t: _number(t, float)
    if isinstance(dtype, pl.Decimal):
        return lambda t: _number(t, decimal.Decimal)
    readers: dict[type, Callable[[str], object]] = {
        pl.Boolean: _boolean, pl.Date: lambda t: _iso(t, dt.date, "a date (YYYY-MM-DD)"),
        pl.Datetime: lambda t: _iso(t, dt.datetime, "a timestamp (YYYY-MM-DD HH:MM:SS)"),
        pl.Time: lambda t: _iso(t, dt.time, "a time (HH:MM:SS)"),
    }
    return readers.get(type(dtype))


def _integer(text: str) -> int:
    if not _INTEGER.fullmatch(text):
        raise ValueError("is not an integer")
    return int(text)


def _number(text: str, kind: Callable[[str], object]) -> object:
    try:
        return kind(text)
    except (ValueError, decimal.InvalidOperation):
        raise ValueError("is not a number") from None


def _boolean(text: str) -> bool:
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise ValueError("is not true or false")


def _iso(text: str, kind: type[dt.date] | type[dt.datetime] | type[dt.time], what: str) -> object:
    try:
        return kind.fromisoformat(text)
    except ValueError:
        raise ValueError(f"is not {what}") from None


# --- reading the SQL --------------------------------------------------------------------------------


def _cast_type(config: Mapping[str, object], name: str) -> pl.DataType | None:
    query = config.get("query")
    if not isinstance(query, str):
        return None
    # imported here: only a workflow parameter in a query needs SQL read (0.3 s of start-up otherwise)
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    from heddle_engine.modules.fhub.sql import sql_type

    try:
        tree = sqlglot.parse_one(query, read="postgres")
    except SqlglotError:
        return None
    for cast in tree.find_all(exp.Cast):
        inner = cast.this
        if isinstance(inner, exp.Parameter) and inner.name == name:
            return sql_type(cast.to)
    return None


def _where(source: str | None, name: str) -> Span | None:
    if source is None:
        return None
    match = re.search(rf"(?<![@\w])@{re.escape(name)}\b", source)
    if match is None:
        return None
    start = len(source[: match.start()].encode("utf-8"))
    return Span(start, start + len(match.group().encode("utf-8")))
