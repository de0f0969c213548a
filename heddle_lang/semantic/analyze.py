"""`analyze`: everything the language checks before anything runs, for one document."""

from __future__ import annotations

import bisect
from collections.abc import Callable

from heddle_lang.catalog import NO_PROFILES, Catalog
from heddle_lang.check import check_tree
from heddle_lang.diagnostics import Diagnostic, Fix, Severity, Tag, TextEdit, shifted, sort_diagnostics
from heddle_lang.paths import PathPolicy
from heddle_lang.plan import Graph, Plan
from heddle_lang.relational.compile import PrqlCompiler, compile_prql
from heddle_lang.remembered import Remembered
from heddle_lang.semantic.context import Context, ResourceInfo, StepInfo
from heddle_lang.semantic.declarations import check_resource, check_step, collect_declarations, collect_imports
from heddle_lang.semantic.flow import GraphBuilder, check_trap
from heddle_lang.semantic.libraries import Exports, LibraryLoader, is_private
from heddle_lang.semantic.model import Analysis, Binding, Definition, EffectiveConfig, Local, StageType, Use
from heddle_lang.semantic.reuse import (
    CheckResult,
    GraphResult,
    Marks,
    Placements,
    Replayed,
    Reusable,
    environment,
    record,
    record_check,
    replay,
    replay_check,
)
from heddle_lang.syntax import ast
from heddle_lang.syntax.tree import SyntaxTree
from heddle_lang.text import Span


class AnalysisCancelled(Exception):  # noqa: N818 - named for what happened, like asyncio's CancelledError
    """The caller's `cancelled()` said the result is no longer wanted (its text has changed meanwhile)."""


def analyze(tree: SyntaxTree, catalog: Catalog, cancelled: Callable[[], bool] | None = None, *,
            paths: PathPolicy | None = None, compiler: PrqlCompiler = compile_prql, file: str | None = None,
            libraries: LibraryLoader | None = None, previous: Analysis | None = None) -> Analysis:
    """Syntax, layout, names, resources, configuration and types of `tree`, and its typed plan.

    `cancelled` is asked between the phases and between graphs: when it answers True the analysis stops
    with `AnalysisCancelled` (an editor's next keystroke makes this one useless). `paths`: where the file
    paths of configs may point (HE4011); None leaves them unchecked (a text with no file). `compiler`
    compiles the relational blocks' PRQL: in this process by default; a long-lived caller passes one that
    contains a crash of prqlc in another process (`relational.compile`). `file`: the document's file (absolute,
    POSIX), where the `.he` libraries it imports are found, read by `libraries` (`semantic.libraries`).
    `previous`: the analysis of the text before an edit, whose workflows and handlers are reused where neither
    their text nor what they read changed (`semantic.reuse`)."""

    def checkpoint() -> None:
        if cancelled is not None and cancelled():
            raise AnalysisCancelled

    checkpoint()
    ctx = Context(tree, catalog, paths=paths, compiler=compiler, file=file, loader=libraries)
    outline = tree.outline
    checkpoint()
    collect_imports(ctx, outline)
    earlier = previous.reusable if previous is not None else None
    collect_declarations(ctx, outline, earlier.definitions if earlier is not None else None)
    checkpoint()
    around = environment(ctx)
    if earlier is not None and not earlier.usable(catalog, around):
        earlier = None
    texts: dict[str, bytes] = {}  # the declarations' texts, as the lookups read them
    checks: dict[tuple[str, bytes], CheckResult] = {}
    for resource in ctx.resources.values():
        checkpoint()
        _check(ctx, resource, earlier, texts, checks)
    for step in ctx.steps.values():
        checkpoint()
        _check(ctx, step, earlier, texts, checks)
    graphs: list[Graph | Replayed] = []
    kept: dict[bytes, GraphResult] = {}
    for placed in (*ctx.handlers.values(), *ctx.workflows.values()):
        checkpoint()
        key = placed.text
        found = earlier.lookup(ctx, key, texts) if earlier is not None else None
        if found is not None:
            graphs.append(replay(ctx, found, placed.span))
            kept[key] = found
            continue
        marks = Marks.of(ctx)
        decl = placed.decl
        assert isinstance(decl, ast.HandlerDecl | ast.WorkflowDecl)
        graph = _build(ctx, decl)
        graphs.append(graph)
        result = record(ctx, placed.span, marks, graph)
        if result is not None:
            kept[key] = result
    graphs.extend(ctx.library_graphs.values())
    checkpoint()
    _unused(ctx)
    checkpoint()
    diagnostics = sort_diagnostics([*check_tree(tree), *ctx.diagnostics])
    profiles = getattr(catalog, "profiles", NO_PROFILES)
    resources = {name: EffectiveConfig(dict(info.config), dict(info.overrides), profiles.active, profiles.source)
                 for name, info in ctx.resources.items() if info.spec is not None}
    return Analysis(tree, tuple(diagnostics), _Parts(ctx, graphs), {a: m for a, (_, m) in ctx.modules.items()},
                    resources, dict(ctx.libraries), _exports(ctx), file,
                    Reusable(catalog, around, kept, checks, ctx.made))


class _Parts:
    """The plan and the lists of an analysis: the context's, with the replayed results moved into place."""

    def __init__(self, ctx: Context, graphs: list[Graph | Replayed]) -> None:
        self.ctx = ctx
        self.graphs = graphs

    def plan(self) -> Plan:
        return Plan(tuple(Placements.graph(g) for g in self.graphs))

    def graphs_as_built(self) -> tuple[Graph, ...]:
        return tuple(Placements.as_built(g) for g in self.graphs)

    def graph(self, name: str) -> Graph | None:
        found = next((g for g in self.graphs if Placements.as_built(g).name == name), None)
        return Placements.graph(found) if found is not None else None

    def declarations(self) -> tuple[Definition, ...]:
        return (*self.ctx.aliases.values(), *self.ctx.definitions.values())

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


def _check(ctx: Context, info: ResourceInfo | StepInfo, earlier: Reusable | None, texts: dict[str, bytes],
           kept: dict[tuple[str, bytes], CheckResult]) -> None:
    """Check a resource or step declaration, or replay its check of the previous version (`semantic.reuse`)."""
    span = info.placed.span
    key = ("resource" if isinstance(info, ResourceInfo) else "step", info.placed.text)
    found = earlier.lookup_check(ctx, key, texts) if earlier is not None else None
    if found is not None:
        replay_check(ctx, found, span, info)
        kept[key] = found
        return
    marks = Marks.of(ctx)
    if isinstance(info, ResourceInfo):
        check_resource(ctx, info)
    else:
        check_step(ctx, info)
    result = record_check(ctx, span, marks, info)
    if result is not None:
        kept[key] = result


def _build(ctx: Context, decl: ast.HandlerDecl | ast.WorkflowDecl) -> Graph:
    assert decl.name is not None
    if isinstance(decl, ast.HandlerDecl):
        return GraphBuilder(ctx, decl.name.text, "handler", decl.pipelines).build(None)
    guard = check_trap(ctx, decl.trap) if decl.trap is not None else None
    return GraphBuilder(ctx, decl.name.text, "workflow", decl.pipelines).build(guard)


def _exports(ctx: Context) -> Exports:
    return Exports(ctx.file or "", dict(ctx.definitions), dict(ctx.resources), dict(ctx.steps))


def _unused(ctx: Context) -> None:
    """HE3012: declarations and assignments nothing reads (workflows are entry points). A file without workflows is
    a library: its public resources, steps and handlers are there for the files that import it."""
    # By identity: a use's target is the very definition object (a dataclass's hash would hash all its fields).
    read = {id(u.target) for u in ctx.uses if u.target is not None}
    names: set[tuple[bool, str]] = set()  # what the replayed results read, tied to the current definitions
    for piece in ctx.placements.pieces:
        names.update(piece.result.reads)
    tables = (ctx.definitions, ctx.aliases)
    read.update(id(d) for is_import, name in names if (d := tables[is_import].get(name)) is not None)
    library = not ctx.workflows
    # An import whose module is missing is already an error: its uses could not be resolved.
    broken = {alias for alias, (_, spec) in ctx.modules.items() if spec is None}
    broken.update(alias for alias, library in ctx.libraries.items() if library is None)
    unread = (d for piece in ctx.placements.pieces for d in piece.unread_locals())
    for definition in (*ctx.aliases.values(), *ctx.definitions.values(), *ctx.local_definitions, *unread):
        if definition.kind == "workflow" or id(definition) in read:
            continue
        if library and definition.kind in ("resource", "step", "handler") and not is_private(definition.name):
            continue
        if definition.kind == "import" and definition.name in broken:
            continue
        ctx.report(_unused_diagnostic(ctx, definition))


def _unused_diagnostic(ctx: Context, definition: Definition) -> Diagnostic:
    """HE3012 for `definition`: made once per name, kind and layout of the lines it stands on, then moved."""
    declaration = definition.kind in ("import", "resource", "step", "handler")
    if declaration:  # the fix removes the lines the declaration stands on
        base, end = _lines_around(ctx.tree, definition.declaration)
    else:
        base = end = definition.span.start
    key = (definition.kind, definition.name, definition.span.start - base, definition.span.end - base, end - base)
    found = _UNUSED.get(key)
    if found is None:
        what = definition.kind
        fixes = (Fix(f"remove the unused {what}", (TextEdit(Span(0, end - base), ""),)),) if declaration else ()
        relative = Diagnostic("HE3012", Span(key[2], key[3]), f"the {what} `{definition.name}` is never used",
                              severity=Severity.WARNING, tags=(Tag.UNNECESSARY,), fixes=fixes)
        found = (relative, base, shifted(relative, base))
    elif found[1] != base:  # moved since last time
        found = (found[0], base, shifted(found[0], base))
    else:  # where it was: the same diagnostic
        return found[2]
    _UNUSED.put(key, found, len(ctx.definitions))
    return found[2]


def _lines_around(tree: SyntaxTree, span: Span) -> tuple[int, int]:
    """The start of the line `span` starts on and the start of the line after the one it ends on (or the end of the
    text). A declaration nearly always starts its line and ends it: read from the bytes around it, no search."""
    data = tree.data
    start, end = span.start, span.end
    if start == 0 or data[start - 1] in _BREAKS:
        base = start
    else:
        lines = tree.lines
        base = lines.line_starts[lines.line_of(start)]
    following = data[end:end + 2]
    if following == b"\r\n":
        return base, end + 2
    if following[:1] in (b"\n", b"\r"):
        return base, end + 1
    lines = tree.lines
    last = lines.line_of(end)
    return base, lines.line_starts[last + 1] if last + 1 < lines.line_count else len(data)


_BREAKS = frozenset(b"\r\n")


# HE3012 relative to the start of its lines, by what it says and how those lines are laid out, with the start of the
# lines it was last at and its diagnostic there (bounded: `heddle_lang.remembered`).
_UNUSED: Remembered[tuple[object, ...], tuple[Diagnostic, int, Diagnostic]] = Remembered()
