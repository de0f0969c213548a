"""Hover over every kind of thing a document holds, on real analyses of the examples and inline texts."""

from __future__ import annotations

import pytest

from heddle_lang.ide.hover import hover
from heddle_lang.ide.results import Hover
from heddle_lang.semantic import Analysis
from tests.ide.assist_support import HEAD, TOY_CATALOG, TOY_HEAD, analysis_of, at, cursor_in, example, slice_of


def hover_at(analysis: Analysis, needle: str, nth: int = 0, shift: int = 0) -> Hover:
    result = hover(analysis, at(analysis, needle, nth, shift))
    assert result is not None, needle
    return result


def covered(analysis: Analysis, result: Hover) -> str:
    return slice_of(analysis, result.span.start, result.span.end)


@pytest.fixture(scope="module")
def emails() -> Analysis:
    return example("seeds/validate_emails.he")


@pytest.fixture(scope="module")
def fraud() -> Analysis:
    return example("seeds/fraud_detection.he")


@pytest.fixture(scope="module")
def sales() -> Analysis:
    return example("csv_report.he")


# --- imports ---------------------------------------------------------------------------------------


def test_import_path_shows_the_module_its_doc_and_members(emails: Analysis) -> None:
    result = hover_at(emails, '"database/postgresql"', shift=3)
    assert covered(emails, result) == '"database/postgresql"'
    assert "**module** `database/postgresql` as `pg`" in result.markdown
    assert "typed offline" in result.markdown  # the module's doc
    assert "- `query`" in result.markdown and "`connection` → `postgresql.connection`" in result.markdown
    assert "postgresql.py:" in result.markdown


def test_import_alias_shows_the_module(emails: Analysis) -> None:
    result = hover_at(emails, "email_validate", shift=2)
    assert covered(emails, result) == "email_validate"
    assert "**module** `email/validate` as `email_validate`" in result.markdown
    assert "- `exists`" in result.markdown


def test_unknown_import_says_so() -> None:
    analysis = analysis_of('import "no/such" nope\n')
    result = hover_at(analysis, "no/such")
    assert "not found" in result.markdown


# --- functions -------------------------------------------------------------------------------------


def test_function_shows_signature_config_resources_output_and_location(emails: Analysis) -> None:
    result = hover_at(emails, "pg.query", shift=4)
    assert covered(emails, result) == "pg.query"
    text = result.markdown
    assert "pg.query <connection: postgresql.connection> { query: str }" in text
    assert "`query`: `str` — required" in text
    assert "`connection`: `postgresql.connection` — required" in text
    assert "**Input**: none: it starts a pipeline" in text
    assert "**Output**: inferred from its config" in text
    assert "Run a SELECT" in text
    assert "postgresql.py:" in text and "Defined in" in text


def test_function_in_a_pipeline_shows_its_contract_and_the_stage_schemas(emails: Analysis) -> None:
    result = hover_at(emails, "email_validate.exists", shift=16)
    text = result.markdown
    assert "**Input**: needs `id`: Int64, `email`: String (other columns pass along)" in text
    assert "**Output**: its input, plus {exists: Boolean}" in text
    # the schemas that actually flow here
    assert "| `email` | ? |" in text and "| `exists` | Boolean |" in text


def test_passthrough_output(emails: Analysis) -> None:
    text = hover_at(emails, "io.print", shift=3).markdown
    assert "**Output**: its input, passed through" in text
    assert "`rows`: `int | null` — optional" in text


def test_resource_constructor(emails: Analysis) -> None:
    result = hover_at(emails, "pg.connection", shift=5)
    assert "**resource constructor**" in result.markdown and "`postgresql.connection`" in result.markdown
    assert "`host`: `str` — required" in result.markdown
    assert "`port`: `int` — optional, default `5432`" in result.markdown


# --- declared names ---------------------------------------------------------------------------------


def test_resource_at_its_declaration(emails: Analysis) -> None:
    result = hover_at(emails, "resource_pg", shift=1)
    assert covered(emails, result) == "resource_pg"
    assert "resource resource_pg = pg.connection" in result.markdown
    assert "of kind `postgresql.connection`" in result.markdown
    assert "Centralized connection configuration" in result.markdown  # its doc comment


def test_resource_at_an_injection_shows_the_declaration_and_the_slot(emails: Analysis) -> None:
    result = hover_at(emails, "resource_pg", nth=1, shift=2)
    assert covered(emails, result) == "resource_pg"
    assert "resource resource_pg = pg.connection" in result.markdown
    assert "**resource key** `connection`: `postgresql.connection` — required" in result.markdown


def test_injection_key_shows_the_kind_it_needs(emails: Analysis) -> None:
    result = hover_at(emails, "connection=", shift=3)
    assert covered(emails, result) == "connection"
    assert "`postgresql.connection` — required" in result.markdown
    assert "Injected: `resource_pg`" in result.markdown


def test_step_at_its_declaration_shows_the_call_doc_and_output(emails: Analysis) -> None:
    result = hover_at(emails, "fetch_users", shift=1)
    text = result.markdown
    assert "step fetch_users = pg.query" in text
    assert "calls `pg.query` (`database/postgresql`)" in text
    assert "automatic type inference" in text  # the doc comment
    assert "| `id` | ? |" in text and "| `email` | ? |" in text


def test_step_at_a_use_shows_the_stage_output(emails: Analysis) -> None:
    result = hover_at(emails, "fetch_users", nth=1)
    assert covered(emails, result) == "fetch_users"
    assert "step fetch_users = pg.query" in result.markdown
    assert "| `name` | ? |" in result.markdown


def test_piped_step_shows_its_stage_input_and_output(fraud: Analysis) -> None:
    result = hover_at(fraud, "| generate_audit", shift=4)
    text = result.markdown
    assert "step generate_audit = openai.prompt" in text
    assert "**Input**" in text and "**Output**" in text
    assert "| `response` | String |" in text


def test_handler_at_a_trap(emails: Analysis) -> None:
    result = hover_at(emails, "? debug_error_handler", shift=4)
    assert covered(emails, result) == "debug_error_handler"
    assert "handler debug_error_handler" in result.markdown
    assert "from `validate_emails`" in result.markdown


def test_handler_and_workflow_at_their_declarations(fraud: Analysis) -> None:
    handler = hover_at(fraud, "alert_on_fail")
    assert "handler alert_on_fail" in handler.markdown and "Global error catcher" in handler.markdown
    workflow = hover_at(fraud, "FraudDetection")
    assert "workflow FraudDetection" in workflow.markdown
    assert "failures go to `alert_on_fail`" in workflow.markdown and "`tx_stream`" in workflow.markdown
    assert "Strict DAG Workflow" in workflow.markdown


def test_assignment_shows_its_schema(sales: Analysis) -> None:
    result = hover_at(sales, "> sales", shift=3)
    assert covered(sales, result) == "> sales"
    assert "**assignment** in `SalesByCountry`" in result.markdown
    assert "| `amount` | Float64 |" in result.markdown


def test_assignment_at_a_use(sales: Analysis) -> None:
    result = hover_at(sales, "sales\n", nth=1)
    assert "> sales" in result.markdown and "| `country` | String |" in result.markdown


# --- config ----------------------------------------------------------------------------------------


def test_config_key_shows_type_required_and_doc(emails: Analysis) -> None:
    result = hover_at(emails, "query:", shift=1)
    assert covered(emails, result) == "query"
    assert "`query`: `str` — required" in result.markdown
    assert "`@name` marks a parameter" in result.markdown
    assert "of `pg.query`" in result.markdown


def test_optional_config_key_with_default(emails: Analysis) -> None:
    result = hover_at(emails, "port:")
    assert "`port`: `int` — optional, default `5432`" in result.markdown


def test_config_value_shows_its_key(emails: Analysis) -> None:
    result = hover_at(emails, "SELECT id, name")
    assert covered(emails, result).startswith('query: "SELECT')
    assert "`query`: `str` — required" in result.markdown


def test_retry_policy_keys() -> None:
    analysis = analysis_of(TOY_HEAD + "workflow W {\n  [{ id: 1 }]\n    | <store=s1> toy.copy {"
                           " table: \"t\", retry: { attempts: 3, backoff: \"fixed\" } }\n}\n", TOY_CATALOG)
    assert "How the wait grows" in hover_at(analysis, "backoff").markdown
    assert "of `toy.copy.retry`" in hover_at(analysis, "backoff").markdown
    assert "Only the failing node runs again" in hover_at(analysis, "retry").markdown


def test_timeout_key() -> None:
    analysis = analysis_of(TOY_HEAD + "workflow W {\n  [{ id: 1 }]\n    | <store=s1> toy.copy {"
                           " table: \"t\", timeout: \"30s\" }\n}\n", TOY_CATALOG)
    markdown = hover_at(analysis, "timeout").markdown
    assert "The longest one attempt may take" in markdown and "its late result is discarded" in markdown


def test_nested_record_key() -> None:
    analysis = analysis_of(TOY_HEAD + "workflow W {\n  [{ id: 1 }]\n    | <store=s1> toy.copy {"
                           " table: \"t\", limits: { attempts: 3 } }\n}\n", TOY_CATALOG)
    result = hover_at(analysis, "attempts")
    assert "`attempts`: `int` — required" in result.markdown and "How many times." in result.markdown
    assert "of `toy.copy.limits`" in result.markdown


def test_unknown_config_key_has_no_hover() -> None:
    analysis = analysis_of(HEAD + "workflow W {\n  fetch\n    | io.print { nope: 1 }\n}\n")
    assert hover(analysis, at(analysis, "nope")) is None


# --- stages ----------------------------------------------------------------------------------------


def test_pipe_shows_the_stage_input_and_output(emails: Analysis) -> None:
    result = hover_at(emails, "| (from input select id, email)")
    text = result.markdown
    assert text.startswith("**stage**")
    input_part, output_part = text.split("**Output**")
    assert "| `name` | ? |" in input_part
    assert "| `name` |" not in output_part and "| `email` | ? |" in output_part


def test_error_context_stage(sales: Analysis) -> None:
    result = hover_at(sales, "*\n")
    assert "| `error_msg` | String |" in result.markdown
    assert "open schema" in result.markdown


def test_dataframe_stage() -> None:
    analysis = example("quickstart.he")
    result = hover_at(analysis, "{ id: 1", shift=-1)
    assert "| `amount` | Float64 |" in result.markdown and "| `customer` | String |" in result.markdown


# --- relational blocks -----------------------------------------------------------------------------


def test_block_shows_its_tables_output_and_sql(sales: Analysis) -> None:
    result = hover_at(sales, "        from input", shift=3)  # the blank before `from`
    text = result.markdown
    assert "**relational block**" in text
    assert "**`input`** (piped in)" in text and "| `amount` | Float64 |" in text
    assert "| `total` | Float64 |" in text and "| `orders` | Int64 |" in text
    assert "```sql" in text


def test_column_in_a_block_has_its_input_type(sales: Analysis) -> None:
    result = hover_at(sales, "sum amount", shift=5)
    assert covered(sales, result) == "amount"
    assert "**column** `amount`: Float64" in result.markdown and "of `input`" in result.markdown


def test_computed_column_comes_from_the_block(sales: Analysis) -> None:
    result = hover_at(sales, "-total", shift=2)
    assert "**column** `total`: Float64" in result.markdown and "computed by this block" in result.markdown


def test_transform_keyword(sales: Analysis) -> None:
    result = hover_at(sales, "aggregate {", shift=1)
    assert covered(sales, result) == "aggregate"
    assert "PRQL transform" in result.markdown


def test_table_read_by_a_block(fraud: Analysis) -> None:
    result = hover_at(fraud, "join fetch_user_data", shift=7)
    assert covered(fraud, result) == "fetch_user_data"
    assert "step fetch_user_data = pg.query" in result.markdown
    assert "| `country` | ? |" in result.markdown


def test_qualified_column_and_table_qualifier(emails: Analysis) -> None:
    column = hover_at(emails, "users.email", shift=7)
    assert covered(emails, column) == "email"
    assert "**column** `email`" in column.markdown and "of `users`" in column.markdown
    table = hover_at(emails, "input.exists", shift=1)
    assert covered(emails, table) == "input"
    assert "| `exists` | Boolean |" in table.markdown


def test_string_in_a_block_has_no_hover() -> None:
    analysis = analysis_of(HEAD + 'workflow W {\n  fetch\n    | (from input filter name == "bob")\n}\n')
    assert hover(analysis, at(analysis, "bob")) is None


# --- edges -----------------------------------------------------------------------------------------


def test_comments_blanks_and_out_of_range_offsets(emails: Analysis) -> None:
    assert hover(emails, at(emails, "Centralized")) is None
    assert hover(emails, -1) is None
    assert hover(emails, len(emails.tree.data)) is None
    assert hover(emails, 10**9) is None
    assert hover(emails, at(emails, "\n\nhandler")) is None


def test_offsets_are_bytes_after_non_ascii_text() -> None:
    text = HEAD + "// Café ☕ — données\nworkflow W {\n  [{ nom: \"Zoë\", n: 1 }]\n    | (from input select ‸n)\n}\n"
    analysis, offset = cursor_in(text)
    result = hover(analysis, offset)
    assert result is not None
    assert covered(analysis, result) == "n"
    assert "**column** `n`: Int64" in result.markdown


def test_broken_text_gives_none_or_a_hover_never_an_error() -> None:
    analysis, offset = cursor_in(HEAD + "workflow W {\n  fetch\n    | pg.‸\n")
    hover(analysis, offset)  # no exception
    analysis = analysis_of(HEAD + "workflow W {\n  fetch\n    | <broker=kb> kafka.produce { topic: ")
    result = hover(analysis, at(analysis, "kafka.produce", shift=2))
    assert result is not None and "kafka.produce" in result.markdown
