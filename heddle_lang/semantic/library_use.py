"""Reading `.he` libraries from a document: the import (HE3018-HE3021) and the names read through its alias.

A library's resources, steps and handlers keep what its own analysis resolved: an importer never re-checks
them, it only renames them into its plan (`platform.pg_db`, `platform.on_fail`), so two files may declare the
same names. File paths in a library's configs start from the library's folder, as its author wrote them.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import replace

from heddle_lang.diagnostics import Diagnostic, Fix, TextEdit
from heddle_lang.plan import Graph, Node, ResourceUse
from heddle_lang.semantic.context import Context, ResourceInfo, StepInfo
from heddle_lang.semantic.libraries import Library, LibraryProblem, is_private, library_file, relative_name
from heddle_lang.semantic.model import Definition
from heddle_lang.suggest import closest
from heddle_lang.syntax import ast
from heddle_lang.text import Span
from heddle_lang.types import ConfigSchema


def import_library(ctx: Context, decl: ast.Import, alias: str) -> None:
    """Load the library `decl` names into `ctx.libraries[alias]` (None, reported, when it cannot be used)."""
    assert decl.path is not None
    path, span = decl.path.value, decl.path.span
    library: Library | None = None
    if ctx.paths is None or ctx.loader is None:
        ctx.report(Diagnostic("HE3018", span, f'the library "{path}" cannot be read: this text has no file, and a '
                              "library's path starts from the importing file's folder"))
    else:
        file = library_file(path, ctx.paths)
        if not ctx.paths.permits(file):
            ctx.report(Diagnostic("HE3018", span, f'the library "{path}" is outside the project: it resolves to '
                                  f"{file}, not under {ctx.paths.root} (or a folder `[paths] allow` lists in "
                                  "heddle.toml)"))
        else:
            found = ctx.loader.load(ctx.file, file)
            if isinstance(found, LibraryProblem):
                ctx.report(Diagnostic(found.code, span, found.message))
            else:
                library = found
                if library.errors:
                    ctx.report(_broken(library, path, span, ctx.file))
    ctx.libraries[alias] = library


def _broken(library: Library, path: str, span: Span, importer: str | None) -> Diagnostic:
    """HE3020, once at the import: the library's own errors are reported in its file."""
    first = next(d for d in library.analysis.diagnostics if d.is_error)
    line, column = library.analysis.tree.lines.point(first.span.start)
    count = library.errors
    where = f"{relative_name(library.file, importer)}:{line + 1}:{column + 1}"
    return Diagnostic("HE3020", span, f'the library "{path}" has {count} error{"s" if count > 1 else ""}; the '
                      f"first, at {where}: {first.message} [{first.code}]")


def member(ctx: Context, alias: ast.Name, name: ast.Name, want: str | None) -> Definition | None:
    """The declaration `alias.name` reads in a library, checked to be a `want` ("resource", "step", "handler"; None:
    any of them).

    None when it cannot be used (reported, unless the library itself is broken: HE3018-HE3020 said so)."""
    ctx.use(alias, ctx.aliases.get(alias.text))
    if alias.text not in ctx.libraries:
        ctx.use(name, None)
        if alias.text in ctx.modules:
            message = (f"`{alias.text}` is a module: only a `.he` library's {want or 'declaration'}s are read "
                       f"through an alias (`import \"./file.he\" {alias.text}`)")
        else:
            best = closest(alias.text, ctx.libraries)
            message = f"no library is imported as `{alias.text}`" + (f"; did you mean `{best}`?" if best else "")
        ctx.report(Diagnostic("HE3003", alias.span, message))
        return None
    library = ctx.libraries[alias.text]
    if library is None:
        ctx.use(name, None)
        return None
    exports = library.exports
    definition = exports.definitions.get(name.text)
    whole = Span(alias.span.start, name.span.end)
    qualified = f"{alias.text}.{name.text}"
    if definition is None:
        public = [n for n, d in exports.definitions.items()
                  if d.kind in ((want,) if want else _EXPORTED) and not is_private(n)]
        best = closest(name.text, public)
        fixes = (Fix(f"replace with `{best}`", (TextEdit(name.span, best),)),) if best else ()
        what = f"{want}s" if want else "exports"
        offered = f"; did you mean `{best}`?" if best else (
            f"; its {what}: {', '.join(f'`{n}`' for n in public)}" if public else f"; it has no public {what}")
        ctx.report(Diagnostic("HE3004", name.span, f"the library `{alias.text}` ({_shown(library, ctx)}) has no "
                              f"`{name.text}`{offered}", fixes=fixes))
        ctx.use(name, None)
        return None
    ctx.use(name, definition)
    if is_private(name.text):
        ctx.report(Diagnostic("HE3021", whole, f"`{name.text}` is private to {_shown(library, ctx)} (a name "
                              "starting with `_` is read only in its own file)"))
        return None
    if definition.kind == "workflow":
        ctx.report(Diagnostic("HE3021", whole, f"`{qualified}` is a workflow: a library's workflows are not "
                              "imported (importing runs nothing)"))
        return None
    if want is not None and definition.kind != want:
        ctx.report(Diagnostic(_WRONG_KIND[want], whole, f"`{qualified}` is a {definition.kind}, not a {want}"))
        return None
    return definition


_EXPORTED = ("resource", "step", "handler")
_WRONG_KIND = {"resource": "HE3014", "step": "HE3013", "handler": "HE3010"}


def _shown(library: Library, ctx: Context) -> str:
    return relative_name(library.file, ctx.file)


def resource(ctx: Context, name: ast.Name) -> ResourceInfo | None:
    """The library resource `<key=alias.name>` injects, its file paths starting from the library's folder."""
    assert name.qualifier is not None
    if member(ctx, name.qualifier, name, "resource") is None:
        return None
    library = ctx.libraries[name.qualifier.text]
    assert library is not None
    info = library.exports.resources[name.text]
    if info.spec is None:
        return info
    return replace(info, config=_rebased(info.config, info.spec.config, library.file, ctx.file))


def step(ctx: Context, call: ast.Call) -> tuple[str, StepInfo] | None:
    """`| alias.step`: the library's step as it declared it (its label, and the step renamed into this plan)."""
    assert call.module is not None and call.function is not None
    if member(ctx, call.module, call.function, "step") is None:
        return None
    qualified = f"{call.module.text}.{call.function.text}"
    if call.injections or call.config is not None:
        ctx.report(Diagnostic("HE3016", call.span, f"`{qualified}` is a step of a library: it runs as its library "
                              "declares it, without injections or a config of its own here"))
    library = ctx.libraries[call.module.text]
    assert library is not None
    info = library.exports.steps[call.function.text]
    if info.function is None:
        return qualified, info
    config = _rebased(info.config, info.function.config, library.file, ctx.file)
    resources = tuple(_requalified(use, call.module.text) for use in info.resources)
    return qualified, replace(info, config=dict(config), resources=resources)


def handler(ctx: Context, name: ast.Name) -> str | None:
    """`? alias.handler`: the handler's name in this plan, its graph (and the handlers it uses) added to it."""
    assert name.qualifier is not None
    if member(ctx, name.qualifier, name, "handler") is None:
        return None
    library = ctx.libraries[name.qualifier.text]
    assert library is not None
    return _import_graph(ctx, library, name.qualifier.text, name.text)


def _import_graph(ctx: Context, library: Library, alias: str, graph_name: str) -> str | None:
    qualified = f"{alias}.{graph_name}"
    if qualified in ctx.library_graphs:
        return qualified
    graph = library.analysis.plan.graph(graph_name)
    if graph is None:
        return None
    ctx.library_graphs[qualified] = graph  # placeholder: a handler that traps into itself stops here
    nodes = []
    for node in graph.nodes:
        nested = _import_graph(ctx, library, alias, node.handler) if node.handler else None
        nodes.append(_requalified_node(node, alias, nested, library, ctx.file))
    ctx.library_graphs[qualified] = Graph(qualified, graph.kind, tuple(nodes), None, dict(graph.assignments))
    return qualified


def _requalified_node(node: Node, alias: str, handler: str | None, library: Library, importer: str | None) -> Node:
    config = node.config
    if node.step is not None and node.step in library.exports.steps:
        function = library.exports.steps[node.step].function
        if function is not None:
            config = _rebased(config, function.config, library.file, importer)
    step = f"{alias}.{node.step}" if node.step else None
    return replace(node, step=step, label=step if step is not None and node.label == node.step else node.label,
                   handler=handler, config=config,
                   resources=tuple(_requalified(use, alias) for use in node.resources))


def _requalified(use: ResourceUse, alias: str) -> ResourceUse:
    return replace(use, resource=f"{alias}.{use.resource}")


def _rebased(config: Mapping[str, object], schema: ConfigSchema, library: str, importer: str | None
             ) -> dict[str, object]:
    """File paths of a library's config made absolute from its folder, when the importer runs elsewhere."""
    folder = posixpath.dirname(library)
    if importer is not None and posixpath.dirname(importer) == folder:
        return dict(config)
    rebased = dict(config)
    for key, value in config.items():
        field = schema.get(key)
        if field is not None and field.path and isinstance(value, str) and not value.startswith(("/", "~")):
            rebased[key] = posixpath.normpath(posixpath.join(folder, value))
    return rebased
