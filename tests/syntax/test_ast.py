"""The typed AST over the seeds' programs: names, docs, injections, stages, values."""

from __future__ import annotations

from pathlib import Path

from heddle_lang.syntax import ast, parse

EXAMPLES = Path(__file__).parent.parent.parent / "examples"


def test_fraud_detection_declarations() -> None:
    module = parse((EXAMPLES / "seeds" / "fraud_detection.he").read_text()).ast
    assert [(i.path.value, i.alias.text) for i in module.imports if i.path and i.alias] == [
        ("fhub/kafka", "kafka"), ("fhub/postgresql", "pg"), ("fhub/clickhouse", "ch"),
        ("fhub/llm", "openai"), ("fraud-score/detect", "fraud_detection"),
    ]
    pg_db = module.resources[0]
    assert pg_db.name == ast.Name("pg_db", pg_db.name.span)
    assert pg_db.doc == "1. Centralized Resources (State/Connections)\nPostgreSQL"
    assert pg_db.call is not None and pg_db.call.qualified == "pg.connection"
    assert pg_db.call.config == ast.Dict((ast.Entry(ast.Name("host", pg_db.span), ast.Str("pg.internal", pg_db.span),
                                                    pg_db.span),), pg_db.span)
    fetch = module.steps[0].call
    assert fetch is not None
    (injection,) = fetch.injections
    assert not injection.after_function
    assert [(b.key.text, b.resource.text) for b in fetch.bindings if b.resource] == [("connection", "pg_db")]


def test_injection_after_function_and_multiline_blocks() -> None:
    module = parse((EXAMPLES / "seeds" / "validate_emails.he").read_text()).ast
    call = module.steps[0].call
    assert call is not None and call.injections[0].after_function
    (workflow,) = module.workflows
    assert workflow.trap is not None and workflow.trap.text == "global_error_handler"
    first, second = workflow.pipelines
    assert isinstance(first.source.value, ast.Reference) and first.source.value.name.text == "fetch_users"
    assert isinstance(first.steps[0], ast.Assignment) and first.steps[0].name.text == "users"
    validate = second.stages[2]
    assert isinstance(validate.value, ast.Call) and validate.value.qualified == "email_validate.exists"
    assert validate.trap is not None and validate.trap.text == "debug_error_handler"
    block = second.stages[1].value
    assert isinstance(block, ast.RelationalBlock) and block.query == "from input select id, email"


def test_relational_block_span_is_the_inner_text() -> None:
    text = "workflow W {\n  (\n    from t   # note (\n    select {a}\n  )\n}\n"
    tree = parse(text)
    (pipeline,) = tree.ast.workflows[0].pipelines
    block = pipeline.source.value
    assert isinstance(block, ast.RelationalBlock) and block.query_span is not None
    assert tree.slice(block.query_span) == "from t   # note (\n    select {a}"
    assert block.canonical == ("from t   # note (", "select {a}")


def test_values_and_dataframes() -> None:
    text = (
        'workflow W {\n  [{ id: 1, ok: true, none: null, ratio: -2.5e-1, tags: ["a\\n", """b"""] }]\n'
        "    | io.print\n}\n"
    )
    (pipeline,) = parse(text).ast.workflows[0].pipelines
    frame = pipeline.source.value
    assert isinstance(frame, ast.DataFrame)
    (row,) = frame.rows
    assert isinstance(row, ast.Dict)
    values = {e.key.text: e.value for e in row.entries}
    assert values["id"] == ast.Number(1, row.span)
    assert values["ok"] == ast.Bool(True, row.span)
    assert values["none"] == ast.Null(row.span)
    assert values["ratio"] == ast.Number(-0.25, row.span)
    assert values["tags"] == ast.List((ast.Str("a\n", row.span), ast.Str("b", row.span)), row.span)


def test_broken_text_still_lowers() -> None:
    module = parse("step s = pg. {\n  query: \"x\"\n}\nworkflow { a | }\n").ast
    (step,) = module.steps
    assert step.call is not None and step.call.function is None and step.call.module is not None


def test_declared_names_are_the_asts_without_lowering() -> None:
    from heddle_lang.syntax.lower import declared_names

    texts = [p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.rglob("*.he"))]
    texts += ["resource a = x.y {\n", "resource = x.y {}\nresource b = x.y {}\n", "resource resource = x.y\n",
              "step s = x.y\nresource c = <k=v> x.y { a: 1 }\nworkflow W {\n  s\n}\n", "resource \u00e9 = x.y\n"]
    for text in texts:
        tree = parse(text)
        assert declared_names(tree, "resource_declaration") == [d.name.text for d in tree.ast.resources
                                                                if d.name is not None], text
        assert declared_names(tree, "step_declaration") == [d.name.text for d in tree.ast.steps
                                                            if d.name is not None], text
