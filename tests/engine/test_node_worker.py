"""A Node step (the Node SDK's example plugin) in a `.he` workflow: started from `heddle.toml`, checked from its
`describe`, its failed rows routed to the handler, its errors carrying the JavaScript class and stack; a
large table goes to it as files on this machine, or on the wire when files are switched off."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from heddle_engine.catalog import load_catalog
from heddle_engine.workers.client import FILES_ENV
from tests.engine.conftest import WriteFiles
from tests.engine.running import checked_plan, run_file
from tests.node_sdk import node_example

WORKFLOW = '''import "std/io" io
import "shop/score" shop

handler keep {
  *
    | io.write_csv { path: "out/handled.csv" }
}

workflow Score {
  [
    { id: 1, amount: 10.0 },
    { id: 2, amount: -5.0 },
    { id: 3, amount: 7.5 },
  ]
    | STEP ? keep
}
'''


def project(write_files: WriteFiles, step: str) -> Path:
    example = node_example()
    root = write_files({"heddle.toml": f'[modules]\n"shop/score" = {{ command = ["node", "{example}"] }}\n',
                        "flow.he": WORKFLOW.replace("STEP", step)})
    return root / "flow.he"


def test_a_node_step_is_described_like_a_python_one(write_files: WriteFiles) -> None:
    catalog = load_catalog(project(write_files, "shop.score"))
    module = catalog.module("shop/score")
    assert module is not None, catalog.load_error("shop/score")
    score = module.functions["score"]
    assert score.doc.startswith("Scores each order")
    assert score.output is not None and [c.name for c in score.output.columns] == ["id", "amount", "score"]
    assert score.output.to_polars() == {"id": pl.Int64, "amount": pl.Float64, "score": pl.Float64}
    assert [f.name for f in score.config.fields] == ["factor"]
    catalog.close()


def test_a_node_step_runs_and_its_failed_rows_go_to_the_handler(write_files: WriteFiles) -> None:
    path = project(write_files, "shop.score { factor: 3.0 }")
    result = run_file(path)
    assert result.status == "succeeded"
    output = pl.from_arrow(next(iter(result.outputs.values())))
    assert isinstance(output, pl.DataFrame)
    assert output.to_dict(as_series=False) == {"id": [1, 3], "amount": [10.0, 7.5], "score": [30.0, 22.5]}
    failed = pl.read_csv(path.parent / "out" / "handled.csv")
    assert failed["id"].to_list() == [2] and failed["error_msg"].to_list() == ["order 2: negative amount"]


def test_a_node_step_that_throws_sends_every_row_with_its_class_and_stack(write_files: WriteFiles) -> None:
    path = project(write_files, "shop.fail")
    run_file(path)
    failed = pl.read_csv(path.parent / "out" / "handled.csv")
    assert failed["id"].to_list() == [1, 2, 3]
    assert set(failed["error_type"]) == {"RangeError"}
    assert "score.js" in failed["stack_trace"][0]


MAKE = '''
import polars as pl

from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="make")


class Orders(Table):
    id: int
    amount: float


@plugin.step(name="orders")
def orders(config: dict) -> Orders:
    """`rows` orders; every 1000th amount is negative (a row the Node step fails)."""
    ids = pl.int_range(0, int(config["rows"]), eager=True)
    amounts = pl.when(ids % 1000 == 999).then(-1.0).otherwise(ids.cast(pl.Float64) / 2)
    return Orders.from_polars(pl.DataFrame({"id": ids, "amount": pl.select(amounts).to_series()}))
'''

LARGE = '''import "std/io" io
import "shop/score" shop
import "test/make" make

handler keep {
  *
    | io.write_csv { path: "out/handled.csv" }
}

workflow Score {
  make.orders { rows: 150000 }
    | STEP ? keep
}
'''


@pytest.mark.parametrize("files", [True, False], ids=["files", "wire"])
def test_a_large_table_goes_to_a_node_step_and_back_whole(write_files: WriteFiles, monkeypatch: pytest.MonkeyPatch,
                                                            files: bool) -> None:
    """2.4 MB of orders: as Arrow IPC files in the engine's folder (the worker is on this machine), or, with
    files switched off, as record batches on Flight (three messages each way)."""
    from heddle_engine.execute import run_workflow

    if not files:
        monkeypatch.setenv(FILES_ENV, "0")
    example = node_example()
    root = write_files({"heddle.toml": f'[modules]\n"shop/score" = {{ command = ["node", "{example}"] }}\n'
                                       '"test/make" = "make:plugin"\n',
                        "make.py": MAKE, "flow.he": LARGE.replace("STEP", "shop.score { factor: 3.0 }")})
    path = root / "flow.he"
    catalog = load_catalog(path)
    try:
        for step, failed_rows in (("shop.score { factor: 3.0 }", 150), ("shop.identity", 0)):
            path.write_text(LARGE.replace("STEP", step), encoding="utf-8")
            result = run_workflow(checked_plan(path), "Score", catalog, file=str(path), parameters={})
            assert result.status == "succeeded", result.message
            output = pl.from_arrow(next(iter(result.outputs.values())))
            assert isinstance(output, pl.DataFrame)
            ids = pl.int_range(0, 150_000, eager=True)
            if failed_rows:  # the scored rows, and the failed ones at the handler
                expected = ids.filter(ids % 1000 != 999)
                assert output["id"].equals(expected.alias("id"))
                assert output["score"].equals((expected.cast(pl.Float64) / 2 * 3).alias("score"))
                failed = pl.read_csv(root / "out" / "handled.csv")
                assert failed["id"].to_list() == list(range(999, 150_000, 1000))
                assert len(failed) == failed_rows
            else:  # the input itself, every column taken back unchanged
                assert output.height == 150_000 and output["id"].equals(ids.alias("id"))
        workers = catalog.workers
        assert workers is not None
        assert workers.endpoint("shop/score").client().exchanges_files is files
    finally:
        catalog.close()
