"""Unknown stays unknown until the run: a block over columns of unknown type (`?`) states a concrete output type
only where the run, whatever those columns turn out to be, produces exactly that type.

Generated blocks over an open table whose columns `a` and `b` have no declared type (and `k`, declared Float64)
are analysed once, then run on real frames where `a` and `b` have each of several types — more than the checker
probes with (`unknowns.PROBES`). Whenever a run succeeds, every column the checker typed has that type.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from decimal import Decimal

import polars as pl
import pytest

from heddle_lang.relational import analyze_block
from heddle_lang.relational.model import Program, sql_table_name
from heddle_lang.types import Schema

SCHEMA = Schema.of({"k": pl.Float64()}, open=True)
ROWS = 3
# Types the unknown columns take at run time, with three values each (the last null).
ACTUAL: dict[str, tuple[pl.DataType, list[object]]] = {
    "Int64": (pl.Int64(), [3, -2, None]),
    "Int8": (pl.Int8(), [3, -2, None]),
    "UInt16": (pl.UInt16(), [3, 2, None]),
    "Float64": (pl.Float64(), [1.5, -2.25, None]),
    "Float32": (pl.Float32(), [1.5, -2.25, None]),
    "Decimal": (pl.Decimal(12, 2), [Decimal("1.50"), Decimal("-2.25"), None]),
    "String": (pl.String(), ["ab", "Cé", None]),
    "Boolean": (pl.Boolean(), [True, False, None]),
    "Date": (pl.Date(), [dt.date(2024, 1, 2), dt.date(2023, 5, 6), None]),
    "Datetime": (pl.Datetime("ms"), [dt.datetime(2024, 1, 2, 3), dt.datetime(2023, 5, 6), None]),
}
PAIRS = [(x, x) for x in ACTUAL] + [("Int64", "Float64"), ("Int8", "Float32"), ("Float64", "Decimal"),
                                     ("String", "Int64"), ("Date", "Datetime"), ("Boolean", "Int64")]
BLOCKS = int(os.environ.get("HEDDLE_UNKNOWN_BLOCKS", "120"))
SEED = int(os.environ.get("HEDDLE_FUZZ_SEED", "7"))

LEAVES = ["a", "b", "k", "2", "1.5", "0", '"x"', "true", "null"]
UNARY = ["-{}", "math.abs {}", "text.length {}", "text.upper {}", "math.round 1 {}", "({} | as float)",
         "({} | as int)", "({} == null)", "!({} > 1)", "date.to_text \"%Y\" {}"]
BINARY = ["+", "-", "*", "/", "//", "%", "==", "!=", ">", "<=", "??", "&&", "||", "~="]
AGGREGATES = ["sum {}", "average {}", "min {}", "max {}", "count {}", "count this", "any ({} > 0)",
              "first {}", "last {}", "stddev {}", "concat_array {}"]
WINDOWS = ["lag 1 {}", "lead 1 {}", "row_number this", "rank {}", "sum {}", "count this", "average {}"]


def expression(rng: random.Random, depth: int) -> str:
    roll = rng.random()
    if depth == 0 or roll < 0.3:
        return rng.choice(LEAVES)
    if roll < 0.5:
        return rng.choice(UNARY).format(expression(rng, depth - 1))
    if roll < 0.6:
        condition = f"{expression(rng, depth - 1)} > {expression(rng, depth - 1)}"
        return f"case [{condition} => {expression(rng, depth - 1)}, true => {expression(rng, depth - 1)}]"
    return f"({expression(rng, depth - 1)} {rng.choice(BINARY)} {expression(rng, depth - 1)})"


def block(rng: random.Random) -> str:
    names = ["x", "y"]
    derived = ", ".join(f"{n} = {expression(rng, 2)}" for n in names)
    shape = rng.randrange(7)
    if shape == 0:
        return f"from input | derive {{{derived}}}"
    if shape == 1:
        measures = ", ".join(f"{n} = {rng.choice(AGGREGATES).format(rng.choice(('a', 'b', 'k', 'x')))}"
                             for n in ("m", "n"))
        return f"from input | derive {{{derived}}} | group {{{rng.choice(('a', 'b'))}}} (aggregate {{{measures}}})"
    if shape == 2:
        return (f"from input | derive {{{derived}}} | sort {{{rng.choice(('a', '-b', 'x'))}}} | take 2 "
                f"| select {{x, y, a}}")
    if shape == 3:
        measure = rng.choice(WINDOWS).format(rng.choice(("a", "b", "x")))
        return f"from input | derive {{{derived}}} | window rows:-1..0 (derive {{w = {measure}}})"
    if shape == 4:
        return f"from input | select {{a, k}} | append (from input | select {{b, {expression(rng, 1)}}})"
    if shape == 5:
        side = rng.choice(("inner", "left", "right", "full"))
        key = rng.choice(("a", "b", "k"))
        return (f"from input | derive {{{derived}}} | join side:{side} r = (from input | select {{j = {key}, "
                f"z = {expression(rng, 1)}}}) (this.{rng.choice(('a', 'b', 'x'))} == that.j)")
    return (f"from input | derive {{{derived}}} | group {{{rng.choice(('a', 'b'))}}} (sort {{x}} | take 1) "
            f"| derive {{v = case [x == null => {expression(rng, 1)}, true => y ?? {rng.choice(LEAVES)}]}}")


def frame(a: str, b: str) -> pl.LazyFrame:
    (a_type, a_values), (b_type, b_values) = ACTUAL[a], ACTUAL[b]
    return pl.LazyFrame({"a": pl.Series(a_values, dtype=a_type), "b": pl.Series(b_values, dtype=b_type),
                         "k": pl.Series([0.5, None, 4.0], dtype=pl.Float64())})


def run(program: Program, input: pl.LazyFrame) -> pl.DataFrame:
    """On the in-memory engine, as the engine runs three rows (`SMALL_ROWS`): most of these runs fail, and a failure
    on the streaming engine can leave it unable to finish a later query (`heddle_engine.execute.polars_engine`)."""
    return program.lazy({sql_table_name("input"): input}).collect(engine="in-memory")


def disagreements(query: str) -> list[str]:
    analysis = analyze_block(query, {"input": SCHEMA}, is_source=False)
    if analysis.schema is None or analysis.program is None:
        return []
    stated = {c.name: c.dtype for c in analysis.schema.columns if c.dtype is not None}
    out = []
    for a, b in PAIRS:
        try:
            result = run(analysis.program, frame(a, b))
        except (Exception, pl.exceptions.PanicException):  # the run refuses these types: nothing to agree with
            continue
        for name, dtype in stated.items():
            if name in result.columns and result.schema[name] != dtype:
                out.append(f"{query!r} with a: {a}, b: {b}: the checker says {name}: {dtype}, "
                           f"the run gives {result.schema[name]}")
    return out


def refusals(query: str) -> list[str]:
    """The input types a block refused over unknown columns would run on (typed, checked and run with them)."""
    analysis = analyze_block(query, {"input": SCHEMA}, is_source=False)
    if not any(d.is_error for d in analysis.diagnostics):
        return []
    out = []
    for a, b in PAIRS:
        declared = Schema.of({"k": pl.Float64(), "a": ACTUAL[a][0], "b": ACTUAL[b][0]}, open=True)
        typed = analyze_block(query, {"input": declared}, is_source=False)
        if typed.program is None:
            continue
        try:
            run(typed.program, frame(a, b))
        except (Exception, pl.exceptions.PanicException):
            continue
        errors = [d.message for d in analysis.diagnostics if d.is_error]
        out.append(f"{query!r} runs with a: {a}, b: {b}, but over unknown columns it is refused: {errors}")
    return out


@pytest.mark.parametrize("query", [
    "from input | derive {double = a * 2}",
    "from input | derive {d = a ?? 0, e = a + k, f = -a}",
    "from input | derive {c = case [a > 0 => a, true => 1]}",
    "from input | group {b} (aggregate {s = sum a, m = average a, x = max a})",
    "from input | window rows:-1..0 (derive {w = sum a, l = lag 1 a})",
    "from input | select {a, k} | append (from input | select {b, k = a})",
    "from input | sort {a} | take 2",
])
def test_listed_blocks_agree_with_the_run(query: str) -> None:
    assert disagreements(query) == []


def test_typed_where_the_type_is_independent_of_the_input() -> None:
    def types(query: str) -> dict[str, pl.DataType | None]:
        analysis = analyze_block(query, {"input": SCHEMA}, is_source=False)
        assert analysis.schema is not None
        return {c.name: c.dtype for c in analysis.schema.columns}

    derived = types("from input | derive {c = a > 1, n = text.length b, t = a * 2, u = k * 2}")
    assert derived == {"k": pl.Float64(), "a": None, "b": None, "c": pl.Boolean(), "n": pl.Int64(), "t": None,
                       "u": pl.Float64()}
    assert types("from input | group {a} (aggregate {n = count this, s = sum b})") == {
        "a": None, "n": pl.Int64(), "s": None}


@pytest.mark.parametrize("query", [
    "from input | derive {s = text.upper (a ?? \"none\")}",
    "from input | derive {x = a ?? \"none\"} | derive {s = text.upper x}",
    # runs when `a` is text and `b` a number: no probe gives both, one fails only for the other still unknown
    "from input | derive {x = 5 % case [b > 1 => true, true => b], s = a ~= \"x\"}",
])
def test_not_refused_when_it_runs_on_some_type(query: str) -> None:
    assert refusals(query) == []
    analysis = analyze_block(query, {"input": SCHEMA}, is_source=False)
    assert analysis.diagnostics == () and analysis.schema is not None
    assert not analysis.schema.names or analysis.schema.names[-1] == "s"  # names where a probe plan gave them


def test_generated_blocks_agree_with_the_run() -> None:
    rng = random.Random(SEED)
    queries = [block(rng) for _ in range(BLOCKS)]
    found = [line for query in queries for line in [*disagreements(query), *refusals(query)]]
    assert found == [], "\n".join(found[:20])
