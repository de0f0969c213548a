"""Step configuration: the keys of a step's `{ ... }` block, plus the resources injected with `<key=name>`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Generic, Self, TypeVar, cast

from heddle.core.config import Config

R = TypeVar("R")


class StepConfig(Config, Generic[R]):
    """Keys are class annotations; `R` names the config type of the resource the step expects.

    At run time the engine injects the resources bound with `<key=name>`: `config.resource` is the one
    injected resource (what its initializer returned), `config.resources` maps every key to its resource.
    """

    _reserved: ClassVar[frozenset[str]] = frozenset({"resource", "resources", "inject"})

    def __init__(self, **values: object) -> None:
        super().__init__(**values)
        self._injected: dict[str, object] = {}

    def inject(self, resources: Mapping[str, object]) -> Self:
        """Called by the engine before the step runs."""
        self._injected = dict(resources)
        return self

    @property
    def resources(self) -> Mapping[str, object]:
        return self._injected

    @property
    def resource(self) -> R:
        if len(self._injected) != 1:
            found = ", ".join(self._injected) or "none"
            raise RuntimeError(f"`config.resource` needs exactly one injected resource (found: {found}); "
                               "use `config.resources[key]`")
        return cast(R, next(iter(self._injected.values())))


class Keys(list):  # type: ignore[type-arg]
    """The distinct values of a lookup's key for one batch, given to a step that takes its lookups in batches
    (`@plugin.step(lookup_batches=...)`) as the value of its `@name` parameter: the step returns the rows of
    every key at once."""

    __slots__ = ()
