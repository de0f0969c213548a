"""Structural syntax rules the grammar leaves permissive on purpose (HE1005-HE1012).

The grammar accepts these shapes so that the message can be specific; this module rejects them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from heddle_lang.diagnostics import Diagnostic, Fix, Severity, TextEdit, shifted
from heddle_lang.remembered import Remembered
from heddle_lang.syntax import ast
from heddle_lang.syntax.lower import MAX_NESTING

if TYPE_CHECKING:
    from heddle_lang.syntax.lower import Placed
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
    outline = tree.outline
    for pipeline in outline.stray_pipelines:
        for name in _pipeline_names(pipeline):
            yield from _keyword(name)
        yield Diagnostic("HE1005", pipeline.span,
                         "a pipeline cannot stand at top level: put it inside a `workflow` (or a `handler`)")
        yield from _pipeline_checks(pipeline, in_handler=False)
    yield from placed_diagnostics(tree, outline.placed)


def placed_diagnostics(tree: SyntaxTree, placed: Iterable[Placed]) -> Iterator[Diagnostic]:
    """The structure rules of some of `tree`'s declarations."""
    lowered = tree.lowered.declarations
    count = len(tree.outline.placed)
    for each in placed:
        entry = lowered.get(each.text)
        if entry is None or entry[2] is not each.base:  # not determined by its text alone: checked each time
            yield from _declaration_checks(each.decl)
            continue
        key = (type(each.base), each.text)
        found = _REMEMBERED.get(key)
        if found is None:
            found = tuple(shifted(d, -each.base_start) for d in _declaration_checks(each.base))
            _REMEMBERED.put(key, found, count)
        for diagnostic in found:
            yield shifted(diagnostic, each.start)


# A declaration's diagnostics (relative to its start) by its text: an edit checks the declarations it changed,
# whatever moved (bounded: `heddle_lang.remembered`).
_REMEMBERED: Remembered[tuple[type, bytes], tuple[Diagnostic, ...]] = Remembered()


def forget() -> None:
    """Drop the diagnostics remembered per declaration (the next check computes every one)."""
    _REMEMBERED.clear()


def _declaration_checks(declaration: ast.Declaration) -> Iterator[Diagnostic]:
    if isinstance(declaration, ast.Import):
        yield from _keyword(declaration.alias)
        return
    yield from _keyword(declaration.name)
    if isinstance(declaration, ast.ResourceDecl | ast.StepDecl):
        if declaration.call is not None:
            for name in _call_names(declaration.call):
                yield from _keyword(name)
            yield from _call_checks(declaration.call)
        return
    if isinstance(declaration, ast.WorkflowDecl):
        yield from _keyword(declaration.trap)
    for pipeline in declaration.pipelines:
        for name in _pipeline_names(pipeline):
            yield from _keyword(name)
    in_handler = isinstance(declaration, ast.HandlerDecl)
    for pipeline in declaration.pipelines:
        yield from _pipeline_checks(pipeline, in_handler)


def _keyword(name: ast.Name | None) -> Iterator[Diagnostic]:
    if name is not None and name.text in KEYWORDS:
        yield Diagnostic("HE1013", name.span, f"`{name.text}` is a keyword and cannot be used as a name")
