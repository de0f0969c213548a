"""Engine benchmark: `heddle run`'s executor against baselines measured in the same run.

Run as `python bench/engine.py` (or `python -m bench.engine`); `--help` lists the sizes, which default to
the engine issue's. It prints figures and ratios and asserts nothing. Targets are printed beside them.

  relational stage   A PRQL filter + group + sort block on `--rows` rows (default 10M), run by the engine
                     (a workflow: a source step handing over a prebuilt Arrow table, then the block), against
                     the same query written by hand in Polars lazy, and against DuckDB on the same Arrow
                     data. Ratio = baseline time / engine time (1.0: as fast; target ≥ 0.95 vs Polars).
  per-stage overhead A workflow of `--stages` (default 100) Python steps that return their 1-row input,
                     against calling the same function as many times directly: (engine - direct) / stages.
                     Also as many relational blocks (fused by threes) for comparison.
  peak memory        A `--gigabytes` (default 1) table made by a source step and passed through 10 Python
                     steps that return it unchanged, in a fresh process: the growth of peak RSS over the
                     table's size, against making the same table alone (target ≤ 1.1x).
  lineage            The relational workflow on `--lineage-rows` rows and the stage pipeline, with the
                     lineage recorder observing against without (ratio = time on / time off).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

try:
    import heddle_engine  # noqa: F401
except ModuleNotFoundError:  # run as `python bench/engine.py` from elsewhere
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from heddle_engine.catalog import load_catalog
from heddle_engine.events import RunObserver
from heddle_engine.execute import run_workflow
from heddle_engine.execute.lower import MAX_FUSED
from heddle_engine.loading import load_target
from heddle_lang.plan import Plan
from heddle_lang.semantic import analyze
from heddle_lang.syntax import parse

PLUGIN = '''
import polars as pl

from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="b")
TABLE: Table | None = None


class Sales(Table):
    id: int
    country: str
    amount: float


@plugin.step(name="source")
def source(config: dict) -> Sales:
    """The prebuilt table (set by the benchmark), handed over as it is."""
    return TABLE


@plugin.step(name="same", passthrough=True)
def same(config: dict, input: Table) -> Table:
    return input


class Wide(Table):
    a: int
    b: int
    c: int


@plugin.step(name="make")
def make(config: dict) -> Wide:
    """A table of `rows` rows of three Int64 columns, made in place."""
    rows = int(config["rows"])
    return Wide.from_polars(pl.DataFrame([pl.int_range(0, rows, eager=True).alias(name) for name in "abc"]))
'''
BLOCK = """(
    from input
    filter amount > 100
    group {country} (
      aggregate {total = sum amount, orders = count this}
    )
    sort {-total}
  )"""
COUNTRIES = ["FR", "US", "DE", "ES", "IT", "GB", "JP", "BR", "IN", "CN", "CA", "AU", "MX", "NL", "SE", "PL"]


def medians(runs: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """The median time of each, measured in turns (one of each per round) so that a change in the
    machine's load during the measurement weighs on all of them alike."""
    for run in runs.values():
        run()  # warm-up
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            gc.collect()
            start = time.perf_counter()
            run()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(times) for name, times in samples.items()}


class Project:
    """A temporary project with the benchmark's plugin mapped as `bench/b`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / "heddle.toml").write_text('[modules]\n"bench/b" = "benchplugin:plugin"\n', encoding="utf-8")
        (folder / "benchplugin.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
        self.catalog = load_catalog(folder / "main.he")
        self.module: Any = load_target("benchplugin", folder)

    def plan(self, name: str, text: str) -> tuple[Path, Plan]:
        path = self.folder / f"{name}.he"
        path.write_text(text, encoding="utf-8")
        analysis = analyze(parse(text), self.catalog)
        errors = [d for d in analysis.diagnostics if d.is_error]
        assert not errors, errors
        return path, analysis.plan

    def runner(self, name: str, text: str, observers: list[RunObserver] | None = None) -> Callable[[], object]:
        path, plan = self.plan(name, text)
        workflow = plan.workflows[0].name

        def run() -> object:
            result = run_workflow(plan, workflow, self.catalog, file=str(path), parameters={},
                                  observers=list(observers or ()))
            assert result.status == "succeeded", result.message
            return result

        return run


def sales(rows: int) -> pa.Table:
    ids = pl.int_range(0, rows, eager=True)
    frame = pl.DataFrame({
        "id": ids,
        "country": pl.Series(COUNTRIES).gather((ids * 7919) % len(COUNTRIES)),
        "amount": ((ids * 104729) % 100_000).cast(pl.Float64) / 100,
    })
    return frame.to_arrow(compat_level=pl.CompatLevel.newest())


def relational_text() -> str:
    return f'import "bench/b" b\n\nworkflow Stage {{\n  b.source\n    | {textwrap.indent(BLOCK, "    ")[4:]}\n}}\n'


def bench_relational(project: Project, rows: int, rounds: int) -> list[str]:
    from heddle.core.table import Table

    table = sales(rows)
    project.module.TABLE = Table(table)

    def by_hand() -> pl.DataFrame:
        frame = pl.from_arrow(table, rechunk=False)
        assert isinstance(frame, pl.DataFrame)
        return (frame.lazy().filter(pl.col("amount") > 100).group_by("country")
                .agg(total=pl.col("amount").sum(), orders=pl.len()).sort("total", descending=True).collect())

    runs: dict[str, Callable[[], object]] = {"engine": project.runner("stage", relational_text()), "polars": by_hand}
    try:
        import duckdb
    except ImportError:
        duckdb = None
    if duckdb is not None:
        connection = duckdb.connect()
        connection.register("sales", table)
        query = ("SELECT country, sum(amount) AS total, count(*) AS orders FROM sales WHERE amount > 100 "
                 "GROUP BY country ORDER BY total DESC")
        runs["duckdb"] = lambda: connection.sql(query).to_arrow_table()
    times = medians(runs, rounds)
    engine = times["engine"]
    lines = [f"relational stage: filter + group + sort on {rows:,} rows (median of {rounds}, measured in turns)",
             f"  engine (PRQL → SQL on Polars)  {engine * 1000:9.1f} ms",
             f"  Polars lazy by hand            {times['polars'] * 1000:9.1f} ms   engine ratio "
             f"{times['polars'] / engine:.2f}x  (target ≥ 0.95x)"]
    if "duckdb" in times:
        lines.append(f"  DuckDB on the same Arrow data  {times['duckdb'] * 1000:9.1f} ms   engine ratio "
                     f"{times['duckdb'] / engine:.2f}x")
    else:
        lines.append("  DuckDB                         not installed (pip install '.[bench]')")
    return lines


def stages_text(stages: int) -> str:
    body = "".join("    | b.same\n" for _ in range(stages))
    return f'import "bench/b" b\n\nworkflow Stages {{\n  [{{ id: 1, name: "one" }}]\n{body}}}\n'


def blocks_text(stages: int) -> str:
    body = "".join("    | (from input filter id > 0)\n" for _ in range(stages))
    return f'workflow Blocks {{\n  [{{ id: 1, name: "one" }}]\n{body}}}\n'


def bench_stages(project: Project, stages: int, rounds: int) -> list[str]:
    from heddle.core.table import Table

    one = Table.from_polars(pl.DataFrame({"id": [1], "name": ["one"]}))

    def direct() -> None:
        table = one
        for _ in range(stages):
            table = project.module.same({}, table)

    times = medians({"engine": project.runner("stages", stages_text(stages)), "direct": direct,
                     "blocks": project.runner("blocks", blocks_text(stages))}, rounds)
    engine, direct_time, blocks = times["engine"], times["direct"], times["blocks"]
    per_stage = (engine - direct_time) / stages * 1e6
    return [f"per-stage overhead: {stages} stages on a 1-row table (median of {rounds})",
            f"  Python steps: run {engine * 1000:.2f} ms, direct calls {direct_time * 1000:.3f} ms  →  "
            f"{per_stage:.0f} µs/stage  (target ≤ 100 µs/stage)",
            f"  relational blocks (fused {MAX_FUSED} at a time): run {blocks * 1000:.2f} ms  →  "
            f"{blocks / stages * 1e6:.0f} µs/block"]


MEMORY_SCRIPT = '''
import json, resource, sys
from pathlib import Path

sys.path.insert(0, {root!r})
import polars as pl

def rss() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096

rows, mode, folder = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
if mode == "alone":
    before = rss()
    table = pl.DataFrame([pl.int_range(0, rows, eager=True).alias(name) for name in "abc"]).to_arrow()
    size = table.nbytes
else:
    from heddle_engine.catalog import load_catalog
    from heddle_engine.execute import run_workflow
    from heddle_lang.semantic import analyze
    from heddle_lang.syntax import parse
    catalog = load_catalog(folder / "memory.he")
    plans = {{name: analyze(parse((folder / name).read_text()), catalog).plan for name in ("warm.he", "memory.he")}}
    warm = run_workflow(plans["warm.he"], "Memory", catalog, file=str(folder / "warm.he"), parameters={{}})
    before = rss()  # after imports and a small run: what the big table adds is measured
    path = folder / "memory.he"
    result = run_workflow(plans["memory.he"], "Memory", catalog, file=str(path), parameters={{}})
    assert result.status == "succeeded", result.message
    size = result.outputs["n11"].nbytes
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"before": before, "peak": peak, "size": size}}))
'''


def bench_memory(project: Project, gigabytes: float) -> list[str]:
    rows = int(gigabytes * 1e9 / 24)  # three Int64 columns
    body = "".join("    | b.same\n" for _ in range(10))
    for name, size in (("warm", 1000), ("memory", rows)):
        path, _ = project.plan(name, f'import "bench/b" b\n\nworkflow Memory {{\n  b.make {{ rows: {size} }}\n'
                                     f"{body}}}\n")
    script = MEMORY_SCRIPT.format(root=str(Path(__file__).resolve().parents[1]))
    results = {}
    for mode in ("alone", "engine"):
        output = subprocess.run([sys.executable, "-c", script, str(rows), mode, str(path.parent)], check=True,
                                capture_output=True, text=True).stdout
        results[mode] = json.loads(output.strip().splitlines()[-1])
    alone, engine = results["alone"], results["engine"]
    size = engine["size"]
    grown = engine["peak"] - engine["before"]
    grown_alone = alone["peak"] - alone["before"]
    return [f"peak memory: a {size / 1e9:.2f} GB table through 10 Python steps (fresh processes)",
            f"  peak RSS growth {grown / 1e9:.2f} GB = {grown / size:.2f}x the table  (target ≤ 1.1x)",
            f"  making the table alone: {grown_alone / 1e9:.2f} GB = {grown_alone / size:.2f}x the table  →  "
            f"engine / alone {grown / grown_alone:.2f}x"]


def bench_lineage(project: Project, rows: int, stages: int, rounds: int) -> list[str]:
    try:
        from heddle_engine.lineage.recorder import LineageRecorder
    except ImportError:
        return ["lineage: heddle_engine.lineage.recorder is not installed: not measured"]
    from heddle.core.table import Table

    project.module.TABLE = Table(sales(rows))
    lines = [f"lineage: recorder on / off (median of {rounds})"]
    for label, name, text in ((f"relational stage, {rows:,} rows", "stage", relational_text()),
                              (f"{stages} Python steps, 1 row", "stages", stages_text(stages))):
        with tempfile.TemporaryDirectory() as store:
            recorder: Any = LineageRecorder(Path(store))
            times = medians({"off": project.runner(name, text), "on": project.runner(name, text, [recorder])},
                            rounds)
        off, on = times["off"], times["on"]
        lines.append(f"  {label}: off {off * 1000:.1f} ms, on {on * 1000:.1f} ms  →  {on / off:.2f}x")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows of the relational stage (10M)")
    parser.add_argument("--stages", type=int, default=100, help="stages of the overhead pipeline (100)")
    parser.add_argument("--gigabytes", type=float, default=1.0, help="size of the memory test's table (1)")
    parser.add_argument("--lineage-rows", type=int, default=1_000_000, help="rows of the lineage comparison (1M)")
    parser.add_argument("--rounds", type=int, default=9, help="timed rounds per figure (9)")
    parser.add_argument("--only", choices=("relational", "stages", "memory", "lineage"), action="append",
                        help="run only these parts (repeatable)")
    args = parser.parse_args(argv)
    parts = set(args.only or ("relational", "stages", "memory", "lineage"))
    print(f"heddle engine benchmark — Python {sys.version.split()[0]}, Polars {pl.__version__}, "
          f"{os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as folder:
        project = Project(Path(folder))
        sections: list[Callable[[], list[str]]] = []
        if "relational" in parts:
            sections.append(lambda: bench_relational(project, args.rows, args.rounds))
        if "stages" in parts:
            sections.append(lambda: bench_stages(project, args.stages, max(args.rounds, 20)))
        if "memory" in parts:
            sections.append(lambda: bench_memory(project, args.gigabytes))
        if "lineage" in parts:
            sections.append(lambda: bench_lineage(project, args.lineage_rows, args.stages, args.rounds))
        for section in sections:
            print()
            print("\n".join(section()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
