"""The resource every fhub connector makes: its settings, opened by the engine when a step first needs it."""

from __future__ import annotations

from typing import Generic, TypeVar

from heddle.core.resource import Resource, ResourceConfig

C = TypeVar("C", bound=ResourceConfig)


class Settings(Resource, Generic[C]):
    def __init__(self, config: C) -> None:
        self.config = config
