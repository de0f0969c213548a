"""What the analysis knows at a place: module members, the schemas flowing in and out of stages, blocks."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TypeVar, cast

from heddle_lang.catalog import FunctionSpec, ResourceSpec
from heddle_lang.ide.context import Cursor, Token
from heddle_lang.records import record
from heddle_lang.relational import referenced_tables
from heddle_lang.semantic.model import Analysis, Definition, Local, Use
from heddle_lang.syntax import ast
from heddle_lang.syntax.tree import SyntaxTree
from heddle_lang.text import Span
from heddle_lang.types import Schema


def member(analysis: Analysis, alias: str, name: str) -> FunctionSpec | ResourceSpec | None:
    module = analysis.imports.get(alias)
    if module is None:
        return None
    return module.functions.get(name) or module.resources.get(name)


def function_spec(analysis: Analysis, qualified: tuple[str, str] | None) -> FunctionSpec | None:
    if qualified is None:
        return None
    module = analysis.imports.get(qualified[0])
    return module.functions.get(qualified[1]) if module is not None else None


def stage_type(analysis: Analysis, span: Span) -> Schema | None:
    return next((s.schema for local in locals_around(analysis, span) for s in local.stage_types if s.span == span),
                None)


def definition_named(analysis: Analysis, name: str, scope: str | None = None) -> Definition | None:
    """The import alias or declaration `name`, else an assignment of that name (made in `scope` when given)."""
    found = analysis.declared(name)
    if found is not None:
        return found
    scope_definition = analysis.declared(scope) if scope is not None else None
    if scope_definition is not None and scope_definition.kind in ("workflow", "handler"):
        candidates = local(analysis, scope_definition.declaration).definitions
    else:
        candidates = analysis.definitions
    return next((d for d in candidates if d.name == name and d.kind == "assignment"
                 and scope in (None, d.scope)), None)


def step_output(analysis: Analysis, name: str) -> Schema | None:
    """The output of step `name` run as a source (its shared plan node), if some graph runs it so."""
    return per_analysis(analysis, "step_outputs", _step_outputs).get(name)


# Queries about one analysis come in bursts (a completion lists every step): each index is built once per
# analysis, for the latest analysis asked about; a weak reference, so an old analysis is never kept alive, and its
# indexes go with it.
_INDEXES: dict[str, tuple[weakref.ref[Analysis], object]] = {}
T = TypeVar("T")


def per_analysis(analysis: Analysis, name: str, build: Callable[[Analysis], T]) -> T:
    """`build(analysis)`, kept under `name` until another analysis asks for it or `analysis` is freed."""
    kept = _INDEXES.get(name)
    if kept is None or kept[0]() is not analysis:

        def forget(ref: weakref.ref[Analysis]) -> None:
            if _INDEXES.get(name, (None,))[0] is ref:
                del _INDEXES[name]

        kept = _INDEXES[name] = (weakref.ref(analysis, forget), build(analysis))
    return cast(T, kept[1])


def _step_outputs(analysis: Analysis) -> dict[str, Schema]:
    index: dict[str, Schema] = {}
    for graph in analysis.graphs_as_built():  # types only: nothing is moved into place
        for node in graph.nodes:
            if node.step is not None and not node.inputs:
                index.setdefault(node.step, node.output)
    return index


def local(analysis: Analysis, span: Span) -> Local:
    """What the analysis recorded inside the declaration at `span` (`Analysis.within`), kept per analysis."""
    kept = per_analysis(analysis, "local", lambda _: cast(dict[Span, Local], {}))
    found = kept.get(span)
    if found is None:
        found = kept[span] = analysis.within(span)
    return found


def locals_around(analysis: Analysis, span: Span) -> list[Local]:
    """What the analysis recorded in the declarations that hold `span` (two when it is where one ends and the next
    starts); outside every declaration, the whole document's lists."""
    found = [local(analysis, placed.span) for placed in analysis.tree.outline.around(span.start)
             if placed.span.covers(span)]
    return found or [per_analysis(analysis, "everything", _everything)]


def _everything(analysis: Analysis) -> Local:
    return Local(analysis.definitions, analysis.uses, analysis.stage_types, analysis.bindings)


def definition_output(analysis: Analysis, definition: Definition) -> Schema | None:
    if definition.kind == "assignment":
        return stage_type(analysis, definition.span)
    if definition.kind == "step":
        return step_output(analysis, definition.name)
    return None


def use_at(analysis: Analysis, span: Span) -> Use | None:
    """The use the analysis recorded at `span`."""
    return next((u for local in locals_around(analysis, span) for u in local.uses if u.span == span), None)


def output_at(analysis: Analysis, span: Span) -> Schema | None:
    """The schema flowing out of the stage (or `> name`) whose value is `span`."""
    schema = stage_type(analysis, span)
    if schema is not None:
        return schema
    use = use_at(analysis, span)
    if use is not None and use.target is not None:
        return definition_output(analysis, use.target)
    return None


def output_ending_at(analysis: Analysis, end: int) -> Schema | None:
    """The schema of the stage or assignment whose text ends at `end`."""
    around = locals_around(analysis, Span(end, end))
    found = [s for local in around for s in local.stage_types if s.span.end == end]
    if found:
        return max(found, key=lambda s: s.span.end - s.span.start).schema
    use = next((u for local in around for u in local.uses if u.span.end == end), None)
    if use is not None and use.target is not None:
        return definition_output(analysis, use.target)
    return None


def input_before(analysis: Analysis, cursor: Cursor, start: int) -> Schema | None:
    """The schema piped into the stage whose value starts at `start` (None for a source)."""
    j = cursor.index_before(start)
    while j >= 0 and cursor.tokens[j].kind == "comment":
        j -= 1
    if j < 0 or not cursor.tokens[j].is_punct("|"):
        return None
    j = cursor.significant_before(j)
    # `... ? handler |`: the trap belongs to the previous stage.
    if j >= 1 and cursor.tokens[j].kind == "ident":
        k = cursor.significant_before(j)
        if k >= 0 and cursor.tokens[k].is_punct("?"):
            j = cursor.significant_before(k)
    if j < 0:
        return None
    return output_ending_at(analysis, cursor.tokens[j].end)


def scope_at(tree: SyntaxTree, offset: int) -> ast.WorkflowDecl | ast.HandlerDecl | None:
    """The workflow or handler whose declaration holds `offset` (the only one whose AST is read)."""
    for placed in tree.outline.around(offset):
        if isinstance(placed.base, ast.WorkflowDecl | ast.HandlerDecl):
            decl = placed.decl
            assert isinstance(decl, ast.WorkflowDecl | ast.HandlerDecl)
            return decl
    return None


def assignments_before(analysis: Analysis, offset: int) -> list[Definition]:
    """The assignments readable at `offset`: made earlier in the same workflow or handler."""
    scope = scope_at(analysis.tree, offset)
    if scope is None or scope.name is None:
        return []
    return [d for d in local(analysis, scope.span).definitions
            if d.kind == "assignment" and d.scope == scope.name.text and d.span.end <= offset]


@record
class BlockInfo:
    """A relational block: where its text is, and the tables it reads with their schemas."""

    span: Span  # `( ... )`
    query_start: int  # byte offset of the block's text
    query: str
    tables: dict[str, Schema]  # "input" and named tables, in order of use
    output: Schema | None
    sql: str | None
    is_source: bool

    @property
    def main(self) -> str:
        """The table the block starts from: its first `from`, else `input`."""
        first = next((r for r in referenced_tables(self.query) if r.kind == "from"), None)
        return first.name if first is not None else "input"

    def char_offset(self, offset: int, data: bytes) -> int:
        """The character index into `query` of document byte `offset`."""
        return len(data[self.query_start : max(self.query_start, offset)].decode("utf-8", errors="replace"))

    def byte_offset(self, index: int) -> int:
        return self.query_start + len(self.query[:index].encode("utf-8", errors="surrogatepass"))


def block_at(analysis: Analysis, cursor: Cursor, offset: int) -> BlockInfo | None:
    """The relational block whose text (or parentheses' inside) holds `offset`."""
    for index, token in enumerate(cursor.tokens):
        if token.kind != "prql" or not (token.start <= offset <= token.end):
            continue
        opener = cursor.tokens[index - 1]
        close_end = token.end + 1 if token.closed else token.end
        span = Span(opener.start, close_end)
        return _block_info(analysis, cursor, span, token)
    return None


def _block_info(analysis: Analysis, cursor: Cursor, span: Span, token: Token) -> BlockInfo:
    tables: dict[str, Schema] = {}
    output = sql = None
    # An unclosed block's node ends where its text does: find it by where it starts, in its workflow's graph.
    scope = scope_at(analysis.tree, span.start)
    scope_name = scope.name.text if scope is not None and scope.name is not None else None
    graph = analysis.graph(scope_name) if scope_name is not None else None
    found = next(((graph, n) for n in graph.nodes if n.kind == "relational" and n.span.start == span.start),
                 None) if graph is not None else None
    if found is not None:
        graph, node = found
        for name, node_id in node.tables.items():
            tables[name] = graph.node(node_id).output
        output, sql = node.output, node.sql
    else:
        upstream = input_before(analysis, cursor, span.start)
        if upstream is not None:
            tables["input"] = upstream
        for ref in referenced_tables(token.text):
            definition = definition_named(analysis, ref.name, scope_name)
            schema = definition_output(analysis, definition) if definition is not None else None
            if schema is not None and ref.name not in tables:
                tables[ref.name] = schema
    return BlockInfo(span, token.start, token.text, tables, output, sql, is_source=not _piped(cursor, span.start))


def _piped(cursor: Cursor, start: int) -> bool:
    j = cursor.index_before(start)
    while j >= 0 and cursor.tokens[j].kind == "comment":
        j -= 1
    return j >= 0 and cursor.tokens[j].is_punct("|")
