"""`fhub/kafka`: consume and produce Kafka topics.

A consumed message becomes a row: the message columns (`key`, `topic`, `partition`, `offset`, `timestamp`)
plus the fields of its JSON value. Declare those with `schema` to have them checked before running;
without it they are known only when messages arrive (an open schema).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

import polars as pl

from heddle.core.resource import ResourceConfig, Secret
from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin
from heddle_engine.modules.declared import declared_schema
from heddle_engine.modules.fhub.settings import Settings
from heddle_lang.catalog import InferenceError
from heddle_lang.types import Schema

plugin = Plugin(namespace="kafka")

MESSAGE_COLUMNS = Schema.of({
    "key": pl.Binary(), "topic": pl.String(), "partition": pl.Int32(), "offset": pl.Int64(),
    "timestamp": pl.Datetime("ms", "UTC"),
})


class ConnectionConfig(ResourceConfig):
    broker: str
    """Bootstrap servers: `host:port`, several separated by commas."""
    client_id: str | None = None
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: Annotated[str | None, Secret] = None


class Connection(Settings[ConnectionConfig]):
    """The settings of a broker connection; the engine opens it when a step first needs it."""


@plugin.resource(name="connection")
def connection(config: ConnectionConfig) -> Connection:
    """A Kafka cluster."""
    return Connection(config)


class ConsumeConfig(StepConfig[ConnectionConfig]):
    topic: str
    group_id: str | None = None
    start: Literal["earliest", "latest"] = "latest"
    """Where a new consumer group starts reading."""
    schema: dict[str, str] | None = None
    """The fields of the JSON messages and their types (`{ user_id: "Int64", amount: "Float64" }`)."""


def consume_schema(config: Mapping[str, object], input_schema: Schema | None) -> Schema:
    payload = declared_schema(config)
    if payload is None:
        return Schema(MESSAGE_COLUMNS.columns, open=True)
    clash = [name for name in payload.names if name in MESSAGE_COLUMNS]
    if clash:
        raise InferenceError(f"`schema` declares {', '.join(f'`{c}`' for c in clash)}, which every message "
                             "already has as a column: rename the field")
    return MESSAGE_COLUMNS.extended(payload)


@plugin.step(name="consume", resources={"broker": "connection"}, infer=consume_schema)
def consume(config: ConsumeConfig) -> Table:
    """Read messages from a topic."""
    raise NotImplementedError("kafka.consume needs a live broker: running connectors arrives with the engine")


class ProduceConfig(StepConfig[ConnectionConfig]):
    topic: str
    key_column: str | None = None
    """The column whose value becomes the message key (none by default)."""


@plugin.step(name="produce", resources={"broker": "connection"}, passthrough=True)
def produce(config: ProduceConfig, input: Table) -> Table:
    """Send each row as a JSON message to a topic, and pass the table on."""
    raise NotImplementedError("kafka.produce needs a live broker: running connectors arrives with the engine")


class RetryQueueConfig(StepConfig[ConnectionConfig]):
    topic: str = "heddle.retry"


@plugin.step(name="retry_queue", resources={"broker": ("connection", False)}, passthrough=True)
def retry_queue(config: RetryQueueConfig, input: Table) -> Table:
    """Queue rows (in a handler: the failed rows) to be retried; `<broker=...>` is optional."""
    raise NotImplementedError("kafka.retry_queue needs a live broker: running connectors arrives with the engine")
