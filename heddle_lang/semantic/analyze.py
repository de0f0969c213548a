"""`analyze`: everything the language checks before anything runs, for one document."""

from __future__ import annotations

from collections.abc import Callable

from heddle_lang.catalog import Catalog
from heddle_lang.check import check_tree
from heddle_lang.diagnostics import sort_diagnostics
from heddle_lang.paths import PathPolicy
from heddle_lang.plan import Graph
from heddle_lang.relational.compile import PrqlCompiler, compile_prql
from heddle_lang.semantic.context import Context, ResourceInfo, StepInfo
from heddle_lang.semantic.declarations import check_resource, check_step, collect_declarations, collect_imports
from heddle_lang.semantic.flow import build_graph
from heddle_lang.semantic.libraries import LibraryLoader
from heddle_lang.semantic.model import Analysis
from heddle_lang.semantic.parts import ContextParts
from heddle_lang.semantic.reuse import (
    CheckResult,
    GraphResult,
    Marks,
    Replayed,
    Reusable,
    Stale,
    environment,
    record,
    record_check,
    replay,
    replay_check,
)
from heddle_lang.semantic.splice import Made, effective_configs, exports, splice, state_of, unused
from heddle_lang.syntax import ast
from heddle_lang.syntax.tree import SyntaxTree


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
    `previous`: the analysis of the text before an edit: spliced with the edited declarations analysed again where the
    edit allows (`semantic.splice`), else its workflows, handlers and checks are reused where neither their text nor
    what they read changed (`semantic.reuse`)."""

    def checkpoint() -> None:
        if cancelled is not None and cancelled():
            raise AnalysisCancelled

    checkpoint()
    if previous is not None:
        spliced = splice(tree, catalog, previous, checkpoint, paths=paths, compiler=compiler, file=file,
                         loader=libraries)
        if spliced is not None:
            return spliced
    ctx = Context(tree, catalog, paths=paths, compiler=compiler, file=file, loader=libraries)
    outline = tree.outline
    checkpoint()
    collect_imports(ctx, outline.placed)
    earlier = previous.reusable if previous is not None else None
    collect_declarations(ctx, outline, earlier.definitions if earlier is not None else None)
    checkpoint()
    around = environment(ctx)
    if earlier is not None and not earlier.usable(catalog, around):
        earlier = None
    stale = Stale(earlier.changed_libraries(around) if earlier is not None else frozenset())
    texts: dict[str, bytes] = {}  # the declarations' texts, as the lookups read them
    checks: dict[tuple[str, bytes], CheckResult] = {}
    made: dict[int, Made] = {}  # by id of its `Placed`: each declaration's result, and whether it can be reused
    for infos in (ctx.resources, ctx.steps):  # resources first: a step's check reads those it injects
        for name, info in infos.items():
            checkpoint()
            stale.add_checked(name, _check(ctx, info, earlier, texts, checks, stale=stale, made=made))
    graphs: list[Graph | Replayed] = []
    kept: dict[bytes, GraphResult] = {}
    for placed in (*ctx.handlers.values(), *ctx.workflows.values()):
        checkpoint()
        key = placed.text
        found = earlier.lookup(ctx, key, texts, stale) if earlier is not None else None
        if found is not None:
            graphs.append(replay(ctx, found, placed.span))
            kept[key] = found
            made[id(placed)] = (found, True)
            continue
        marks = Marks.of(ctx)
        decl = placed.decl
        assert isinstance(decl, ast.HandlerDecl | ast.WorkflowDecl)
        graph = build_graph(ctx, decl)
        graphs.append(graph)
        result, tied = made[id(placed)] = record(ctx, placed.span, marks, graph)
        if tied:
            kept[key] = result
    graphs.extend(ctx.library_graphs.values())
    checkpoint()
    unused(ctx)
    checkpoint()
    diagnostics = tuple(sort_diagnostics([*check_tree(tree), *ctx.diagnostics]))
    state = state_of(ctx, made, around)
    if state is not None and state.semantic == diagnostics:
        # The same tuple: the next version's diagnostics are runs of it (`DiagnosticRuns`), which the language server
        # matches with the ones it converted from this one.
        diagnostics = tuple(state.semantic)
    return Analysis(tree, diagnostics, ContextParts(ctx, graphs), {a: m for a, (_, m) in ctx.modules.items()},
                    effective_configs(ctx), dict(ctx.libraries), exports(ctx), file,
                    Reusable(catalog, around, kept, checks, ctx.made, state))


def _check(ctx: Context, info: ResourceInfo | StepInfo, earlier: Reusable | None, texts: dict[str, bytes],
           kept: dict[tuple[str, bytes], CheckResult], *, stale: Stale, made: dict[int, Made]) -> CheckResult:
    """Check a resource or step declaration, or replay its check of the previous version (`semantic.reuse`)."""
    span = info.placed.span
    key = ("resource" if isinstance(info, ResourceInfo) else "step", info.placed.text)
    found = earlier.lookup_check(ctx, key, texts, stale) if earlier is not None else None
    if found is not None:
        replay_check(ctx, found, span, info)
        kept[key] = found
        made[id(info.placed)] = (found, True)
        return found
    marks = Marks.of(ctx)
    if isinstance(info, ResourceInfo):
        check_resource(ctx, info)
    else:
        check_step(ctx, info)
    result, tied = made[id(info.placed)] = record_check(ctx, span, marks, info)
    if tied:
        kept[key] = result
    return result
