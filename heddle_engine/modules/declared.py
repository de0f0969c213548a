"""A `schema: { col: "Int64", ... }` config key: the columns a source declares, checked before running."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from heddle.sdk.dtypes import parse_dtype, schema_from_mapping
from heddle_lang.catalog import InferenceError
from heddle_lang.types import Schema


def declared_schema(config: Mapping[str, object], key: str = "schema") -> Schema | None:
    """The closed schema a config declares under `key`; None when it declares none (or a mistyped value,
    which the config check reports)."""
    value = config.get(key)
    if not isinstance(value, Mapping):
        return None
    try:
        return schema_from_mapping(value)
    except ValueError as error:
        raise InferenceError(f"`{key}`: {error}") from None


def polars_schema(columns: Mapping[str, str] | None) -> dict[str, pl.DataType] | None:
    """At run time: the declared columns as Polars dtypes."""
    return None if columns is None else {name: parse_dtype(text) for name, text in columns.items()}
