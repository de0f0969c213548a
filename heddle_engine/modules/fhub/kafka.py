"""`fhub/kafka`: consume and produce Kafka topics, on confluent-kafka (librdkafka).

`consume` is a stream source: a workflow that starts with it runs batch by batch (`docs/streams.md`). A
consumed message becomes a row: the message columns (`key`, `topic`, `partition`, `offset`, `timestamp`)
plus the fields of its JSON value (`value: "raw"`: the value's bytes as `value`). Declare the fields with
`schema` to have them checked before running; without it they are known only when messages arrive (an
open schema). A message whose value does not decode, or does not match the schema, is a failed row with its
raw `value`, for the step's handler. A batch's offsets are committed only once the engine says the batch
is done. While a batch is in flight, however long it takes, a keeper thread tells librdkafka that the
application is alive (`_Keeper`), so the consumer keeps its partitions and the batch is not delivered again.

`produce` sends each row (the JSON of the row, or one column) and waits until the broker confirmed every
message; rows it could not deliver are failed rows. `retry_queue` produces failed rows to a retry topic
with a `heddle-attempt` header, so that a consumer of that topic can feed them back.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping
from functools import partial
from operator import itemgetter
from typing import Annotated, Any, Literal

import polars as pl

from heddle.core.context import current_run
from heddle.core.resource import ResourceConfig, Secret
from heddle.core.step import StepConfig
from heddle.core.stream import Batch
from heddle.core.table import RowErrors, Table
from heddle.sdk.plugin import Plugin
from heddle_engine.modules.declared import declared_schema, polars_schema
from heddle_engine.modules.fhub import kafka_codec as codec
from heddle_engine.modules.fhub.settings import Settings
from heddle_lang.catalog import InferenceError
from heddle_lang.semantic.retry import duration_seconds
from heddle_lang.types import Schema

plugin = Plugin(namespace="kafka")
# librdkafka's own log (a broker that cannot be reached, retried by itself) goes to this logger, not to stderr:
# a run's failures are the errors its calls raise.
LOG = logging.getLogger("heddle.kafka")
LOG.addHandler(logging.NullHandler())
JOIN_SECONDS = 30.0  # a consumer waits this long for its partitions before it reports being idle
# librdkafka's max.poll.interval.ms: a consumer that does not poll for this long leaves its group, which hands
# its partitions (and the batch in flight) to another member. The keeper polls every KEEPALIVE_SECONDS while a
# batch is in flight, so the limit is never reached however long a batch takes.
MAX_POLL_INTERVAL_MS = 300_000
KEEPALIVE_SECONDS = 1.0
_SECOND = itemgetter(1)  # a message's timestamp is (type, milliseconds)

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
    """The SASL password (`env:NAME` reads it from the environment; never printed)."""
    ssl_ca_location: str | None = None
    """A CA certificate file to check the brokers' certificates with (SSL)."""


class Connection(Settings[ConnectionConfig]):
    """A broker connection: each consume opens its own consumer with its settings; the steps that produce
    share one producer, flushed and dropped when the run closes the resource."""

    def __init__(self, config: ConnectionConfig) -> None:
        super().__init__(config)
        self._producer: Any = None
        self._lock = threading.Lock()

    def producer(self) -> Any:
        from confluent_kafka import Producer

        with self._lock:
            if self._producer is None:
                # acks from every in-sync replica; not idempotent: a producer id costs a round trip (0.5 s on
                # some brokers) for a guarantee at-least-once delivery does not give anyway
                self._producer = Producer({**self.client_settings(), "acks": "all", "linger.ms": 5,
                                           "error_cb": _transient, "logger": LOG})
            return self._producer

    def close(self) -> None:
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            producer.flush(10)

    def client_settings(self) -> dict[str, object]:
        config = self.config
        settings: dict[str, object] = {"bootstrap.servers": config.broker,
                                       "security.protocol": config.security_protocol}
        if config.client_id is not None:
            settings["client.id"] = config.client_id
        if config.sasl_mechanism is not None:
            settings["sasl.mechanism"] = config.sasl_mechanism
        if config.sasl_username is not None:
            settings["sasl.username"] = config.sasl_username
        if config.sasl_password is not None:
            settings["sasl.password"] = config.sasl_password
        if config.ssl_ca_location is not None:
            settings["ssl.ca.location"] = config.ssl_ca_location
        return settings


@plugin.resource(name="connection")
def connection(config: ConnectionConfig) -> Connection:
    """A Kafka cluster."""
    return Connection(config)


class ConsumeConfig(StepConfig[ConnectionConfig]):
    topic: str | None = None
    """The topic to read."""
    topics: list[str] | None = None
    """Several topics to read (instead of `topic`)."""
    group_id: str | None = None
    """The consumer group whose committed offsets the run starts from (default: `heddle.<project>.<workflow>`)."""
    start: Literal["earliest", "latest"] = "latest"
    """Where a new consumer group starts reading."""
    schema: dict[str, str] | None = None
    """The fields of the JSON messages and their types (`{ user_id: "Int64", amount: "Float64" }`)."""
    value: Literal["json", "raw"] = "json"
    """`json`: the value's fields as columns; `raw`: the value's bytes as a `value` column."""
    headers: bool = False
    """Add the messages' headers as a `headers` column (a list of `{key, value}`)."""
    max_rows: int = 1000
    """The most messages in one batch."""
    max_wait: str = "1s"
    """How long a batch waits for `max_rows` messages before it goes with fewer."""


def consume_schema(config: Mapping[str, object], input_schema: Schema | None) -> Schema:
    if not config.get("topic") and not config.get("topics"):
        raise InferenceError("give the topic to read: `topic: \"name\"` (or `topics: [...]`)")
    wait = config.get("max_wait", "1s")
    if not isinstance(wait, str) or duration_seconds(wait) is None:
        raise InferenceError(f"`max_wait` is a duration such as \"1s\" or \"200ms\", not {wait!r}")
    extra = Schema.of({"headers": codec.HEADERS_TYPE}) if config.get("headers") else Schema.of({})
    if config.get("value") == "raw":
        return MESSAGE_COLUMNS.extended(Schema.of({"value": pl.Binary()})).extended(extra)
    payload = declared_schema(config)
    if payload is None:
        return Schema(MESSAGE_COLUMNS.extended(extra).columns, open=True)
    clash = [name for name in payload.names if name in MESSAGE_COLUMNS or name == "headers"]
    if clash:
        raise InferenceError(f"`schema` declares {', '.join(f'`{c}`' for c in clash)}, which every message "
                             "already has as a column: rename the field")
    return MESSAGE_COLUMNS.extended(extra).extended(payload)


@plugin.step(name="consume", resources={"broker": "connection"}, infer=consume_schema, stream=True)
def consume(config: ConsumeConfig) -> Iterator[Batch]:
    """Read messages from a topic, a batch at a time, until the run stops (a stream source)."""
    from confluent_kafka import Consumer

    topics = list(config.topics or ([config.topic] if config.topic else []))
    wait = duration_seconds(config.max_wait) or 1.0
    consumer = Consumer({
        **_connection(config).client_settings(),
        "group.id": config.group_id or _group(topics),
        "enable.auto.commit": False, "enable.auto.offset.store": False,
        "auto.offset.reset": config.start,
        "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000, "max.poll.interval.ms": MAX_POLL_INTERVAL_MS,
        "queued.max.messages.kbytes": 2048,  # what librdkafka prefetches per partition: memory stays bounded
        # once the prefetch is full, fetch again 5 ms later, not librdkafka's default 1 s (a stall of the stream)
        "fetch.queue.backoff.ms": 5,
        "statistics.interval.ms": 0,
        "error_cb": _transient, "logger": LOG,
    })
    payload = polars_schema(config.schema) if config.value == "json" else None
    assigned = threading.Event()
    keeper = _Keeper(consumer)
    try:
        consumer.subscribe(topics, on_assign=lambda *_: assigned.set())
        joining = time.monotonic()
        while True:
            messages = consumer.consume(config.max_rows, wait)
            if not messages and not assigned.is_set() and time.monotonic() - joining < JOIN_SECONDS:
                continue  # still joining the group: not idle yet (`--until-idle`)
            batch = _batch(consumer, messages, payload, config, keeper)
            keeper.hold()
            try:
                yield batch  # the engine runs the batch (and calls its commit) while this generator waits here
            finally:
                keeper.release()
    finally:
        keeper.close()
        consumer.close()


class _Keeper:
    """Polls the consumer for no message every KEEPALIVE_SECONDS while a batch is in flight: librdkafka counts
    it as the application polling, so max.poll.interval.ms never expires during a long batch, the consumer
    stays in its group with its partitions, and the batch's commit is accepted (instead of the batch going to
    another member, or to this one again, after a rebalance). One thread per consumer; `lock` keeps its polls
    and the batch's commit from overlapping, and `release` returns only once no poll of its is running."""

    def __init__(self, consumer: Any) -> None:
        self._consumer = consumer
        self.lock = threading.Lock()
        self._in_flight = False
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heddle-kafka-keeper", daemon=True)
        self._thread.start()

    def hold(self) -> None:
        with self.lock:
            self._in_flight = True

    def release(self) -> None:
        with self.lock:
            self._in_flight = False

    def close(self) -> None:
        self._closed.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._closed.wait(KEEPALIVE_SECONDS):
            with self.lock:
                if not self._in_flight:
                    continue
                try:
                    self._consumer.consume(0, 0)  # takes no message; resets librdkafka's poll timer
                except Exception:  # a fatal error: the next batch's consume raises it again
                    continue


def _group(topics: list[str]) -> str:
    """The default consumer group: `heddle.<project>.<workflow>` (the run's), else `heddle.<topics>`."""
    run = current_run()
    return f"heddle.{run.project}.{run.workflow}" if run is not None else f"heddle.{'.'.join(topics)}"


def _batch(consumer: Any, messages: list[Any], payload: dict[str, pl.DataType] | None,
           config: ConsumeConfig, keeper: _Keeper) -> Batch:
    from confluent_kafka import KafkaException, Message, TopicPartition

    # Each field of every message read by one `map` of the accessor (the loop runs in C, no Python per message)
    errors = list(map(Message.error, messages))
    real = messages
    if errors.count(None) != len(errors):
        real = []
        for message, error in zip(messages, errors, strict=True):
            if error is None:
                real.append(message)
            elif error.fatal():
                raise KafkaException(error)
            # else: a partition's end, a broker that went away — librdkafka reconnects by itself
    topics, partitions = list(map(Message.topic, real)), list(map(Message.partition, real))
    offsets = list(map(Message.offset, real))
    frame = codec.message_frame(list(map(Message.key, real)), topics, partitions, offsets,
                                list(map(_SECOND, map(Message.timestamp, real))))
    if config.headers:
        frame = frame.with_columns(pl.Series("headers", [[{"key": k, "value": v} for k, v in m.headers() or ()]
                                                          for m in real], dtype=codec.HEADERS_TYPE))
    decoded = codec.decode(frame, list(map(Message.value, real)), payload, raw=config.value == "raw")
    # a partition's messages come in offset order: its last one in the batch is its greatest
    last = dict(zip(zip(topics, partitions, strict=True), offsets, strict=True))
    positions = [TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in last.items()]

    def commit() -> None:
        try:
            with keeper.lock:
                consumer.commit(offsets=positions, asynchronous=False)
        except KafkaException as error:
            problem = error.args[0] if error.args else None
            if problem is None or not hasattr(problem, "fatal") or problem.fatal():
                raise
            # The broker went away or the group rebalanced: the batch is done, its offsets are not recorded.
            # The next batch's commit records them too (an offset covers all before it); if none comes, the
            # batch is delivered again: at-least-once either way.
            LOG.warning("kafka.consume: offsets not committed (%s); the next batch's commit covers them", problem)

    return Batch(Table.from_polars(decoded.rows), commit=commit if positions else None,
                 lag=_lag(consumer, positions), failed=Table.from_polars(decoded.failed)
                 if decoded.failed is not None else None, reasons=decoded.reasons)


def _lag(consumer: Any, positions: list[Any]) -> int | None:
    """Messages beyond this batch in its partitions, from the watermarks the client last heard (no request)."""
    if not positions:
        return None
    lag = 0
    for position in positions:
        try:
            _, high = consumer.get_watermark_offsets(position, cached=True)
        except Exception:  # not known yet
            return None
        if high < 0:
            return None
        lag += max(high - position.offset, 0)
    return lag


def _transient(error: Any) -> None:
    """librdkafka's errors outside a call: a fatal one is raised by the next call; the others it recovers from."""


class ProduceConfig(StepConfig[ConnectionConfig]):
    topic: str
    key_column: str | None = None
    """The column whose value becomes the message key (none by default)."""
    value_column: str | None = None
    """The column whose value is the message (default: the JSON of the whole row)."""
    headers: dict[str, str] | None = None
    """Headers added to every message."""


class Delivered(Table):
    produced_partition: int
    produced_offset: int


@plugin.step(name="produce", resources={"broker": "connection"}, passthrough=True)
def produce(config: ProduceConfig, input: Table) -> Delivered:
    """Send each row as a message to a topic, wait until every one is delivered, and pass the table on with
    the partition and offset of each row's message; rows that could not be delivered fail."""
    frame = input.to_polars()
    missing = [c for c in (config.key_column, config.value_column) if c is not None and c not in frame.columns]
    if missing:
        raise KeyError(f"kafka.produce: the input has no column {', '.join(f'`{c}`' for c in missing)}")
    headers = list((config.headers or {}).items())
    return _send(_connection(config), config.topic, frame, codec.encode_values(frame, config.value_column),
                 keys=codec.encode_keys(frame, config.key_column), headers=[headers] * frame.height)


def _send(connection: Connection, topic: str, frame: pl.DataFrame, values: list[bytes], *,
          keys: list[bytes | None], headers: list[list[tuple[str, str]]]) -> Delivered:
    from confluent_kafka import KafkaException

    producer = connection.producer()
    partitions: list[int | None] = [None] * frame.height
    offsets: list[int | None] = [None] * frame.height
    errors: dict[int, str] = {}

    def report(row: int, error: Any, message: Any) -> None:  # librdkafka's delivery report of one row's message
        if error is not None:
            errors[row] = str(error)
        else:
            partitions[row], offsets[row] = message.partition(), message.offset()

    # The reports are served by the flush below (and by a poll when the client's queue is full), not one poll
    # per message; each message's callback is the one function bound to its row.
    send = producer.produce
    for row, (value, key, row_headers) in enumerate(zip(values, keys, headers, strict=True)):
        while True:
            try:
                send(topic, value, key, headers=row_headers or None, on_delivery=partial(report, row))
                break
            except BufferError:  # the client's queue is full: let it deliver some
                producer.poll(0.1)
            except KafkaException as error:  # this message cannot be sent (too large, say): its row fails
                problem = error.args[0] if error.args else error
                errors[row] = problem.str() if hasattr(problem, "str") else str(problem)
                break
    left = producer.flush(60)
    for row in range(frame.height):
        if partitions[row] is None and row not in errors:
            errors[row] = "not delivered within 60 s" if left else "no delivery report"
    out = frame.with_columns(pl.Series("produced_partition", partitions, dtype=pl.Int64()),
                             pl.Series("produced_offset", offsets, dtype=pl.Int64()))
    if not errors:
        return Delivered.from_polars(out)
    failed = sorted(errors)
    good = [r for r in range(frame.height) if r not in errors]
    raise RowErrors(Delivered.from_polars(out[good]), Table.from_polars(frame[failed]),
                    [f"not delivered to `{topic}`: {errors[r]}" for r in failed], rows=failed)


class RetryQueueConfig(StepConfig[ConnectionConfig]):
    topic: str = "heddle.retry"
    """The retry topic."""
    key_column: str | None = None
    """The column whose value becomes the message key."""


@plugin.step(name="retry_queue", resources={"broker": ("connection", False)}, passthrough=True)
def retry_queue(config: RetryQueueConfig, input: Table) -> Delivered:
    """Queue rows (in a handler: the failed rows, with their error) on a retry topic, each with a
    `heddle-attempt` header (the row's `attempt` plus one), for a consumer of that topic to feed back.
    Without `<broker=...>` the broker is `HEDDLE_KAFKA_BROKER`'s."""
    frame = input.to_polars()
    attempts = (frame["attempt"].fill_null(0).cast(pl.Int64) + 1).to_list() if "attempt" in frame.columns \
        else [1] * frame.height
    headers = [[("heddle-attempt", str(a))] for a in attempts]
    return _send(_retry_connection(config), config.topic, frame, codec.encode_values(frame, None),
                 keys=codec.encode_keys(frame, config.key_column), headers=headers)


def _connection(config: StepConfig[ConnectionConfig]) -> Connection:
    resource = config.resources.get("broker")
    if not isinstance(resource, Connection):
        raise RuntimeError("this step needs a Kafka connection: `<broker=...>`")
    return resource


def _retry_connection(config: RetryQueueConfig) -> Connection:
    if config.resources.get("broker") is not None:
        return _connection(config)
    broker = os.environ.get("HEDDLE_KAFKA_BROKER")
    if not broker:
        raise RuntimeError("kafka.retry_queue needs a broker: `<broker=...>`, or the variable HEDDLE_KAFKA_BROKER")
    return Connection(ConnectionConfig(broker=broker))
