"""The analysis of an edited document made from the analysis of the version it was edited from: its cost follows the
edit, not the document.

An analysis keeps, for each top-level declaration (`Entry`, in the order of the outline), what it contributed: its
definition, the result of its check or graph (`semantic.reuse`), its diagnostics, the names it reads and the
declarations whose text it depends on, each as made when the declaration started at `Entry.start`. An edited tree
says which declarations differ from its base (`SyntaxTree.region`); when those declare the same names, of the same
kinds, and import nothing, the next analysis (`splice`) is the base's with

- the declarations of the region, those that depend on a declaration whose text changed (`State.dependents`), and
  those whose results point outside themselves (`State.volatile`: imports, duplicates, results that cannot be moved)
  analysed again, against the names and infos of the other declarations read where they now stand, when read
  (`LazyTable`);
- the counts of the names read updated by the old and new reads of what was analysed again, and HE3012 made again
  only for the declarations analysed again and the names whose count went to or from zero;
- the sorted diagnostics: the base's, by runs of unchanged declarations (those after the edit moved by its length),
  with the diagnostics of the declarations made again in between; kept as those runs (`DiagnosticRuns`), each moved
  only when one of its diagnostics is read.

The plan and the whole-document lists are made when first read, from the entries (`State.pieces`). Any other edit (a
name added, removed or renamed, an import changed, an error in the tree) is analysed by `analyze`'s full path, which
reuses what it can by text (`semantic.reuse`) and makes the entries again.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from operator import attrgetter
from typing import NamedTuple, TypeVar

from heddle_lang.catalog import NO_PROFILES, Catalog
from heddle_lang.check import check_tree
from heddle_lang.diagnostic_runs import DiagnosticRuns, Run, runs_of
from heddle_lang.diagnostics import Diagnostic, Related, shifted, sort_diagnostics
from heddle_lang.paths import PathPolicy
from heddle_lang.plan import Graph
from heddle_lang.relational.compile import PrqlCompiler
from heddle_lang.remembered import shared
from heddle_lang.semantic.context import Context, ResourceInfo, StepInfo
from heddle_lang.semantic.declarations import check_resource, check_step, collect_imports
from heddle_lang.semantic.flow import build_graph
from heddle_lang.semantic.lazy_table import LazyTable
from heddle_lang.semantic.libraries import Exports, LibraryLoader, is_private
from heddle_lang.semantic.model import Analysis, Definition, EffectiveConfig, relocate_definition
from heddle_lang.semantic.parts import ContextParts
from heddle_lang.semantic.reuse import (
    CheckResult,
    GraphResult,
    Marks,
    Placements,
    Replayed,
    Reusable,
    record,
    record_check,
    resolve,
)
from heddle_lang.semantic.unused import unused_diagnostic
from heddle_lang.syntax import ast
from heddle_lang.syntax.lower import Placed
from heddle_lang.syntax.tree import SyntaxTree
from heddle_lang.text import Span

K = TypeVar("K")
V = TypeVar("V")
Made = tuple[GraphResult | CheckResult, bool]  # a declaration's result, and whether a later version may reuse it
Read = tuple[bool, str]  # a name read: (an import alias?, name)

_KIND_OF = {ast.ResourceDecl: "resource", ast.StepDecl: "step", ast.HandlerDecl: "handler",
            ast.WorkflowDecl: "workflow", ast.Import: "import"}
_ORDER = {"resource": 0, "step": 1, "handler": 2, "workflow": 3}  # checks before the graphs that read them
_NO_MARKS = Marks(0, 0, 0, 0, 0, 0)


def _key(diagnostic: Diagnostic) -> tuple[int, int, str]:
    return diagnostic.span.start, diagnostic.span.end, diagnostic.code


class Entry(NamedTuple):
    """What one top-level declaration contributed to an analysis, as made when it started at `start` (its `result` as
    made when it started at `result.span.start`)."""

    start: int
    kind: str  # "import", "resource", "step", "handler", "workflow"
    name: str | None  # its name (an import's alias); None: it has none, and declares nothing
    text: bytes
    first: bool  # the declaration its name stands for (not a duplicate)
    definition: Definition | None  # what it declares, if `first` (an import's alias)
    result: GraphResult | CheckResult | None
    reusable: bool  # its result can be moved to a later version
    reads: frozenset[Read]
    depends: frozenset[str]  # the declarations whose text its result read
    own: tuple[Diagnostic, ...]  # its diagnostics but HE3012 of its name, in the order they were made
    unused: Diagnostic | None  # HE3012 of its name
    diagnostics: tuple[Diagnostic, ...]  # `own` and `unused`, sorted

    @property
    def volatile(self) -> bool:
        """Made again at every edit: an import (its libraries may change), a duplicate (its message points at the
        first), or a result that points outside its declaration."""
        return self.kind == "import" or not self.first or (self.result is not None and not self.reusable)


def _entry(placed: Placed, kind: str, name: str | None, *, first: bool, definition: Definition | None,
           made: Made | None, own: Iterable[Diagnostic], unused: Diagnostic | None) -> Entry:
    """The entry of the declaration at `placed`, made where it stands now."""
    result, reusable = made if made is not None else (None, False)
    own = tuple(own)
    listed = own if unused is None else (*own, unused)
    return Entry(placed.start, kind, name, placed.text, first, definition, result, reusable,
                 shared(frozenset(result.reads) if result is not None else frozenset()),
                 shared(frozenset(name for name, _ in result.depends) if result is not None else frozenset()),
                 own, unused, tuple(sorted(listed, key=_key)) if len(listed) > 1 else listed)


class Index(NamedTuple):
    """The first declaration of each name, by position in the outline: all of them, and by kind."""

    definitions: dict[str, int]
    resources: dict[str, int]
    steps: dict[str, int]
    handlers: dict[str, int]
    workflows: dict[str, int]
    imports: dict[str, int]  # the first import of each alias
    all_imports: tuple[int, ...]  # every import, in order


@dataclass(frozen=True)
class State:
    """What the analysis of an edit of `tree` splices (see the module's description)."""

    tree: SyntaxTree
    catalog: Catalog
    environment: tuple[object, ...]  # `reuse.environment` of the analysis
    entries: list[Entry]  # one per declaration of `tree.outline`
    index: Index
    volatile: frozenset[int]
    dependents: dict[str, frozenset[int]]  # by name: the entries whose result read its declaration's text
    counts: dict[Read, int]  # how many entries read each name
    offsets: list[int]  # where each entry's diagnostics start in `semantic`
    semantic: Sequence[Diagnostic]  # every entry's diagnostics, sorted, where they stand in `tree`


def _alias(ctx: Context, name: str | None, placed: Placed) -> Definition | None:
    """The alias the import at `placed` declares (None: none, it is incomplete or a duplicate)."""
    definition = ctx.aliases.get(name) if name is not None else None
    return definition if definition is not None and definition.declaration == placed.span else None


def _name_of(base: ast.Declaration) -> ast.Name | None:
    return base.alias if isinstance(base, ast.Import) else base.name


# --- the state of an analysis made by `analyze`'s full path --------------------------------------------------------


def state_of(ctx: Context, made: Mapping[int, Made], around: tuple[object, ...]) -> State | None:
    """The entries of the analysis in `ctx` (`made`: each declaration's result by id of its `Placed`); None when a
    diagnostic stands outside every declaration (nothing to splice it with)."""
    outline = ctx.tree.outline
    if outline.stray_pipelines:
        return None
    placed = outline.placed
    starts = [p.start for p in placed]
    found: list[list[Diagnostic]] = [[] for _ in placed]
    for diagnostic in ctx.diagnostics:  # in the order they were made
        at = bisect.bisect_right(starts, diagnostic.span.start) - 1
        if at < 0 or not placed[at].span.covers(diagnostic.span):
            return None
        found[at].append(diagnostic)
    index = Index({}, {}, {}, {}, {}, {}, ())
    imports = []
    entries = []
    for at, each in enumerate(placed):
        base = each.base
        kind = _KIND_OF[type(base)]
        name_node = _name_of(base)
        name = name_node.text if name_node is not None else None
        definition: Definition | None = None
        if kind == "import":
            imports.append(at)
            definition = _alias(ctx, name, each)
            first = definition is not None
            if name is not None and first:
                index.imports[name] = at
        else:
            first = name is not None and name not in index.definitions
            if first:
                assert name is not None
                index.definitions[name] = at
                getattr(index, kind + "s")[name] = at
                definition = ctx.definitions[name]
        unused = next((d for d in found[at] if definition is not None and d.code == "HE3012"
                       and d.span == definition.span), None)
        own = [d for d in found[at] if d is not unused]
        entries.append(_entry(each, kind, name, first=first, definition=definition, made=made.get(id(each)), own=own,
                              unused=unused))
    index = index._replace(all_imports=tuple(imports))
    dependents: dict[str, set[int]] = {}
    counts: dict[Read, int] = {}
    for at, entry in enumerate(entries):
        for name in entry.depends:
            dependents.setdefault(name, set()).add(at)
        for read in entry.reads:
            counts[read] = counts.get(read, 0) + 1
    semantic = tuple(d for entry in entries for d in entry.diagnostics)
    return State(ctx.tree, ctx.catalog, around, entries, index,
                 frozenset(at for at, entry in enumerate(entries) if entry.volatile),
                 {name: frozenset(ats) for name, ats in dependents.items()}, counts, _offsets(entries), semantic)


def _offsets(entries: list[Entry]) -> list[int]:
    return list(accumulate(map(len, map(_DIAGNOSTICS, entries)), initial=0))


_DIAGNOSTICS = attrgetter("diagnostics")


# --- the analysis of an edit, spliced ---------------------------------------------------------------------------


class _Cannot(Exception):  # noqa: N818 - an outcome, not an error: the full path analyses the edit
    """The edit cannot be spliced."""


def splice(tree: SyntaxTree, catalog: Catalog, previous: Analysis, checkpoint: Callable[[], None], *,
           paths: PathPolicy | None, compiler: PrqlCompiler, file: str | None,
           loader: LibraryLoader | None) -> Analysis | None:
    """The analysis of `tree` from `previous`, the analysis of the version it was edited from; None when the edit
    cannot be spliced (see the module's description)."""
    reusable = previous.reusable
    state = reusable.state if reusable is not None else None
    region = tree.region
    if state is None or region is None or region.base is not state.tree \
            or state.catalog is not catalog:
        return None
    outline = tree.outline
    old, new = state.tree.outline.placed, outline.placed
    if outline.stray_pipelines or len(old) != len(new):
        return None
    head = bisect.bisect_left(old, region.start, key=_start)
    tail = bisect.bisect_left(old, region.end - region.delta, key=_start)
    entries = state.entries
    for at in range(head, tail):
        base = new[at].base
        name = _name_of(base)
        entry = entries[at]
        if entry.kind == "import" or _KIND_OF[type(base)] != entry.kind \
                or (name.text if name is not None else None) != entry.name:
            return None
    ctx = Context(tree, catalog, paths=paths, compiler=compiler, file=file, loader=loader)
    try:
        return _Splice(ctx, state, (head, tail, region.delta), checkpoint).analysis()
    except _Cannot:
        return None


def _start(placed: Placed) -> int:
    return placed.start


class _Splice:
    """One spliced analysis, made by `analysis()`."""

    def __init__(self, ctx: Context, state: State, region: tuple[int, int, int],
                 checkpoint: Callable[[], None]) -> None:
        self.ctx = ctx
        self.tree = ctx.tree
        self.state = state
        # the entries of the edited declarations, and how far the edit moved those after them
        self.head, self.tail, self.delta = region
        self.checkpoint = checkpoint
        self.placed = ctx.tree.outline.placed
        self.entries = list(state.entries)  # this version's, as they are made again

    def analysis(self) -> Analysis:
        ctx, state, placed, index = self.ctx, self.state, self.placed, self.state.index
        old = state.entries
        collect_imports(ctx, [placed[at] for at in index.all_imports])
        libraries = tuple((alias, id(library)) for alias, library in ctx.libraries.items())
        if state.environment != (ctx.file, ctx.paths, state.environment[2], tuple(ctx.aliases), libraries):
            raise _Cannot
        imported = ctx.diagnostics[:]
        ctx.diagnostics.clear()
        self._install(old)
        again = set(range(self.head, self.tail)) | state.volatile
        for at in range(self.head, self.tail):
            entry = old[at]
            if entry.first and entry.name is not None and entry.text != placed[at].text:
                again |= state.dependents.get(entry.name, frozenset())
        redone = sorted((at for at in again if old[at].kind != "import"),
                        key=lambda at: (_ORDER[old[at].kind], at))
        for at in redone:
            self.checkpoint()
            self._again(at)
        counts = dict(state.counts)
        read: set[Read] = set()
        for at in redone:
            for name in old[at].reads:
                counts[name] -= 1
            for name in self.entries[at].reads:
                counts[name] = counts.get(name, 0) + 1
            read.update(old[at].reads, self.entries[at].reads)
        touched = set(redone) | set(index.all_imports)
        for is_import, name in read:  # those read now and not before, or before and not now: HE3012 made again
            if (state.counts.get((is_import, name), 0) > 0) != (counts.get((is_import, name), 0) > 0):
                at = (index.imports if is_import else index.definitions).get(name)
                if at is not None:
                    touched.add(at)
        self._unused(touched, counts, imported)
        self.checkpoint()
        changed = sorted(touched)
        semantic = self._semantic(changed)
        syntax = check_tree(self.tree)
        diagnostics = tuple(sort_diagnostics([*syntax, *semantic])) if syntax else semantic
        entries = self.entries
        dependents = dict(state.dependents)
        for at in redone:
            before, after = old[at].depends, entries[at].depends
            for name in before - after:
                dependents[name] = dependents[name] - {at}
            for name in after - before:
                dependents[name] = dependents.get(name, frozenset()) | {at}
        volatile = (state.volatile - set(changed)) | {at for at in changed if entries[at].volatile}
        # The entries made again as many diagnostics as before (most edits): the same offsets (never changed in place).
        offsets = state.offsets if all(len(entries[at].diagnostics) == len(old[at].diagnostics) for at in changed) \
            else _offsets(entries)
        next_state = State(self.tree, state.catalog, state.environment, entries, index, frozenset(volatile),
                           dependents, counts, offsets, semantic)
        ctx.uses.clear()  # every result is an entry's, read through `State`'s pieces
        ctx.bindings.clear()
        ctx.stage_types.clear()
        ctx.local_definitions.clear()
        pieces = _Pieces(ctx, next_state)
        ctx.placements = Placements(pieces.all, pieces.near)
        return Analysis(self.tree, diagnostics, ContextParts(ctx, pieces.graphs),
                        {a: m for a, (_, m) in ctx.modules.items()}, effective_configs(ctx), dict(ctx.libraries),
                        exports(ctx), ctx.file, _reusable(state.catalog, next_state))

    def _install(self, old: list[Entry]) -> None:
        """The context's tables of declarations: each read where it stands now, from its entry, when first read."""
        ctx, placed, index = self.ctx, self.placed, self.state.index

        def definition(at: int) -> Definition:
            entry = old[at]
            assert entry.definition is not None
            delta = placed[at].start - entry.start
            return relocate_definition(entry.definition, delta, 0) if delta else entry.definition

        def built(at: int) -> Definition:
            definition = old[at].definition
            assert definition is not None
            return definition

        def info(kind: type[StepInfo] | type[ResourceInfo]) -> Callable[[int], StepInfo | ResourceInfo]:
            def make(at: int) -> StepInfo | ResourceInfo:
                made = kind(placed[at])
                result = old[at].result
                assert isinstance(result, CheckResult)
                resolve(made, result)
                return made
            return make

        ctx.definitions = LazyTable(index.definitions, definition, built)
        ctx.steps = LazyTable(index.steps, info(StepInfo))  # type: ignore[arg-type]
        ctx.resources = LazyTable(index.resources, info(ResourceInfo))  # type: ignore[arg-type]
        ctx.handlers = LazyTable(index.handlers, placed.__getitem__)
        ctx.workflows = LazyTable(index.workflows, placed.__getitem__)
        before = self.state.tree.outline.placed
        for at in range(self.head, self.tail):  # what the region declares, made again
            entry, each = old[at], placed[at]
            if not entry.first or entry.name is None:
                continue
            base = each.base
            if before[at].base is base and entry.definition is not None:  # the same AST: the same definition, moved
                ctx.definitions[entry.name] = definition(at)
            else:
                name_span = each.name_span()
                assert name_span is not None and not isinstance(base, ast.Import)
                detail = base.call.qualified if isinstance(base, ast.StepDecl | ast.ResourceDecl) and base.call else ""
                ctx.definitions[entry.name] = Definition(entry.name, entry.kind, name_span, each.span, detail=detail,
                                                         doc=base.doc, file=ctx.file)

    def _again(self, at: int) -> None:
        """Analyse the declaration at `at` again (not an import)."""
        ctx, each, entry = self.ctx, self.placed[at], self.state.entries[at]
        if entry.name is None:
            self.entries[at] = _entry(each, entry.kind, None, first=False, definition=None, made=None, own=(),
                                      unused=None)
            return
        if not entry.first:
            name_span = each.name_span()
            first = ctx.definitions[entry.name]
            assert name_span is not None
            duplicate = Diagnostic("HE3006", name_span, f"`{entry.name}` is already declared (as a {first.kind})",
                                   related=(Related(first.span, "first declared here"),))
            self.entries[at] = _entry(each, entry.kind, entry.name, first=False, definition=None, made=None,
                                      own=(duplicate,), unused=None)
            return
        marks = Marks.of(ctx)
        made: Made
        if entry.kind == "resource":
            resource = ctx.resources[entry.name] = ResourceInfo(each)
            check_resource(ctx, resource)
            made = record_check(ctx, each.span, marks, resource)
        elif entry.kind == "step":
            step = ctx.steps[entry.name] = StepInfo(each)
            check_step(ctx, step)
            made = record_check(ctx, each.span, marks, step)
        else:
            decl = each.decl
            assert isinstance(decl, ast.HandlerDecl | ast.WorkflowDecl)
            made = record(ctx, each.span, marks, build_graph(ctx, decl))
        result = made[0]
        own = list(result.diagnostics)
        if not all(each.span.covers(d.span) for d in own):
            raise _Cannot  # a diagnostic about another place: only the full path places it
        if isinstance(result, GraphResult):
            own.extend(unused_diagnostic(ctx, d) for i, d in enumerate(result.local_definitions)
                       if i not in result.local_reads)
        self.entries[at] = _entry(each, entry.kind, entry.name, first=True, definition=ctx.definitions[entry.name],
                                  made=made, own=own, unused=None)

    def _unused(self, touched: set[int], counts: dict[Read, int], imported: list[Diagnostic]) -> None:
        """HE3012 of the declarations in `touched` again (and the imports' own diagnostics, `imported`)."""
        ctx, placed, entries, index = self.ctx, self.placed, self.entries, self.state.index
        library = not index.workflows
        broken = {alias for alias, (_, spec) in ctx.modules.items() if spec is None}
        broken.update(alias for alias, found in ctx.libraries.items() if found is None)
        starts = [placed[at].start for at in index.all_imports]
        by_import: dict[int, list[Diagnostic]] = {at: [] for at in index.all_imports}
        for diagnostic in imported:
            which = bisect.bisect_right(starts, diagnostic.span.start) - 1
            if which < 0 or not placed[index.all_imports[which]].span.covers(diagnostic.span):
                raise _Cannot
            by_import[index.all_imports[which]].append(diagnostic)
        for at in touched:
            entry, each = entries[at], placed[at]
            first = entry.first
            if entry.kind == "import":
                definition = _alias(ctx, entry.name, each)
                first = definition is not None
                own: Iterable[Diagnostic] = by_import[at]
            else:
                definition = ctx.definitions[entry.name] if entry.first and entry.name is not None else None
                delta = each.start - entry.start
                own = [shifted(d, delta) for d in entry.own] if delta else entry.own
            unused = None
            if definition is not None and entry.kind != "workflow" \
                    and counts.get((entry.kind == "import", definition.name), 0) == 0 \
                    and not (library and entry.kind in ("resource", "step", "handler")
                             and not is_private(definition.name)) \
                    and not (entry.kind == "import" and definition.name in broken):
                unused = unused_diagnostic(ctx, definition)
            made = (entry.result, entry.reusable) if entry.result is not None else None
            entries[at] = _entry(each, entry.kind, entry.name, first=first, definition=definition, made=made, own=own,
                                 unused=unused)

    def _semantic(self, changed: list[int]) -> DiagnosticRuns:
        """Every entry's diagnostics where they stand: the base's by runs of unchanged entries (those after the edit
        moved by its length, when read), and those of the entries in `changed` (sorted) made again."""
        state, entries, tail, delta = self.state, self.entries, self.tail, self.delta
        offsets, before = state.offsets, state.semantic
        runs: list[Run] = []
        at = 0
        for index in (*changed, len(entries)):
            if at < index:
                runs.extend(runs_of(before, offsets[at], offsets[index], delta if at >= tail else 0))
            if index < len(entries):
                runs.extend(runs_of(entries[index].diagnostics))
            at = index + 1
        return DiagnosticRuns(runs)


class _Derived(Mapping[K, V]):
    """A table made from a state's entries when first read: what the full path of a later version may reuse by text
    (`Reusable`), made only if one runs."""

    __slots__ = ("_made", "_make")

    def __init__(self, make: Callable[[], dict[K, V]]) -> None:
        self._make: Callable[[], dict[K, V]] | None = make
        self._made: dict[K, V] = {}

    def _table(self) -> dict[K, V]:
        if self._make is not None:
            self._made, self._make = self._make(), None
        return self._made

    def __getitem__(self, key: K) -> V:
        return self._table()[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


def _reusable(catalog: Catalog, state: State) -> Reusable:
    """What the full path of a later version may reuse of the spliced analysis whose state is `state`."""
    entries = state.entries

    def results() -> dict[bytes, GraphResult]:
        return {e.text: e.result for e in entries if e.reusable and isinstance(e.result, GraphResult)}

    def checks() -> dict[tuple[str, bytes], CheckResult]:
        return {(e.kind, e.text): e.result for e in entries if e.reusable and isinstance(e.result, CheckResult)}

    def definitions() -> dict[str, tuple[ast.Declaration, Definition]]:
        placed = state.tree.outline.placed
        return {e.name: (placed[at].base, e.definition) for at, e in enumerate(entries)
                if e.kind != "import" and e.first and e.name is not None and e.definition is not None}

    return Reusable(catalog, state.environment, _Derived(results), _Derived(checks), _Derived(definitions), state)


class _Pieces:
    """The results of a spliced analysis as replayed pieces (`reuse.Replayed`), each moved where its declaration now
    stands, made when first read: in the order the full path adds them (resources, steps, handlers, workflows)."""

    def __init__(self, ctx: Context, state: State) -> None:
        # The tree, not the context: the context holds the `Placements` made of these methods, and a cycle would keep
        # every version an editing session lets go until the cyclic collector runs (which a server defers until idle).
        self.tree = ctx.tree
        self.state = state
        self._made: dict[int, Replayed] = {}

    def piece(self, at: int) -> Replayed:
        found = self._made.get(at)
        if found is None:
            result = self.state.entries[at].result
            assert result is not None
            start = self.tree.outline.placed[at].start
            lines = self.tree.lines.line_of(start) - result.line if isinstance(result, GraphResult) else 0
            found = self._made[at] = Replayed(_NO_MARKS, result, start - result.span.start, lines)
        return found

    def all(self) -> list[Replayed]:
        index = self.state.index
        return [self.piece(at) for table in (index.resources, index.steps, index.handlers, index.workflows)
                for at in table.values()]

    def near(self, span: Span) -> list[Replayed]:
        placed = self.tree.outline.placed
        first = max(0, bisect.bisect_right(placed, span.start, key=_start) - 1)
        out = []
        for at in range(first, len(placed)):
            if placed[at].start >= span.end:
                break
            entry = self.state.entries[at]
            if entry.first and entry.result is not None:
                out.append(self.piece(at))
        return out

    def graphs(self) -> list[Graph | Replayed]:
        index = self.state.index
        graphs: list[Graph | Replayed] = [self.piece(at) for table in (index.handlers, index.workflows)
                                          for at in table.values()]
        brought: dict[str, Graph] = {}
        for piece in graphs:
            assert isinstance(piece, Replayed) and isinstance(piece.result, GraphResult)
            for name, graph in piece.result.library_graphs:
                brought.setdefault(name, graph)
        return [*graphs, *brought.values()]


# --- what both paths make -------------------------------------------------------------------------------------------


def unused(ctx: Context) -> None:
    """HE3012: declarations and assignments nothing reads (workflows are entry points). A file without workflows is
    a library: its public resources, steps and handlers are there for the files that import it."""
    # By identity: a use's target is the very definition object (a dataclass's hash would hash all its fields).
    read = {id(u.target) for u in ctx.uses if u.target is not None}
    names: set[Read] = set()  # what the replayed results read, tied to the current definitions
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
        ctx.report(unused_diagnostic(ctx, definition))


def exports(ctx: Context) -> Exports:
    """What the document offers the files that import it: its tables, read as they are after the analysis."""
    return Exports(ctx.file or "", ctx.definitions, ctx.resources, ctx.steps)


class _Effective(Mapping[str, EffectiveConfig]):
    """Each resource's config as a run sees it (`Analysis.resources`), made when first read."""

    def __init__(self, ctx: Context) -> None:
        self._resources = ctx.resources
        self._profiles = getattr(ctx.catalog, "profiles", NO_PROFILES)
        self._made: dict[str, EffectiveConfig] = {}

    def __getitem__(self, name: str) -> EffectiveConfig:
        found = self._made.get(name)
        if found is None:
            info = self._resources[name]
            if info.spec is None:
                raise KeyError(name)
            profiles = self._profiles
            found = self._made[name] = EffectiveConfig(dict(info.config), dict(info.overrides), profiles.active,
                                                       profiles.source)
        return found

    def __iter__(self) -> Iterator[str]:
        return (name for name, info in self._resources.items() if info.spec is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def effective_configs(ctx: Context) -> Mapping[str, EffectiveConfig]:
    return _Effective(ctx)
