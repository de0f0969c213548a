"""`fhub/postgresql`: a PostgreSQL connection and SQL queries typed offline from their text.

`query`'s result columns come from its SQL (see `heddle_engine.modules.fhub.sql`); `@name` parameters are
bound at run time (from the joining input's columns when the step is a lookup), never interpolated.
"""

from __future__ import annotations

from typing import Annotated, Literal

from heddle.core.resource import ResourceConfig, Secret
from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin
from heddle_engine.modules.fhub.settings import Settings
from heddle_engine.modules.fhub.sql import config_parameters, query_inference, sql_parameters

__all__ = ["Connection", "ConnectionConfig", "QueryConfig", "plugin", "sql_parameters"]

plugin = Plugin(namespace="postgresql")


class ConnectionConfig(ResourceConfig):
    host: str
    port: int = 5432
    database: str | None = None
    """Defaults to the user name, as libpq does."""
    user: str | None = None
    password: Annotated[str | None, Secret] = None
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] | None = None
    connect_timeout: int | None = None
    """Seconds to wait for a connection."""


class Connection(Settings[ConnectionConfig]):
    """The settings of a connection; the engine opens it when a query first needs it."""


@plugin.resource(name="connection")
def connection(config: ConnectionConfig) -> Connection:
    """A PostgreSQL server to query."""
    return Connection(config)


class QueryConfig(StepConfig[ConnectionConfig]):
    query: str
    """One SELECT; `@name` marks a parameter."""


@plugin.step(name="query", resource="connection", infer=query_inference("postgres"), parameters=config_parameters)
def query(config: QueryConfig) -> Table:
    """Run a SELECT; its result columns are read from the SQL before anything runs."""
    raise NotImplementedError("postgresql.query needs a live database: running connectors arrives with the engine")
