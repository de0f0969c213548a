"""Relational-block checking benchmark: analysing a PRQL block cold and from the cache.

Run as `python bench/relational_check.py` (or `python -m bench.relational_check`). For a few representative
blocks it times, after a warm-up, the median and minimum of several rounds and prints them with
ratios against the cold analysis of the same block measured in the same run. It asserts nothing.

What each row times:
  cold analyze        `analyze_block` on a text never seen before (a unique comment is appended each
                      round, so no cache of the package helps): normalising, prqlc, Polars planning,
                      diagnostics.
  prqlc compile       `compile_prql` alone on the prelude + normalised text (three prqlc stages).
  contained compile   the same text through `CompilerProcess` (the compiler the language server and the
                      `heddle` command use): prqlc in a child process, one JSON line each way. Each round
                      compiles a new text, so it is asked every time; "x in-process" is its ratio to
                      `prqlc compile`, the cost of containing a crash of prqlc.
  cold analyze, contained   `cold analyze` with the contained compiler.
  Polars plan         `plan_query` alone: the RQ lowered to Polars on empty frames, `collect_schema()`.
  cached analyze      `analyze_block` again with equal arguments (a cache hit).
  referenced_tables   the cheap scan of `from`/`join` names, uncached.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from itertools import count
from pathlib import Path

import polars as pl

try:
    import heddle_lang  # noqa: F401
except ModuleNotFoundError:  # run as `python bench/relational_check.py` from elsewhere
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from heddle_engine.compiler_process import CompilerProcess
from heddle_lang.relational import analyze_block, cache_clear, rq
from heddle_lang.relational.analyze import _table_names
from heddle_lang.relational.compile import compile_prql
from heddle_lang.relational.model import sql_table_name
from heddle_lang.relational.normalize import normalize
from heddle_lang.relational.plan import plan_query
from heddle_lang.relational.prelude import build_prelude
from heddle_lang.relational.tables import _referenced
from heddle_lang.types import Schema

SCHEMAS = {
    "input": Schema.of({"id": pl.Int64(), "email": pl.String(), "exists": pl.Boolean(), "amount": pl.Float64()}),
    "users": Schema.of({"id": pl.Int64(), "name": pl.String(), "email": pl.String()}),
    "events": Schema.of({"id": pl.Int64()}, open=True),
}
BLOCKS = {
    "compact filter": "from input filter amount > 10000 select id, amount",
    "spec join (SQL habits)": (
        'from input join users where input.id = users.id and input.exists select concat(input.id, "-", users.email)'
    ),
    "aggregate": "from input\ngroup email (aggregate {total = sum amount, n = count this})\nsort {-total}\ntake 10",
    "open schema": "from events filter score > 0.5 select id, score, kind",
}
ROUNDS = 30


def median_min(run: Callable[[], object], rounds: int = ROUNDS) -> tuple[float, float]:
    run()  # warm-up
    samples = []
    for _ in range(rounds):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter_ns()
            run()
            samples.append(time.perf_counter_ns() - start)
        finally:
            gc.enable()
    return statistics.median(samples) / 1e6, min(samples) / 1e6


def bench_block(label: str, query: str, contained: CompilerProcess) -> list[tuple[str, float, float]]:
    unique = count()

    def cold() -> object:
        return analyze_block(f"{query}\n# {next(unique)}", SCHEMAS, is_source=False)

    def cold_contained() -> object:
        return analyze_block(f"{query}\n# {next(unique)}", SCHEMAS, is_source=False, compiler=contained)

    normalized = normalize(query)
    refs = _referenced(query)
    tables = [(n, SCHEMAS.get(n, Schema.unknown())) for n in _table_names(refs, normalized)]
    text = build_prelude(tables).text + normalized.text
    compiled = compile_prql(text)
    parsed = rq.parse(compiled.rq or "")
    frames = {sql_table_name(n): s.to_polars() for n, s in tables}
    for table, columns in compiled.columns_read.items():
        for column in columns:
            frames.setdefault(table, {}).setdefault(column, pl.Null())

    cache_clear()
    analyze_block(query, SCHEMAS, is_source=False)
    rows = [
        ("cold analyze", *median_min(cold)),
        ("  prqlc compile", *median_min(lambda: compile_prql(text))),
        ("  contained compile", *median_min(lambda: contained(f"{text}\n# {next(unique)}"))),
        ("  Polars plan", *median_min(lambda: plan_query(parsed, frames, ("__heddle_events",)))),
        ("cached analyze", *median_min(lambda: analyze_block(query, SCHEMAS, is_source=False))),
        ("referenced_tables", *median_min(lambda: _referenced.__wrapped__(query))),
        ("cold analyze, contained", *median_min(cold_contained)),
    ]
    print(f"\n{label}: {query!r}")
    return rows


def main() -> None:
    print(f"relational blocks: median and minimum of {ROUNDS} rounds; ratio = median / cold analyze median")
    contained = CompilerProcess()
    contained.start()
    try:
        for label, query in BLOCKS.items():
            rows = bench_block(label, query, contained)
            base = rows[0][1]
            in_process = rows[1][1]
            for name, median, minimum in rows:
                extra = f"   x in-process {median / in_process:.2f}" if name == "  contained compile" else ""
                print(f"  {name:<24} {median:9.3f} ms  (min {minimum:8.3f} ms)  ratio {median / base:8.4f}{extra}")
    finally:
        contained.close()


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    main()
