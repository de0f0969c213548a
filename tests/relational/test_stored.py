"""Block analyses kept beyond the process (`relational.stored`): records read back as the analysis they hold,
keys follow everything an answer depends on, and `analyze_block` answers from a store without compiling."""

from __future__ import annotations

import polars as pl
import pytest

from heddle_lang.relational import analyze_block, cache_clear
from heddle_lang.relational.compile import Compiled
from heddle_lang.relational.stored import block_key, from_record, keeps, stored_in, to_record
from heddle_lang.types import Column, Schema
from tests.relational.schemas import EXAMPLE

BLOCKS = [
    ("from input join users (input.user_id == users.id) select {amount, name}", False),
    ("from input filter amount > 10 select {user_id, total = amount * 2}", False),
    ("from input group country (aggregate {n = count this, s = sum amount})", False),
    ("from userz", True),  # an unknown table, with a suggestion
    ("from input | select amount", False),  # a syntax error
    ("SELECT * FROM input", False),  # SQL habits, with a fix
    ("from input derive {d = @2024-01-01, label = f\"{country}!\"}", False),
    ("", False),  # empty
]


class DictStore:
    def __init__(self) -> None:
        self.records: dict[str, str] = {}
        self.asked: list[str] = []

    def get(self, key: str) -> str | None:
        self.asked.append(key)
        return self.records.get(key)

    def put(self, key: str, record: str) -> None:
        self.records[key] = record


@pytest.mark.parametrize(("query", "is_source"), BLOCKS)
def test_a_record_reads_back_as_the_analysis_it_holds(query: str, is_source: bool) -> None:
    cache_clear()
    analysis = analyze_block(query, EXAMPLE, is_source=is_source)
    assert keeps(analysis)
    assert from_record(to_record(analysis)) == analysis


def test_unknown_column_types_and_open_schemas_survive() -> None:
    schemas = {"input": Schema((Column("a", None), Column("b", pl.List(pl.Int64()))), open=True)}
    cache_clear()
    analysis = analyze_block("from input select {a, b}", schemas, is_source=False)
    back = from_record(to_record(analysis))
    assert back == analysis
    assert back is not None and back.schema is not None and back.schema.get("a") == Column("a", None)


@pytest.mark.parametrize("record", ["", "{", "[]", '{"schema": null}', '{"schema": {"columns": 1}}'])
def test_a_record_that_does_not_read_is_a_miss(record: str) -> None:
    assert from_record(record) is None


def test_keys_follow_the_text_the_schemas_read_and_the_place() -> None:
    base = block_key(("from input", False, (("input", EXAMPLE["input"]),), ()))
    assert base == block_key(("from input", False, (("input", Schema.of(EXAMPLE["input"].columns)),), ()))
    other_type = Schema.of({"user_id": pl.Int32(), "amount": pl.Float64(), "country": pl.String()})
    assert len({base,
                block_key(("from input ", False, (("input", EXAMPLE["input"]),), ())),
                block_key(("from input", True, (("input", EXAMPLE["input"]),), ())),
                block_key(("from input", False, (("input", other_type),), ())),
                block_key(("from input", False, (("input", None),), ("input", "users"))),
                }) == 5


def test_analyze_block_answers_from_the_store_without_compiling() -> None:
    store = DictStore()
    query, is_source = BLOCKS[0]
    cache_clear()
    with stored_in(store):
        first = analyze_block(query, EXAMPLE, is_source=is_source)
    assert len(store.records) == 1

    def refuse(text: str) -> Compiled:
        raise AssertionError("compiled although the store holds the answer")

    cache_clear()  # a new process: nothing in memory
    with stored_in(store):
        again = analyze_block(query, EXAMPLE, is_source=is_source, compiler=refuse)
    assert again == first
    # Outside the context nothing is asked of the store.
    cache_clear()
    asked = len(store.asked)
    analyze_block(query, EXAMPLE, is_source=is_source)
    assert len(store.asked) == asked


def test_answers_of_a_failed_compiler_are_not_kept() -> None:
    store = DictStore()

    def crash(text: str) -> Compiled:
        raise RuntimeError("the compiler died")

    cache_clear()
    with stored_in(store):
        analysis = analyze_block("from input select {amount}", EXAMPLE, is_source=False, compiler=crash)
    assert not keeps(analysis)
    assert store.records == {}
    cache_clear()
