"""Pushdown benchmark: a workflow reading a ClickHouse table through one relational block, with the block's
filters, projection and limit pushed into the step's query, against the same run with nothing pushed (the
step reads the whole table, the block does all the work), in the same process and run.

Run as `python bench/pushdown.py` (`--help` lists the sizes). It prints, per block, the median of `--repeat`
runs (default 3) of the whole workflow (check, lowering, the query, the block, a CSV written) in each way, the
ratio (nothing pushed / pushed: above 1 is faster), the rows the block keeps, and, for the server, the time of
the whole `heddle run` command with pushdown. On ClickHouse embedded (chdb) always; on Debian's 18.16 server
over the native protocol when `clickhouse-server` is installed. It asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

# the repository root: `heddle_engine` when not installed, and the test servers of `tests.engine`
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BLOCKS = {
    "selective filter + projection": "from events\n    filter id >= {cut}\n    select {{id, score}}",
    "text equality (an Enum)": 'from events\n    filter level == "high" && id < {cut}\n    select {{id}}',
    "limit": "from events\n    filter id > 10\n    take 100",
}
QUERY = "SELECT id, name, level, score, note FROM events"


def fill(backend_command: Callable[[str], None], rows: int) -> None:
    backend_command("DROP TABLE IF EXISTS events")
    backend_command("CREATE TABLE events (id UInt64, name String, level Enum8('low' = 1, 'high' = 2), "
                    "score Float64, note String) ENGINE = MergeTree ORDER BY id")
    backend_command(f"INSERT INTO events SELECT number, concat('user-', toString(number)), "
                    f"if(number % 2 = 0, 'low', 'high'), number / 7, concat('note of ', toString(number * 31)) "
                    f"FROM system.numbers LIMIT {rows}")


@contextlib.contextmanager
def no_pushdown() -> Iterator[None]:
    lower = importlib.import_module("heddle_engine.execute.lower")  # the module (the package exports its function)
    real = lower._pushdowns
    lower._pushdowns = lambda *args, **kwargs: {}  # type: ignore[assignment]
    try:
        yield
    finally:
        lower._pushdowns = real  # type: ignore[assignment]


def run_once(main: Path) -> None:
    from tests.engine.running import run_file

    result = run_file(main)
    if result.status != "succeeded":
        raise SystemExit(f"the run failed: {result.message}")


def median(function: Callable[[], object], repeat: int) -> float:
    function()  # warm: connections, descriptions
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def rows_out(main: Path) -> int:
    import polars as pl

    return pl.read_csv(main.parent / "out.csv").height


def measure(label: str, connection: str, rows: int, repeat: int, environment: dict[str, str] | None) -> None:
    """Each block both ways in this process; the whole `heddle run` too when `environment` is given (not for
    the embedded engine, whose folder this process holds)."""
    from tests.engine.clickhouse_events import events_program

    print(f"{label} ({rows:,} rows)")
    for name, block in BLOCKS.items():
        with tempfile.TemporaryDirectory(prefix="heddle-bench-") as folder:
            main = Path(folder) / "main.he"
            main.write_text(events_program(connection, QUERY, block.format(cut=rows - rows // 100)), encoding="utf-8")
            (Path(folder) / "heddle.toml").write_text("", encoding="utf-8")
            pushed = median(lambda m=main: run_once(m), repeat)
            out = rows_out(main)
            with no_pushdown():
                whole = median(lambda m=main: run_once(m), repeat)
            figure = ""
            if environment is not None:
                command = [str(Path(sys.executable).with_name("heddle")), "run", str(main), "--no-lineage"]
                seconds = median(lambda c=command: subprocess.run(c, check=True, capture_output=True,
                                                                  env={**os.environ, **environment}), repeat)
                figure = f"  `heddle run`: {seconds * 1000:.0f} ms"
            print(f"  {name:<30} pushed {pushed * 1000:8.1f} ms  nothing pushed {whole * 1000:8.1f} ms  "
                  f"ratio {whole / pushed:6.2f}x  ({out:,} rows out){figure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ["HEDDLE_DESCRIBE"] = "on"  # types from the server, as `heddle run` has them
    from heddle_engine.modules.fhub import clickhouse
    from tests.engine.clickhouse_events import embedded_connection, server_connection
    from tests.engine.clickhouse_servers import SERVER_PASSWORD, clickhouse_server, server_available

    config, connection = embedded_connection("bench")
    db = clickhouse.connection(config)
    fill(db.backend().command, args.rows)
    db.close()
    measure("ClickHouse embedded (chdb)", connection, args.rows, args.repeat, None)
    if not server_available():
        print("clickhouse server: skipped (no clickhouse-server installed)")
        return
    with clickhouse_server() as server:
        config, connection = server_connection(server)
        db = clickhouse.connection(config)
        fill(db.backend().command, args.rows)
        db.close()
        os.environ["CH_PASSWORD"] = SERVER_PASSWORD
        measure(f"ClickHouse {server.version} server, native protocol", connection, args.rows, args.repeat,
                {"CH_PASSWORD": SERVER_PASSWORD, "HEDDLE_DESCRIBE": "on"})


if __name__ == "__main__":
    main()
