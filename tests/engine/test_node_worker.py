"""A Node step (the Node SDK's example plugin) in a `.he` workflow: started from `heddle.toml`, checked from its
`describe`, its failed rows routed to the handler, its errors carrying the JavaScript class and stack."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from heddle_engine.catalog import load_catalog
from tests.engine.conftest import WriteFiles
from tests.engine.running import run_file
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
