"""Every relational block of the seed programs, with realistic schemas: typed, and free of errors."""

from __future__ import annotations

import polars as pl
import pytest

from heddle_lang.diagnostics import Severity
from heddle_lang.relational import analyze_block
from heddle_lang.types import Schema
from tests.relational import schemas as s

OVERVIEW_FILTER = "\n        from input\n        filter amount > 10000\n        select {user_id, amount}\n      "
OVERVIEW_JOINS = (
    "\n        from input\n        join fetch_user_data (==user_id)"
    "\n        join fetch_risk_profile (==user_id)\n      "
)
SPEC_JOIN = 'from input join users where input.id = users.id and input.exists select concat(input.id, "-", users.email)'
SPEC_JOIN_2 = "from input join users where input.id = users.id and input.exists select concat(input.id, users.email)"

SEED_BLOCKS = [
    # seeds/003 (spec), first example
    ("from input select id, email", {"input": s.USERS}, False, {"id": pl.Int64, "email": pl.String}),
    (SPEC_JOIN, {"input": s.VALIDATED, "users": s.USERS}, False, {'concat(input.id, "-", users.email)': pl.String}),
    # seeds/003, second example (the step read directly)
    ("from fetch_users select id, email", {"fetch_users": s.USERS}, True, {"id": pl.Int64, "email": pl.String}),
    (SPEC_JOIN_2, {"input": s.VALIDATED, "users": s.USERS}, False, {"concat(input.id, users.email)": pl.String}),
    # seeds/000 (overview)
    (OVERVIEW_FILTER, {"input": s.TRANSACTIONS}, False, {"user_id": pl.Int64, "amount": pl.Float64}),
    (
        OVERVIEW_JOINS,
        {"input": s.SCORED, "fetch_user_data": s.USER_DATA, "fetch_risk_profile": s.RISK_PROFILE},
        False,
        {"user_id": pl.Int64, "amount": pl.Float64, "fraud_score": pl.Float64, "country": pl.String,
         "velocity_score": pl.Float64},
    ),
    ("from fetch_active_users select username, id", {"fetch_active_users": s.ACTIVE_USERS}, True,
     {"username": pl.String, "id": pl.Int64}),
    ("from input filter id > 100", {"input": Schema.of({"username": pl.String(), "id": pl.Int64()})}, False,
     {"username": pl.String, "id": pl.Int64}),
    ("from input select error_msg, stack_trace", {"input": s.ERROR_CONTEXT}, False,
     {"error_msg": pl.String, "stack_trace": pl.String}),
]


@pytest.mark.parametrize(("query", "schemas", "is_source", "expected"), SEED_BLOCKS, ids=range(len(SEED_BLOCKS)))
def test_seed_block(query: str, schemas: dict[str, Schema], is_source: bool, expected: dict[str, pl.DataType]) -> None:
    analysis = analyze_block(query, schemas, is_source=is_source)
    errors = [d for d in analysis.diagnostics if d.severity is not Severity.INFORMATION]
    assert errors == []
    assert analysis.schema == Schema.of(expected)
    assert analysis.sql is not None


def test_seed_block_runs_on_polars_with_the_documented_table_names() -> None:
    analysis = analyze_block(SPEC_JOIN, {"input": s.VALIDATED, "users": s.USERS}, is_source=False)
    frames = {
        "input": pl.DataFrame({"id": [1, 2, 3], "email": ["a@x", "b@x", "c@x"], "exists": [True, False, True]}),
        "users": pl.DataFrame({"id": [1, 2], "name": ["A", "B"], "email": ["a@x", "b@x"]}),
    }
    assert analysis.program is not None
    result = analysis.program.lazy({sql: frames[name].lazy() for sql, name in analysis.sql_tables.items()}).collect()
    assert result.to_dict(as_series=False) == {'concat(input.id, "-", users.email)': ["1-a@x"]}


def test_overview_lookup_joins_keep_one_key_column() -> None:
    schemas = {"input": s.SCORED, "fetch_user_data": s.USER_DATA, "fetch_risk_profile": s.RISK_PROFILE}
    analysis = analyze_block(OVERVIEW_JOINS, schemas, is_source=False)
    assert analysis.tables == ("input", "fetch_user_data", "fetch_risk_profile")
    assert analysis.schema is not None
    assert analysis.schema.names.count("user_id") == 1


def test_lookup_join_bringing_a_column_twice_warns() -> None:
    # The overview's transactions carry `country`, and so does the user lookup.
    schemas = {"input": s.TRANSACTIONS, "fetch_user_data": s.USER_DATA, "fetch_risk_profile": s.RISK_PROFILE}
    analysis = analyze_block(OVERVIEW_JOINS, schemas, is_source=False)
    [warning] = analysis.diagnostics
    assert (warning.code, warning.severity) == ("HE6004", Severity.WARNING)
    assert OVERVIEW_JOINS[warning.start : warning.end] == "fetch_user_data"
    assert "country" in warning.message
    # PRQL's SQL names the second `country` `_expr_0` (a CTE holds the first join), and so does the block
    assert analysis.schema is not None
    assert analysis.schema.names == ["user_id", "amount", "country", "_expr_0", "velocity_score"]
    assert "named `_expr_0`" in warning.message
