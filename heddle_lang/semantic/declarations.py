"""Imports, declarations and calls: names (HE3001-HE3006, HE3016, HE3017) and resources/config (HE4xxx)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from heddle_lang.call_keys import RETRY_KEY, TIMEOUT_KEY
from heddle_lang.catalog import FunctionSpec, ModuleSpec
from heddle_lang.diagnostics import Diagnostic, Fix, Related, Severity, TextEdit
from heddle_lang.paths import outside_message
from heddle_lang.plan import ResourceUse, RetryPolicy
from heddle_lang.records import record
from heddle_lang.semantic import library_use
from heddle_lang.semantic.context import Context, ResourceInfo, StepInfo
from heddle_lang.semantic.libraries import is_library_path
from heddle_lang.semantic.model import Binding, Definition, relocate_definition
from heddle_lang.semantic.profiles import apply_profiles
from heddle_lang.semantic.retry import check_retry
from heddle_lang.semantic.timeout import check_timeout, split_call_keys
from heddle_lang.semantic.values import check_config, literal_config
from heddle_lang.suggest import closest, listing
from heddle_lang.syntax import ast
from heddle_lang.syntax.lower import Outline, Placed
from heddle_lang.text import Span
from heddle_lang.types import ConfigSchema

_KIND_OF = {ast.ResourceDecl: "resource", ast.StepDecl: "step", ast.HandlerDecl: "handler",
            ast.WorkflowDecl: "workflow"}


def collect_imports(ctx: Context, declarations: Iterable[Placed]) -> None:
    """The imports among `declarations` (aliases, modules, libraries), in order."""
    for placed in declarations:
        decl = placed.base
        if not isinstance(decl, ast.Import) or decl.path is None or decl.alias is None:
            continue
        decl = placed.decl
        assert isinstance(decl, ast.Import) and decl.path is not None and decl.alias is not None
        alias, path = decl.alias.text, decl.path.value
        previous = ctx.aliases.get(alias)
        if previous is not None:
            ctx.report(Diagnostic("HE3002", decl.alias.span, f"the alias `{alias}` is already used by an import",
                                  related=(Related(previous.span, "first used here"),)))
            continue
        ctx.aliases[alias] = Definition(alias, "import", decl.alias.span, decl.span, detail=path, doc=decl.doc,
                                        file=ctx.file)
        if is_library_path(path):
            library_use.import_library(ctx, decl, alias)
            continue
        spec = ctx.catalog.module(path)
        if spec is None:
            ctx.report(_unknown_import(ctx, decl.path))
        elif spec.import_error:
            ctx.report(Diagnostic("HE3017", decl.path.span, f'the module "{path}" could not be imported in this '
                                  "environment, so its functions were read from its source, their types unchecked: "
                                  f"{spec.import_error}", Severity.WARNING))
        ctx.modules[alias] = (path, spec)


def _unknown_import(ctx: Context, path: ast.Str) -> Diagnostic:
    error = ctx.catalog.load_error(path.value)
    if error:
        return Diagnostic("HE3001", path.span, f'the module "{path.value}" could not be loaded: {error}')
    best = closest(path.value, ctx.catalog.paths())
    if best:
        return Diagnostic("HE3001", path.span, f'no module "{path.value}"; did you mean "{best}"?',
                          fixes=(Fix(f'replace with "{best}"', (TextEdit(path.span, f'"{best}"'),)),))
    return Diagnostic("HE3001", path.span, f'no module "{path.value}": map it in heddle.toml ([modules]) or install '
                      "a package that provides it")


def collect_declarations(ctx: Context, outline: Outline,
                         earlier: Mapping[str, tuple[ast.Declaration, Definition]] | None = None) -> None:
    """The names declared: read from each declaration as an earlier version lowered it (`Placed.base`), so an
    unchanged declaration is not moved. `earlier`: the definitions a previous analysis of the file made, with the
    AST each was made from; one made from the same AST is that definition again, moved."""
    for placed in outline.placed:
        decl = placed.base
        if isinstance(decl, ast.Import) or decl.name is None:
            continue
        name = decl.name.text
        kind = _KIND_OF[type(decl)]
        previous = ctx.definitions.get(name)
        if previous is not None:
            name_span = placed.name_span()
            assert name_span is not None
            ctx.report(Diagnostic("HE3006", name_span,
                                  f"`{name}` is already declared (as a {previous.kind})",
                                  related=(Related(previous.span, "first declared here"),)))
            continue
        known = earlier.get(name) if earlier is not None else None
        if known is not None and known[0] is decl and known[1].file == ctx.file:
            delta = placed.start - known[1].declaration.start
            definition = relocate_definition(known[1], delta, 0) if delta else known[1]
        else:
            name_span = placed.name_span()
            assert name_span is not None
            detail = decl.call.qualified if isinstance(decl, ast.StepDecl | ast.ResourceDecl) and decl.call else ""
            definition = Definition(name, kind, name_span, placed.span, detail=detail, doc=decl.doc, file=ctx.file)
        ctx.definitions[name] = definition
        ctx.made[name] = (decl, definition)
        if isinstance(decl, ast.StepDecl):
            ctx.steps[name] = StepInfo(placed)
        elif isinstance(decl, ast.ResourceDecl):
            ctx.resources[name] = ResourceInfo(placed)
        elif isinstance(decl, ast.HandlerDecl):
            ctx.handlers[name] = placed
        else:
            ctx.workflows[name] = placed


def resolve_member(ctx: Context, call: ast.Call, want: str) -> Binding | None:
    """The module member `call` names, checked to be a `want` ("function" or "resource")."""
    if call.module is None or call.function is None:
        return None
    alias = call.module.text
    if alias in ctx.libraries:
        definition = library_use.member(ctx, call.module, call.function, None)
        if definition is not None:
            what = "resource" if want == "resource" else "step"
            ctx.report(Diagnostic("HE3016", Span(call.module.span.start, call.function.span.end),
                                  f"`{call.qualified}` is a {definition.kind} of a library, not a {what} "
                                  "constructor: " + ("inject it with `<key=" + call.qualified + ">`"
                                                     if definition.kind == "resource" else
                                                     "use it in a pipeline as `| " + call.qualified + "`")))
        return None
    if alias not in ctx.modules:
        best = closest(alias, [*ctx.modules, *ctx.libraries])
        fixes = (Fix(f"replace with `{best}`", (TextEdit(call.module.span, best),)),) if best else ()
        message = f"no import is aliased `{alias}`" + (f"; did you mean `{best}`?" if best else "")
        ctx.report(Diagnostic("HE3003", call.module.span, message, fixes=fixes))
        ctx.use(call.module, None)
        return None
    ctx.use(call.module, ctx.aliases.get(alias))
    path, spec = ctx.modules[alias]
    if spec is None:
        return None
    name = call.function.text
    span = Span(call.module.span.start, call.function.span.end)
    function = spec.functions.get(name)
    resource = spec.resources.get(name)
    if function is None and resource is None:
        ctx.report(_unknown_member(spec, alias, call.function))
        return None
    binding = Binding(span, path, spec, function=function, resource=resource)
    ctx.bindings.append(binding)
    if want == "resource" and resource is None:
        ctx.report(Diagnostic("HE3016", span, f"`{alias}.{name}` is a function, not a resource: declare it as a "
                              "`step`, or use a resource constructor" + _members_hint(spec, "resource")))
        return None
    if want == "function" and function is None:
        ctx.report(Diagnostic("HE3016", span, f"`{alias}.{name}` makes a resource: declare it with `resource "
                              f"NAME = {alias}.{name} {{ ... }}` and inject it with `<key=NAME>`"))
        return None
    return binding


def _members_hint(spec: ModuleSpec, kind: str) -> str:
    names = spec.resources if kind == "resource" else spec.functions
    return f" (resources of this module: {listing(names)})" if names else ""


def _unknown_member(spec: ModuleSpec, alias: str, name: ast.Name) -> Diagnostic:
    best = closest(name.text, spec.members)
    if best:
        return Diagnostic("HE3004", name.span, f"`{alias}` ({spec.path}) has no `{name.text}`; did you mean "
                          f"`{best}`?", fixes=(Fix(f"replace with `{best}`", (TextEdit(name.span, best),)),))
    return Diagnostic("HE3004", name.span, f"`{alias}` ({spec.path}) has no `{name.text}`; it offers "
                      f"{listing(spec.members)}")


def check_resource(ctx: Context, info: ResourceInfo) -> None:
    decl = info.decl
    if decl.call is None or decl.name is None:
        return
    for injection in decl.call.injections:
        ctx.report(Diagnostic("HE4001", injection.span, "a resource takes no injected resources"))
    binding = resolve_member(ctx, decl.call, "resource")
    if binding is None or binding.resource is None:
        return
    spec = binding.resource
    info.kind, info.module_path, info.spec = spec.kind, binding.module_path, spec
    info.config = literal_config(decl.call.config)
    for diagnostic in check_config(decl.call.config, spec.config, f"resource `{decl.name.text}`", binding.span):
        ctx.report(diagnostic)
    check_paths(ctx, decl.call.config, spec.config, f"resource `{decl.name.text}`")
    apply_profiles(ctx, decl.name.text, info, spec)


@record
class ResolvedCall:
    module_path: str
    function: FunctionSpec
    config: dict[str, object]  # the literal config the function receives (`retry` and `timeout` taken out)
    resources: tuple[ResourceUse, ...]
    retry: RetryPolicy | None
    timeout: float | None  # seconds one attempt may take


def check_call(ctx: Context, call: ast.Call, owner: str) -> ResolvedCall | None:
    """Resolve a function call and check its config, retry policy, timeout and injections. `owner` names it in
    messages."""
    binding = resolve_member(ctx, call, "function")
    if binding is None or binding.function is None:
        return None
    function = binding.function
    call_keys, config = split_call_keys(call.config)
    for diagnostic in check_config(config, function.config, owner, binding.span):
        ctx.report(diagnostic)
    check_paths(ctx, config, function.config, owner)
    policy = timeout = None
    if RETRY_KEY in call_keys:
        policy, problems = check_retry(call_keys[RETRY_KEY], owner)
        for diagnostic in problems:
            ctx.report(diagnostic)
    if TIMEOUT_KEY in call_keys:
        timeout, problems = check_timeout(call_keys[TIMEOUT_KEY], owner)
        for diagnostic in problems:
            ctx.report(diagnostic)
    resources = tuple(_check_injections(ctx, call, function, binding.span))
    return ResolvedCall(binding.module_path, function, literal_config(config), resources, policy, timeout)


def check_paths(ctx: Context, config: ast.Dict | None, schema: ConfigSchema, owner: str) -> None:
    """The file paths of a config point inside the project, or where its `heddle.toml` allows (HE4011)."""
    if ctx.paths is None or config is None:
        return
    for entry in config.entries:
        field = schema.get(entry.key.text)
        if field is not None and field.path and isinstance(entry.value, ast.Str) \
                and not ctx.paths.permits(entry.value.value):
            ctx.report(Diagnostic("HE4011", entry.value.span,
                                  outside_message(entry.key.text, owner, entry.value.value, ctx.paths)))


def check_step(ctx: Context, info: StepInfo) -> None:
    decl = info.decl
    if decl.call is None or decl.name is None:
        return
    resolved = check_call(ctx, decl.call, f"step `{decl.name.text}`")
    if resolved is None:
        return
    info.module_path, info.function, info.resources = resolved.module_path, resolved.function, resolved.resources
    info.config, info.retry, info.timeout = resolved.config, resolved.retry, resolved.timeout


def _library_resource(ctx: Context, name: ast.Name, kind: str, qualified: str, key: str) -> ResourceUse | None:
    """`<key=alias.name>`: a resource a library declares, renamed into this plan."""
    info = library_use.resource(ctx, name)
    if info is None:
        return None
    if info.kind is not None and info.kind != kind:
        ctx.report(Diagnostic("HE4002", name.whole, f"`{qualified}` needs a `{kind}` resource for `{key}`, but "
                              f"`{name.qualified}` is a `{info.kind}`"))
        return None
    return ResourceUse(key, name.qualified, info.kind or kind, info.module_path or "",
                       info.spec.name if info.spec else "", info.config)


def _check_injections(ctx: Context, call: ast.Call, function: FunctionSpec, where: Span) -> list[ResourceUse]:
    uses: list[ResourceUse] = []
    seen: dict[str, ast.Binding] = {}
    qualified = call.qualified
    for binding in call.bindings:
        key = binding.key.text
        if key in seen:
            ctx.report(Diagnostic("HE4008", binding.key.span, f"the resource key `{key}` is injected twice",
                                  related=(Related(seen[key].key.span, "first injected here"),)))
            continue
        seen[key] = binding
        slot = function.slot(key)
        if slot is None:
            accepted = [s.key for s in function.resources]
            best = closest(key, accepted)
            if best:
                message = f"`{qualified}` accepts no resource `{key}`; did you mean `{best}`?"
            elif accepted:
                message = f"`{qualified}` accepts no resource `{key}`; it accepts {listing(accepted)}"
            else:
                message = f"`{qualified}` takes no resources"
            fixes = (Fix(f"replace with `{best}`", (TextEdit(binding.key.span, best),)),) if best else ()
            ctx.report(Diagnostic("HE4001", binding.key.span, message, fixes=fixes))
            continue
        if binding.resource is None:
            continue
        if binding.resource.qualifier is not None:
            shared = _library_resource(ctx, binding.resource, slot.kind, qualified, key)
            if shared is not None:
                uses.append(shared)
            continue
        name = binding.resource.text
        info = ctx.resources.get(name)
        definition = ctx.definitions.get(name)
        ctx.use(binding.resource, definition)
        if info is None:
            resources_of_kind = [n for n, r in ctx.resources.items() if r.kind in (None, slot.kind)]
            if definition is not None:
                message = f"`{name}` is a {definition.kind}, not a resource"
            else:
                message = f"no resource is named `{name}`"
            best = closest(name, resources_of_kind)
            fixes = (Fix(f"replace with `{best}`", (TextEdit(binding.resource.span, best),)),) if best else ()
            ctx.report(Diagnostic("HE3014", binding.resource.span,
                                  message + (f"; did you mean `{best}`?" if best else ""), fixes=fixes))
            continue
        if info.kind is not None and info.kind != slot.kind:
            assert info.decl.name is not None
            ctx.report(Diagnostic(
                "HE4002", binding.resource.span,
                f"`{qualified}` needs a `{slot.kind}` resource for `{key}`, but `{name}` is a `{info.kind}`",
                related=(Related(info.decl.name.span, f"`{name}` is declared here"),)))
            continue
        uses.append(ResourceUse(key, name, info.kind or slot.kind, info.module_path or "",
                                info.spec.name if info.spec else "", info.config))
    for slot in function.resources:
        if slot.required and slot.key not in seen:
            candidates = [n for n, r in ctx.resources.items() if r.kind == slot.kind]
            fixes: tuple[Fix, ...] = ()
            if len(candidates) == 1 and not call.injections and call.function is not None:
                at = Span(call.function.span.end, call.function.span.end)
                fixes = (Fix(f"inject `{candidates[0]}`", (TextEdit(at, f" <{slot.key}={candidates[0]}>"),)),)
            ctx.report(Diagnostic(
                "HE4003", where,
                f"`{qualified}` needs a `{slot.kind}` resource: inject one with `<{slot.key}=NAME>`"
                + (f" (declared: {listing(candidates)})" if candidates else ""), fixes=fixes))
    return uses
