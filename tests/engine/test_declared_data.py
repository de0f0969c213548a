"""Data read under a declared `schema`: no row is filled in silently, and every type the checker accepts runs.

- `io.read_csv` with a schema: a row with too few (or too many) fields goes to the handler with its line and
  text; `fill_missing: true` fills it with nulls instead.
- Every column type `schema:` accepts runs end to end (reader → relational block → a step → lineage), and the
  types that cannot (`Object`, `Int128`, a list read from CSV) are refused by the checker.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from heddle.sdk.dtypes import parse_dtype
from heddle_engine.lineage import LineageRecorder, LineageStore
from heddle_engine.modules.std import io
from heddle_lang.catalog import InferenceError
from tests.engine.conftest import WriteFiles
from tests.engine.running import checked_plan, run_file

HANDLER = '''import "std/io" io

handler keep {
  *
    | io.write_csv { path: "out/handled.csv" }
}

'''


def test_a_short_row_under_a_declared_schema_goes_to_the_handler(write_files: WriteFiles) -> None:
    root = write_files({"orders.csv": 'id,customer,amount\n1,ada,120.5\n2,bob\n3,"cy, jr",20.0\n4,dee,1.0,extra\n',
                        "main.he": HANDLER + 'workflow W ? keep {\n  io.read_csv { path: "orders.csv", schema: { '
                        'id: "Int64", customer: "String", amount: "Float64" } }\n'
                        '    | io.write_csv { path: "out/read.csv" }\n}\n'})
    result = run_file(root / "main.he")
    assert result.status == "succeeded", result.message
    read = pl.read_csv(root / "out" / "read.csv")
    assert read.to_dicts() == [{"id": 1, "customer": "ada", "amount": 120.5},
                               {"id": 3, "customer": "cy, jr", "amount": 20.0}]
    handled = pl.read_csv(root / "out" / "handled.csv")
    assert handled["line"].to_list() == [3, 5] and handled["text"].to_list() == ["2,bob", "4,dee,1.0,extra"]
    assert handled["error_msg"].to_list() == [
        "line 3 has 2 fields where the file has 3 columns (`fill_missing: true` fills the missing ones with nulls)",
        "line 5 has 4 fields where the file has 3 columns"]
    count = result.rows[("W", "n1")]
    assert (count.output, count.failed) == (2, 2)  # every line of the file accounted for


def test_fill_missing_fills_a_short_row_with_nulls(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("id,customer,amount\n1,ada,120.5\n2,bob\n")
    schema = {"id": "Int64", "customer": "String", "amount": "Float64"}
    filled = io.read_csv(io.ReadCsvConfig(path=str(path), schema=schema, fill_missing=True)).to_polars()
    assert filled.to_dicts() == [{"id": 1, "customer": "ada", "amount": 120.5},
                                 {"id": 2, "customer": "bob", "amount": None}]
    with pytest.raises(io.RowErrors) as raised:
        io.read_csv(io.ReadCsvConfig(path=str(path), schema=schema))
    assert raised.value.output.to_polars()["id"].to_list() == [1]
    assert raised.value.failed.to_polars().to_dicts() == [{"line": 3, "text": "2,bob"}]


def test_a_checked_read_keeps_nulls_headers_and_separators_as_before(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text('1;"FR"\n2;NA\n3;\n')
    config = io.ReadCsvConfig(path=str(path), separator=";", has_header=False, null_values=["NA"],
                              schema={"id": "Int64", "country": "String"})
    assert io.read_csv(config).to_polars().to_dicts() == [
        {"id": 1, "country": "FR"}, {"id": 2, "country": None}, {"id": 3, "country": None}]


# --- every declared type runs, or is refused before running ------------------------------------------

VALUES = {
    "Int8": "-1", "Int16": "2", "Int32": "3", "Int64": "4", "UInt8": "5", "UInt16": "6", "UInt32": "7",
    "UInt64": "8", "Float32": "1.5", "Float64": "2.5", "Boolean": "true", "String": "x", "Utf8": "y",
    "Binary": "z", "Date": "2024-01-02", "Time": "10:11:12", "Null": "", "Categorical": "cat",
    "Datetime": "2024-01-02 10:11:12", 'Datetime("ms", "UTC")': "2024-01-02T10:11:12Z", "Duration": "5",
    'Duration("ms")': "6", "Decimal": "1.25", "Decimal(10, 2)": "3.50",
}


def test_every_simple_type_the_checker_accepts_is_listed_here() -> None:
    from heddle.sdk import dtypes

    assert set(dtypes._SIMPLE) <= set(VALUES)


@pytest.mark.parametrize("dtype", list(VALUES))
def test_a_declared_type_runs_through_every_stage_and_lineage(write_files: WriteFiles, dtype: str) -> None:
    quoted = dtype.replace('"', '\\"')
    program = ('import "std/io" io\n\nworkflow W {\n  io.read_csv { path: "data.csv", schema: '
               f'{{ id: "Int64", c: "{quoted}" }} }}\n    | (from input select {{id, c}})\n    | io.print\n}}\n')
    root = write_files({"heddle.toml": "", "data.csv": f"id,c\n1,{VALUES[dtype]}\n", "main.he": program})
    recorder = LineageRecorder(root)
    result = run_file(root / "main.he", observers=[recorder])
    assert result.status == "succeeded", result.message
    assert recorder.problem is None, recorder.problem
    expected = parse_dtype(dtype)
    output = pl.from_arrow(result.outputs["n3"])
    assert isinstance(output, pl.DataFrame) and output.schema["c"] == expected
    store = LineageStore(root)
    run = store.runs()[0]
    assert run.status == "succeeded" and run.incomplete is None
    stage = store.stage(run, "n1")
    assert not isinstance(stage, Exception) and stage.rows == 1


@pytest.mark.parametrize(("dtype", "why"), [
    ("Object", "`Object` columns hold Python objects, which cannot travel as Arrow"),
    ("Int128", "`Int128` columns cannot travel as Arrow"),
])
def test_types_that_cannot_travel_as_arrow_are_refused(dtype: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_dtype(dtype)


def test_a_csv_reader_refuses_nested_columns(write_files: WriteFiles) -> None:
    with pytest.raises(InferenceError, match=r"a CSV file has only flat columns .*: `tags` is List\(String\)"):
        io.csv_schema({"path": "x.csv", "schema": {"id": "Int64", "tags": "List(String)"}}, None)
    root = write_files({"main.he": 'import "std/io" io\n\nworkflow W {\n  io.read_json { path: "x.json", '
                        'schema: { tags: "List(String)" } }\n    | io.print\n}\n'})
    assert checked_plan(root / "main.he").graph("W") is not None  # JSON has lists
