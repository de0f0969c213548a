"""Stream benchmark: `kafka.consume → filter → kafka.produce` against hand-written confluent-kafka loops, on a
real broker (tansu, started here on a free port).

Run as `python bench/stream.py` (`--help` for the sizes). Each figure is the median of `--repeat` runs (default
3), printed beside its ratio and target; nothing is asserted.

  throughput   `--messages` (default 100,000) JSON transactions `{id, user, amount}` in a topic of 2
               partitions; keep `amount > 50` (about half) and produce the kept rows as JSON to another topic,
               committing the consumed offsets. Three ways, each from the start of the topic with a group of
               its own: the engine (`heddle run flow.he --until-idle 1s`; the inner figure is the first batch's
               start to the last batch's commit, from `--progress jsonl`, the whole command's wall time is
               printed beside it), a hand-written loop per message (poll one message, json.loads, filter,
               produce; flush and commit every 1,000 messages), and a hand-written loop per batch
               (consume 1,000, json.loads each, filter, produce, flush, commit). Ratios: engine messages/s over
               each loop's. Targets: ≥ 1.5x the per-message loop, ≥ 0.9x the batch loop.
  overhead     the engine's own cost per batch: a stream source yielding the same 1-row table, no stage after
               it, `--batches` (default 2,000) batches; time per batch. Target ≤ 1 ms.
  latency      p99 of the batch time (started → committed) while a producer sends 1,000 messages/s for
               `--seconds` (default 10) s, `max_wait: "100ms"`.
  memory       peak RSS of `heddle run` over `--large` (default 1,000,000) messages against `--messages`:
               the ratio large/small. Target ≤ 1.1 (memory bounded by the batch, not the stream).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.engine.kafka_broker import create_topics, kafka_broker  # noqa: E402

FLOW = '''import "fhub/kafka" kafka

resource kf = kafka.connection {
  broker: "BROKER"
}

step transactions = <broker=kf> kafka.consume {
  topic: "TOPIC",
  group_id: "GROUP",
  start: "earliest",
  max_rows: 5000,
  max_wait: "200ms",
  schema: { id: "Int64", user: "String", amount: "Float64" }
}

workflow Filter {
  transactions
    | (from input filter amount > 50 select {id, user, amount})
    | <broker=kf> kafka.produce { topic: "OUT" }
}
'''

EMPTY_PLUGIN = '''
from collections.abc import Iterator

import polars as pl

from heddle.core.stream import Batch
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="bench")
ONE = Table.from_polars(pl.DataFrame({"id": [1]}))


@plugin.step(name="same", stream=True)
def same(config: dict) -> Iterator[Table]:
    while True:
        yield Batch(ONE, commit=lambda: None)
'''

EMPTY_FLOW = '''import "bench/same" b

workflow Empty {
  b.same
}
'''


def fill(broker: str, topic: str, count: int) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": broker, "linger.ms": 20, "batch.num.messages": 10000})
    for i in range(count):
        value = json.dumps({"id": i, "user": f"u{i % 977}", "amount": float(i % 100)}).encode()
        while True:
            try:
                producer.produce(topic, value)
                break
            except BufferError:
                producer.poll(0.05)
        if i % 10000 == 0:
            producer.poll(0)
    assert producer.flush(120) == 0


def project(folder: Path, broker: str, topic: str, group: str, out: str) -> Path:
    flow = FLOW.replace("BROKER", broker).replace("TOPIC", topic).replace("GROUP", group).replace("OUT", out)
    (folder / "flow.he").write_text(flow)
    return folder / "flow.he"


def engine(folder: Path, broker: str, topic: str, group: str, out: str) -> dict[str, float]:
    """The whole `heddle run` command: wall time, inner time (first batch start → last commit), peak RSS."""
    path = project(folder, broker, topic, group, out)
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "heddle.cli.main", "run", str(path), "--no-lineage",
                              "--until-idle", "1s", "--progress", "jsonl"], cwd=folder,
                             stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert child.stderr is not None
    first = last = None
    rows = 0
    for line in child.stderr:
        if not line.startswith('{"event": "batch"'):
            continue
        event = json.loads(line)
        if event["state"] == "started" and first is None:
            first = time.perf_counter()
        if event["state"] == "committed":
            last = time.perf_counter()
            rows += event["rows"]
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    assert status == 0, f"heddle run exited {status}"
    assert first is not None and last is not None
    return {"inner": last - first, "wall": wall, "rows": rows, "rss_mb": usage.ru_maxrss / 1024}


def per_message(broker: str, topic: str, group: str, out: str, count: int) -> float:
    from confluent_kafka import Consumer, Producer

    consumer = Consumer({"bootstrap.servers": broker, "group.id": group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, "session.timeout.ms": 6000})
    producer = Producer({"bootstrap.servers": broker, "linger.ms": 5})
    consumer.subscribe([topic])
    seen, started = 0, None
    while seen < count:
        message = consumer.poll(1.0)
        if message is None or message.error() is not None:
            continue
        if started is None:
            started = time.perf_counter()
        row = json.loads(message.value())
        if row["amount"] > 50:
            producer.produce(out, json.dumps(row).encode())
            producer.poll(0)
        seen += 1
        if seen % 1000 == 0:
            producer.flush()
            consumer.commit(asynchronous=False)
    producer.flush()
    if seen % 1000:
        consumer.commit(asynchronous=False)
    assert started is not None
    seconds = time.perf_counter() - started
    consumer.close()
    return seconds


def per_batch(broker: str, topic: str, group: str, out: str, count: int) -> float:
    from confluent_kafka import Consumer, Producer

    consumer = Consumer({"bootstrap.servers": broker, "group.id": group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, "session.timeout.ms": 6000})
    producer = Producer({"bootstrap.servers": broker, "linger.ms": 5})
    consumer.subscribe([topic])
    seen, started = 0, None
    while seen < count:
        messages = [m for m in consumer.consume(1000, 1.0) if m.error() is None]
        if not messages:
            continue
        if started is None:
            started = time.perf_counter()
        for message in messages:
            row = json.loads(message.value())
            if row["amount"] > 50:
                producer.produce(out, json.dumps(row).encode())
        producer.flush()
        consumer.commit(asynchronous=False)
        seen += len(messages)
    assert started is not None
    seconds = time.perf_counter() - started
    consumer.close()
    return seconds


def overhead(folder: Path, batches: int) -> float:
    """Seconds per batch of an empty DAG, in process."""
    from heddle_engine.catalog import load_catalog
    from heddle_engine.execute import StreamLimits, run_workflow
    from heddle_lang.semantic import analyze
    from heddle_lang.syntax import parse

    (folder / "heddle.toml").write_text('[modules]\n"bench/same" = "same_plugin:plugin"\n')
    (folder / "same_plugin.py").write_text(EMPTY_PLUGIN)
    (folder / "empty.he").write_text(EMPTY_FLOW)
    catalog = load_catalog(folder / "empty.he")
    plan = analyze(parse(EMPTY_FLOW), catalog).plan
    run_workflow(plan, "Empty", catalog, file=str(folder / "empty.he"), parameters={},
                 stream=StreamLimits(max_batches=20))  # warm up
    started = time.perf_counter()
    result = run_workflow(plan, "Empty", catalog, file=str(folder / "empty.he"), parameters={},
                          stream=StreamLimits(max_batches=batches))
    assert result.batches == batches
    return (time.perf_counter() - started) / batches


def latency(folder: Path, broker: str, seconds: float) -> list[float]:
    """Batch times (started → committed) while a producer sends 1,000 messages/s."""
    from confluent_kafka import Producer

    path = project(folder, broker, "paced", "paced-group", "paced_out")
    path.write_text(path.read_text().replace('max_wait: "200ms"', 'max_wait: "100ms"').replace('start: "earliest"',
                                                                                              'start: "latest"'))
    child = subprocess.Popen([sys.executable, "-m", "heddle.cli.main", "run", str(path), "--no-lineage",
                              "--until-idle", "12s", "--progress", "jsonl"], cwd=folder,
                             stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert child.stderr is not None
    times: list[float] = []
    ready = threading.Event()

    def read() -> None:
        for line in child.stderr or ():
            if line.startswith('{"event": "run"'):
                ready.set()
            if line.startswith('{"event": "batch"') and '"committed"' in line:
                times.append(json.loads(line)["seconds"])

    reader = threading.Thread(target=read)
    reader.start()
    ready.wait(60)
    time.sleep(8)  # the consumer joins its group
    producer = Producer({"bootstrap.servers": broker, "linger.ms": 0})
    started = time.perf_counter()
    sent = 0
    while time.perf_counter() - started < seconds:
        due = int((time.perf_counter() - started) * 1000)
        while sent < due:
            producer.produce("paced", json.dumps({"id": sent, "user": "u", "amount": 99.0}).encode())
            sent += 1
        producer.poll(0)
        time.sleep(0.001)
    producer.flush()
    child.wait(120)
    reader.join()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--skip", action="append", default=[], choices=("throughput", "overhead", "latency",
                                                                        "memory"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="heddle-bench-stream-") as tmp, kafka_broker() as broker:
        folder = Path(tmp)
        n = args.messages
        if "overhead" not in args.skip:
            per = statistics.median(overhead(folder, args.batches) for _ in range(args.repeat))
            print(f"overhead     {per * 1000:.3f} ms per batch of an empty DAG (median of {args.repeat}; "
                  "target ≤ 1 ms)")
        if "throughput" not in args.skip or "memory" not in args.skip:
            create_topics(broker, "tx", partitions=2)
            fill(broker, "tx", n)
        small: list[dict[str, float]] = []
        if "throughput" not in args.skip:
            figures: dict[str, list[float]] = {"engine": [], "wall": [], "message": [], "batch": []}
            for run in range(args.repeat):
                result = engine(folder, broker, "tx", f"engine-{run}", f"out-engine-{run}")
                assert result["rows"] == n, result
                small.append(result)
                figures["engine"].append(n / result["inner"])
                figures["wall"].append(n / result["wall"])
                figures["message"].append(n / per_message(broker, "tx", f"message-{run}", f"out-msg-{run}", n))
                figures["batch"].append(n / per_batch(broker, "tx", f"batch-{run}", f"out-batch-{run}", n))
            median = {k: statistics.median(v) for k, v in figures.items()}
            print(f"throughput   {n:,} messages, consume → filter → produce (medians of {args.repeat}):")
            print(f"  engine (batches)        {median['engine']:>10,.0f} msg/s   (whole `heddle run`, start-up and "
                  f"1 s idle included: {median['wall']:,.0f} msg/s)")
            print(f"  hand-written per message{median['message']:>10,.0f} msg/s   engine ratio "
                  f"{median['engine'] / median['message']:.2f}x (target ≥ 1.5x)")
            print(f"  hand-written per batch  {median['batch']:>10,.0f} msg/s   engine ratio "
                  f"{median['engine'] / median['batch']:.2f}x (target ≥ 0.9x)")
        if "latency" not in args.skip:
            create_topics(broker, "paced", "paced_out", partitions=2)
            p50s, p99s = [], []
            for _ in range(args.repeat):
                times = sorted(latency(folder, broker, args.seconds))
                p99s.append(times[min(len(times) - 1, int(len(times) * 0.99))] if times else float("nan"))
                p50s.append(statistics.median(times) if times else float("nan"))
            print(f"latency      at 1,000 msg/s: p50 {statistics.median(p50s) * 1000:.1f} ms, p99 "
                  f"{statistics.median(p99s) * 1000:.1f} ms per batch, started → committed (medians of {args.repeat})")
        if "memory" not in args.skip:
            if not small:
                small = [engine(folder, broker, "tx", f"mem-small-{r}", "out-mem") for r in range(args.repeat)]
            create_topics(broker, "big", partitions=2)
            fill(broker, "big", args.large)
            large = [engine(folder, broker, "big", f"mem-large-{r}", "out-mem-large") for r in range(args.repeat)]
            for result in large:
                assert result["rows"] == args.large, result
            rss_small = statistics.median(r["rss_mb"] for r in small)
            rss_large = statistics.median(r["rss_mb"] for r in large)
            print(f"memory       peak RSS of `heddle run`: {n:,} messages {rss_small:.0f} MB, {args.large:,} messages "
                  f"{rss_large:.0f} MB: ratio {rss_large / rss_small:.2f} (target ≤ 1.1)")


if __name__ == "__main__":
    main()
