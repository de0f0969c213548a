"""What analysis knows about a document: definitions, uses, stage schemas, the plan, diagnostics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

from heddle_lang.catalog import FunctionSpec, ModuleSpec, ProfileValue, ResourceSpec
from heddle_lang.diagnostics import Diagnostic
from heddle_lang.plan import Graph, Plan
from heddle_lang.records import record
from heddle_lang.semantic.libraries import Exports, Library
from heddle_lang.syntax.moving import relocator
from heddle_lang.syntax.tree import SyntaxTree
from heddle_lang.text import Span
from heddle_lang.types import Schema

if TYPE_CHECKING:
    from heddle_lang.semantic.reuse import Reusable


@record
class Definition:
    """A name the document declares: an import alias, a declaration, or an assignment in a workflow."""

    name: str
    kind: str  # "import" | "resource" | "step" | "handler" | "workflow" | "assignment"
    span: Span  # the name
    declaration: Span  # the whole declaration (or the assignment's pipeline)
    detail: str = ""  # e.g. the function a step binds: "pg.query"
    doc: str | None = None
    scope: str | None = None  # the workflow or handler of an assignment
    file: str | None = None  # the file that declares it (a library's, for a name read through an import)


# A copy of a definition with its places moved (bytes, lines): made without `__init__`, for many at a time.
relocate_definition = relocator(Definition, ("span", "declaration"))


@record
class Use:
    """A place where a name is read, and what it refers to (None when it refers to nothing)."""

    name: str
    span: Span
    target: Definition | None


@record
class Binding:
    """What a call resolves to: the module and the function or resource constructor it names."""

    span: Span  # the `alias.function` text
    module_path: str
    module: ModuleSpec
    function: FunctionSpec | None = None
    resource: ResourceSpec | None = None


@record
class StageType:
    """The schema flowing out of a stage (or into `> name`), for hovers and inlay hints."""

    span: Span
    schema: Schema
    label: str


@record
class EffectiveConfig:
    """A resource's config as the run will see it: the program's values, then the active profile's."""

    config: Mapping[str, object]
    overrides: Mapping[str, ProfileValue]  # key -> what the profile set
    profile: str | None = None  # the active profile
    source: str = "heddle.toml"


@record
class Local:
    """What an analysis recorded inside one span (a declaration's), in place: the names it defines there (import
    aliases, declarations, assignments), the uses, stage types and bindings."""

    definitions: tuple[Definition, ...]
    uses: tuple[Use, ...]
    stage_types: tuple[StageType, ...]
    bindings: tuple[Binding, ...]


class Parts(Protocol):
    """What an analysis made of its declarations, put together when first read (`Analysis`)."""

    def plan(self) -> Plan: ...

    def graphs_as_built(self) -> tuple[Graph, ...]: ...

    def graph(self, name: str) -> Graph | None: ...

    def declarations(self) -> tuple[Definition, ...]: ...

    def declarations_as_built(self) -> tuple[Definition, ...]: ...

    def declared(self, name: str) -> Definition | None: ...

    def readers(self, definition: Definition) -> frozenset[str] | None: ...

    def within(self, span: Span) -> Local: ...

    def definitions(self) -> tuple[Definition, ...]: ...

    def uses(self) -> tuple[Use, ...]: ...

    def bindings(self) -> tuple[Binding, ...]: ...

    def stage_types(self) -> tuple[StageType, ...]: ...


@dataclass(frozen=True)
class Analysis:
    """One document's analysis. Its diagnostics are made with it; its plan, definitions, uses, bindings and stage
    types when first read (an edit re-analyses a few declarations and reuses the others, whose results are moved into
    place only for a request that reads them: `semantic.reuse`)."""

    tree: SyntaxTree
    diagnostics: Sequence[Diagnostic]  # a tuple, or (an edit spliced) a `DiagnosticRuns` that reads as one
    parts: Parts = field(compare=False)
    imports: Mapping[str, ModuleSpec | None] = field(default_factory=dict)
    resources: Mapping[str, EffectiveConfig] = field(default_factory=dict)  # by resource name
    libraries: Mapping[str, Library | None] = field(default_factory=dict)  # `.he` imports by alias (None: broken)
    exports: Exports | None = None  # what the document offers the files that import it
    file: str | None = None
    reusable: Reusable | None = field(default=None, compare=False)  # for the analysis of the next version

    @cached_property
    def plan(self) -> Plan:
        return self.parts.plan()

    @cached_property
    def definitions(self) -> tuple[Definition, ...]:
        return self.parts.definitions()

    @cached_property
    def uses(self) -> tuple[Use, ...]:
        return self.parts.uses()

    @cached_property
    def bindings(self) -> tuple[Binding, ...]:
        return self.parts.bindings()

    @cached_property
    def stage_types(self) -> tuple[StageType, ...]:
        return self.parts.stage_types()

    def within(self, span: Span) -> Local:
        """What the analysis recorded inside `span` (a declaration's): only the results of the declarations there are
        moved into place, so a question about one place costs that place, not the document."""
        return self.parts.within(span)

    def declarations(self) -> tuple[Definition, ...]:
        """The import aliases and the top-level declarations (`definitions` without the assignments), in place."""
        return self.parts.declarations()

    def declarations_as_built(self) -> tuple[Definition, ...]:
        """`declarations` before they are moved into place (a reused one's spans are those of the version that made
        it): for what reads their names, kinds, details and docs, not their places."""
        return self.parts.declarations_as_built()

    def declared(self, name: str) -> Definition | None:
        """The import alias, else the top-level declaration, named `name` (an assignment never)."""
        return self.parts.declared(name)

    def graph(self, name: str) -> Graph | None:
        """The plan's graph of the workflow or handler `name`, in place (only that one is moved)."""
        if "plan" in self.__dict__:
            return self.plan.graph(name)
        return self.parts.graph(name)

    def readers(self, definition: Definition) -> frozenset[str] | None:
        """The workflows and handlers whose uses name `definition`, an import alias or a declaration of this file
        (None for any other definition)."""
        return self.parts.readers(definition)

    def graphs_as_built(self) -> tuple[Graph, ...]:
        """The plan's graphs before they are moved into place (a reused one's spans and lines are those of the version
        that built it): for what reads their names and types, not their places."""
        if "plan" in self.__dict__:
            return self.plan.graphs
        return self.parts.graphs_as_built()

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)
