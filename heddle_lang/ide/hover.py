"""Hover: what the name, call, config key, injection, stage or PRQL column under the cursor is."""

from __future__ import annotations

from typing import TypeVar

from heddle_lang.catalog import FunctionSpec, ResourceSpec
from heddle_lang.ide.blocks import block_hover
from heddle_lang.ide.context import Cursor, never_raises
from heddle_lang.ide.describe import (
    field_markdown,
    function_markdown,
    module_markdown,
    resource_spec_markdown,
    schema_table,
    slot_summary,
)
from heddle_lang.ide.occurrences import occurrence_at
from heddle_lang.ide.results import Hover
from heddle_lang.ide.schemas import (
    block_at,
    definition_output,
    input_before,
    locals_around,
    member,
    output_at,
    stage_type,
    use_at,
)
from heddle_lang.semantic.libraries import library_of, relative_name
from heddle_lang.semantic.model import Analysis, Definition
from heddle_lang.semantic.timeout import with_call_keys
from heddle_lang.syntax import ast
from heddle_lang.text import Span
from heddle_lang.types import ConfigSchema

_D = TypeVar("_D", ast.ResourceDecl, ast.StepDecl)


def _at(span: Span | None, offset: int) -> bool:
    return span is not None and span.start <= offset < span.end


@never_raises(lambda: None)
def hover(analysis: Analysis, offset: int) -> Hover | None:
    """The hover at byte `offset`, or None where there is nothing to say."""
    data = analysis.tree.data
    if not 0 <= offset < len(data):
        return None
    cursor = Cursor(data, offset)
    token = next((t for t in cursor.tokens if t.start <= offset < t.end), None)
    if token is not None and token.kind == "comment":
        return None
    shared = _library_hover(analysis, offset)
    if shared is not None:
        return shared
    block = block_at(analysis, cursor, offset)
    if block is not None and offset < block.span.end:
        hovering = _Hovering(analysis, cursor, offset)
        return block_hover(analysis, block, offset, hovering.describe)
    return _Hovering(analysis, cursor, offset).document()


def _library_hover(analysis: Analysis, offset: int) -> Hover | None:
    """A name declared in a library (`platform.pg_db`): described as its own file describes it."""
    occurrence = occurrence_at(analysis, offset)
    target = occurrence.target if occurrence is not None and occurrence.span.start <= offset else None
    if occurrence is None or target is None or target.file is None or target.file == analysis.file:
        return None
    library = library_of(analysis, target.file)
    if library is None:
        return None
    home = library.analysis
    described = _Hovering(home, Cursor(home.tree.data, target.span.start), target.span.start).describe(target)
    if target.kind == "handler":  # the workflows guarded by it are this file's
        users = _Hovering(analysis, Cursor(analysis.tree.data, offset), offset).guarded(target)
        described[1] = f"**handler**: receives `*`, the error context, from {users}"
    where = f"from `{relative_name(target.file, analysis.file)}`"
    return Hover("\n\n".join(p for p in (*described, where) if p), occurrence.span)


class _Hovering:
    def __init__(self, analysis: Analysis, cursor: Cursor, offset: int) -> None:
        self.analysis = analysis
        self.cursor = cursor
        self.offset = offset
        # Declarations are found by place: a hover moves only the ASTs of those it reads (`syntax.lower.Placed`).
        self.outline = analysis.tree.outline

    # --- declarations -----------------------------------------------------------------------------

    def document(self) -> Hover | None:
        offset = self.offset
        for placed in self.outline.around(offset):
            decl = placed.decl
            if not _at(decl.span, offset):
                continue
            if isinstance(decl, ast.Import):
                return self.import_(decl)
            if decl.name is not None and _at(decl.name.span, offset):
                return self.named(decl.name.text, decl.name.span)
            if isinstance(decl, ast.ResourceDecl | ast.StepDecl):
                resource = decl.name.text if isinstance(decl, ast.ResourceDecl) and decl.name is not None else None
                return self.call(decl.call, in_pipeline=False, resource=resource) if decl.call is not None else None
            if isinstance(decl, ast.WorkflowDecl) and decl.trap is not None and _at(decl.trap.span, offset):
                return self.named(decl.trap.text, decl.trap.span)
            scope = decl.name.text if decl.name is not None else None
            for pipeline in decl.pipelines:
                if _at(pipeline.span, offset):
                    return self.pipeline(pipeline, scope)
            break  # between pipelines, or text the parser skipped: what the tokens say
        for pipeline in self.outline.stray_pipelines:
            if _at(pipeline.span, offset):
                return self.pipeline(pipeline, None)
        return self.by_name() or self.lexical()

    def by_name(self) -> Hover | None:
        """Any definition or use the analysis recorded under the cursor."""
        around = locals_around(self.analysis, Span(self.offset, self.offset))
        for definition in (d for local in around for d in local.definitions):
            if _at(definition.span, self.offset):
                return self.definition(definition, definition.span)
        for use in (u for local in around for u in local.uses):
            if _at(use.span, self.offset) and use.target is not None:
                return self.definition(use.target, use.span)
        return None

    def lexical(self) -> Hover | None:
        """Text the parser could not place (the user is typing): `alias.function` and declared names."""
        tokens = self.cursor.tokens
        index = next((i for i, t in enumerate(tokens) if t.start <= self.offset < t.end), None)
        if index is None or tokens[index].kind != "ident":
            return None
        start = index - 2 if index >= 2 and tokens[index - 1].is_punct(".") else index
        if start + 2 < len(tokens) and tokens[start].kind == "ident" and tokens[start + 1].is_punct(".") \
                and tokens[start + 2].kind == "ident":
            alias, name = tokens[start].text, tokens[start + 2].text
            span = Span(tokens[start].start, tokens[start + 2].end)
            return self.function(f"{alias}.{name}", member(self.analysis, alias, name), span, None)
        target = self.analysis.declared(tokens[index].text)
        return self.definition(target, tokens[index].span) if target is not None else None

    def import_(self, decl: ast.Import) -> Hover | None:
        if decl.path is None:
            return None
        alias = decl.alias.text if decl.alias is not None else None
        module = self.analysis.imports.get(alias) if alias is not None else None
        for part in (decl.alias, decl.path):
            if part is not None and _at(part.span, self.offset):
                return Hover(module_markdown(alias, module, decl.path.value), part.span)
        return None

    def named(self, name: str, span: Span) -> Hover | None:
        target = self.defined_at(span)
        if target is None:
            use = use_at(self.analysis, span)
            target = use.target if use is not None else None
        if target is None:
            target = self.analysis.declared(name)
        return self.definition(target, span) if target is not None else None

    def defined_at(self, span: Span) -> Definition | None:
        return next((d for local in locals_around(self.analysis, span) for d in local.definitions if d.span == span),
                    None)

    def definition(self, definition: Definition, span: Span, extra: str = "") -> Hover:
        parts = [*self.describe(definition)]
        if extra:
            parts.append(extra)
        return Hover("\n\n".join(p for p in parts if p), span)

    def describe(self, definition: Definition) -> list[str]:
        kind, name = definition.kind, definition.name
        if kind == "import":
            return [module_markdown(name, self.analysis.imports.get(name), definition.detail)]
        head = {"resource": f"resource {name} = {definition.detail}", "step": f"step {name} = {definition.detail}",
                "assignment": f"> {name}"}.get(kind, f"{kind} {name}")
        parts = [f"```heddle\n{head}\n```"]
        if kind == "assignment":
            parts.append(f"**assignment** in `{definition.scope}`")
        elif kind == "resource":
            parts.append(self.resource_line(definition))
        elif kind == "step":
            parts.append(self.step_line(definition))
        elif kind == "workflow":
            parts.append(self.workflow_line(definition))
        else:
            parts.append(f"**handler**: receives `*`, the error context, from {self.guarded(definition)}")
        if definition.doc:
            parts.append(definition.doc)
        if kind in ("assignment", "step"):
            schema = definition_output(self.analysis, definition)
            if schema is not None:
                parts.append("**Output**\n\n" + schema_table(schema))
        return parts

    def call_spec(self, call: ast.Call | None) -> tuple[str, FunctionSpec | ResourceSpec | None]:
        if call is None or call.module is None or call.function is None:
            return "", None
        return call.qualified, member(self.analysis, call.module.text, call.function.text)

    def resource_line(self, definition: Definition) -> str:
        decl = self.declared(definition, ast.ResourceDecl)
        _, spec = self.call_spec(decl.call if decl is not None else None)
        line = "**resource**"
        if isinstance(spec, ResourceSpec):
            line = f"**resource** of kind `{spec.kind}`" + (f": {spec.doc}" if spec.doc else "")
        effective = self.analysis.resources.get(definition.name)
        if effective is None or not effective.overrides:
            return line
        secret = {f.name for f in spec.config.fields if f.secret} if isinstance(spec, ResourceSpec) else set()
        values = ", ".join(f"`{key} = {_shown(effective.config.get(key), key in secret)}`"
                           for key in effective.overrides)
        return f"{line}\n\n**Profile `{effective.profile}`** ({effective.source}) sets {values}"

    def step_line(self, definition: Definition) -> str:
        decl = self.declared(definition, ast.StepDecl)
        qualified, spec = self.call_spec(decl.call if decl is not None else None)
        if isinstance(spec, FunctionSpec):
            module = self.analysis.imports.get(qualified.split(".", 1)[0])
            where = f" (`{module.path}`)" if module is not None else ""
            return f"**step**: calls `{qualified}`{where}" + (f": {spec.doc}" if spec.doc else "")
        return "**step**"

    def workflow_line(self, definition: Definition) -> str:
        graph = self.analysis.graph(definition.name)
        text = "**workflow**"
        if graph is not None and graph.handler:
            text += f", its failures go to `{graph.handler}`"
        if graph is not None and graph.assignments:
            text += "; assigns " + ", ".join(f"`{a}`" for a in graph.assignments)
        return text

    def guarded(self, definition: Definition) -> str:
        readers = self.analysis.readers(definition)
        if readers is None:  # another file's handler: where this file names it
            scopes = (self.scope_of(u.span) for u in self.analysis.uses if u.target == definition)
            readers = frozenset(s for s in scopes if s is not None)
        users = sorted(readers)
        return ", ".join(f"`{u}`" for u in users) if users else "nothing yet"

    def scope_of(self, span: Span) -> str | None:
        for placed in self.outline.around(span.start):
            decl = placed.decl
            if isinstance(decl, ast.WorkflowDecl | ast.HandlerDecl) and decl.name is not None \
                    and decl.span.covers(span):
                return decl.name.text
        return None

    def declared(self, definition: Definition, kind: type[_D]) -> _D | None:
        """The declaration of `kind` that declares `definition` (in this document)."""
        for placed in self.outline.around(definition.declaration.start):
            decl = placed.decl
            if isinstance(decl, kind) and decl.name is not None and decl.name.span == definition.span:
                return decl
        return None

    # --- calls ------------------------------------------------------------------------------------

    def call(self, call: ast.Call, *, in_pipeline: bool, resource: str | None = None) -> Hover | None:
        offset = self.offset
        qualified, spec = self.call_spec(call)
        for binding in call.bindings:
            if _at(binding.key.span, offset) or (binding.resource is not None and _at(binding.resource.span, offset)):
                return self.binding(binding, qualified, spec)
        if call.config is not None and _at(call.config.span, offset):
            schema = with_call_keys(spec.config) if isinstance(spec, FunctionSpec) else spec.config if spec else None
            found = self.config(call.config, schema, qualified, resource)
            on_key = any(_at(e.key.span, offset) for e in _entries(call.config))
            if found is not None or on_key or not in_pipeline:
                return found
        if call.module is not None and call.function is not None:
            span = Span(call.module.span.start, call.function.span.end)
            if _at(span, offset):
                return self.function(qualified, spec, span, call.span if in_pipeline else None)
        return self.stage(call.span) if in_pipeline else None

    def function(self, qualified: str, spec: FunctionSpec | ResourceSpec | None, span: Span,
                 stage: Span | None) -> Hover | None:
        module = self.analysis.imports.get(qualified.split(".", 1)[0])
        if spec is None or module is None:
            return None
        if isinstance(spec, ResourceSpec):
            return Hover(resource_spec_markdown(qualified, spec, module.path), span)
        text = function_markdown(qualified, spec, module.path)
        if stage is not None:
            text += "\n\n---\n\n" + self.stage_markdown(stage, title=False)
        return Hover(text, span)

    def binding(self, binding: ast.Binding, qualified: str, spec: FunctionSpec | ResourceSpec | None) -> Hover | None:
        slot = spec.slot(binding.key.text) if isinstance(spec, FunctionSpec) else None
        if slot is not None:
            need = f"**resource key** {slot_summary(slot)}, of `{qualified}`"
        else:
            refused = " (not accepted here)" if isinstance(spec, FunctionSpec) else ""
            need = f"**resource key** `{binding.key.text}`{refused}"
        if slot is not None and slot.doc:
            need += f"\n\n{slot.doc}"
        if _at(binding.key.span, self.offset):
            given = f"Injected: `{binding.resource.text}`" if binding.resource is not None else ""
            return Hover("\n\n".join(p for p in (need, given) if p), binding.key.span)
        assert binding.resource is not None
        use = use_at(self.analysis, binding.resource.span)
        target = use.target if use is not None else None
        if target is None:
            return Hover(need + f"\n\n_no resource is named `{binding.resource.text}`_", binding.resource.span)
        return self.definition(target, binding.resource.span, extra="---\n\n" + need)

    def config(self, config: ast.Dict, schema: ConfigSchema | None, owner: str,
               resource: str | None = None) -> Hover | None:
        for entry in config.entries:
            if not _at(entry.span, self.offset):
                continue
            field = schema.get(entry.key.text) if schema is not None else None
            if field is None:
                return None
            if isinstance(entry.value, ast.Dict) and _at(entry.value.span, self.offset):
                record = field.type.record
                return self.config(entry.value, record, f"{owner}.{entry.key.text}") if record is not None else None
            span = entry.key.span if _at(entry.key.span, self.offset) else entry.span
            text = field_markdown(field, owner)
            effective = self.analysis.resources.get(resource) if resource is not None else None
            given = effective.overrides.get(entry.key.text) if effective is not None else None
            if effective is not None and given is not None:
                value = effective.config.get(entry.key.text)
                text += (f"\n\n**Effective**: `{_shown(value, field.secret)}`, set by profile `{effective.profile}` "
                         f"({effective.source}:{given.line}{', ' + given.text if given.env else ''})")
            return Hover(text, span)
        return None

    # --- pipelines --------------------------------------------------------------------------------

    def pipeline(self, pipeline: ast.Pipeline, scope: str | None) -> Hover | None:
        offset = self.offset
        for element in (pipeline.source, *pipeline.steps):
            if not _at(element.span, offset):
                continue
            if isinstance(element, ast.Assignment):
                return self.assignment(element, scope)
            if element.trap is not None and _at(element.trap.span, offset):
                return self.named(element.trap.text, element.trap.span)
            value = element.value
            if value is None:
                return None
            if isinstance(value, ast.Reference) and _at(value.span, offset):
                return self.reference(value)
            if isinstance(value, ast.Call) and _at(value.span, offset):
                return self.call(value, in_pipeline=True)
            return self.stage(value.span)
        return None

    def assignment(self, assignment: ast.Assignment, scope: str | None) -> Hover | None:
        if assignment.name is None:
            return None
        span = assignment.name.span
        definition = self.defined_at(span)
        if definition is not None:
            return self.definition(definition, assignment.span)
        schema = stage_type(self.analysis, span)
        text = f"```heddle\n> {assignment.name.text}\n```"
        if schema is not None:
            text += "\n\n" + schema_table(schema)
        return Hover(text, assignment.span)

    def reference(self, ref: ast.Reference) -> Hover | None:
        use = use_at(self.analysis, ref.name.span)
        if use is None or use.target is None:
            return self.stage(ref.span)
        parts = [p for p in self.describe(use.target) if not p.startswith("**Output**")]
        parts.append("---\n\n" + self.stage_markdown(ref.span, title=False))
        return Hover("\n\n".join(parts), ref.span)

    def stage(self, span: Span) -> Hover | None:
        if output_at(self.analysis, span) is None and input_before(self.analysis, self.cursor, span.start) is None:
            return None
        return Hover(self.stage_markdown(span, title=True), span)

    def stage_markdown(self, span: Span, *, title: bool) -> str:
        label = next((s.label for local in locals_around(self.analysis, span) for s in local.stage_types
                      if s.span == span), "")
        parts = [f"**stage** `{label}`"] if title and label else []
        upstream = input_before(self.analysis, self.cursor, span.start)
        if upstream is not None:
            parts.append("**Input**\n\n" + schema_table(upstream))
        output = output_at(self.analysis, span)
        parts.append("**Output**\n\n" + (schema_table(output) if output is not None else "_unknown_"))
        return "\n\n".join(parts)


def _shown(value: object, secret: bool) -> str:
    """A config value as a hover shows it: a secret only as where it comes from."""
    if secret:
        return value if isinstance(value, str) and value.startswith("env:") else "***"
    return f'"{value}"' if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)


def _entries(config: ast.Dict) -> list[ast.Entry]:
    """Every entry of a config, nested dicts included."""
    out: list[ast.Entry] = []
    for entry in config.entries:
        out.append(entry)
        if isinstance(entry.value, ast.Dict):
            out += _entries(entry.value)
    return out
