"""`ContextParts`: the plan and the whole-document lists of an analysis, put together from its context when first
read (`model.Parts`)."""

from __future__ import annotations

import bisect
from collections.abc import Callable

from heddle_lang.plan import Graph, Plan
from heddle_lang.semantic.context import Context
from heddle_lang.semantic.lazy_table import LazyTable
from heddle_lang.semantic.model import Binding, Definition, Local, StageType, Use
from heddle_lang.semantic.reuse import GraphResult, Placements, Replayed
from heddle_lang.syntax import ast
from heddle_lang.text import Span


class ContextParts:
    """The plan and the lists of an analysis: the context's, with the replayed results moved into place."""

    def __init__(self, ctx: Context, graphs: list[Graph | Replayed] | Callable[[], list[Graph | Replayed]]) -> None:
        self.ctx = ctx
        self._graphs = graphs  # or what makes them, when first read

    @property
    def graphs(self) -> list[Graph | Replayed]:
        if callable(self._graphs):
            self._graphs = self._graphs()
        return self._graphs

    def plan(self) -> Plan:
        return Plan(tuple(Placements.graph(g) for g in self.graphs))

    def graphs_as_built(self) -> tuple[Graph, ...]:
        return tuple(Placements.as_built(g) for g in self.graphs)

    def graph(self, name: str) -> Graph | None:
        found = next((g for g in self.graphs if Placements.as_built(g).name == name), None)
        return Placements.graph(found) if found is not None else None

    def declarations(self) -> tuple[Definition, ...]:
        return (*self.ctx.aliases.values(), *self.ctx.definitions.values())

    def declarations_as_built(self) -> tuple[Definition, ...]:
        table = self.ctx.definitions
        made = table.values_as_built() if isinstance(table, LazyTable) else table.values()
        return (*self.ctx.aliases.values(), *made)

    def declared(self, name: str) -> Definition | None:
        return self.ctx.aliases.get(name) or self.ctx.definitions.get(name)

    def readers(self, definition: Definition) -> frozenset[str] | None:
        ctx = self.ctx
        is_import = definition.kind == "import"
        target = (ctx.aliases if is_import else ctx.definitions).get(definition.name)
        if target is None or target != definition:
            return None
        read = (is_import, definition.name)
        found = {piece.result.graph.name for piece in ctx.placements.pieces
                 if isinstance(piece.result, GraphResult) and read in piece.result.reads}
        outline = ctx.tree.outline
        for use in ctx.uses:  # the graphs analysed anew: each use's scope is the workflow or handler around it
            if use.target is not target:
                continue
            for placed in outline.around(use.span.start):
                base = placed.base
                if isinstance(base, ast.WorkflowDecl | ast.HandlerDecl) and base.name is not None \
                        and placed.span.covers(use.span):
                    found.add(base.name.text)
        return frozenset(found)

    def within(self, span: Span) -> Local:
        ctx = self.ctx
        placed = ctx.tree.outline.placed
        declared = []  # the names of the declarations inside `span`, found by a search
        for index in range(bisect.bisect_left(placed, span.start, key=lambda p: p.start), len(placed)):
            base = placed[index].base
            if placed[index].start >= span.end:
                break
            name = base.alias if isinstance(base, ast.Import) else base.name
            table = ctx.aliases if isinstance(base, ast.Import) else ctx.definitions
            found = table.get(name.text) if name is not None else None
            if found is not None and span.covers(found.span):
                declared.append(found)
        uses, local, stage_types, bindings = ctx.placements.within(ctx, span)
        return Local((*declared, *local), uses, stage_types, bindings)

    def definitions(self) -> tuple[Definition, ...]:
        ctx = self.ctx
        return (*ctx.aliases.values(), *ctx.definitions.values(), *ctx.placements.local_definitions(ctx))

    def uses(self) -> tuple[Use, ...]:
        return self.ctx.placements.uses(self.ctx)

    def bindings(self) -> tuple[Binding, ...]:
        return self.ctx.placements.bindings(self.ctx)

    def stage_types(self) -> tuple[StageType, ...]:
        return self.ctx.placements.stage_types(self.ctx)
