"""Reusing a workflow's or handler's analysis, and the check of a resource or step declaration, from the previous
version of a document.

A workflow or handler reads its own text, the names and kinds of everything declared, the libraries
imported, and the declarations it names: the steps it runs (with the resources they inject and the
imports they call), the imports it calls. When none of that changed since the last analysis, its graph,
diagnostics, uses and stage types are those of last time, shifted by as many bytes as the declaration
moved: an edit costs the declarations it touches, not the file. What the analysis made of names declared
elsewhere (a use of a step) is tied again to the current declarations by name.

A resource or step declaration reads its text, the import it calls and the resources it injects: its check
(diagnostics, uses, bindings, and what it resolved: the fields of its `ResourceInfo` or `StepInfo`) is kept the same
way, unless a diagnostic of it reads every resource declared (a suggestion, the candidates to inject).

A result that points outside its declaration in a way that cannot be tied again (a diagnostic's related
place in another declaration, a fix editing elsewhere) is not kept: that declaration is analysed every time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from itertools import islice
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from heddle_lang.diagnostics import Diagnostic, shifted
from heddle_lang.plan import Graph, Node
from heddle_lang.remembered import shared
from heddle_lang.semantic.model import Binding, Definition, StageType, Use, relocate_definition
from heddle_lang.syntax import ast
from heddle_lang.syntax.moving import relocator
from heddle_lang.text import Span, moved_span

_T = TypeVar("_T")
# Makes a named tuple from a tuple of its fields, without the Python frame of its `__new__`: one is made for each
# declaration an analysis replays.
_new = tuple.__new__

if TYPE_CHECKING:
    from heddle_lang.catalog import Catalog
    from heddle_lang.semantic.context import Context, ResourceInfo, StepInfo
    from heddle_lang.semantic.splice import State


@dataclass(frozen=True)
class GraphResult:
    """What building one workflow's or handler's graph added to the analysis, as it was at `span`."""

    span: Span  # the declaration's
    line: int  # the 0-based line it starts on
    graph: Graph
    diagnostics: tuple[Diagnostic, ...]
    uses: tuple[Use, ...]
    local_definitions: tuple[Definition, ...]
    stage_types: tuple[StageType, ...]
    bindings: tuple[Binding, ...]
    library_graphs: tuple[tuple[str, Graph], ...]  # library handlers it brought into the plan
    depends: tuple[tuple[str, bytes], ...]  # the declarations it read, by name, and their text
    reads: tuple[tuple[bool, str], ...]  # the declarations its uses name: (an import?, name)
    local_reads: frozenset[int]  # which of its local definitions its uses name (by index)


@dataclass(frozen=True)
class CheckResult:
    """What checking one resource or step declaration added to the analysis, as it was at `span`, and what it
    resolved (the fields of its `ResourceInfo` or `StepInfo`)."""

    span: Span
    diagnostics: tuple[Diagnostic, ...]
    uses: tuple[Use, ...]
    bindings: tuple[Binding, ...]
    resolved: dict[str, object]  # by field
    copied: tuple[str, ...]  # the fields of `resolved` that are dicts: each check has its own
    depends: tuple[tuple[str, bytes], ...]
    reads: tuple[tuple[bool, str], ...]  # the declarations its uses name: (an import?, name)


# Diagnostics that read every resource declared (suggestions, candidates), not only those the declaration names.
_READ_ALL = frozenset({"HE3014", "HE4003"})


@dataclass(frozen=True)
class Reusable:
    """The graphs and the checked declarations of one analysis, by the text of their declaration, and what they
    were made against."""

    catalog: Catalog
    environment: tuple[object, ...]
    results: Mapping[bytes, GraphResult]
    checks: Mapping[tuple[str, bytes], CheckResult]
    definitions: Mapping[str, tuple[ast.Declaration, Definition]]  # by name: each with the AST it was made from
    state: State | None = None  # what the analysis of an edit splices (`semantic.splice`); None: not spliceable

    def usable(self, catalog: Catalog, environment: tuple[object, ...]) -> bool:
        """Whether its results were made against this catalog, these names and these library files (each perhaps
        of another version: `changed_libraries`)."""
        *names, libraries = environment
        *own_names, own_libraries = self.environment
        return catalog is self.catalog and names == own_names \
            and [alias for alias, _ in libraries] == [alias for alias, _ in own_libraries]  # type: ignore[attr-defined]

    def changed_libraries(self, environment: tuple[object, ...]) -> frozenset[str]:
        """The aliases of the libraries (of a `usable` environment) that are another version than those its results
        read: the results that read one are made again (`Stale`)."""
        now, before = environment[-1], self.environment[-1]
        return frozenset(alias for (alias, made), (_, was) in zip(now, before, strict=True)  # type: ignore[call-overload]
                         if made != was)

    def lookup(self, ctx: Context, key: bytes, texts: dict[str, bytes], stale: Stale) -> GraphResult | None:
        """The result for the declaration whose text is `key`, if what it read is unchanged (`texts`: a memo)."""
        found = self.results.get(key)
        return found if found is not None and not stale.reads(found) and _unchanged(ctx, found.depends, texts) \
            else None

    def lookup_check(self, ctx: Context, key: tuple[str, bytes], texts: dict[str, bytes],
                     stale: Stale) -> CheckResult | None:
        """The check of the declaration of kind and text `key`, if what it read is unchanged."""
        found = self.checks.get(key)
        return found if found is not None and not stale.reads(found) and _unchanged(ctx, found.depends, texts) \
            else None


class Stale:
    """The names whose meaning changed with a library's new version: the aliases of the libraries that changed, and
    the resources and steps whose check (made now) read one. A result that reads or depends on one is made again;
    the others read nothing of those libraries, even through the steps they run."""

    def __init__(self, aliases: frozenset[str]) -> None:
        self.names = set(aliases)

    def reads(self, result: GraphResult | CheckResult) -> bool:
        names = self.names
        return bool(names) and (any(name in names for _, name in result.reads)
                                or any(name in names for name, _ in result.depends))

    def add_checked(self, name: str, result: GraphResult | CheckResult) -> None:
        """`name`'s check made now: stale for what runs or injects it, if it read a changed library."""
        if self.names and self.reads(result):
            self.names.add(name)


def _unchanged(ctx: Context, depends: tuple[tuple[str, bytes], ...], texts: dict[str, bytes]) -> bool:
    for name, text in depends:
        if name not in texts:
            texts[name] = text_of(ctx, name)
        if texts[name] != text:
            return False
    return True


def environment(ctx: Context) -> tuple[object, ...]:
    """What every workflow and handler reads: the names declared and imported, and the libraries."""
    names = tuple((d.name, d.kind) for d in ctx.definitions.values())
    libraries = tuple((alias, id(library)) for alias, library in ctx.libraries.items())
    return (ctx.file, ctx.paths, names, tuple(ctx.aliases), libraries)


def text_of(ctx: Context, name: str) -> bytes:
    """The text of the declaration or import named `name` (empty: none), sliced once per analysis."""
    found = ctx.declaration_texts.get(name)
    if found is None:
        definition = ctx.definitions.get(name) or ctx.aliases.get(name)
        found = b"" if definition is None else ctx.tree.data[definition.declaration.start:definition.declaration.end]
        ctx.declaration_texts[name] = found
    return found


def _dependencies(ctx: Context, uses: tuple[Use, ...]) -> tuple[tuple[str, bytes], ...]:
    """The declarations a graph read: what its uses name (the imports it calls among them), and the resources and
    imports of the steps it runs."""
    names: set[str] = set()
    pending = [u.target.name for u in uses
               if u.target is not None and u.target.kind in ("step", "resource", "import")
               and (u.target.file is None or u.target.file == ctx.file)]
    while pending:
        name = pending.pop()
        if name in names:
            continue
        names.add(name)
        info = ctx.steps.get(name) or ctx.resources.get(name)
        decl = info.placed.base if info is not None else None  # names only: the AST as lowered, unmoved
        if isinstance(decl, ast.StepDecl | ast.ResourceDecl) and decl.call is not None:
            if decl.call.module is not None:
                pending.append(decl.call.module.text)
            pending.extend(b.resource.text for b in decl.call.bindings
                           if b.resource is not None and b.resource.qualifier is None)
    return tuple(sorted((name, text_of(ctx, name)) for name in names))


class Marks(NamedTuple):
    """How much of each result list of the context existed before a declaration was checked or replayed (a tuple:
    one is made for each declaration of every version)."""

    diagnostics: int
    uses: int
    local_definitions: int
    stage_types: int
    bindings: int
    library_graphs: int

    @staticmethod
    def of(ctx: Context) -> Marks:
        return _new(Marks, (len(ctx.diagnostics), len(ctx.uses), len(ctx.local_definitions), len(ctx.stage_types),
                            len(ctx.bindings), len(ctx.library_graphs)))


def record(ctx: Context, span: Span, marks: Marks, graph: Graph) -> tuple[GraphResult, bool]:
    """What the graph of the declaration at `span` added since `marks`, and whether it can be reused later."""
    diagnostics = tuple(ctx.diagnostics[marks.diagnostics:])
    uses = tuple(ctx.uses[marks.uses:])
    local = tuple(ctx.local_definitions[marks.local_definitions:])
    tied = _tied_again(ctx, span, diagnostics, uses, local)
    added = tuple(islice(ctx.library_graphs.items(), marks.library_graphs, None))  # a dict keeps its order
    bindings = tuple(ctx.bindings[marks.bindings:])
    local_reads = shared(frozenset(index for index, d in enumerate(local) if any(u.target is d for u in uses)))
    return GraphResult(span, ctx.tree.lines.line_of(span.start), graph, diagnostics, uses, local,
                       tuple(ctx.stage_types[marks.stage_types:]),
                       bindings, added, _dependencies(ctx, uses), _reads(ctx, uses, local), local_reads), tied


def record_check(ctx: Context, span: Span, marks: Marks, info: ResourceInfo | StepInfo) -> tuple[CheckResult, bool]:
    """What checking the declaration at `span` (`info`'s) added since `marks`, and whether it can be reused later."""
    diagnostics = tuple(ctx.diagnostics[marks.diagnostics:])
    uses = tuple(ctx.uses[marks.uses:])
    tied = not any(d.code in _READ_ALL for d in diagnostics) and _tied_again(ctx, span, diagnostics, uses, ())
    resolved = {f.name: getattr(info, f.name) for f in fields(info) if f.name != "placed"}
    copied = tuple(name for name, value in resolved.items() if isinstance(value, dict))
    return CheckResult(span, diagnostics, uses, tuple(ctx.bindings[marks.bindings:]), resolved, copied,
                       _dependencies(ctx, uses), _reads(ctx, uses, ())), tied


def _reads(ctx: Context, uses: tuple[Use, ...], local: tuple[Definition, ...]) -> tuple[tuple[bool, str], ...]:
    """The declarations of this file that `uses` name (those a replay ties again by name)."""
    return tuple(sorted({(u.target.kind == "import", u.target.name) for u in uses
                         if u.target is not None and u.target not in local
                         and (u.target.file is None or u.target.file == ctx.file)}))


def replay_check(ctx: Context, result: CheckResult, span: Span, info: ResourceInfo | StepInfo) -> None:
    """Add `result` to `ctx` as if the declaration, now at `span`, had been checked again; resolve `info` so. Its
    diagnostics are moved now, the rest when the analysis's lists are read (`Placements`)."""
    delta = span.start - result.span.start
    if result.diagnostics:
        ctx.diagnostics.extend(shifted(d, delta) for d in result.diagnostics)
    ctx.placements.pieces.append(_new(Replayed, (Marks.of(ctx), result, delta, 0)))
    resolve(info, result)


def resolve(info: ResourceInfo | StepInfo, result: CheckResult) -> None:
    """Give `info` what `result`'s check resolved, as that check left it."""
    resolved = result.resolved
    vars(info).update(resolved)
    for name in result.copied:
        setattr(info, name, dict(resolved[name]))  # its own, as a check makes it


def _tied_again(ctx: Context, span: Span, diagnostics: tuple[Diagnostic, ...], uses: tuple[Use, ...],
                local: tuple[Definition, ...]) -> bool:
    """Whether a result can be moved and tied to the declarations of a later version: it points nowhere outside
    its declaration, and names only current declarations (or its own assignments, or another file's)."""
    if not all(_inside(d, span) for d in diagnostics):
        return False
    for use in uses:
        target = use.target
        if target is None or target in local or (target.file is not None and target.file != ctx.file):
            continue
        if ctx.definitions.get(target.name) is not target and ctx.aliases.get(target.name) is not target:
            return False
    return True


def _inside(diagnostic: Diagnostic, span: Span) -> bool:
    spans = [diagnostic.span, *(r.span for r in diagnostic.related),
             *(e.span for f in diagnostic.fixes for e in f.edits)]
    return all(span.start <= s.start and s.end <= span.end for s in spans)


def replay(ctx: Context, result: GraphResult, span: Span) -> Replayed:
    """Add `result` to `ctx` as if its declaration, now at `span`, had been analysed again: its diagnostics moved now,
    its graph and the rest when they are read (`Placements`)."""
    delta = span.start - result.span.start
    lines = ctx.tree.lines.line_of(span.start) - result.line  # its text is the same: so are its line breaks
    for name, graph in result.library_graphs:
        ctx.library_graphs.setdefault(name, graph)
    if result.diagnostics:
        ctx.diagnostics.extend(shifted(d, delta) for d in result.diagnostics)
    piece = _new(Replayed, (Marks.of(ctx), result, delta, lines))
    ctx.placements.pieces.append(piece)
    return piece


class Replayed(NamedTuple):
    """A result replayed at a new place: where its items stand among the context's own (`marks`), and how far it
    moved (bytes, lines). A tuple: one is made for each unchanged declaration of every version."""

    marks: Marks
    result: GraphResult | CheckResult
    delta: int
    lines: int

    def unread_locals(self) -> list[Definition]:
        """Its assignments nothing reads, at their new place."""
        result = self.result
        if not isinstance(result, GraphResult):
            return []
        return [_definition(d, self.delta, self.lines) for index, d in enumerate(result.local_definitions)
                if index not in result.local_reads]


_NONE: dict[int, Definition] = {}  # the assignments of a result that has none


class Placements:
    """The results an analysis replayed, and its lists with their items moved into place: made when first read, so an
    edit moves nothing nobody asks for. The lists are the context's (`ctx`), the replayed uses tied to its
    definitions."""

    def __init__(self, made: Callable[[], list[Replayed]] | None = None,
                 near: Callable[[Span], Iterable[Replayed]] | None = None) -> None:
        # `made`: makes the pieces when first read (a spliced analysis's, `semantic.splice`); `near`: those whose
        # declaration overlaps a span, without making the others.
        self._pieces: list[Replayed] | None = [] if made is None else None
        self._made = made
        self._near = near
        self._locals: dict[int, dict[int, Definition]] = {}  # by id of a piece: its moved assignments by old id

    @property
    def pieces(self) -> list[Replayed]:
        if self._pieces is None:
            assert self._made is not None
            self._pieces = self._made()
        return self._pieces

    def _moved_locals(self, piece: Replayed) -> dict[int, Definition]:
        result = piece.result
        if not isinstance(result, GraphResult) or not result.local_definitions:
            return _NONE
        found = self._locals.get(id(piece))
        if found is None:
            local = result.local_definitions
            unmoved = piece.delta == 0 and piece.lines == 0
            found = self._locals[id(piece)] = {
                id(d): d if unmoved else _definition(d, piece.delta, piece.lines) for d in local}
        return found

    def _merged(self, fresh: list[_T], mark: Callable[[Marks], int],
                items: Callable[[Replayed], Iterable[_T]]) -> tuple[_T, ...]:
        out: list[_T] = []
        at = 0
        for piece in self.pieces:
            end = mark(piece.marks)
            out.extend(fresh[at:end])
            at = end
            out.extend(items(piece))
        out.extend(fresh[at:])
        return tuple(out)

    def uses(self, ctx: Context) -> tuple[Use, ...]:
        def moved(piece: Replayed) -> Iterator[Use]:
            locals_ = self._moved_locals(piece)
            for u in piece.result.uses:
                yield _use(u, piece.delta, _current(ctx, u.target, locals_))

        return self._merged(ctx.uses, lambda m: m.uses, moved)

    def local_definitions(self, ctx: Context) -> tuple[Definition, ...]:
        return self._merged(ctx.local_definitions, lambda m: m.local_definitions,
                            lambda piece: self._moved_locals(piece).values())

    def stage_types(self, ctx: Context) -> tuple[StageType, ...]:
        def moved(piece: Replayed) -> Iterable[StageType]:
            result = piece.result
            if not isinstance(result, GraphResult):
                return ()
            if piece.delta == 0 and piece.lines == 0:
                return result.stage_types
            return [_stage_type(s, piece.delta, piece.lines) for s in result.stage_types]

        return self._merged(ctx.stage_types, lambda m: m.stage_types, moved)

    def bindings(self, ctx: Context) -> tuple[Binding, ...]:
        return self._merged(ctx.bindings, lambda m: m.bindings, lambda piece: [
            _binding(b, piece.delta, piece.lines) for b in piece.result.bindings])

    def within(self, ctx: Context, span: Span) -> tuple[tuple[Use, ...], tuple[Definition, ...],
                                                        tuple[StageType, ...], tuple[Binding, ...]]:
        """The uses, assignments, stage types and bindings inside `span`, in place: the context's own there, and those
        of the results replayed there, moved (the others are not)."""
        uses = [u for u in ctx.uses if span.covers(u.span)]
        local = [d for d in ctx.local_definitions if span.covers(d.span)]
        stage_types = [s for s in ctx.stage_types if span.covers(s.span)]
        bindings = [b for b in ctx.bindings if span.covers(b.span)]
        for piece in self._near(span) if self._near is not None else self.pieces:
            result = piece.result
            if result.span.end + piece.delta <= span.start or result.span.start + piece.delta >= span.end:
                continue
            locals_ = self._moved_locals(piece)
            uses.extend(_use(u, piece.delta, _current(ctx, u.target, locals_)) for u in result.uses)
            local.extend(locals_.values())
            bindings.extend(_binding(b, piece.delta, piece.lines) for b in result.bindings)
            if isinstance(result, GraphResult):
                moved = piece.delta != 0 or piece.lines != 0
                stage_types.extend(_stage_type(s, piece.delta, piece.lines) if moved else s
                                   for s in result.stage_types)
        return tuple(uses), tuple(local), tuple(stage_types), tuple(bindings)

    @staticmethod
    def as_built(graph: Graph | Replayed) -> Graph:
        """A graph of the plan as it was built: a replayed one at the place of the version that built it."""
        if isinstance(graph, Graph):
            return graph
        result = graph.result
        assert isinstance(result, GraphResult)
        return result.graph

    @staticmethod
    def graph(graph: Graph | Replayed) -> Graph:
        """A graph of the plan: built, or replayed and moved into place."""
        built = Placements.as_built(graph)
        if isinstance(graph, Graph) or (graph.delta == 0 and graph.lines == 0):
            return built
        return replace(built, nodes=tuple([_node(n, graph.delta, graph.lines) for n in built.nodes]))


# Copies with their places moved: a replayed graph moves all of these, so they are made without `replace`'s checks.
_definition = relocate_definition
_stage_type = relocator(StageType, ("span",))
_binding = relocator(Binding, ("span",))
_node = relocator(Node, ("span",), ("line",))
_moved_use = relocator(Use, ("span",))


def _use(use: Use, delta: int, target: Definition | None) -> Use:
    if delta == 0 and target is use.target:
        return use
    if target is use.target:
        return _moved_use(use, delta, 0)
    return Use(use.name, moved_span(use.span, delta), target)


def _current(ctx: Context, target: Definition | None, moved: dict[int, Definition]) -> Definition | None:
    """The definition a reused use names now: its moved assignment, or the declaration of that name."""
    if target is None:
        return None
    if id(target) in moved:
        return moved[id(target)]
    if target.file is not None and target.file != ctx.file:
        return target  # a library's: the same library (its identity is part of the environment)
    if target.kind == "import":
        return ctx.aliases.get(target.name)
    if target.kind == "assignment":
        return target  # unmoved (delta 0)
    return ctx.definitions.get(target.name)
