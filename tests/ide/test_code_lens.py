"""Code lenses: run and plan each workflow."""

from __future__ import annotations

from heddle_lang.ide.lens import PLAN_COMMAND, RUN_COMMAND, code_lenses
from heddle_lang.ide.results import CodeLens
from tests.ide.assist_support import EXAMPLE_FILES, analysis_of, example, slice_of


def test_run_and_plan_on_the_workflow_name() -> None:
    analysis = example("seeds/fraud_detection.he")
    lenses = code_lenses(analysis)
    assert [(lens.title, lens.command, lens.arguments) for lens in lenses] == [
        ("▶ Run", RUN_COMMAND, ("FraudDetection",)),
        ("Plan", PLAN_COMMAND, ("FraudDetection",)),
    ]
    assert RUN_COMMAND == "heddle.runWorkflow" and PLAN_COMMAND == "heddle.planWorkflow"
    assert all(slice_of(analysis, lens.span.start, lens.span.end) == "FraudDetection" for lens in lenses)


def test_every_workflow_and_no_handler() -> None:
    text = "handler h {\n  *\n}\n\nworkflow A {\n}\n\nworkflow B ? h {\n}\n"
    lenses = code_lenses(analysis_of(text))
    assert [lens.arguments for lens in lenses] == [("A",), ("A",), ("B",), ("B",)]


def test_examples_have_two_lenses_per_workflow() -> None:
    for path in EXAMPLE_FILES:
        analysis = analysis_of(path.read_text(encoding="utf-8"))
        workflows = analysis.tree.ast.workflows
        assert len(code_lenses(analysis)) == 2 * len(workflows), path


def test_a_workflow_without_a_name_has_no_lens() -> None:
    assert code_lenses(analysis_of("workflow {\n}\n")) == []
    assert all(isinstance(lens, CodeLens) for lens in code_lenses(analysis_of("workflow W {")))
