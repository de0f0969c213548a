"""Structural syntax rules the grammar leaves permissive on purpose (HE1005-HE1012).

The grammar accepts these shapes so that the message can be specific; this module rejects them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from heddle_lang.diagnostics import Diagnostic, Fix, Severity, TextEdit
from heddle_lang.syntax import ast
from heddle_lang.syntax.lower import MAX_NESTING

if TYPE_CHECKING:
    from heddle_lang.syntax.tree import SyntaxTree


KEYWORDS = frozenset({"import", "resource", "step", "handler", "workflow", "true", "false", "null"})


def _call_names(call: ast.Call) -> Iterator[ast.Name | None]:
    yield call.module
    yield call.function
    for binding in call.bindings:
        yield binding.key
        yield binding.resource


def _pipeline_names(pipeline: ast.Pipeline) -> Iterator[ast.Name | None]:
    for step in (pipeline.source, *pipeline.steps):
        if isinstance(step, ast.Assignment):
            yield step.name
            continue
        yield step.trap
        if isinstance(step.value, ast.Reference):
            yield step.value.name
        elif isinstance(step.value, ast.Call):
            yield from _call_names(step.value)


def _names(module: ast.Module) -> Iterator[ast.Name | None]:
    for pipeline in module.stray_pipelines:
        yield from _pipeline_names(pipeline)
    for declaration in module.declarations:
        if isinstance(declaration, ast.Import):
            yield declaration.alias
            continue
        yield declaration.name
        if isinstance(declaration, ast.ResourceDecl | ast.StepDecl):
            if declaration.call is not None:
                yield from _call_names(declaration.call)
            continue
        if isinstance(declaration, ast.WorkflowDecl):
            yield declaration.trap
        for pipeline in declaration.pipelines:
            yield from _pipeline_names(pipeline)


def _values(value: ast.Value | None) -> Iterator[ast.Value]:
    if value is None:
        return
    yield value
    if isinstance(value, ast.Dict):
        for entry in value.entries:
            yield from _values(entry.value)
    elif isinstance(value, ast.List):
        for item in value.items:
            yield from _values(item)


def _call_checks(call: ast.Call) -> Iterator[Diagnostic]:
    before = [i for i in call.injections if not i.after_function]
    after = [i for i in call.injections if i.after_function]
    if before and after:
        yield Diagnostic("HE1006", after[0].span,
                         f"resources for `{call.qualified}` are injected both before and after the function;"
                         " keep them in one `<...>`")
    for injection in call.injections:
        if not injection.bindings:
            yield Diagnostic("HE1012", injection.span, "`<>` injects nothing: name a resource (`<key=resource>`)"
                             " or remove it", severity=Severity.WARNING,
                             fixes=(Fix("remove `<>`", (TextEdit(injection.span, ""),)),))
    if call.config is not None:
        yield from _value_checks(call.config)


def _value_checks(root: ast.Value) -> Iterator[Diagnostic]:
    for value in _values(root):
        if isinstance(value, ast.TooDeep):
            yield Diagnostic("HE1014", value.span, "values are nested too deeply here (more than "
                             f"{MAX_NESTING} levels of `{{}}` and `[]`)")
        elif isinstance(value, ast.BareWord):
            if value.text in ("True", "False", "None", "nil"):
                hint = {"True": "true", "False": "false", "None": "null", "nil": "null"}[value.text]
                yield Diagnostic("HE1008", value.span, f"`{value.text}` is not a Heddle value; write `{hint}`",
                                 fixes=(Fix(f"replace with `{hint}`", (TextEdit(value.span, hint),)),))
            else:
                yield Diagnostic("HE1008", value.span,
                                 f"`{value.text}` is not a value: strings need double quotes",
                                 fixes=(Fix(f'quote it: "{value.text}"',
                                            (TextEdit(value.span, f'"{value.text}"'),)),))


def _pipeline_checks(pipeline: ast.Pipeline, in_handler: bool) -> Iterator[Diagnostic]:
    for stage in pipeline.stages:
        value = stage.value
        if isinstance(value, ast.ErrorContext) and not in_handler:
            yield Diagnostic("HE1009", value.span,
                             "`*` (the error context) only exists inside a handler")
        elif isinstance(value, ast.Call):
            yield from _call_checks(value)
        elif isinstance(value, ast.DataFrame):
            for row in value.rows:
                if not isinstance(row, ast.Dict):
                    yield Diagnostic("HE1010", row.span,
                                     "each row of an inline dataframe must be a `{ column: value }` dict")
                else:
                    yield from _value_checks(row)


def structure_diagnostics(tree: SyntaxTree) -> Iterator[Diagnostic]:
    module = tree.ast
    for name in _names(module):
        if name is not None and name.text in KEYWORDS:
            yield Diagnostic("HE1013", name.span, f"`{name.text}` is a keyword and cannot be used as a name")
    for pipeline in module.stray_pipelines:
        yield Diagnostic("HE1005", pipeline.span,
                         "a pipeline cannot stand at top level: put it inside a `workflow` (or a `handler`)")
        yield from _pipeline_checks(pipeline, in_handler=False)
    for declaration in module.declarations:
        if isinstance(declaration, ast.ResourceDecl | ast.StepDecl) and declaration.call is not None:
            yield from _call_checks(declaration.call)
        elif isinstance(declaration, ast.HandlerDecl | ast.WorkflowDecl):
            in_handler = isinstance(declaration, ast.HandlerDecl)
            for pipeline in declaration.pipelines:
                yield from _pipeline_checks(pipeline, in_handler)
