"""SQL habits inside PRQL: they compile, are reported as HE6005, and the fix yields canonical PRQL."""

from __future__ import annotations

import polars as pl
import pytest

from heddle_lang.diagnostics import Severity
from heddle_lang.relational import analyze_block, apply_edits
from heddle_lang.types import Schema
from tests.relational import schemas as s

SCHEMAS = {"input": s.VALIDATED, "users": s.USERS}
SPEC_JOIN = 'from input join users where input.id = users.id and input.exists select concat(input.id, "-", users.email)'


def test_spec_join_compiles_and_is_reported() -> None:
    analysis = analyze_block(SPEC_JOIN, SCHEMAS, is_source=False)
    [d] = analysis.diagnostics
    assert (d.code, d.severity) == ("HE6005", Severity.INFORMATION)
    assert SPEC_JOIN[d.start : d.end].startswith("where")
    for habit in ("`where`", "`=`", "`and`", "`concat("):
        assert habit in d.message
    assert analysis.prql == (
        'from input\njoin users (input.id == users.id && input.exists)\nselect f"{input.id}-{users.email}"'
    )
    [fix] = d.fixes
    repaired = apply_edits(SPEC_JOIN, fix.edits)
    assert repaired == 'from input join users (input.id == users.id && input.exists) select f"{input.id}-{users.email}"'
    again = analyze_block(repaired, SCHEMAS, is_source=False)
    assert again.diagnostics == ()
    # the same column, named by what each text writes for it
    assert analysis.schema is not None and again.schema is not None
    assert [c.dtype for c in again.schema.columns] == [c.dtype for c in analysis.schema.columns]
    assert analysis.schema.names == ['concat(input.id, "-", users.email)']
    assert again.schema.names == ['f"{input.id}-{users.email}"']
    assert again.sql == analysis.sql


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("from input where id = 1", "from input filter id == 1"),
        ("from input filter id = 1 or not exists", "from input filter id == 1 || !exists"),
        ("from input filter id <> 1 AND email is not null", "from input filter id != 1 && email != null"),
        ("from input filter email is null", "from input filter email == null"),
        ("from input join users on input.id = users.id select name",
         "from input join users (input.id == users.id) select name"),
        ("from input join users (input.id = users.id) select name",
         "from input join users (input.id == users.id) select name"),
        ("from input derive {x = concat(email, 'a\"b')}", 'from input derive {x = f"{email}a\\"b"}'),
        ('from input derive {x = concat(email, "{", id)}', 'from input derive {x = f"{email}{{{id}"}'),
        ('from input derive {x = concat(email, "-", id + 1)}',
         'from input derive {x = (email | as text) + "-" + (id + 1 | as text)}'),
    ],
)
def test_habit_fixes(written: str, canonical: str) -> None:
    analysis = analyze_block(written, SCHEMAS, is_source=False)
    habits = [d for d in analysis.diagnostics if d.code == "HE6005"]
    assert [d.code for d in analysis.diagnostics] == ["HE6005"], analysis.diagnostics
    repaired = apply_edits(written, habits[0].fixes[0].edits)
    assert repaired == canonical
    again = analyze_block(repaired, SCHEMAS, is_source=False)
    assert again.diagnostics == ()
    assert again.schema == analysis.schema


def test_assignments_are_not_comparisons() -> None:
    query = "from i = input derive {x = id} join u = users (==id) select {x, u.name}"
    analysis = analyze_block(query, SCHEMAS, is_source=False)
    assert analysis.diagnostics == ()
    assert analysis.schema == Schema.of({"x": pl.Int64(), "name": pl.String()})
