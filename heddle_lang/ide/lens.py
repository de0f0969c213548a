"""Code lenses: run or plan a workflow from its name line."""

from __future__ import annotations

from heddle_lang.ide.context import never_raises
from heddle_lang.ide.results import CodeLens
from heddle_lang.semantic.model import Analysis

RUN_COMMAND = "heddle.runWorkflow"
PLAN_COMMAND = "heddle.planWorkflow"


@never_raises(list)
def code_lenses(analysis: Analysis) -> list[CodeLens]:
    """"▶ Run" and "Plan" on each workflow's name; the argument is the workflow's name."""
    lenses: list[CodeLens] = []
    for workflow in analysis.tree.ast.workflows:
        if workflow.name is None:
            continue
        name = workflow.name.text
        lenses.append(CodeLens(workflow.name.span, "▶ Run", RUN_COMMAND, (name,)))
        lenses.append(CodeLens(workflow.name.span, "Plan", PLAN_COMMAND, (name,)))
    return lenses
