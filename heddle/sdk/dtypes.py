"""Column types written as text, the way Polars spells them: `Int64`, `String`, `List(String)`, `Datetime("ms")`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal, cast

import polars as pl

from heddle_lang.types import Schema

_SIMPLE: dict[str, pl.DataType] = {
    name: getattr(pl, name)()
    for name in ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64", "Float32",
                 "Float64", "Boolean", "String", "Binary", "Date", "Time", "Null", "Categorical")
    if hasattr(pl, name)
}
_SIMPLE.update({"Utf8": pl.String(), "Datetime": pl.Datetime("us"), "Duration": pl.Duration("us"),
                "Decimal": pl.Decimal(38, 9)})
# Polars types that cannot travel between steps: data moves as Arrow, which has neither.
_NOT_ARROW = {
    "Object": "`Object` columns hold Python objects, which cannot travel as Arrow (the engine's data format); "
              "declare what the column holds (`String`, `Binary`, `List(Int64)`, ...)",
    "Int128": "`Int128` columns cannot travel as Arrow (the engine's data format); use `Int64`, or "
              "`Decimal(38, 0)` for larger integers",
}
_CALL = re.compile(r"^\s*(\w+)\s*\((.*)\)\s*$", re.DOTALL)
_UNITS = ("ns", "us", "ms")
TimeUnit = Literal["ns", "us", "ms"]


def parse_dtype(text: str) -> pl.DataType:
    """`Int64`, `String`, `List(Int64)`, `Datetime("ms", "UTC")`, `Duration("ms")`, `Decimal(10, 2)`.

    Raises `ValueError` with a suggestion for an unknown name.
    """
    text = text.strip()
    call = _CALL.match(text)
    if call is None:
        if text in _SIMPLE:
            return _SIMPLE[text]
        refused = next((why for name, why in _NOT_ARROW.items() if name.lower() == text.lower()), None)
        if refused is not None:
            raise ValueError(refused)
        by_lower = {name.lower(): dtype for name, dtype in _SIMPLE.items()}
        if text.lower() in by_lower:
            return by_lower[text.lower()]
        raise ValueError(_unknown(text))
    name, inner = call.group(1), call.group(2).strip()
    if name == "List":
        return pl.List(parse_dtype(inner))
    args = [re.sub(r"^\w+\s*=\s*", "", a.strip()).strip("'\"") for a in inner.split(",")] if inner else []
    if name == "Datetime" and 1 <= len(args) <= 2 and args[0] in _UNITS:
        zone = args[1] if len(args) == 2 and args[1] != "None" else None
        return pl.Datetime(cast(TimeUnit, args[0]), zone)
    if name == "Duration" and len(args) == 1 and args[0] in _UNITS:
        return pl.Duration(cast(TimeUnit, args[0]))
    if name == "Decimal" and len(args) == 2 and all(a.isdigit() for a in args):
        return pl.Decimal(int(args[0]), int(args[1]))
    raise ValueError(f"cannot read the column type `{text}` (write e.g. `List(String)`, `Datetime(\"ms\", \"UTC\")`, "
                     "`Decimal(10, 2)`)")


def schema_from_mapping(columns: Mapping[str, object], open: bool = False) -> Schema:
    """`{id: "Int64", name: "String"}` → a `Schema`; raises `ValueError` naming the faulty column."""
    parsed: dict[str, pl.DataType | None] = {}
    for name, text in columns.items():
        if not isinstance(text, str):
            raise ValueError(f"the type of column `{name}` must be a string such as \"Int64\", not {text!r}")
        try:
            parsed[name] = parse_dtype(text)
        except ValueError as error:
            raise ValueError(f"column `{name}`: {error}") from None
    return Schema.of(parsed, open=open)


def _unknown(text: str) -> str:
    import difflib  # here: only a type not known is matched

    close = difflib.get_close_matches(text, list(_SIMPLE), n=1)
    hint = f" (did you mean `{close[0]}`?)" if close else ""
    return f"unknown column type `{text}`{hint}"
