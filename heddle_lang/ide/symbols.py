"""The outline of a document, and declarations found by name across documents.

`document_symbols` is hierarchical: imports, resources and steps (detail: the bound `alias.function`),
handlers and workflows with their pipelines, whose children are stages and `> name` assignments
(detail: the schema flowing out of each). Parts the text lacks are left out, never invented.
"""

from __future__ import annotations

from collections.abc import Iterable

from heddle_lang.ide.results import Symbol
from heddle_lang.semantic.model import Analysis
from heddle_lang.syntax import ast
from heddle_lang.text import Span

_LABEL_WIDTH = 40
WORKSPACE_KINDS = frozenset({"resource", "step", "handler", "workflow"})


def _short(text: str) -> str:
    compact = " ".join(text.split())
    return compact if len(compact) <= _LABEL_WIDTH else compact[: _LABEL_WIDTH - 3] + "..."


def _stage_label(value: ast.StageValue | None) -> str:
    if isinstance(value, ast.Reference):
        return value.name.text
    if isinstance(value, ast.Call):
        return value.qualified
    if isinstance(value, ast.RelationalBlock):
        return f"({_short(value.query)})"
    if isinstance(value, ast.DataFrame):
        return f"[{len(value.rows)} rows]"
    if isinstance(value, ast.ErrorContext):
        return "*"
    return "?"


class _Outline:
    def __init__(self, analysis: Analysis) -> None:
        self.types = {t.span: str(t.schema) for t in analysis.stage_types}
        # A name read in a pipeline carries the schema of what it names (an assignment's `> name`).
        for use in analysis.uses:
            if use.target is not None and use.target.span in self.types:
                self.types.setdefault(use.span, self.types[use.target.span])

    def stage(self, stage: ast.Stage) -> Symbol:
        label = _stage_label(stage.value)
        name = label if stage.is_source else f"| {label}"
        if stage.trap is not None:
            name += f" ? {stage.trap.text}"
        span = stage.value.span if stage.value is not None else stage.span
        return Symbol(name, "stage", stage.span, span, self.types.get(span, ""))

    def assignment(self, assignment: ast.Assignment) -> Symbol | None:
        if assignment.name is None:
            return None
        return Symbol(assignment.name.text, "assignment", assignment.span, assignment.name.span,
                      self.types.get(assignment.name.span, ""))

    def pipeline(self, pipeline: ast.Pipeline) -> Symbol:
        children: list[Symbol] = [self.stage(pipeline.source)]
        for step in pipeline.steps:
            child = self.stage(step) if isinstance(step, ast.Stage) else self.assignment(step)
            if child is not None:
                children.append(child)
        last = children[-1]
        detail = f"> {last.name}" if last.kind == "assignment" else last.detail
        return Symbol(children[0].name, "pipeline", pipeline.span, children[0].selection, detail, tuple(children))

    def declaration(self, decl: ast.Declaration) -> Symbol | None:
        if isinstance(decl, ast.Import):
            if decl.alias is None and decl.path is None:
                return None
            name = decl.alias.text if decl.alias is not None else f'"{decl.path.value if decl.path else ""}"'
            selection = decl.alias.span if decl.alias is not None else decl.span
            return Symbol(name or "?", "import", decl.span, selection, decl.path.value if decl.path else "")
        if decl.name is None:
            return None
        if isinstance(decl, ast.ResourceDecl | ast.StepDecl):
            kind = "resource" if isinstance(decl, ast.ResourceDecl) else "step"
            detail = decl.call.qualified if decl.call is not None else ""
            return Symbol(decl.name.text, kind, decl.span, decl.name.span, detail)
        pipelines = tuple(self.pipeline(p) for p in decl.pipelines)
        if isinstance(decl, ast.HandlerDecl):
            return Symbol(decl.name.text, "handler", decl.span, decl.name.span, "", pipelines)
        detail = f"? {decl.trap.text}" if decl.trap is not None else ""
        return Symbol(decl.name.text, "workflow", decl.span, decl.name.span, detail, pipelines)


def document_symbols(analysis: Analysis) -> list[Symbol]:
    """The document's declarations in order, with pipelines nested in handlers and workflows."""
    outline = _Outline(analysis)
    module = analysis.tree.ast
    symbols = [s for s in map(outline.declaration, module.declarations) if s is not None]
    symbols.extend(outline.pipeline(p) for p in module.stray_pipelines)
    return sorted(symbols, key=lambda s: s.span)


def match_score(name: str, query: str) -> int | None:
    """How well `name` matches `query`, lower is better (None: no match). Case-insensitive; the
    letters of `query` must appear in `name` in order."""
    if not query:
        return 3
    low, q = name.lower(), query.lower()
    if low == q:
        return 0
    if low.startswith(q):
        return 1
    if q in low:
        return 2
    position = 0
    for char in q:
        position = low.find(char, position) + 1
        if position == 0:
            return None
    return 4


def workspace_symbols(analyses: Iterable[tuple[str, Analysis]], query: str) -> list[tuple[str, Symbol]]:
    """Resources, steps, handlers and workflows of the documents whose names match `query`, best first."""
    found: list[tuple[int, str, Span, Symbol]] = []
    for path, analysis in analyses:
        for symbol in document_symbols(analysis):
            if symbol.kind not in WORKSPACE_KINDS:
                continue
            score = match_score(symbol.name, query)
            if score is not None:
                found.append((score, path, symbol.span, Symbol(symbol.name, symbol.kind, symbol.span,
                                                                symbol.selection, symbol.detail)))
    found.sort(key=lambda item: (item[0], item[1], item[2]))
    return [(path, symbol) for _, path, _, symbol in found]
