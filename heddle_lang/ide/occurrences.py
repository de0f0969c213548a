"""Every place a document writes one of its names: definitions, uses, and table names inside PRQL.

The semantic model records a definition for each declaration, import alias and assignment, and a use
for each name it resolves — including the first `from`/`join` of each table in a relational block.
This module adds what renaming must also touch inside PRQL: a table read a second time in the same
block (`join users ... join users`), and a table used as a qualifier (`users.id` after `join users`,
unless the join gave it an alias). Strings and comments of PRQL are never looked at.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from typing import cast

from heddle_lang.ide.schemas import local, per_analysis
from heddle_lang.records import record
from heddle_lang.relational.tables import ident_name, referenced_tables, significant
from heddle_lang.relational.tokens import tokenize
from heddle_lang.semantic.model import Analysis, Definition, Use
from heddle_lang.syntax import ast
from heddle_lang.syntax.lower import Placed
from heddle_lang.text import Span, char_offsets


@record
class Occurrence:
    name: str
    span: Span
    target: Definition | None  # what the name refers to; None when unresolved
    is_definition: bool = False
    in_relational: bool = False  # inside the PRQL text of a relational block


@record
class TableMention:
    """A table name in a block's PRQL: read by `from`/`join`, or written as a `name.` qualifier."""

    name: str
    span: Span  # bytes, in the document
    qualifier: bool = False


def relational_blocks(module: ast.Module) -> Iterator[tuple[str | None, ast.RelationalBlock]]:
    """Each relational block with the workflow or handler it belongs to (None at top level)."""
    for pipeline in module.stray_pipelines:
        yield from _blocks(None, pipeline)
    for decl in module.declarations:
        yield from declaration_blocks(decl)


def declaration_blocks(decl: ast.Declaration) -> Iterator[tuple[str | None, ast.RelationalBlock]]:
    """The relational blocks of one declaration, with the workflow or handler they belong to."""
    if isinstance(decl, ast.HandlerDecl | ast.WorkflowDecl):
        scope = decl.name.text if decl.name else None
        for pipeline in decl.pipelines:
            yield from _blocks(scope, pipeline)


def _blocks(scope: str | None, pipeline: ast.Pipeline) -> Iterator[tuple[str | None, ast.RelationalBlock]]:
    for stage in pipeline.stages:
        if isinstance(stage.value, ast.RelationalBlock) and stage.value.query_span is not None:
            yield scope, stage.value


def to_bytes(query: str, char_offset: int, base: int) -> int:
    """The document byte offset of character `char_offset` of `query`, which starts at byte `base`."""
    return base + char_offsets(query).to_bytes(char_offset)


def table_mentions(block: ast.RelationalBlock) -> list[TableMention]:
    """The table names `block` writes, in order (plain identifiers only: `db.users` is not a Heddle name)."""
    if block.query_span is None:
        return []
    query, base = block.query, block.query_span.start
    tokens = significant(tokenize(query))
    index = {t.start: i for i, t in enumerate(tokens)}
    out: list[TableMention] = []
    unaliased: set[str] = set()
    read_at: set[int] = set()
    for ref in referenced_tables(query):
        if "." in ref.name:
            continue
        out.append(TableMention(ref.name, Span(to_bytes(query, ref.offset, base), to_bytes(query, ref.end, base))))
        i = index.get(ref.offset, index.get(ref.offset - 1))
        if i is not None:
            read_at.add(i)
            if not (i > 0 and tokens[i - 1].is_op("=")):
                unaliased.add(ref.name)
    for i, token in enumerate(tokens):
        if token.kind != "ident" or i in read_at or i + 1 >= len(tokens):
            continue
        name, start, end = ident_name(token)
        dot = tokens[i + 1]
        if name in unaliased and dot.is_op(".") and dot.start == token.end and not (i > 0 and tokens[i - 1].is_op(".")):
            out.append(TableMention(name, Span(to_bytes(query, start, base), to_bytes(query, end, base)), True))
    return sorted(out, key=lambda m: m.span)


def _collect(blocks: list[ast.RelationalBlock], definitions: Iterable[Definition],
             uses: Iterable[Use]) -> tuple[Occurrence, ...]:
    # Blocks do not overlap: the one that may cover a span is the last to start at or before it (a search, not a
    # scan of every block for every use).
    query_spans = sorted(b.query_span for b in blocks if b.query_span is not None)
    starts = [q.start for q in query_spans]

    def in_prql(span: Span) -> bool:
        i = bisect.bisect_right(starts, span.start) - 1
        return i >= 0 and query_spans[i].covers(span)

    found: dict[Span, Occurrence] = {}
    for definition in definitions:
        found[definition.span] = Occurrence(definition.name, definition.span, definition, is_definition=True)
    by_span: dict[Span, Use] = {}
    for use in uses:
        by_span[use.span] = use
        found.setdefault(use.span, Occurrence(use.name, use.span, use.target, in_relational=in_prql(use.span)))
    for block in blocks:
        targets: dict[str, Definition | None] = {}
        for mention in table_mentions(block):
            recorded = by_span.get(mention.span)
            if recorded is not None and recorded.name == mention.name and not mention.qualifier:
                targets.setdefault(mention.name, recorded.target)
                continue
            target = targets.get(mention.name)
            if target is not None and mention.span not in found:
                found[mention.span] = Occurrence(mention.name, mention.span, target, in_relational=True)
    return tuple(sorted(found.values(), key=lambda o: o.span))


def occurrences(analysis: Analysis) -> tuple[Occurrence, ...]:
    """Every occurrence of a name in the document, by position (kept for the last analysis asked about)."""
    return per_analysis(analysis, "occurrences", lambda a: _collect(
        [b for _, b in relational_blocks(a.tree.ast)], a.definitions, a.uses))


def _declaration_occurrences(analysis: Analysis, placed: Placed) -> tuple[Occurrence, ...]:
    """The occurrences inside one top-level declaration (every name is written inside one, or in none): only its
    results and its AST are read, so a question about one place costs that declaration."""
    kept = per_analysis(analysis, "declaration_occurrences", lambda _: cast(dict[Span, tuple[Occurrence, ...]], {}))
    found = kept.get(placed.span)
    if found is None:
        inside = local(analysis, placed.span)
        blocks = [b for _, b in declaration_blocks(placed.decl)]
        found = kept[placed.span] = _collect(blocks, inside.definitions, inside.uses)
    return found


def occurrence_at(analysis: Analysis, offset: int) -> Occurrence | None:
    """The occurrence under `offset`: one containing it, else one ending right at it (the cursor after a word)."""
    touching = None
    for placed in analysis.tree.outline.around(offset):
        for occurrence in _declaration_occurrences(analysis, placed):
            span = occurrence.span
            if span.start <= offset < span.end:
                return occurrence
            if span.end == offset and touching is None:
                touching = occurrence
    return touching


def same_target(analysis: Analysis, occurrence: Occurrence) -> list[Occurrence]:
    """All occurrences naming what `occurrence` names (its definition included), by position."""
    target = occurrence.target
    if target is None:
        return []
    return [o for o in occurrences(analysis) if o.target == target]
