"""Completion by context, on incomplete text as the user types it (`‸` marks the cursor)."""

from __future__ import annotations

from heddle_lang.catalog import Catalog
from heddle_lang.ide.completion import complete, documentation
from heddle_lang.ide.results import CompletionItem
from heddle_lang.text import Span
from tests.ide.assist_support import HEAD, TOY_CATALOG, TOY_HEAD, cursor_in, paths


def items(text: str, catalog: Catalog | None = None, with_paths: bool = False) -> list[CompletionItem]:
    analysis, offset = cursor_in(text, catalog)
    return complete(analysis, offset, paths() if with_paths else ())


def labels(text: str, catalog: Catalog | None = None, with_paths: bool = False) -> list[str]:
    return [i.label for i in items(text, catalog, with_paths)]


def by_label(found: list[CompletionItem], label: str) -> CompletionItem:
    return next(i for i in found if i.label == label)


def workflow(body: str) -> str:
    """HEAD and a workflow around `body` (lines indented by the caller)."""
    return HEAD + "workflow W {\n" + body + "\n}\n"


# --- injections ------------------------------------------------------------------------------------


def test_resource_keys_of_the_function_after_the_injection() -> None:
    found = items(workflow("  fetch\n    | <‸> kafka.produce"))
    assert [i.label for i in found] == ["broker"]
    assert found[0].kind == "field" and "kafka.connection" in found[0].detail
    assert found[0].insert_text == "broker="


def test_resource_keys_of_the_function_before_the_injection_while_typing() -> None:
    assert labels(workflow("  fetch\n    | kafka.produce <‸")) == ["broker"]
    assert labels(workflow("  fetch\n    | kafka.produce <bro‸")) == ["broker"]
    assert labels(HEAD + "step s = pg.query <‸") == ["connection"]


def test_no_keys_when_the_function_is_unknown() -> None:
    assert labels(workflow("  fetch\n    | <‸")) == []
    assert labels(workflow("  fetch\n    | <‸> nowhere.thing")) == []


def test_keys_already_injected_are_not_offered() -> None:
    text = TOY_HEAD + "workflow W {\n  [{ id: 1 }]\n    | toy.copy <store=s1, ‸> { table: \"t\" }\n}\n"
    assert labels(text, TOY_CATALOG) == ["cache"]
    text = TOY_HEAD + "workflow W {\n  [{ id: 1 }]\n    | <‸> toy.copy { table: \"t\" }\n}\n"
    found = items(text, TOY_CATALOG)
    assert [i.label for i in found] == ["store", "cache"]
    assert "(required)" in found[0].detail and "(optional)" in found[1].detail


def test_resource_names_of_the_right_kind_after_key() -> None:
    assert labels(workflow("  fetch\n    | kafka.produce <broker=‸")) == ["kb"]
    assert labels(workflow("  fetch\n    | <broker=‸> kafka.produce")) == ["kb"]
    assert labels(HEAD + "step s = <connection=‸> pg.query") == ["warehouse"]
    found = items(HEAD + "step s = <connection=wa‸> pg.query")
    assert found[0].kind == "resource" and found[0].detail == "postgresql.connection"
    assert found[0].replace is not None


def test_resource_doc_comes_along() -> None:
    found = items(workflow("  fetch\n    | kafka.produce <broker=‸"))
    assert found[0].documentation == "The message broker."


# --- modules, functions, names ---------------------------------------------------------------------


def test_functions_after_alias_dot_in_a_pipeline() -> None:
    found = items(workflow("  fetch\n    | kafka.‸"))
    assert [i.label for i in found] == ["consume", "produce", "retry_queue"]
    produce = by_label(found, "produce")
    assert produce.kind == "function"
    assert produce.detail.startswith("kafka.produce <broker: kafka.connection>")
    assert "Send each row" in produce.documentation


def test_functions_that_fit_the_place_sort_first() -> None:
    piped = items(workflow("  fetch\n    | <broker=kb> kafka.‸"))
    assert by_label(piped, "produce").sort_text == "0produce" and by_label(piped, "consume").sort_text == "1consume"
    source = items(workflow("  <broker=kb> kafka.‸"))
    assert by_label(source, "consume").sort_text == "0consume" and by_label(source, "produce").sort_text == "1produce"
    declared = items(HEAD + "step s = kafka.‸")
    assert {i.sort_text for i in declared} == {"0consume", "0produce", "0retry_queue"}


def test_partial_member_replaces_the_word() -> None:
    text = workflow("  fetch\n    | kafka.pro‸")
    analysis, offset = cursor_in(text)
    found = complete(analysis, offset)
    assert found and all(i.replace == Span(offset - 3, offset) for i in found)


def test_resource_constructors_after_alias_dot_in_a_resource() -> None:
    found = items(HEAD + "resource r = kafka.‸")
    assert [i.label for i in found] == ["connection"]
    assert "kafka.connection" in found[0].detail
    assert labels(HEAD + "step s = kafka.‸") == ["consume", "produce", "retry_queue"]


def test_unknown_alias_offers_nothing() -> None:
    assert labels(workflow("  fetch\n    | nope.‸")) == []


def test_aliases_at_the_start_of_a_value() -> None:
    assert labels(HEAD + "step s = ‸") == ["io", "pg", "kafka"]
    assert labels(HEAD + "step s = <connection=warehouse> ‸") == ["io", "pg", "kafka"]
    assert labels(HEAD + "resource r = ‸") == ["pg", "kafka"]  # only modules that make resources
    assert by_label(items(HEAD + "step s = ‸"), "pg").detail == "database/postgresql"


def test_steps_assignments_and_aliases_after_a_pipe() -> None:
    found = items(workflow("  fetch\n    > users\n  users\n    | ‸"))
    assert [i.label for i in found] == ["users", "fetch", "io", "pg", "kafka"]
    assert by_label(found, "users").detail == "{id: ?, name: ?}"
    assert by_label(found, "fetch").kind == "step" and by_label(found, "fetch").detail == "step = pg.query"
    assert "Users, from the warehouse." in by_label(found, "fetch").documentation


def test_lazy_completion_leaves_a_steps_documentation_for_when_it_is_shown() -> None:
    analysis, offset = cursor_in(workflow("  fetch\n    > users\n  users\n    | ‸"))
    eager, lazy = complete(analysis, offset), complete(analysis, offset, lazy=True)
    assert [i.label for i in lazy] == [i.label for i in eager]
    step = by_label(lazy, "fetch")
    assert step.resolvable and step.documentation == ""
    assert documentation(analysis, step) == by_label(eager, "fetch").documentation
    assert "Users, from the warehouse." in documentation(analysis, step)
    users = by_label(lazy, "users")  # cheap documentation comes with the item
    assert not users.resolvable and documentation(analysis, users) == by_label(eager, "users").documentation


def test_names_at_the_start_of_a_pipeline_line() -> None:
    found = labels(workflow("  fetch\n    > users\n  us‸"))
    assert found[:2] == ["users", "fetch"]


def test_only_assignments_made_earlier_are_offered() -> None:
    found = labels(workflow("  ‸\n  fetch\n    > later"))
    assert "later" not in found and "fetch" in found


def test_aliases_after_an_injection_at_a_stage() -> None:
    assert labels(workflow("  fetch\n    | <broker=kb> ‸")) == ["io", "pg", "kafka"]


def test_nothing_after_an_assignment_arrow() -> None:
    assert labels(workflow("  fetch\n    > ‸")) == []


def test_handlers_after_a_question_mark() -> None:
    assert labels(workflow("  fetch\n    | io.print ? ‸")) == ["oops"]
    assert labels(HEAD + "workflow W ? ‸") == ["oops"]


# --- config ----------------------------------------------------------------------------------------


def test_config_keys_with_types_docs_and_snippets() -> None:
    found = items(workflow("  io.read_csv { ‸"))
    names = [i.label for i in found]
    assert names[0] == "path" and {"separator", "has_header", "schema", "columns"} <= set(names)
    path = by_label(found, "path")
    assert path.kind == "property" and path.detail == "str (required)" and path.sort_text == "0path"
    assert path.insert_text == 'path: "$1"' and path.snippet
    assert by_label(found, "has_header").insert_text == "has_header: ${1|true,false|}"
    assert by_label(found, "columns").insert_text == "columns: [$1]"
    assert "Keep only these columns" in by_label(found, "columns").documentation


def test_number_snippets_and_keys_already_given_are_left_out() -> None:
    found = items(HEAD + "resource r = pg.connection {\n  host: \"h\"\n  ‸\n}\n")
    names = [i.label for i in found]
    assert "host" not in names and "port" in names
    assert by_label(found, "port").insert_text == "port: $1"


def test_config_keys_after_a_comma_and_in_a_multiline_config() -> None:
    assert labels(workflow("  fetch\n    | kafka.produce { topic: \"x\", ‸ }")) == [
        "key_column", "value_column", "headers", "retry", "timeout"]
    assert labels(workflow("  <broker=kb> kafka.consume {\n    topic: \"x\"\n    st‸\n  }")) == [
        "topics", "group_id", "start", "schema", "value", "headers", "max_rows", "max_wait", "retry", "timeout"]


def test_no_snippet_when_the_colon_is_already_there() -> None:
    found = items(workflow("  io.read_csv { pa‸: \"x\" }"))
    assert by_label(found, "path").insert_text is None


def test_config_keys_of_a_nested_record() -> None:
    text = TOY_HEAD + "workflow W {\n  [{ id: 1 }]\n    | <store=s1> toy.copy { table: \"t\", limits: { ‸ } }\n}\n"
    found = items(text, TOY_CATALOG)
    assert [i.label for i in found] == ["attempts", "backoff", "jitter"]
    assert by_label(found, "attempts").insert_text == "attempts: $1"


def test_every_call_offers_a_retry_policy_and_its_keys() -> None:
    found = items(workflow("  fetch\n    | kafka.produce { topic: \"x\", ‸ }"))
    retry = by_label(found, "retry")
    assert retry.sort_text == "1retry" and "Only the failing node runs again" in retry.documentation
    inside = labels(workflow("  fetch\n    | kafka.produce { topic: \"x\", retry: { attempts: 3, ‸ } }"))
    assert inside == ["delay", "backoff", "max_delay", "jitter", "on"]
    assert "retry" not in labels(HEAD + "resource r = pg.connection {\n  ‸\n}\n")


def test_every_call_offers_a_timeout() -> None:
    found = items(workflow("  fetch\n    | kafka.produce { topic: \"x\", ‸ }"))
    timeout = by_label(found, "timeout")
    assert timeout.sort_text == "1timeout" and "The longest one attempt may take" in timeout.documentation
    assert "abandoned, not killed" in timeout.documentation
    assert "timeout" not in labels(workflow("  fetch\n    | kafka.produce { topic: \"x\", timeout: \"5s\", ‸ }"))
    assert "timeout" not in labels(HEAD + "resource r = pg.connection {\n  ‸\n}\n")


def test_config_values_for_bools_defaults_and_nulls() -> None:
    assert labels(workflow("  io.read_csv { path: \"x\", has_header: ‸ }")) == ["true", "false"]
    text = TOY_HEAD + "workflow W {\n  [{ id: 1 }]\n    | <store=s1> toy.copy { table: \"t\", mode: ‸ }\n}\n"
    found = items(text, TOY_CATALOG)
    assert [i.label for i in found] == ['"append"', "null"]
    assert by_label(found, '"append"').detail == "default"


def test_no_config_keys_in_values_or_dataframes() -> None:
    assert labels(workflow("  io.read_csv { path: \"x‸\" }")) == []
    assert labels(HEAD + "workflow W {\n  [{ ‸ }]\n}\n") == []


# --- imports and keywords --------------------------------------------------------------------------


def test_import_paths_inside_the_string() -> None:
    text = 'import "fh‸'
    analysis, offset = cursor_in(text)
    found = complete(analysis, offset, paths())
    assert "fhub/kafka" in [i.label for i in found] and "std/io" in [i.label for i in found]
    kafka = by_label(found, "fhub/kafka")
    assert kafka.kind == "module" and kafka.replace == Span(8, offset) and kafka.insert_text == 'fhub/kafka"'
    closed = items('import "fh‸"', with_paths=True)
    assert by_label(closed, "fhub/kafka").insert_text == "fhub/kafka"
    assert by_label(closed, "fhub/kafka").replace == Span(8, 10)


def test_import_paths_know_what_is_imported() -> None:
    found = items(HEAD + 'import "‸"', with_paths=True)
    assert by_label(found, "fhub/kafka").detail == "imported as kafka"
    assert "consume and produce" in by_label(found, "fhub/kafka").documentation


def test_import_paths_need_the_paths_parameter() -> None:
    assert labels('import "‸"') == []


def test_quoted_import_paths_and_alias_after_import() -> None:
    found = items("import ‸", with_paths=True)
    assert by_label(found, "fraud-score/detect").insert_text == '"fraud-score/detect" detect'
    assert labels('import "fhub/llm" ‸') == ["llm"]


def test_declaration_keywords_at_the_top_level() -> None:
    found = items(HEAD + "wo‸")
    assert [i.label for i in found] == ["import", "resource", "step", "handler", "workflow"]
    assert found[0].kind == "keyword" and found[4].snippet


def test_nothing_in_comments_or_strings() -> None:
    assert labels(workflow("  fetch // pg.‸")) == []
    assert labels(workflow("  fetch\n    | kafka.produce { topic: \"a ‸\" }")) == []


# --- relational blocks -----------------------------------------------------------------------------


def test_transforms_at_the_start_of_a_block() -> None:
    found = items(workflow("  fetch\n    | (‸)"))
    assert [i.label for i in found][:3] == ["from", "select", "filter"]
    assert {"join", "window", "append", "aggregate", "take", "sort", "derive", "group"} <= {i.label for i in found}
    assert found[0].kind == "transform" and "start from a table" in found[0].documentation


def test_transforms_on_a_new_line_and_inside_a_nested_pipeline() -> None:
    assert "select" in labels(workflow("  fetch\n    | (\n        from input\n        ‸\n      )"))
    assert "aggregate" in labels(workflow("  fetch\n    | (from input group {name} (‸))"))


def test_columns_of_the_input_with_their_types() -> None:
    text = HEAD + ("workflow W {\n  io.read_csv { path: \"x\", schema: { id: \"Int64\", city: \"String\" } }\n"
                   "    | (select ‸)\n}\n")
    found = items(text)
    assert [i.label for i in found] == ["id", "city"]
    assert found[0].kind == "column" and found[0].detail == "Int64 · input"


def test_columns_after_an_operator_and_while_typing_in_an_unclosed_block() -> None:
    assert labels(workflow("  fetch\n    | (from input filter id > ‸")) == ["id", "name"]
    assert labels(workflow("  fetch\n    | (from input select {na‸")) == ["id", "name"]


def test_columns_and_transforms_after_a_complete_expression() -> None:
    found = labels(workflow("  fetch\n    | (from input filter id > 1 ‸)"))
    assert found[:2] == ["id", "name"] and "select" in found


def test_tables_after_from_and_join() -> None:
    body = "  fetch\n    > users\n  users\n    | (from input join ‸)"
    assert labels(workflow(body)) == ["input", "users", "fetch"]
    assert labels(workflow("  (from ‸)")) == ["fetch"]  # a source block has no input
    assert labels(workflow("  fetch\n    | (from input join side:left ‸)"))[0] == "input"


def test_columns_of_a_named_table_and_an_alias() -> None:
    body = "  fetch\n    > users\n  fetch\n    | (from input join u = users (==id) select {u.‸})"
    found = items(workflow(body))
    assert [i.label for i in found] == ["id", "name"] and found[0].detail == "? · users"
    assert labels(workflow("  fetch\n    > users\n  (from users select users.‸)")) == ["id", "name"]


def test_nothing_inside_prql_strings_and_comments() -> None:
    assert labels(workflow("  fetch\n    | (from input filter name == \"a‸\")")) == []
    assert labels(workflow("  fetch\n    | (from input # a ‸\n)")) == []


def test_columns_after_non_ascii_text() -> None:
    text = HEAD + ("// Café ☕ — données\nworkflow W {\n  [{ nom: \"Zoë\", n: 1 }]\n"
                   "    | (from input filter nom == \"é\" select {n, ‸})\n}\n")
    analysis, offset = cursor_in(text)
    found = complete(analysis, offset)
    assert [i.label for i in found] == ["nom", "n"]
    assert found[0].detail == "String · input" and found[0].replace == Span(offset, offset)


def test_replace_span_is_in_bytes_after_non_ascii() -> None:
    text = "// ✓ é\nstep s = kafka.pro‸"
    analysis, offset = cursor_in(HEAD + text)
    found = complete(analysis, offset)
    assert found and found[0].replace == Span(offset - 3, offset)
    assert analysis.tree.data[offset - 3 : offset] == b"pro"


# --- robustness ------------------------------------------------------------------------------------


def test_out_of_range_and_empty_documents() -> None:
    analysis, _ = cursor_in("‸")
    assert [i.label for i in complete(analysis, 0)] == ["import", "resource", "step", "handler", "workflow"]
    assert complete(analysis, -5) == [] and complete(analysis, 99) == []


def test_steps_that_need_input_come_last_among_tables() -> None:
    found = items(HEAD + "step show = io.print\n\nworkflow W {\n  (from ‸)\n}\n")
    assert by_label(found, "fetch").sort_text == "2fetch" and by_label(found, "show").sort_text == "3show"
