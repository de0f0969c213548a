"""The typed AST: a view of the CST with names, configs, stages and their spans.

Built from any tree, including broken ones: parts the text lacks are `None`. Spans never take part
in equality, so two ASTs compare equal when they say the same thing, wherever it is written — the
formatter's guarantee is stated in exactly those terms.
"""

from __future__ import annotations

from dataclasses import field

from heddle_lang.records import record
from heddle_lang.text import Span, split_lines


@record
class Name:
    """An identifier. `qualifier` is the library alias before it (`platform.on_fail`) where a name may have one:
    the resource of an injection and the handler of a trap."""

    text: str
    span: Span = field(compare=False)
    qualifier: Name | None = None

    @property
    def qualified(self) -> str:
        return f"{self.qualifier.text}.{self.text}" if self.qualifier is not None else self.text

    @property
    def whole(self) -> Span:
        """The name with its qualifier."""
        return Span(self.qualifier.span.start, self.span.end) if self.qualifier is not None else self.span


# --- config values -------------------------------------------------------------------------------


@record
class Str:
    value: str
    span: Span = field(compare=False)
    multiline: bool = field(default=False, compare=False)


@record
class Number:
    value: int | float
    span: Span = field(compare=False)


@record
class Bool:
    value: bool
    span: Span = field(compare=False)


@record
class Null:
    span: Span = field(compare=False)


@record
class BareWord:
    """An unquoted word where a value belongs; always reported (HE1008)."""

    text: str
    span: Span = field(compare=False)


@record
class TooDeep:
    """A dict or list nested deeper than the language allows (HE1014): its content is not kept."""

    span: Span = field(compare=False)


@record
class Entry:
    key: Name
    value: Value | None
    span: Span = field(compare=False)


@record
class Dict:
    entries: tuple[Entry, ...]
    span: Span = field(compare=False)

    def get(self, key: str) -> Entry | None:
        return next((e for e in self.entries if e.key.text == key), None)


@record
class List:
    items: tuple[Value, ...]
    span: Span = field(compare=False)


Value = Str | Number | Bool | Null | BareWord | Dict | List | TooDeep


# --- calls and stages ----------------------------------------------------------------------------


@record
class Binding:
    """`key=resource` inside an injection."""

    key: Name
    resource: Name | None
    span: Span = field(compare=False)


@record
class Injection:
    bindings: tuple[Binding, ...]
    after_function: bool
    span: Span = field(compare=False)


@record
class Call:
    """`<inj> alias.function <inj> { config }`: a module function with its resources and config."""

    module: Name | None
    function: Name | None
    injections: tuple[Injection, ...]
    config: Dict | None
    span: Span = field(compare=False)

    @property
    def bindings(self) -> tuple[Binding, ...]:
        return tuple(b for inj in self.injections for b in inj.bindings)

    @property
    def qualified(self) -> str:
        return f"{self.module.text if self.module else '?'}.{self.function.text if self.function else '?'}"


@record
class Reference:
    """A bare name in a pipeline: a step or an assignment."""

    name: Name
    span: Span = field(compare=False)


@record
class RelationalBlock:
    """`( ...PRQL... )`. `query` is the text inside, exactly as written; `query_span` locates it."""

    query: str = field(compare=False)
    query_span: Span | None = field(compare=False)
    span: Span = field(compare=False)
    # What equality means for a block: the same lines, whatever their indentation.
    canonical: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        lines = tuple(line.strip() for line in split_lines(self.query) if line.strip())
        object.__setattr__(self, "canonical", lines)


@record
class DataFrame:
    rows: tuple[Value, ...]
    span: Span = field(compare=False)


@record
class ErrorContext:
    """`*`: the error context a handler receives."""

    span: Span = field(compare=False)


StageValue = Reference | Call | RelationalBlock | DataFrame | ErrorContext


@record
class Stage:
    """One element of a pipeline: its source (no `|`) or a `| stage`, with an optional `? handler`."""

    value: StageValue | None
    trap: Name | None
    is_source: bool
    span: Span = field(compare=False)


@record
class Assignment:
    """`> name`."""

    name: Name | None
    span: Span = field(compare=False)


@record
class Pipeline:
    source: Stage
    steps: tuple[Stage | Assignment, ...]
    span: Span = field(compare=False)

    @property
    def stages(self) -> tuple[Stage, ...]:
        return (self.source, *(s for s in self.steps if isinstance(s, Stage)))


# --- declarations --------------------------------------------------------------------------------


@record
class Import:
    path: Str | None
    alias: Name | None
    span: Span = field(compare=False)
    doc: str | None = None


@record
class ResourceDecl:
    name: Name | None
    call: Call | None
    span: Span = field(compare=False)
    doc: str | None = None


@record
class StepDecl:
    name: Name | None
    call: Call | None
    span: Span = field(compare=False)
    doc: str | None = None


@record
class HandlerDecl:
    name: Name | None
    pipelines: tuple[Pipeline, ...]
    span: Span = field(compare=False)
    doc: str | None = None


@record
class WorkflowDecl:
    name: Name | None
    trap: Name | None
    pipelines: tuple[Pipeline, ...]
    span: Span = field(compare=False)
    doc: str | None = None


Declaration = Import | ResourceDecl | StepDecl | HandlerDecl | WorkflowDecl


@record
class Module:
    declarations: tuple[Declaration, ...]
    # Pipelines written at top level (reported as HE1005), kept so nothing the user wrote is lost.
    stray_pipelines: tuple[Pipeline, ...] = ()

    @property
    def imports(self) -> list[Import]:
        return [d for d in self.declarations if isinstance(d, Import)]

    @property
    def resources(self) -> list[ResourceDecl]:
        return [d for d in self.declarations if isinstance(d, ResourceDecl)]

    @property
    def steps(self) -> list[StepDecl]:
        return [d for d in self.declarations if isinstance(d, StepDecl)]

    @property
    def handlers(self) -> list[HandlerDecl]:
        return [d for d in self.declarations if isinstance(d, HandlerDecl)]

    @property
    def workflows(self) -> list[WorkflowDecl]:
        return [d for d in self.declarations if isinstance(d, WorkflowDecl)]
