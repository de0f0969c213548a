"""Questions about one place read one declaration (`Analysis.within`, `declared`, `graph`, `readers`, the occurrences
of a declaration), and answer as the whole document's lists do: after random edits, each analysis reusing the
previous one's results (moved into place only where they are read), every declaration's view is the lists filtered
to its span."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.generate import generate
from heddle_engine.catalog import load_catalog
from heddle_lang.ide.occurrences import Occurrence, occurrence_at, occurrences
from heddle_lang.semantic import analyze
from heddle_lang.semantic.model import Analysis
from heddle_lang.syntax import SyntaxTree, ast, parse

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CATALOG = load_catalog(EXAMPLES)
TEXT = generate(160)
SCOPES = (ast.WorkflowDecl, ast.HandlerDecl)
SNIPPETS = [" ", "x", "\n", "}\n", "| io.print\n", "> rows\n", "? on_fail_5", "fetch_events_4", "\n  batch_11\n",
            "step extra = io.print\n", " filter amount > 1", "workflow W {\n  rows_13\n}\n", "(from input)", "io."]


def whole_document_occurrence_at(analysis: Analysis, offset: int) -> Occurrence | None:
    touching = None
    for occurrence in occurrences(analysis):
        if occurrence.span.start <= offset < occurrence.span.end:
            return occurrence
        if occurrence.span.end == offset and touching is None:
            touching = occurrence
    return touching


def check_views(analysis: Analysis) -> None:
    for placed in analysis.tree.outline.placed:
        span = placed.span
        local = analysis.within(span)  # before the whole lists are read: made from the results themselves
        assert local.definitions == tuple(d for d in analysis.definitions if span.covers(d.span))
        assert local.uses == tuple(u for u in analysis.uses if span.covers(u.span))
        assert local.stage_types == tuple(s for s in analysis.stage_types if span.covers(s.span))
        assert local.bindings == tuple(b for b in analysis.bindings if span.covers(b.span))
    assert analysis.declarations() == tuple(d for d in analysis.definitions if d.kind != "assignment")
    for definition in analysis.declarations():
        assert analysis.declared(definition.name) == next(
            d for d in analysis.definitions if d.name == definition.name and d.kind != "assignment")
        scopes = set()
        for use in analysis.uses:
            if use.target == definition:
                scopes.update(p.base.name.text for p in analysis.tree.outline.around(use.span.start)
                              if isinstance(p.base, SCOPES) and p.base.name is not None and p.span.covers(use.span))
        assert analysis.readers(definition) == scopes
    assert all(analysis.readers(d) is None for d in analysis.definitions if d.kind == "assignment")
    for graph in analysis.plan.graphs:
        assert analysis.graph(graph.name) == analysis.plan.graph(graph.name)


def check_occurrences(analysis: Analysis, offsets: list[int]) -> None:
    for offset in offsets:
        assert occurrence_at(analysis, offset) == whole_document_occurrence_at(analysis, offset)


edit = st.tuples(st.floats(0, 1), st.integers(0, 4), st.sampled_from(SNIPPETS))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(edit, min_size=1, max_size=5), st.lists(st.floats(0, 1), min_size=8, max_size=8))
def test_a_declarations_view_is_the_documents_lists_at_its_span(edits: list[tuple[float, int, str]],
                                                                 where: list[float]) -> None:
    tree: SyntaxTree = parse(TEXT)
    analysis = analyze(tree, CATALOG)
    for position, removed, inserted in edits:
        start = int(position * len(tree.data))
        while 0 < start < len(tree.data) and (tree.data[start] & 0xC0) == 0x80:  # a character boundary
            start -= 1
        end = min(len(tree.data), start + removed)
        while end < len(tree.data) and (tree.data[end] & 0xC0) == 0x80:
            end += 1
        tree = tree.edit(start, end, inserted)
        analysis = analyze(tree, CATALOG, previous=analysis)
    offsets = [int(w * len(tree.data)) for w in where]
    check_occurrences(analysis, offsets)  # before the whole lists exist
    check_views(analysis)
    check_occurrences(analysis, offsets)


def test_a_view_reads_only_its_declaration() -> None:
    """A question about one workflow after an edit elsewhere moves none of the other declarations' results."""
    tree = parse(TEXT)
    analysis = analyze(tree, CATALOG)
    edited = tree.edit(0, 0, "\n")  # every declaration moved, none changed
    analysis = analyze(edited, CATALOG, previous=analysis)
    workflow = next(p for p in edited.outline.placed if isinstance(p.base, ast.WorkflowDecl))
    local = analysis.within(workflow.span)
    assert local.uses and local.stage_types
    assert not {"plan", "definitions", "uses", "stage_types", "bindings"} & set(vars(analysis))
    assert occurrence_at(analysis, local.uses[0].span.start) is not None
    assert not {"plan", "definitions", "uses", "stage_types", "bindings"} & set(vars(analysis))
