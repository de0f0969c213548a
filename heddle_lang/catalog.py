"""The module catalog: what each importable module offers, as plain data.

`heddle_lang` knows modules only through this interface. Who fills it — the engine importing plugins
declared with the SDK, a static reader of plugin sources, a test — is not its concern.

A function's output schema is found, in this order: its inference hook, called with the stage's
literal config and input schema; else its input schema extended with `output` when `passthrough`;
else `output`; else unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from typing import Protocol

from heddle_lang.records import record
from heddle_lang.types import ConfigSchema, Schema


class InferenceError(Exception):
    """Raised by an inference hook to say why it cannot type a stage; becomes diagnostic HE5004."""


# (literal config, input schema or None for a source) -> output schema
InferHook = Callable[[Mapping[str, object], Schema | None], Schema]

# literal config -> the `@name` parameters it refers to (e.g. those of a SQL query)
ParametersHook = Callable[[Mapping[str, object]], Sequence[str]]

# (literal config, injection key -> that resource's effective config) -> the output schema as the resource
# describes it (a database asked about a query), or None when it is not known now; raises `InferenceError`
# when the resource refuses (reported as a warning, HE5008)
DescribeHook = Callable[[Mapping[str, object], Mapping[str, Mapping[str, object]]], Schema | None]


@record
class SourceLocation:
    """A place in a source file: a line, or a range on it (a function's name) when the columns are known."""

    path: str
    line: int  # 1-based
    column: int | None = None  # 0-based, in code points (Python's `str` indices)
    end_column: int | None = None  # exclusive, on the same line


@record
class ResourceSlot:
    """An injection key a function accepts: `<key=resource>` with a resource of kind `kind`."""

    key: str
    kind: str  # qualified resource kind, e.g. "postgresql.connection"
    required: bool = True
    doc: str = ""


@record
class ResourceSpec:
    name: str
    kind: str  # qualified: "<namespace>.<name>"
    config: ConfigSchema = field(default_factory=ConfigSchema)
    doc: str = ""
    location: SourceLocation | None = None


@record
class FunctionSpec:
    name: str
    config: ConfigSchema = field(default_factory=ConfigSchema)
    resources: tuple[ResourceSlot, ...] = ()
    takes_input: bool = True
    # The columns the function requires (open: others may come along).
    input: Schema = field(default_factory=Schema.unknown)
    output: Schema | None = None
    passthrough: bool = False  # the output is the input (plus `output`'s columns, if any)
    infer: InferHook | None = field(default=None, compare=False)
    parameters: tuple[str, ...] = ()  # `@name` parameters its config refers to (bound at run time)
    doc: str = ""
    location: SourceLocation | None = None
    parameters_of: ParametersHook | None = field(default=None, compare=False)  # when they depend on the config
    describe: DescribeHook | None = field(default=None, compare=False)  # asks the injected resource at check time
    # A SQL dialect (prqlc's target name: `postgres`, `sqlite`, `clickhouse`): the config's `query` is one
    # SELECT in it, and a relational block that alone reads the step may push filters, projections and
    # limits into that query (the engine runs the rewritten query instead).
    pushdown: str | None = None
    # A stream source: a generator of batches (`@plugin.step(stream=True)`); the workflow it starts runs batch
    # by batch until stopped (`heddle.core.stream`).
    stream: bool = False

    def slot(self, key: str) -> ResourceSlot | None:
        return next((s for s in self.resources if s.key == key), None)

    def parameters_for(self, config: Mapping[str, object]) -> tuple[str, ...]:
        """The `@name` parameters of a stage with this literal config (never raises)."""
        if self.parameters_of is None:
            return self.parameters
        try:
            found = tuple(self.parameters_of(config))
        except Exception:  # a plugin's hook is user code
            return self.parameters
        return tuple(dict.fromkeys((*self.parameters, *found)))


@record
class ModuleSpec:
    path: str
    namespace: str
    resources: Mapping[str, ResourceSpec] = field(default_factory=dict)
    functions: Mapping[str, FunctionSpec] = field(default_factory=dict)
    doc: str = ""
    location: SourceLocation | None = None
    # Not empty: the module could not be imported where it was asked for (this says why) and was read from
    # its source instead; its functions exist, their types are unchecked.
    import_error: str = ""

    @property
    def members(self) -> list[str]:
        return sorted({*self.resources, *self.functions})


@record
class ProfileValue:
    """A resource config value a profile of `heddle.toml` sets: `host = "127.0.0.1"` or `password = "env:PG_PW"`."""

    value: object  # the TOML value; for `env:NAME`, the variable's value (None when it is not set)
    line: int  # where in the project file (1-based)
    env: str | None = None  # `env:NAME`: the variable's name
    present: bool = True  # False: `env:NAME` names a variable that is not set

    @property
    def text(self) -> str:
        return f"env:{self.env}" if self.env is not None else repr(self.value)


@record
class Profiles:
    """The resource profiles of a project: profile → resource → key → value, and the one in force (None: the
    program's own values). Read by the engine from `heddle.toml`; the checker applies the active one."""

    source: str = "heddle.toml"
    profiles: Mapping[str, Mapping[str, Mapping[str, ProfileValue]]] = field(default_factory=dict)
    active: str | None = None

    def overrides(self, resource: str) -> Mapping[str, ProfileValue]:
        """What the active profile sets for `resource`."""
        return self.profiles.get(self.active, {}).get(resource, {}) if self.active is not None else {}


NO_PROFILES = Profiles()


class Catalog(Protocol):
    # The project's resource profiles (`NO_PROFILES` where there are none).
    profiles: Profiles

    def module(self, path: str) -> ModuleSpec | None:
        """The module an import path names, or None if there is none."""
        ...

    def paths(self) -> Sequence[str]:
        """Every import path this catalog can resolve (for suggestions and completion)."""
        ...

    def load_error(self, path: str) -> str | None:
        """Why the module of `path` exists but could not be loaded (e.g. its plugin fails to import)."""
        ...


@record
class StaticCatalog:
    """A catalog from a mapping of import paths to modules."""

    modules: Mapping[str, ModuleSpec] = field(default_factory=dict)
    profiles: Profiles = NO_PROFILES

    def module(self, path: str) -> ModuleSpec | None:
        return self.modules.get(path)

    def paths(self) -> Sequence[str]:
        return sorted(self.modules)

    def load_error(self, path: str) -> str | None:
        return None


EMPTY_CATALOG = StaticCatalog()
