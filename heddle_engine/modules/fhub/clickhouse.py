"""`fhub/clickhouse`: a ClickHouse connection (HTTP interface) and SQL queries typed offline from their text."""

from __future__ import annotations

from typing import Annotated

from heddle.core.resource import ResourceConfig, Secret
from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin
from heddle_engine.modules.fhub.settings import Settings
from heddle_engine.modules.fhub.sql import config_parameters, query_inference, sql_parameters

__all__ = ["Connection", "ConnectionConfig", "QueryConfig", "plugin", "sql_parameters"]

plugin = Plugin(namespace="clickhouse")


class ConnectionConfig(ResourceConfig):
    host: str
    port: int = 8123
    """The HTTP interface's port (8443 with `secure`)."""
    database: str = "default"
    user: str = "default"
    password: Annotated[str | None, Secret] = None
    secure: bool = False
    """Connect over HTTPS."""


class Connection(Settings[ConnectionConfig]):
    """The settings of a connection; the engine opens it when a query first needs it."""


@plugin.resource(name="connection")
def connection(config: ConnectionConfig) -> Connection:
    """A ClickHouse server to query."""
    return Connection(config)


class QueryConfig(StepConfig[ConnectionConfig]):
    query: str
    """One SELECT; `@name` marks a parameter."""


@plugin.step(name="query", resource="connection", infer=query_inference("clickhouse"), parameters=config_parameters)
def query(config: QueryConfig, **parameters: object) -> Table:
    """Run a SELECT; its result columns are read from the SQL before anything runs."""
    raise NotImplementedError("clickhouse.query needs a live server: running connectors arrives with the engine")
