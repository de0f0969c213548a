"""Column types written as text, as Polars spells them."""

from __future__ import annotations

import polars as pl
import pytest

from heddle.sdk.dtypes import parse_dtype, schema_from_mapping
from heddle_lang.types import Schema


@pytest.mark.parametrize(("text", "dtype"), [
    ("Int64", pl.Int64()), ("String", pl.String()), ("Utf8", pl.String()), ("float64", pl.Float64()),
    ("Boolean", pl.Boolean()), ("Date", pl.Date()), ("Datetime", pl.Datetime("us")),
    ("List(String)", pl.List(pl.String())), ("List(List(Int8))", pl.List(pl.List(pl.Int8()))),
    ('Datetime("ms", "UTC")', pl.Datetime("ms", "UTC")), ("Duration(ns)", pl.Duration("ns")),
    ("Decimal(10, 2)", pl.Decimal(10, 2)),
])
def test_parse(text: str, dtype: pl.DataType) -> None:
    assert parse_dtype(text) == dtype


@pytest.mark.parametrize("dtype", [pl.Datetime("ms", "UTC"), pl.Decimal(10, 2), pl.List(pl.Int32()), pl.Binary()])
def test_polars_own_spelling_reads_back(dtype: pl.DataType) -> None:
    assert parse_dtype(str(dtype)) == dtype


def test_unknown_names_get_a_suggestion() -> None:
    with pytest.raises(ValueError, match=r"unknown column type `Int46` \(did you mean `Int64`\?\)"):
        parse_dtype("Int46")
    with pytest.raises(ValueError, match="cannot read the column type"):
        parse_dtype("Datetime(weeks)")


def test_schema_from_mapping() -> None:
    assert schema_from_mapping({"id": "Int64", "tags": "List(String)"}) == Schema.of(
        {"id": pl.Int64(), "tags": pl.List(pl.String())})
    with pytest.raises(ValueError, match="column `id`: unknown column type"):
        schema_from_mapping({"id": "Integer64"})
    with pytest.raises(ValueError, match="type of column `id` must be a string"):
        schema_from_mapping({"id": 3})
