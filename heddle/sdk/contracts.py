"""Table contracts: the columns a `Table` subclass declares, as the checker's `Schema`s."""

from __future__ import annotations

import typing
from typing import Any, ClassVar

from heddle.core.table import Table
from heddle.sdk.introspect import type_hints, unwrap
from heddle_lang.types import Column, Schema, dtype_of_annotation


def is_table_type(annotation: object) -> bool:
    annotation = unwrap(annotation)
    return isinstance(annotation, type) and issubclass(annotation, Table)


def declared_columns(table: type[Table]) -> tuple[Column, ...]:
    """The columns a subclass declares with annotations (inherited ones first); `()` for none."""
    columns = []
    for name, annotation in type_hints(table).items():
        if name.startswith("_") or annotation is ClassVar or typing.get_origin(annotation) is ClassVar:
            continue
        dtype = dtype_of_annotation(annotation)
        if dtype is None and unwrap(annotation) not in (Any, object):
            raise TypeError(f"column `{name}` of {table.__qualname__}: no column type for {annotation!r} "
                            "(use a Python scalar type, a Polars or Arrow type, list[...], or Any)")
        columns.append(Column(name, dtype))
    return tuple(columns)


def input_contract(annotation: object) -> Schema:
    """As a step's input: the declared columns are required, others may come along."""
    columns = declared_columns(unwrap(annotation)) if is_table_type(annotation) else ()  # type: ignore[arg-type]
    return Schema(columns, open=True) if columns else Schema.unknown()


def output_contract(annotation: object, passthrough: bool) -> Schema | None:
    """As a step's output: exactly the declared columns; with `passthrough`, the columns added to the input."""
    columns = declared_columns(unwrap(annotation)) if is_table_type(annotation) else ()  # type: ignore[arg-type]
    if passthrough:
        return Schema(columns) if columns else None
    return Schema(columns) if columns else Schema.unknown()
