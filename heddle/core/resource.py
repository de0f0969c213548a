"""Resources: state and connections (a database pool, a client) shared by the steps they are injected into."""

from __future__ import annotations

from types import TracebackType

from heddle.core.config import Config, Secret

__all__ = ["Resource", "ResourceConfig", "Secret"]


class ResourceConfig(Config):
    """The configuration of a resource: keys are class annotations (`host: str`, `port: int = 5432`)."""


class Resource:
    """Base class of what a resource initializer returns. Override `close` to release what it holds."""

    resource_name: str | None = None
    """The name the program declares this resource under (`resource pg_db = ...`), set by the engine when it
    makes the resource, for messages such as "resource `pg_db` (...): cannot connect". None outside a run."""

    def close(self) -> None:
        """Called once when the engine no longer needs the resource."""

    def __enter__(self) -> Resource:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
