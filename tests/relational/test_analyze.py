"""`analyze_block`: diagnostics placed on what the user wrote, open schemas, sources, byte spans."""

from __future__ import annotations

import polars as pl

from heddle_lang.diagnostics import Severity, apply_edits
from heddle_lang.relational import BlockAnalysis, BlockDiagnostic, analyze_block
from heddle_lang.relational import apply_edits as apply_block_edits
from heddle_lang.text import Span
from heddle_lang.types import Schema
from tests.relational.schemas import EXAMPLE


def only(analysis: BlockAnalysis) -> BlockDiagnostic:
    assert len(analysis.diagnostics) == 1, analysis.diagnostics
    return analysis.diagnostics[0]


def at(query: str, diagnostic: BlockDiagnostic) -> str:
    return query[diagnostic.start : diagnostic.end]


def fixed(query: str, diagnostic: BlockDiagnostic, index: int = 0) -> str:
    return apply_block_edits(query, diagnostic.fixes[index].edits)


# --- unknown and ambiguous columns ---------------------------------------------------------------


def test_unknown_column_with_suggestion_and_exact_offsets() -> None:
    query = "from input select user_id, amout"
    d = only(analyze_block(query, EXAMPLE, is_source=False))
    assert d.code == "HE6003"
    assert (d.start, d.end) == (27, 32)
    assert "`amount`" in d.message
    assert fixed(query, d) == "from input select user_id, amount"
    assert analyze_block(fixed(query, d), EXAMPLE, is_source=False).diagnostics == ()


def test_unknown_column_after_non_ascii_text() -> None:
    query = 'from input\nderive {note = "café ☕ 日本"}\nselect {note, amout}'
    d = only(analyze_block(query, EXAMPLE, is_source=False))
    assert d.code == "HE6003"
    assert (d.start, d.end) == (query.index("amout"), query.index("amout") + 5)
    # In the document: byte spans.
    prefix = "workflow W {\n  x\n    | ("
    document = prefix + query + ")\n}\n"
    base = len(prefix.encode())
    diagnostic = d.to_diagnostic(base, query)
    data = document.encode()
    assert data[diagnostic.span.start : diagnostic.span.end] == b"amout"
    [fix] = diagnostic.fixes
    assert apply_edits(data, fix.edits).decode().count("amount") == 1


def test_unknown_qualified_column_and_join_key() -> None:
    query = "from input join u = users (input.user_id == u.id) select u.emial"
    d = only(analyze_block(query, EXAMPLE, is_source=False))
    assert (d.code, at(query, d)) == ("HE6003", "u.emial")
    assert fixed(query, d).endswith("select u.email")
    query = "from input join users (==id)"
    d = only(analyze_block(query, EXAMPLE, is_source=False))
    assert (d.code, at(query, d)) == ("HE6003", "id")
    assert "left side of the join" in d.message


def test_ambiguous_name_after_a_join() -> None:
    schemas = {**EXAMPLE, "input": Schema.of({"id": pl.Int64(), "amount": pl.Float64()})}
    query = "from input join users (input.id == users.id) select id, name"
    d = only(analyze_block(query, schemas, is_source=False))
    assert (d.code, at(query, d)) == ("HE6004", "id")
    assert "`input.id`" in d.message and "`users.id`" in d.message
    assert [f.title for f in d.fixes] == ["Use `input.id`", "Use `users.id`"]
    repaired = analyze_block(fixed(query, d, 1), schemas, is_source=False)
    assert repaired.diagnostics == ()
    assert repaired.schema == Schema.of({"id": pl.Int64(), "name": pl.String()})


def test_misspelt_transform_and_function() -> None:
    query = "from input selec user_id"
    d = only(analyze_block(query, EXAMPLE, is_source=False))
    assert (d.code, at(query, d), fixed(query, d)) == ("HE6001", "selec", "from input select user_id")
    query = "from input\nderive {r = round 2 amount}"
    d = only(analyze_block(query, EXAMPLE, is_source=False))
    assert (d.code, at(query, d)) == ("HE6003", "round")
    assert fixed(query, d).endswith("{r = math.round 2 amount}")


# --- syntax, tables, sources ---------------------------------------------------------------------


def test_syntax_errors() -> None:
    query = "from input\nfilter amount >"
    d = only(analyze_block(query, EXAMPLE, is_source=False))
    assert (d.code, at(query, d)) == ("HE6001", ">")
    query = "from input | select user_id )"
    d = only(analyze_block(query, EXAMPLE, is_source=False))
    assert (d.code, at(query, d)) == ("HE6001", ")")
    assert analyze_block(query, EXAMPLE, is_source=False).schema is None


def test_syntax_error_after_non_ascii_text() -> None:
    query = 'from input\nderive {s = "日本語"}\nfilter amount > ; 3'
    d = only(analyze_block(query, EXAMPLE, is_source=False))
    assert (d.code, at(query, d)) == ("HE6001", ";")
    query = "from input\nderive {x = 😀}"
    d = only(analyze_block(query, EXAMPLE, is_source=False))
    assert (d.code, at(query, d)) == ("HE6001", "😀")
    assert "😀" in d.message


def test_unknown_table_with_suggestion() -> None:
    query = "from input join userz (input.user_id == userz.id)"
    analysis = analyze_block(query, EXAMPLE, is_source=False)
    d = only(analysis)
    assert (d.code, at(query, d)) == ("HE6002", "userz")
    assert "`users`" in d.message
    assert fixed(query, d) == "from input join users (input.user_id == userz.id)"
    # The rest of the block is still analysed, the unknown table as an open one.
    assert analysis.schema is not None and analysis.schema.open


def test_from_input_at_a_source() -> None:
    query = "from input select id"
    d = only(analyze_block(query, {"users": EXAMPLE["users"]}, is_source=True))
    assert (d.code, at(query, d)) == ("HE3011", "input")
    d = only(analyze_block("select id", {}, is_source=True))
    assert (d.code, d.start, d.end) == ("HE3011", 0, 6)
    # A source reading a step is fine.
    assert analyze_block("from users select id", EXAMPLE, is_source=True).diagnostics == ()


def test_empty_block() -> None:
    d = only(analyze_block("  ", EXAMPLE, is_source=False))
    assert d.code == "HE6001"


# --- open schemas --------------------------------------------------------------------------------


def test_open_schema_reads_undeclared_columns_as_unknown() -> None:
    schemas = {"input": Schema.of({"amount": pl.Float64()}, open=True)}
    analysis = analyze_block("from input filter score > 0.5 select user_id, score, amount", schemas, is_source=False)
    assert analysis.diagnostics == ()
    assert analysis.schema == Schema.of({"user_id": None, "score": None, "amount": pl.Float64()})


def test_open_schema_passes_unknown_columns_through() -> None:
    schemas = {"input": Schema.of({"amount": pl.Float64()}, open=True)}
    analysis = analyze_block("from input filter score > 0.5", schemas, is_source=False)
    assert analysis.diagnostics == ()
    assert analysis.schema == Schema.of({"amount": pl.Float64(), "score": None}, open=True)
    assert analysis.sql is not None and "SELECT *" in analysis.sql


def test_open_schema_in_a_join() -> None:
    schemas = {"input": Schema.unknown(), "users": EXAMPLE["users"]}
    query = "from input join users (input.uid == users.id) select name, tier"
    analysis = analyze_block(query, schemas, is_source=False)
    assert analysis.diagnostics == ()
    assert analysis.schema == Schema.of({"name": pl.String(), "tier": None})


def test_null_typed_results() -> None:
    # A genuine null literal stays `Null`; unknown inputs make unknown (None) outputs.
    analysis = analyze_block("from input derive {x = null} select x", EXAMPLE, is_source=False)
    assert analysis.schema == Schema.of({"x": pl.Null()})
    schemas = {"input": Schema.of({"a": None})}
    assert analyze_block("from input select a", schemas, is_source=False).schema == Schema.of({"a": None})


# --- Polars planning -----------------------------------------------------------------------------


def test_type_error_from_planning() -> None:
    query = "from input derive {x = amount + country}"
    d = only(analyze_block(query, EXAMPLE, is_source=False))
    assert d.code == "HE6006"
    assert at(query, d) == "amount + country"
    assert "Float64" in d.message and "String" in d.message


def test_unsupported_by_the_engine() -> None:
    query = 'from input derive {x = s"UPPER({country})"}'
    d = only(analyze_block(query, EXAMPLE, is_source=False))
    assert (d.code, at(query, d)) == ("HE6007", 's"UPPER({country})"')
    assert "s-string" in d.message and "text" in d.message  # names the construct and what to write
    # LIKE with a computed pattern, which Polars SQL could not run, is computed by the engine.
    for query in ("from input filter (country | text.contains country)",
                  'from input filter (country | text.starts_with "F")'):
        assert analyze_block(query, EXAMPLE, is_source=False).diagnostics == ()


def test_regex_and_aggregates_plan() -> None:
    query = 'from input filter country ~= "^F" group country (aggregate total = sum amount, n = count this)'
    analysis = analyze_block(query, EXAMPLE, is_source=False)
    assert analysis.diagnostics == ()
    assert analysis.schema == Schema.of({"country": pl.String(), "total": pl.Float64(), "n": pl.Int64()})


def test_diagnostic_severity_and_conversion() -> None:
    query = "from input where amount = 1"
    d = analyze_block(query, EXAMPLE, is_source=False).diagnostics[0]
    assert d.severity is Severity.INFORMATION
    diagnostic = d.to_diagnostic(100, query)
    assert diagnostic.span == Span(100 + d.start, 100 + d.end)
    assert diagnostic.code == "HE6005"


# --- column names PRQL reads otherwise ------------------------------------------------------------


def test_columns_named_like_prql_types_and_keywords() -> None:
    # Kafka messages carry `timestamp`; `from` and `a b` need quoting in PRQL.
    kafka = Schema.of({"key": pl.Binary(), "timestamp": pl.Datetime("ms", "UTC"), "from": pl.Int64(),
                       "a b": pl.String(), "amount": pl.Float64()})
    schemas = {"input": kafka}
    analysis = analyze_block("from input filter amount > 0 select timestamp, `a b` sort timestamp", schemas,
                             is_source=False)
    assert analysis.diagnostics == ()
    assert analysis.schema == Schema.of({"timestamp": pl.Datetime("ms", "UTC"), "a b": pl.String()})
    analysis = analyze_block("from input select {input.`from`, t = (timestamp | as date)}", schemas, is_source=False)
    assert analysis.diagnostics == ()
    assert analysis.schema is not None and analysis.schema.names == ["from", "t"]


def test_column_named_like_a_function() -> None:
    schemas = {"input": Schema.of({"id": pl.Int64(), "sum": pl.Int64(), "amount": pl.Float64()})}
    query = "from input group id (aggregate total = sum amount)"
    d = only(analyze_block(query, schemas, is_source=False))
    assert (d.code, at(query, d)) == ("HE6004", "sum")
    assert d.fixes[0].title == "Use the function `std.sum`"
    repaired = analyze_block(fixed(query, d), schemas, is_source=False)
    assert repaired.diagnostics == ()
    assert repaired.schema == Schema.of({"id": pl.Int64(), "total": pl.Float64()})


def test_functions_polars_sql_lacked() -> None:
    schemas = {"input": Schema.of({"id": pl.Int64(), "ok": pl.Boolean(), "amount": pl.Float64()})}
    analysis = analyze_block("group id (aggregate {a = any ok, b = all ok})", schemas, is_source=False)
    assert analysis.diagnostics == ()
    assert analysis.schema == Schema.of({"id": pl.Int64(), "a": pl.Boolean(), "b": pl.Boolean()})
    # a window function without `sort` reads the rows in the table's order, as SQL engines do
    for query in ("from input derive {previous = lag 1 amount}", "sort id | derive {previous = lag 1 amount}"):
        assert analyze_block(query, schemas, is_source=False).diagnostics == ()


def test_functions_on_columns_of_unknown_type_are_not_rejected() -> None:
    # A column whose type is known only at run time (an offline SQL query, an open schema): the checker
    # cannot know what would fail, so nothing is rejected; the run decides.
    schemas = {"input": Schema.of({"x": None, "name": None}), "events": Schema.unknown()}
    for query in ("from input derive {l = math.log 10 x, r = math.round 2 x, s = math.sqrt x}",
                  "from input derive {u = text.upper name, n = text.length name, d = x + 1}",
                  'from input derive {t = (x | date.to_text "%Y")}',
                  "from events derive {l = math.ln amount, e = math.exp amount}"):
        analysis = analyze_block(query, schemas, is_source=query.startswith("from events"))
        assert [d for d in analysis.diagnostics if d.is_error] == [], query
        assert analysis.schema is not None


def test_a_let_inside_a_block_is_not_a_table() -> None:
    schemas = {"tracks": Schema.of({"id": pl.Int64(), "price": pl.Float64()})}
    query = "let cheap = (from tracks | filter price < 1)\nfrom cheap\naggregate {n = count this}"
    analysis = analyze_block(query, schemas, is_source=True)
    assert analysis.diagnostics == ()
    assert analysis.tables == ("tracks",)
    assert analysis.schema == Schema.of({"n": pl.Int64()})


def test_a_function_of_a_relation() -> None:
    schemas = {"tracks": Schema.of({"id": pl.Int64(), "price": pl.Float64()})}
    query = "let top = func rel <relation> -> (from rel | sort {-price} | take 1)\nfrom tracks\ntop"
    analysis = analyze_block(query, schemas, is_source=True)
    assert analysis.diagnostics == ()
    assert analysis.tables == ("tracks",)
    assert analysis.schema == schemas["tracks"]
