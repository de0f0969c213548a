"""The state of one analysis: what is declared, what was read, and the diagnostics so far."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field

from heddle_lang.catalog import Catalog, FunctionSpec, ModuleSpec, ProfileValue, ResourceSpec
from heddle_lang.diagnostics import Diagnostic
from heddle_lang.paths import PathPolicy
from heddle_lang.plan import Graph, ResourceUse, RetryPolicy
from heddle_lang.relational.compile import PrqlCompiler, compile_prql
from heddle_lang.semantic.libraries import Library, LibraryLoader
from heddle_lang.semantic.model import Binding, Definition, StageType, Use
from heddle_lang.semantic.reuse import Placements
from heddle_lang.syntax import ast
from heddle_lang.syntax.lower import Placed
from heddle_lang.syntax.tree import SyntaxTree


@dataclass
class StepInfo:
    """A declared step, resolved: its function, literal config and resources (None where unresolved)."""

    placed: Placed  # its declaration
    module_path: str | None = None
    function: FunctionSpec | None = None
    config: dict[str, object] = field(default_factory=dict)
    resources: tuple[ResourceUse, ...] = ()
    retry: RetryPolicy | None = None
    timeout: float | None = None

    @property
    def decl(self) -> ast.StepDecl:
        decl = self.placed.decl
        assert isinstance(decl, ast.StepDecl)
        return decl


@dataclass
class ResourceInfo:
    placed: Placed  # its declaration
    kind: str | None = None
    module_path: str | None = None
    spec: ResourceSpec | None = None
    config: dict[str, object] = field(default_factory=dict)  # effective: the active profile's values applied
    overrides: dict[str, ProfileValue] = field(default_factory=dict)  # key -> what the active profile set

    @property
    def decl(self) -> ast.ResourceDecl:
        decl = self.placed.decl
        assert isinstance(decl, ast.ResourceDecl)
        return decl


@dataclass
class Context:
    tree: SyntaxTree
    catalog: Catalog
    paths: PathPolicy | None = None  # where file paths in configs may point; None: not checked
    compiler: PrqlCompiler = compile_prql
    file: str | None = None  # the document's file: absolute, POSIX
    loader: LibraryLoader | None = None  # reads the `.he` libraries it imports
    diagnostics: list[Diagnostic] = field(default_factory=list)
    modules: dict[str, tuple[str, ModuleSpec | None]] = field(default_factory=dict)  # alias -> (path, module)
    libraries: dict[str, Library | None] = field(default_factory=dict)  # alias -> `.he` library (None: broken)
    library_graphs: dict[str, Graph] = field(default_factory=dict)  # handlers of libraries, by qualified name
    aliases: dict[str, Definition] = field(default_factory=dict)  # import aliases
    # The tables of declarations: a spliced analysis makes each entry when first read (`semantic.splice`).
    definitions: MutableMapping[str, Definition] = field(default_factory=dict)  # resources, steps, handlers, workflows
    made: dict[str, tuple[ast.Declaration, Definition]] = field(default_factory=dict)  # each with its AST
    steps: MutableMapping[str, StepInfo] = field(default_factory=dict)
    resources: MutableMapping[str, ResourceInfo] = field(default_factory=dict)
    handlers: MutableMapping[str, Placed] = field(default_factory=dict)  # their declarations
    workflows: MutableMapping[str, Placed] = field(default_factory=dict)
    local_definitions: list[Definition] = field(default_factory=list)  # assignments
    uses: list[Use] = field(default_factory=list)
    bindings: list[Binding] = field(default_factory=list)
    stage_types: list[StageType] = field(default_factory=list)
    # Results of the previous version replayed: their uses, bindings, stage types and assignments are moved into
    # the lists above when the analysis's are read (`semantic.reuse`).
    placements: Placements = field(default_factory=Placements)
    # The text of each declaration a graph or check depends on (`semantic.reuse.text_of`): one copy per name, however
    # many of them read it.
    declaration_texts: dict[str, bytes] = field(default_factory=dict)

    def report(self, diagnostic: Diagnostic) -> None:
        self.diagnostics.append(diagnostic)

    def use(self, name: ast.Name, target: Definition | None) -> None:
        self.uses.append(Use(name.text, name.span, target))

    def kind_of(self, name: str) -> str | None:
        definition = self.definitions.get(name)
        return definition.kind if definition is not None else None
