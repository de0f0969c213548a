"""Hardening benchmark: what the fault and secret safeguards cost, against baselines measured in the same run.

Run as `python bench/hardening.py` (or `python -m bench.hardening`); `--help` lists the sizes. It prints
medians of `--rounds` rounds with ratios against the first row of each group; it asserts nothing.

  calls with a timeout        a workflow of `--stages` Python steps passing one row on, without `timeout`
                              (baseline) and with `timeout: "60s"` on each (every call on a thread of its own)
  reading a declared CSV      `--rows` rows: Polars' reader with the declared types (what `fill_missing: true`
                              does, the baseline) against the checked read (Arrow's reader, which counts every
                              row's fields; what a declared schema gets by default)
  scrubbing secrets           the same `--rows` texts, one secret in 1% of them, as a plain string column (the
                              baseline), a categorical, a list of strings and a struct: `Redactor.table`
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

try:
    import heddle_engine  # noqa: F401
except ModuleNotFoundError:  # run as `python bench/hardening.py` from elsewhere
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from heddle_engine.catalog import load_catalog
from heddle_engine.execute import run_workflow
from heddle_engine.lineage.redact import Redactor
from heddle_engine.modules.std.csv_rows import read_checked
from heddle_lang.semantic import analyze
from heddle_lang.syntax import parse

SECRET = "tok-bench-4242"
PLUGIN = '''
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="b")


@plugin.step(name="same", passthrough=True)
def same(config: dict, input: Table) -> Table:
    return input
'''


def median_seconds(work: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        gc.collect()
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def show(title: str, rows: list[tuple[str, float]]) -> None:
    print(title)
    base = rows[0][1]
    for label, seconds in rows:
        print(f"  {label:<34} {seconds * 1000:9.1f} ms  ratio {seconds / base:5.2f}")
    print()


def calls(folder: Path, stages: int, rounds: int) -> None:
    (folder / "heddle.toml").write_text('[modules]\n"b/steps" = "bsteps:plugin"\n')
    (folder / "bsteps.py").write_text(PLUGIN)
    rows: list[tuple[str, float]] = []
    for label, config in (("without timeout", ""), ('timeout: "60s" on each call', ' { timeout: "60s" }')):
        body = "".join(f"\n    | b.same{config}" for _ in range(stages))
        path = folder / "calls.he"
        path.write_text(f'import "b/steps" b\n\nworkflow W {{\n  [{{ id: 1 }}]{body}\n}}\n')
        catalog = load_catalog(folder)
        plan = analyze(parse(path.read_text()), catalog).plan

        def run(plan: object = plan, catalog: object = catalog, path: Path = path) -> None:
            run_workflow(plan, "W", catalog, file=str(path), parameters={})  # type: ignore[arg-type]

        run()  # warm: modules imported, blocks compiled
        rows.append((label, median_seconds(run, rounds)))
    show(f"{stages} Python steps, one row each", rows)


def csv_read(folder: Path, count: int, rounds: int) -> None:
    path = folder / "rows.csv"
    pl.DataFrame({"id": range(count)}).with_columns(
        amount=pl.col("id").cast(pl.Float64) * 1.5, customer=pl.format("customer-{}", pl.col("id") % 5000),
        day=pl.date(2024, 1, 1)).write_csv(path)
    schema = {"id": pl.Int64(), "amount": pl.Float64(), "customer": pl.String(), "day": pl.Date()}
    polars = median_seconds(lambda: pl.read_csv(path, schema_overrides=schema), rounds)
    checked = median_seconds(lambda: read_checked(path, schema, separator=",", has_header=True, null_values=None),
                             rounds)
    show(f"reading {count:,} CSV rows under a declared schema",
         [("Polars, short rows filled (baseline)", polars), ("checked: every row's fields counted", checked)])


def scrubbing(count: int, rounds: int) -> None:
    texts = pl.Series([f"note {i} {SECRET if i % 100 == 0 else 'plain'}" for i in range(count)])
    tables = {
        "string column (baseline)": pl.DataFrame({"c": texts}),
        "categorical": pl.DataFrame({"c": texts.cast(pl.Categorical)}),
        "list of strings": pl.DataFrame({"c": texts.str.split(" ")}),
        "struct of a string and an int": pl.DataFrame({"c": texts}).select(
            pl.struct(text=pl.col("c"), n=pl.int_range(pl.len())).alias("c")),
    }
    redactor = Redactor([SECRET])
    rows = []
    for label, frame in tables.items():
        arrow = frame.to_arrow(compat_level=pl.CompatLevel.newest())
        rows.append((label, median_seconds(lambda arrow=arrow: redactor.table(arrow), rounds)))
    show(f"scrubbing one secret from {count:,} texts", rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=textwrap.dedent(__doc__ or ""),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stages", type=int, default=100, help="Python steps in the timeout workflow (100)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the CSV file and texts scrubbed (1M)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per figure; the median is shown (5)")
    args = parser.parse_args()
    print(f"hardening: medians of {args.rounds} rounds; ratios against the first row of each group\n")
    with tempfile.TemporaryDirectory() as folder:
        calls(Path(folder), args.stages, args.rounds)
        csv_read(Path(folder), args.rows, args.rounds)
    scrubbing(args.rows, args.rounds)


if __name__ == "__main__":
    main()
