"""Pipelines: names in workflows and handlers, and the schema of every stage (HE3xxx, HE5xxx, HE6xxx).

Each workflow and handler becomes a `Graph` of the plan. A schema flows from a pipeline's source
through `|` stages into `> name`; a stage's function sees its input checked against its contract, and
its output comes from the catalog (inference hook, passthrough, declared output).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from heddle_lang.catalog import FunctionSpec, InferenceError
from heddle_lang.diagnostics import Diagnostic, Related, Severity
from heddle_lang.plan import Graph, Node, ResourceUse, RetryPolicy
from heddle_lang.relational import analyze_block, referenced_tables
from heddle_lang.semantic import library_use
from heddle_lang.semantic.context import Context
from heddle_lang.semantic.declarations import check_call
from heddle_lang.semantic.inference import infer
from heddle_lang.semantic.model import Definition, StageType
from heddle_lang.semantic.values import literal
from heddle_lang.suggest import closest
from heddle_lang.syntax import ast
from heddle_lang.text import Span, char_offsets
from heddle_lang.types import Column, Schema, assignable, dtype_name

# What `*` carries into a handler: the failure, and (open) the columns of the rows that failed.
ERROR_CONTEXT = Schema.of({
    "error_msg": pl.String(), "error_type": pl.String(), "stack_trace": pl.String(), "step": pl.String(),
    "workflow": pl.String(), "attempt": pl.Int32(), "failed_at": pl.Datetime("us", "UTC"),
}, open=True)


@dataclass
class _Flow:
    """The stage just built: its node id and schema (None before the first stage)."""

    node: str | None = None
    schema: Schema | None = None


@dataclass
class GraphBuilder:
    ctx: Context
    name: str
    kind: str  # "workflow" | "handler"
    pipelines: tuple[ast.Pipeline, ...]
    nodes: list[Node] = field(default_factory=list)
    assigned: dict[str, tuple[str, Schema, Definition]] = field(default_factory=dict)
    step_nodes: dict[str, tuple[str, Schema]] = field(default_factory=dict)
    later: dict[str, ast.Name] = field(default_factory=dict)  # assignments made further down
    open_reported: bool = False

    def build(self, handler: str | None) -> Graph:
        for pipeline in self.pipelines:
            for step in pipeline.steps:
                # A declared name wins over an assignment that would shadow it (HE3008).
                if isinstance(step, ast.Assignment) and step.name is not None \
                        and step.name.text not in self.ctx.definitions:
                    self.later.setdefault(step.name.text, step.name)
        for pipeline in self.pipelines:
            self.pipeline(pipeline)
        return Graph(self.name, self.kind, tuple(self.nodes), handler,
                     {name: node for name, (node, _, _) in self.assigned.items()})

    # --- nodes ------------------------------------------------------------------------------------

    def add(self, span: Span, **fields: object) -> Node:
        line = self.ctx.tree.lines.line_of(span.start) + 1
        node = Node(id=f"n{len(self.nodes) + 1}", line=line, span=span, **fields)  # type: ignore[arg-type]
        self.nodes.append(node)
        self.ctx.stage_types.append(StageType(span, node.output, node.label))
        return node

    # --- pipelines --------------------------------------------------------------------------------

    def pipeline(self, pipeline: ast.Pipeline) -> None:
        flow = _Flow()
        source = pipeline.source
        if self.kind == "handler" and not isinstance(source.value, ast.ErrorContext):
            self.ctx.report(Diagnostic("HE3015", source.span,
                                       "a handler pipeline starts with `*`, the error context it receives"))
        for step in (source, *pipeline.steps):
            if isinstance(step, ast.Assignment):
                self.assign(step, flow)
            else:
                flow = self.stage(step, flow)

    def assign(self, assignment: ast.Assignment, flow: _Flow) -> None:
        name = assignment.name
        if name is None or flow.node is None or flow.schema is None:
            return
        text = name.text
        if text in self.assigned:
            previous = self.assigned[text][2]
            self.ctx.report(Diagnostic("HE3009", name.span, f"`{text}` is already assigned in this {self.kind}",
                                       related=(Related(previous.span, "first assigned here"),)))
            return
        global_kind = self.ctx.kind_of(text)
        if global_kind in ("step", "resource", "handler", "workflow"):
            target = self.ctx.definitions[text]
            self.ctx.report(Diagnostic("HE3008", name.span, f"`{text}` is already the name of a {global_kind};"
                                       " choose another name for this assignment",
                                       related=(Related(target.span, f"the {global_kind} is declared here"),)))
            return
        definition = Definition(text, "assignment", name.span, assignment.span, scope=self.name)
        self.ctx.local_definitions.append(definition)
        self.assigned[text] = (flow.node, flow.schema, definition)
        self.ctx.stage_types.append(StageType(name.span, flow.schema, f"> {text}"))

    def stage(self, stage: ast.Stage, flow: _Flow) -> _Flow:
        value = stage.value
        handler = self.trap(stage.trap)
        if value is None:
            return _Flow()
        if isinstance(value, ast.ErrorContext):
            node = self.add(value.span, kind="error_context", label="*", output=ERROR_CONTEXT)
            return _Flow(node.id, node.output)
        if isinstance(value, ast.Reference):
            return self.reference(value, flow, stage.is_source, handler)
        if isinstance(value, ast.Call) and value.module is not None and value.module.text in self.ctx.libraries:
            return self.library_step(value, flow, stage.is_source, handler)
        if isinstance(value, ast.Call):
            resolved = check_call(self.ctx, value, f"`{value.qualified}`")
            if resolved is None:
                return _Flow()
            return self.call(value.span, value.qualified, resolved.module_path, resolved.function,
                             config=resolved.config, resources=resolved.resources, retry=resolved.retry,
                             timeout=resolved.timeout, flow=flow, is_source=stage.is_source, handler=handler,
                             step=None)
        if isinstance(value, ast.RelationalBlock):
            return self.relational(value, flow, stage.is_source, handler)
        if isinstance(value, ast.DataFrame):
            rows = tuple(literal(r) for r in value.rows if isinstance(r, ast.Dict))
            node = self.add(value.span, kind="dataframe", label=f"[{len(rows)} rows]",
                            output=self.dataframe_schema(value), rows=rows, handler=handler)
            return _Flow(node.id, node.output)
        return _Flow()

    def trap(self, trap: ast.Name | None) -> str | None:
        if trap is None:
            return None
        return check_trap(self.ctx, trap)

    # --- stage kinds ------------------------------------------------------------------------------

    def reference(self, ref: ast.Reference, flow: _Flow, is_source: bool, handler: str | None) -> _Flow:
        name = ref.name.text
        if name in self.assigned:
            node, schema, definition = self.assigned[name]
            self.ctx.use(ref.name, definition)
            if not is_source:
                self.ctx.report(Diagnostic("HE3013", ref.span, f"`{name}` is an assignment: data cannot be piped "
                                           "into it (start a new pipeline with it instead)"))
                return _Flow()
            return _Flow(node, schema)
        if name in self.later:
            self.ctx.use(ref.name, None)
            self.ctx.report(Diagnostic("HE3007", ref.span, f"`{name}` is read here but assigned further down",
                                       related=(Related(self.later[name].span, "assigned here"),)))
            return _Flow()
        info = self.ctx.steps.get(name)
        if info is not None:
            self.ctx.use(ref.name, self.ctx.definitions.get(name))
            if info.function is None or info.module_path is None:
                return _Flow()
            if is_source:
                node, schema = self.step_node(name, ref.span, handler)
                return _Flow(node, schema)
            return self.call(ref.span, name, info.module_path, info.function, config=info.config,
                             resources=info.resources, retry=info.retry, timeout=info.timeout, flow=flow,
                             is_source=is_source, handler=handler, step=name)
        definition = self.ctx.definitions.get(name)
        self.ctx.use(ref.name, definition)
        if definition is not None:
            self.ctx.report(Diagnostic("HE3013", ref.span, f"`{name}` is a {definition.kind}: only steps and "
                                       "assignments can stand in a pipeline",
                                       related=(Related(definition.span, f"the {definition.kind} is declared here"),)))
            return _Flow()
        candidates = [*self.assigned, *self.later, *self.ctx.steps]
        best = closest(name, candidates)
        self.ctx.report(Diagnostic("HE3005", ref.span, f"`{name}` is not a step or an assignment"
                                   + (f"; did you mean `{best}`?" if best else "")))
        return _Flow()

    def library_step(self, call: ast.Call, flow: _Flow, is_source: bool, handler: str | None) -> _Flow:
        """`| platform.enrich`: a step a library declares, run as it declared it."""
        if call.function is None:
            return _Flow()
        found = library_use.step(self.ctx, call)
        if found is None:
            return _Flow()
        name, info = found
        if info.function is None or info.module_path is None:
            return _Flow()
        if is_source:
            if name not in self.step_nodes:
                made = self.call(call.span, name, info.module_path, info.function, config=info.config,
                                 resources=info.resources, retry=info.retry, timeout=info.timeout, flow=_Flow(),
                                 is_source=True, handler=handler, step=name)
                if made.node is None:
                    return made
                self.step_nodes[name] = (made.node, made.schema or Schema.unknown())
            node, schema = self.step_nodes[name]
            return _Flow(node, schema)
        return self.call(call.span, name, info.module_path, info.function, config=info.config,
                         resources=info.resources, retry=info.retry, timeout=info.timeout, flow=flow,
                         is_source=False, handler=handler, step=name)

    def step_node(self, name: str, span: Span, handler: str | None) -> tuple[str, Schema]:
        """The one node of this graph that runs step `name` as a source (shared by all its readers)."""
        if name in self.step_nodes:
            return self.step_nodes[name]
        info = self.ctx.steps[name]
        assert info.function is not None and info.module_path is not None
        flow = self.call(span, name, info.module_path, info.function, config=info.config,
                         resources=info.resources, retry=info.retry, timeout=info.timeout, flow=_Flow(),
                         is_source=True, handler=handler, step=name)
        result = (flow.node or "", flow.schema or Schema.unknown())
        if flow.node is not None:
            self.step_nodes[name] = result
        return result

    def call(self, span: Span, label: str, module_path: str, function: FunctionSpec, *, config: Mapping[str, object],
             resources: tuple[ResourceUse, ...], retry: RetryPolicy | None, timeout: float | None, flow: _Flow,
             is_source: bool, handler: str | None, step: str | None) -> _Flow:
        if is_source and function.takes_input:
            self.ctx.report(Diagnostic("HE5003", span, f"`{label}` takes an input: pipe data into it "
                                       f"(`... | {label}`) instead of starting a pipeline with it"))
        if not is_source and not function.takes_input:
            self.ctx.report(Diagnostic("HE5005", span, f"`{label}` takes no input: it starts a pipeline of its own"))
        input_schema = flow.schema if not is_source else None
        if input_schema is not None:
            self.contract(span, label, function, input_schema)
        output = self.described(span, label, function, config, resources)
        if output is not None and function.infer is not None and any(c.dtype is None for c in output.columns):
            offline = infer(function.infer, config, input_schema)  # what the text says fills what the server left
            output = _merged(output, offline) if isinstance(offline, Schema) else output
        if output is None:
            output = self.output(span, label, function, config, input_schema)
        node = self.add(span, kind="step" if step else "call", label=label, output=output,
                        inputs=(flow.node,) if flow.node and not is_source else (), module=module_path,
                        function=function.name, step=step, config=dict(config), resources=resources,
                        handler=handler, retry=retry, timeout=timeout)
        return _Flow(node.id, output)

    def contract(self, span: Span, label: str, function: FunctionSpec, schema: Schema) -> None:
        missing: list[str] = []
        assumed: list[str] = []
        for required in function.input.columns:
            actual = schema.get(required.name)
            if actual is None:
                (assumed if schema.open else missing).append(required.name)
            elif not assignable(actual.dtype, required.dtype):
                self.ctx.report(Diagnostic(
                    "HE5002", span, f"`{label}` needs `{required.name}` as {dtype_name(required.dtype)}, but its "
                    f"input has {dtype_name(actual.dtype)}"))
        if missing:
            names = ", ".join(f"`{m}`" for m in missing)
            self.ctx.report(Diagnostic(
                "HE5001", span, f"`{label}` needs the column{'s' if len(missing) > 1 else ''} {names}; its input "
                f"has {', '.join(schema.names) or 'no columns'}"))
        if assumed:
            names = ", ".join(f"`{c}`" for c in assumed)
            self.undeclared(span, f"{names} {'is' if len(assumed) == 1 else 'are'}")

    def undeclared(self, span: Span, what: str) -> None:
        """HE5006, once per graph: columns are read from data whose schema is not fully declared."""
        if self.open_reported or self.kind != "workflow":
            return
        self.open_reported = True
        self.ctx.report(Diagnostic(
            "HE5006", span, f"{what} read from data whose schema is not fully declared: checked when the workflow "
            "runs (declare the schema where the data comes in to check it now)", severity=Severity.INFORMATION))

    def described(self, span: Span, label: str, function: FunctionSpec, config: Mapping[str, object],
                  resources: tuple[ResourceUse, ...]) -> Schema | None:
        """The output as the injected resource describes it (a database asked about a query), if it can."""
        if function.describe is None or not resources:
            return None
        try:
            return function.describe(config, {use.key: use.config for use in resources})
        except InferenceError as refused:
            self.ctx.report(Diagnostic("HE5008", span, f"the database of `{label}` refuses its query: {refused}",
                                       severity=Severity.WARNING))
        except Exception:  # a plugin's hook is user code: the offline typing stands
            return None
        return None

    def output(self, span: Span, label: str, function: FunctionSpec, config: Mapping[str, object],
               input_schema: Schema | None) -> Schema:
        if function.infer is not None:
            result = infer(function.infer, config, input_schema)
            if isinstance(result, Schema):
                return result
            self.ctx.report(Diagnostic("HE5004", span, f"cannot type `{label}`: {result}"))
            return Schema.unknown()
        if function.passthrough:
            base = input_schema if input_schema is not None else Schema.unknown()
            return base.extended(function.output) if function.output is not None else base
        return function.output if function.output is not None else Schema.unknown()

    def relational(self, block: ast.RelationalBlock, flow: _Flow, is_source: bool, handler: str | None) -> _Flow:
        if block.query_span is None:
            return _Flow()
        schemas: dict[str, Schema] = {}
        tables: dict[str, str] = {}
        inputs: list[str] = []
        if not is_source and flow.schema is not None and flow.node is not None:
            schemas["input"] = flow.schema
            tables["input"] = flow.node
            inputs.append(flow.node)
        query = block.query
        for ref in referenced_tables(query):
            if ref.name == "input" or ref.name in schemas:
                continue
            start = block.query_span.start + char_offsets(query).to_bytes(ref.offset)
            name_span = Span(start, start + len(ref.name.encode("utf-8")))
            resolved = self.table(ref.name, ast.Name(ref.name, name_span), handler)
            if resolved is not None:
                node, schema = resolved
                schemas[ref.name], tables[ref.name] = schema, node
                if node not in inputs:
                    inputs.append(node)
        in_scope = [*self.assigned, *self.ctx.steps]
        result = analyze_block(query, schemas, is_source=is_source, available=in_scope, compiler=self.ctx.compiler)
        for diagnostic in result.diagnostics:
            self.ctx.report(diagnostic.to_diagnostic(block.query_span.start, query))
        if any(s.open for s in schemas.values()):
            self.undeclared(block.span, "the columns this block reads are")
        output = result.schema if result.schema is not None else Schema.unknown()
        label = " ".join(query.split())
        node = self.add(block.span, kind="relational", label=f"({label if len(label) <= 40 else label[:37] + '...'})",
                        output=output, inputs=tuple(inputs), tables=tables, sql=result.sql, program=result.program,
                        handler=handler)
        return _Flow(node.id, output)

    def table(self, name: str, where: ast.Name, handler: str | None) -> tuple[str, Schema] | None:
        """A table a relational block reads by name: an assignment so far, or a step."""
        if name in self.assigned:
            node, schema, definition = self.assigned[name]
            self.ctx.use(where, definition)
            return node, schema
        if name in self.later:
            self.ctx.use(where, None)
            self.ctx.report(Diagnostic("HE3007", where.span, f"`{name}` is read here but assigned further down",
                                       related=(Related(self.later[name].span, "assigned here"),)))
            return None
        info = self.ctx.steps.get(name)
        if info is not None:
            self.ctx.use(where, self.ctx.definitions.get(name))
            if info.function is None:
                return None
            return self.step_node(name, where.span, handler)
        return None

    def dataframe_schema(self, frame: ast.DataFrame) -> Schema:
        columns: dict[str, pl.DataType | None] = {}
        for row in frame.rows:
            if not isinstance(row, ast.Dict):
                continue
            for entry in row.entries:
                dtype = _literal_dtype(entry.value)
                name = entry.key.text
                if name not in columns or columns[name] is None:
                    columns[name] = dtype
                elif dtype is not None and columns[name] != dtype:
                    merged = _merge(columns[name], dtype)
                    if merged is None:
                        self.ctx.report(Diagnostic(
                            "HE5007", entry.span, f"column `{name}` is {dtype_name(columns[name])} in earlier rows "
                            f"but {dtype_name(dtype)} here"))
                    else:
                        columns[name] = merged
        return Schema(tuple(Column(n, d) for n, d in columns.items()))


def _merged(described: Schema, offline: Schema) -> Schema:
    """The described columns, a type the description left unknown taken from the offline typing."""
    columns = []
    for column in described.columns:
        known = offline.get(column.name)
        columns.append(Column(column.name, known.dtype) if column.dtype is None and known is not None else column)
    return Schema(tuple(columns), described.open)


def _literal_dtype(value: ast.Value | None) -> pl.DataType | None:
    match value:
        case ast.Str():
            return pl.String()
        case ast.Bool():
            return pl.Boolean()
        case ast.Number(value=number):
            return pl.Int64() if isinstance(number, int) else pl.Float64()
        case ast.List(items=items):
            inner = next((d for d in (_literal_dtype(i) for i in items) if d is not None), None)
            return pl.List(inner if inner is not None else pl.Null())
        case ast.Dict(entries=entries):
            return pl.Struct({e.key.text: _literal_dtype(e.value) or pl.Null() for e in entries})
    return None


def _merge(a: pl.DataType | None, b: pl.DataType) -> pl.DataType | None:
    if a is None:
        return b
    if {type(a), type(b)} == {pl.Int64, pl.Float64}:
        return pl.Float64()
    return None


def check_trap(ctx: Context, trap: ast.Name) -> str | None:
    """`? name`: the handler it names, or None (reported)."""
    if trap.qualifier is not None:
        return library_use.handler(ctx, trap)
    name = trap.text
    definition = ctx.definitions.get(name)
    ctx.use(trap, definition)
    if name in ctx.handlers:
        return name
    if definition is not None:
        ctx.report(Diagnostic("HE3010", trap.span, f"`{name}` is a {definition.kind}, not a handler",
                              related=(Related(definition.span, f"the {definition.kind} is declared here"),)))
        return None
    best = closest(name, ctx.handlers)
    ctx.report(Diagnostic("HE3010", trap.span, f"no handler is named `{name}`"
                          + (f"; did you mean `{best}`?" if best else "")))
    return None


def build_graph(ctx: Context, decl: ast.HandlerDecl | ast.WorkflowDecl) -> Graph:
    """The plan's graph of a handler or workflow declaration, its stages typed and checked."""
    assert decl.name is not None
    if isinstance(decl, ast.HandlerDecl):
        return GraphBuilder(ctx, decl.name.text, "handler", decl.pipelines).build(None)
    guard = check_trap(ctx, decl.trap) if decl.trap is not None else None
    return GraphBuilder(ctx, decl.name.text, "workflow", decl.pipelines).build(guard)
