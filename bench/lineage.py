"""Lineage benchmark: what recording a run costs the executor, and what the file format choice costs.

Run as `python bench/lineage.py` (or `python -m bench.lineage`). It prints medians of several rounds with
ratios against a baseline measured in the same run; it asserts nothing.

  run, not recorded                  baseline: `run_workflow` on a generated table (id, amount, customer)
                                     through two relational blocks (fused into one query when no observer
                                     wants node outputs) and a passthrough step
  run, outputs handed, not written   an observer that wants every node output and keeps it: what
                                     materialising every stage costs the executor by itself
  run, recorded                      a `LineageRecorder`: every output written as Arrow IPC by its writer
                                     thread, the files fsynced before the final run.json
  run, recorded, steps not waiting   the same without the wait of a step for its inputs' files (what
                                     makes `replay --from` that step work after a crash): its cost
  run, recorded, 1 secret to scrub   the same with a secret in a step's config: string columns are scanned
  writing the stage outputs          the four tables the executor handed over, written one after the other:
                                     as they come (string views, uncompressed), in plain layout uncompressed,
                                     lz4 (what the recorder does) and zstd; sizes against the first
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

try:
    import heddle_engine  # noqa: F401
except ModuleNotFoundError:  # run as `python bench/lineage.py` from elsewhere
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from heddle_engine.catalog import EngineCatalog, load_catalog
from heddle_engine.events import RunObserver
from heddle_engine.execute import run_workflow
from heddle_engine.lineage import LineageRecorder
from heddle_engine.lineage.files import write_table
from heddle_lang.plan import Plan
from heddle_lang.semantic import analyze
from heddle_lang.syntax import parse

ROWS = (100_000, 1_000_000)
ROUNDS = 5

PLUGIN = '''\
import polars as pl

from heddle.core.config import Secret
from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="gen")


class Rows(Table):
    id: int
    amount: float
    customer: str


class Count(StepConfig[None]):
    rows: int


@plugin.step(name="rows")
def rows(config: Count) -> Rows:
    n = config.rows
    frame = pl.DataFrame({"id": range(n)}).with_columns(
        amount=(pl.col("id") % 1000).cast(pl.Float64) * 1.5,
        customer=pl.format("customer-{}", pl.col("id") % 5000))
    return Rows.from_polars(frame)


class Same(StepConfig[None]):
    key: Secret | None = None


@plugin.step(name="same", passthrough=True)
def same(config: Same, input: Table) -> Table:
    return input
'''

PROGRAM = '''\
import "bench/gen" gen

workflow Bench {
  gen.rows { rows: ROWS }
    | (from input filter amount > 10)
    | (from input derive {cents = amount * 100})
    | gen.same SECRET
}
'''


def median(run: Callable[[], object], rounds: int = ROUNDS) -> float:
    """Milliseconds; dirty pages are flushed before each round, so one round's writes do not slow the next."""
    run()  # warm-up
    samples = []
    for _ in range(rounds):
        os.sync()
        gc.collect()
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def plan_of(folder: Path, rows: int, secret: bool) -> tuple[Path, EngineCatalog, Plan]:
    name = "secret.he" if secret else "bench.he"
    path = folder / name
    config = '{ key: "s3cr3t-value" }' if secret else ""
    path.write_text(textwrap.dedent(PROGRAM).replace("ROWS", str(rows)).replace(" SECRET", f" {config}".rstrip()))
    catalog = load_catalog(path)
    analysis = analyze(parse(path.read_text()), catalog)
    assert not [d for d in analysis.diagnostics if d.is_error], analysis.diagnostics
    return path, catalog, analysis.plan.only("Bench")


def bench(rows: int, folder: Path) -> None:
    path, catalog, plan = plan_of(folder, rows, secret=False)
    secret_path, _, secret_plan = plan_of(folder, rows, secret=True)
    outputs: dict[str, pa.Table] = {}

    class Keep:
        def run_started(self, run: object) -> None: ...
        def node_event(self, event: object) -> None: ...
        def node_output(self, graph: str, node_id: str, table: pa.Table) -> None:
            outputs[node_id] = table
        def run_finished(self, result: object) -> None: ...

    def run(file: Path, typed: Plan, *observers: RunObserver) -> None:
        result = run_workflow(typed, "Bench", catalog, file=str(file), parameters={}, observers=observers)
        assert result.status == "succeeded"

    def recorder() -> LineageRecorder:
        return LineageRecorder(folder, limit_bytes=1 << 40, catalog=catalog)

    class Unwaiting(LineageRecorder):  # what a step's wait for its recorded inputs costs (not crash-safe)
        @staticmethod
        def _wait_for_inputs(active: object, key: object) -> None:
            return None

    def unwaiting() -> LineageRecorder:
        return Unwaiting(folder, limit_bytes=1 << 40, catalog=catalog)

    base = median(lambda: run(path, plan))
    print(f"\n{rows:,} rows through 4 stages")
    print(f"  {'run, not recorded':<34} {base:9.1f} ms  ratio 1.00")
    for label, work in (
        ("run, outputs handed, not written", lambda: run(path, plan, Keep())),
        ("run, recorded", lambda: run(path, plan, recorder())),
        ("run, recorded, steps not waiting", lambda: run(path, plan, unwaiting())),
        ("run, recorded, 1 secret to scrub", lambda: run(secret_path, secret_plan, recorder())),
    ):
        spent = median(work)
        print(f"  {label:<34} {spent:9.1f} ms  ratio {spent / base:.2f}")

    target = folder / "out.arrow"

    def write_as_given(table: pa.Table) -> int:  # the executor's tables, string views and all
        with pa.OSFile(str(target), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        return target.stat().st_size

    strategies: dict[str, Callable[[pa.Table], int]] = {
        "as handed over, uncompressed": write_as_given,
        "plain layout, uncompressed": lambda t: write_table(target, t, compression=None),
        "plain layout, lz4 (recorded)": lambda t: write_table(target, t, compression="lz4"),
        "plain layout, zstd": lambda t: write_table(target, t, compression="zstd"),
    }
    tables = list(outputs.values())
    print(f"  writing the {len(tables)} stage outputs ({sum(t.nbytes for t in tables) / 1e6:.0f} MB in memory)")
    first_time = first_size = 0.0
    for label, write in strategies.items():
        spent = median(lambda write=write: [write(t) for t in tables])
        size = sum(write(t) for t in tables)
        first_time, first_size = first_time or spent, first_size or size
        print(f"    {label:<32} {spent:9.1f} ms  ratio {spent / first_time:.2f}  "
              f"size {size / 1e6:6.1f} MB  ratio {size / first_size:.2f}")


def main() -> None:
    print(f"lineage: medians of {ROUNDS} rounds; ratios against the first row of each group")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        write_plugin(folder)
        for rows in ROWS:
            bench(rows, folder)


def write_plugin(folder: Path) -> None:
    (folder / "benchplugins").mkdir()
    (folder / "benchplugins" / "__init__.py").write_text("")
    (folder / "benchplugins" / "gen.py").write_text(PLUGIN)
    (folder / "heddle.toml").write_text('[modules]\n"bench/gen" = "benchplugins.gen:plugin"\n')


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    main()
