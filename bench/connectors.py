"""Connector benchmark: the fhub connectors against their drivers called directly, in the same run.

Run as `python bench/connectors.py` (or `python -m bench.connectors`); `--help` lists the sizes. It prints
figures and ratios (baseline time / connector time: 1.0 is as fast) and asserts nothing. Each figure is the
median of `--repeat` runs (default 5).

  postgresql -> arrow  `pg.query` reading `--rows` rows (default 200k: int, text, float, timestamp) from a
                       PostgreSQL server started for the run, against ADBC's `fetch_arrow_table` and connectorx
                       on the same query (target >= 0.9x). Needs Debian's PostgreSQL and root.
  clickhouse -> arrow  `ch.query` reading `--rows` rows from ClickHouse (chdb, in the process), against
                       clickhouse-connect's `query_arrow` on the same client (target >= 0.9x).
  llm prompt           `llm.prompt` over `--prompts` rows (default 64) against the in-test OpenAI-compatible
                       server answering each request after `--latency` ms: rows/s at concurrency 1, 2, 4, 8, 16
                       and the speed-up over concurrency 1.
  lookup join          A workflow joining `--lookup-rows` rows (default 20k) with `--keys` distinct keys (default
                       2000) against SQLite: queries sent and time with lookups in batches against one query
                       per key (the batched run sends each batch's distinct keys once).
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# the repository root: `heddle_engine` when not installed, and the test servers of `tests.engine`
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl

from heddle.core.table import Table


def median_seconds(function: Callable[[], object], repeat: int) -> float:
    function()  # warm: connections opened, queries described
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def line(label: str, seconds: float, rows: int, baseline: float | None = None, target: str = "") -> None:
    ratio = f"  ratio {baseline / seconds:5.2f}x" if baseline is not None else ""
    print(f"  {label:<34} {seconds * 1000:9.1f} ms  {rows / seconds / 1e6:7.2f} M rows/s{ratio}{target}")


def postgresql(rows: int, repeat: int) -> None:
    from tests.engine.postgres_server import postgres_available, postgres_server

    print(f"postgresql -> arrow ({rows:,} rows)")
    if not postgres_available():
        print("  skipped: needs Debian's PostgreSQL 15 and root")
        return
    import psycopg

    from heddle_engine.modules.fhub import postgresql as pg

    sql = "SELECT id, name, amount, at FROM t"
    with postgres_server() as port:
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                             autocommit=True) as connection:
            connection.execute(f"CREATE TABLE t AS SELECT g AS id, 'name ' || g AS name, g * 1.5::float8 AS amount, "
                               f"timestamptz '2026-01-01' + g * interval '1 second' AS at "
                               f"FROM generate_series(1, {rows}) g")
        db = pg.connection(pg.ConnectionConfig(host="127.0.0.1", port=port, user="postgres", database="postgres"))
        config = pg.QueryConfig(query=sql).inject({"connection": db})
        heddle = median_seconds(lambda: pg.query(config), repeat)
        import adbc_driver_postgresql.dbapi as adbc

        uri = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        with adbc.connect(uri) as direct:

            def by_adbc() -> object:
                with direct.cursor() as cursor:
                    cursor.execute(sql)
                    return cursor.fetch_arrow_table()

            adbc_seconds = median_seconds(by_adbc, repeat)
        line("ADBC fetch_arrow_table (baseline)", adbc_seconds, rows)
        line("pg.query", heddle, rows, adbc_seconds, "  (target >= 0.9x)")
        try:
            import connectorx
        except ImportError:
            print("  connectorx: not installed (pip install -e '.[bench]')")
        else:
            cx = median_seconds(lambda: connectorx.read_sql(uri, sql, return_type="arrow"), repeat)
            line("connectorx read_sql (baseline)", cx, rows)
            line("pg.query vs connectorx", heddle, rows, cx, "  (target >= 0.9x)")
        db.close()


def clickhouse(rows: int, repeat: int) -> None:
    print(f"clickhouse -> arrow ({rows:,} rows, chdb in the process)")
    try:
        import clickhouse_connect
    except ImportError:
        print("  skipped: needs clickhouse-connect and chdb")
        return
    from heddle_engine.modules.fhub import clickhouse as ch

    folder = tempfile.mkdtemp(prefix="heddle-bench-chdb-")
    sql = "SELECT id, name, amount, day FROM t"
    db = ch.connection(ch.ConnectionConfig(path=folder))
    backend = db.backend()
    backend.command("CREATE TABLE t (id UInt64, name String, amount Float64, day Date) ENGINE = MergeTree ORDER BY id")
    backend.command(f"INSERT INTO t SELECT number, concat('name ', toString(number)), number * 1.5, "
                    f"toDate('2026-01-01') + number % 365 FROM numbers({rows})")
    config = ch.QueryConfig(query=sql).inject({"connection": db})
    heddle = median_seconds(lambda: ch.query(config), repeat)
    client = clickhouse_connect.get_client(interface="chdb", path=folder)
    direct = median_seconds(lambda: client.query_arrow(sql, use_strings=True), repeat)
    line("clickhouse-connect query_arrow (baseline)", direct, rows)
    line("ch.query", heddle, rows, direct, "  (target >= 0.9x)")
    db.close()


def llm(prompts: int, latency_ms: float) -> None:
    print(f"llm prompt ({prompts} rows, the test server answering after {latency_ms:g} ms)")
    try:
        import openai  # noqa: F401
    except ImportError:
        print("  skipped: needs openai")
        return
    from heddle_engine.modules.fhub import llm as fhub_llm
    from heddle_engine.run_folder import running_in
    from tests.engine.llm_server import llm_server

    frame = pl.DataFrame({"n": list(range(prompts))})
    with llm_server() as (url, state), tempfile.TemporaryDirectory() as folder, running_in(Path(folder)):
        state.delay = latency_ms / 1000
        first = None
        for concurrency in (1, 2, 4, 8, 16):
            made = fhub_llm.client(fhub_llm.ClientConfig(base_url=url, max_concurrency=concurrency, cache=False))
            config = fhub_llm.PromptConfig(user="{n}").inject({"client": made})
            started = time.perf_counter()
            fhub_llm.prompt(config, Table.from_polars(frame))
            seconds = time.perf_counter() - started
            first = first if first is not None else seconds
            print(f"  concurrency {concurrency:>2}: {prompts / seconds:8.1f} rows/s  speed-up {first / seconds:5.2f}x"
                  f"  (most in flight: {state.most_in_flight})")
            state.most_in_flight = 0


LOOKUP = '''import "fhub/sqlite" db

resource app = db.connection {
  path: "app.db"
}

step country_of = <connection=app> db.query {
  query: "SELECT id AS user_id, country FROM users WHERE id = @user_id"
}

workflow Enrich {
  source.rows
    | (from input join country_of (==user_id))
    | source.keep
}
'''

SOURCE = '''
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="source")
TABLE = None
KEPT = []


class Rows(Table):
    user_id: int
    amount: float


@plugin.step(name="rows")
def rows(config: dict) -> Rows:
    return TABLE


@plugin.step(name="keep", passthrough=True)
def keep(config: dict, input: Table) -> Table:
    KEPT.append(input.num_rows)
    return input
'''


def lookup(rows: int, keys: int, repeat: int) -> None:
    print(f"lookup join ({rows:,} rows, {keys:,} distinct keys, SQLite)")
    from heddle_engine.catalog import load_catalog
    from heddle_engine.execute import run_workflow
    from heddle_engine.execute.functions import Functions
    from heddle_engine.loading import load_target
    from heddle_engine.modules.fhub import sqlite as fhub_sqlite
    from heddle_engine.run_folder import running_in
    from heddle_lang.semantic import analyze
    from heddle_lang.syntax import parse

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "heddle.toml").write_text('[modules]\n"source" = "bench_source:plugin"\n', encoding="utf-8")
        (root / "bench_source.py").write_text(SOURCE, encoding="utf-8")
        (root / "main.he").write_text(LOOKUP.replace('import "fhub/sqlite" db', 'import "fhub/sqlite" db\n'
                                                     'import "source" source'), encoding="utf-8")
        with sqlite3.connect(root / "app.db") as connection:
            connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, country TEXT)")
            connection.executemany("INSERT INTO users VALUES (?, ?)", [(i, f"C{i % 50}") for i in range(keys)])
        catalog = load_catalog(root / "main.he")
        with running_in(root):
            analysis = analyze(parse((root / "main.he").read_text()), catalog)
        errors = [d.message for d in analysis.diagnostics if d.is_error]
        if errors:
            raise SystemExit(f"the lookup workflow does not check: {errors}")
        module = load_target("bench_source:plugin", root)
        source = sys.modules["bench_source"]
        source.TABLE = Table.from_polars(pl.DataFrame({"user_id": [i % keys for i in range(rows)],  # type: ignore[attr-defined]
                                                       "amount": [float(i) for i in range(rows)]}))
        assert module is not None
        asked: list[int] = []
        original = fhub_sqlite.Database.query

        def counting(self: fhub_sqlite.Database, sql: str, parameters: object) -> object:
            asked.append(1)
            return original(self, sql, parameters)  # type: ignore[arg-type]

        def run() -> None:
            result = run_workflow(analysis.plan, "Enrich", catalog, file=str(root / "main.he"), parameters={})
            assert result.status == "succeeded", result.message

        figures = {}
        with contextlib.ExitStack() as stack:
            stack.callback(setattr, fhub_sqlite.Database, "query", original)
            fhub_sqlite.Database.query = counting  # type: ignore[method-assign]
            for mode in ("per key", "batched"):
                callee = Functions.of(catalog).step("fhub/sqlite", "query")
                batches = callee.lookup_batches
                if mode == "per key":
                    object.__setattr__(callee, "lookup_batches", False)
                try:
                    asked.clear()
                    run()
                    queries = len(asked)
                    figures[mode] = (median_seconds(run, repeat), queries)
                finally:
                    object.__setattr__(callee, "lookup_batches", batches)
        per_key, batched = figures["per key"], figures["batched"]
        print(f"  one query per key (baseline)       {per_key[0] * 1000:9.1f} ms  {per_key[1]:>6} queries")
        print(f"  batched                            {batched[0] * 1000:9.1f} ms  {batched[1]:>6} queries  "
              f"ratio {per_key[0] / batched[0]:5.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000, help="rows read from PostgreSQL and ClickHouse")
    parser.add_argument("--prompts", type=int, default=64, help="rows sent to the LLM test server")
    parser.add_argument("--latency", type=float, default=20.0, help="ms the LLM test server takes per request")
    parser.add_argument("--lookup-rows", type=int, default=20_000, help="rows of the lookup workflow")
    parser.add_argument("--keys", type=int, default=2_000, help="distinct keys among them")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (the median is printed)")
    parser.add_argument("--only", choices=("postgresql", "clickhouse", "llm", "lookup"), action="append",
                        help="run only these parts (repeat the option for several)")
    args = parser.parse_args(argv)
    parts = args.only or ["postgresql", "clickhouse", "llm", "lookup"]
    if "postgresql" in parts:
        postgresql(args.rows, args.repeat)
    if "clickhouse" in parts:
        clickhouse(args.rows, args.repeat)
    if "llm" in parts:
        llm(args.prompts, args.latency)
    if "lookup" in parts:
        lookup(args.lookup_rows, args.keys, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
