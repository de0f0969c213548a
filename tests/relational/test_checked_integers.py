"""Integer arithmetic as DuckDB computes it, checked on every Int8 value: `+ - *` with a constant operand
on either side fail exactly where the result leaves the type (and give the exact result elsewhere),
negation fails only on the smallest value, `%` takes the sign of the dividend."""

from __future__ import annotations

import operator
from collections.abc import Callable

import polars as pl
import pytest

from heddle_lang.relational import rq
from heddle_lang.relational.lowering.expressions import Expressions, checked_integer
from heddle_lang.relational.lowering.scope import Scope

VALUES = list(range(-128, 128))
CONSTANTS = [-128, -127, -100, -3, -2, -1, 0, 1, 2, 3, 7, 64, 127]
OPERATIONS: dict[str, Callable[[int, int], int]] = {"std.add": operator.add, "std.sub": operator.sub,
                                                    "std.mul": operator.mul}


def _outcome(expr: pl.Expr, value: int) -> int | str:
    frame = pl.DataFrame({"a": pl.Series([value], dtype=pl.Int8)})
    try:
        return int(frame.select(expr.alias("r"))["r"][0])
    except pl.exceptions.PolarsError as error:
        return "overflow" if "integer overflow" in str(error) else str(error)


@pytest.mark.parametrize("name", OPERATIONS)
@pytest.mark.parametrize("constant_first", [False, True])
def test_constant_operand(name: str, constant_first: bool) -> None:
    compute = OPERATIONS[name]
    for constant in CONSTANTS:
        column, literal = pl.col("a"), pl.lit(constant, pl.Int8)
        left, right = (literal, column) if constant_first else (column, literal)
        known = (constant, None) if constant_first else (None, constant)
        expr = checked_integer(name, left, right, compute(left, right), dtype=pl.Int8(), constants=known)  # type: ignore[arg-type]
        for value in VALUES:
            exact = compute(constant, value) if constant_first else compute(value, constant)
            expected: int | str = exact if -128 <= exact <= 127 else "overflow"
            assert _outcome(expr, value) == expected, (name, constant, value)


def _lowered(name: str, *args: rq.Expr) -> pl.Expr:
    scope = Scope({1: "a"}, {"a": pl.Int8()}, {})
    return Expressions(scope).lower(rq.Operator(name, args, None))


def test_negation_and_remainder() -> None:
    column = rq.ColumnRef(1)
    negated = _lowered("std.neg", column)
    for value in VALUES:
        assert _outcome(negated, value) == (-value if value != -128 else "overflow")
    for divisor in (-128, -7, -3, -1, 1, 3, 7, 127):
        remainder = _lowered("std.mod", column, rq.Lit("Integer", abs(divisor)) if divisor > 0 else
                             rq.Operator("std.neg", (rq.Lit("Integer", -divisor),), None))
        for value in VALUES:
            exact = abs(value) % abs(divisor) * (1 if value >= 0 else -1)
            assert _outcome(remainder, value) == exact, (value, divisor)


def test_only_the_rows_a_query_keeps_are_computed_and_checked() -> None:
    """As DuckDB computes a projection after the filters and the limit: an overflow in a row the query
    drops is no error; in a row it keeps, it is."""
    from heddle_lang.relational import analyze_block, sql_table_name
    from heddle_lang.types import Schema

    big = 2**62
    frame = pl.DataFrame({"id": [1, 2, 3, 4], "a": [1, 2, big, 5]})
    schema = Schema.of({"id": pl.Int64(), "a": pl.Int64()})

    def run(block: str) -> list[tuple[int, int]] | str:
        analysis = analyze_block(block, {"t": schema}, is_source=True)
        assert analysis.program is not None, analysis.diagnostics
        try:
            return analysis.program.lazy({sql_table_name("t"): frame.lazy()}).collect().rows()
        except pl.exceptions.PolarsError as error:
            return "overflow" if "integer overflow" in str(error) else str(error)

    assert run("from t | derive b = a * 10 | sort id | take 2 | select {id, b}") == [(1, 10), (2, 20)]
    assert run("from t | derive b = a * 10 | filter id != 3 | select {id, b}") == [(1, 10), (2, 20), (4, 50)]
    assert run("from t | derive b = a * 10 | sort {-id} | take 2 | select {id, b}") == "overflow"
    assert run("from t | derive b = a * 10 | sort b | take 1 | select {id, b}") == "overflow"
