"""Table contracts from class annotations: inputs are open, outputs closed, passthrough adds columns."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pyarrow as pa
import pytest

from heddle.core.table import Table
from heddle.sdk import module_spec
from heddle.sdk.contracts import declared_columns, input_contract, output_contract
from heddle.sdk.plugin import Plugin
from heddle_lang.types import Column, Schema


class Users(Table):
    id: int
    password: str
    amount: pl.Float64
    tags: list[str]
    code: pa.int32()  # type: ignore[valid-type]
    seen: dt.datetime
    note: str | None
    extra: Any


class Enriched(Users):
    score: float


class Undeclared(Table):
    """No annotations: the contract is unknown."""


EXPECTED = (
    Column("id", pl.Int64()), Column("password", pl.String()), Column("amount", pl.Float64()),
    Column("tags", pl.List(pl.String())), Column("code", pl.Int32()), Column("seen", pl.Datetime("us")),
    Column("note", pl.String()), Column("extra", None),
)


def test_annotations_become_columns_with_polars_dtypes() -> None:
    assert declared_columns(Users) == EXPECTED


def test_subclass_columns_follow_inherited_ones() -> None:
    assert declared_columns(Enriched) == (*EXPECTED, Column("score", pl.Float64()))


def test_input_is_open_and_output_closed() -> None:
    assert input_contract(Users) == Schema(EXPECTED, open=True)
    assert output_contract(Users, passthrough=False) == Schema(EXPECTED)
    assert output_contract(Users, passthrough=True) == Schema(EXPECTED)


@pytest.mark.parametrize("table", [Table, Undeclared])
def test_undeclared_tables_are_unknown(table: type[Table]) -> None:
    assert input_contract(table) == Schema.unknown()
    assert output_contract(table, passthrough=False) == Schema.unknown()
    assert output_contract(table, passthrough=True) is None


def test_an_unmappable_column_type_is_a_clear_error() -> None:
    class Bad(Table):
        when: object()  # type: ignore[valid-type]

    with pytest.raises(TypeError, match=r"column `when` of .*Bad"):
        declared_columns(Bad)


def test_step_contracts_in_a_spec() -> None:
    plugin = Plugin(namespace="contracts")

    class In(Table):
        user_id: int
        amount: float

    class Out(Table):
        fraud_score: float

    @plugin.step(name="score", passthrough=True)
    def score(config: dict[str, object], input: In) -> Out:
        raise AssertionError

    @plugin.step(name="replace")
    def replace(config: dict[str, object], input: In) -> Out:
        raise AssertionError

    @plugin.step(name="source")
    def source(config: dict[str, object]) -> Out:
        raise AssertionError

    @plugin.step(name="sink")
    def sink(input: In) -> None:
        raise AssertionError

    @plugin.step(name="forced", takes_input=True)
    def forced(config: dict[str, object]) -> Table:
        raise AssertionError

    functions = module_spec(plugin, "contracts").functions
    needs = Schema.of({"user_id": pl.Int64(), "amount": pl.Float64()}, open=True)
    adds = Schema.of({"fraud_score": pl.Float64()})
    scored = functions["score"]
    assert (scored.input, scored.output, scored.passthrough) == (needs, adds, True)
    assert (functions["replace"].output, functions["replace"].passthrough) == (adds, False)
    assert (functions["source"].takes_input, functions["source"].input) == (False, Schema.unknown())
    sunk = functions["sink"]
    assert (sunk.passthrough, sunk.output, sunk.takes_input) == (True, None, True)
    assert functions["sink"].config.fields == ()
    assert functions["forced"].takes_input


def test_a_step_must_return_a_table() -> None:
    plugin = Plugin(namespace="bad")

    @plugin.step(name="frame")
    def frame(config: dict[str, object], input: Table) -> pl.DataFrame:
        raise AssertionError

    with pytest.raises(TypeError, match="must return a Table"):
        module_spec(plugin, "bad")
