"""The built-in modules: their specs (what the checker sees) and the bodies that run today."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from heddle.core.table import Table
from heddle.sdk import module_spec
from heddle_engine.modules.fhub import clickhouse, kafka, llm, postgresql
from heddle_engine.modules.std import io
from heddle_lang.catalog import FunctionSpec, InferenceError
from heddle_lang.types import Column, Schema

IO = module_spec(io.plugin, "std/io")
KAFKA = module_spec(kafka.plugin, "fhub/kafka")
LLM = module_spec(llm.plugin, "fhub/llm")
SALES = pl.DataFrame({"id": [1, 2], "country": ["FR", "US"], "amount": [120.5, 15000.0]})


def slots(function: FunctionSpec) -> list[tuple[str, str, bool]]:
    return [(s.key, s.kind, s.required) for s in function.resources]


def infer(function: FunctionSpec, config: dict[str, object], input_schema: Schema | None = None) -> Schema:
    assert function.infer is not None
    return function.infer(config, input_schema)


@pytest.mark.parametrize(("plugin", "path"), [(postgresql.plugin, "fhub/postgresql"),
                                              (clickhouse.plugin, "fhub/clickhouse")])
def test_sql_connectors(plugin: object, path: str) -> None:
    spec = module_spec(plugin, path)  # type: ignore[arg-type]
    namespace = path.split("/")[1]
    connection = spec.resources["connection"]
    assert connection.kind == f"{namespace}.connection"
    # a ClickHouse connection takes `host` or `path` (the embedded engine)
    assert [f.name for f in connection.config.required] == (["host"] if namespace == "postgresql" else [])
    password = connection.config.get("password")
    assert password is not None and password.secret and not password.required
    query = spec.functions["query"]
    assert slots(query) == [("connection", f"{namespace}.connection", True)]
    assert query.resources[0].doc == connection.doc
    assert [f.name for f in query.config.required] == ["query"]
    assert not query.takes_input
    config = {"query": "SELECT id AS user_id, country FROM users WHERE id = @user_id"}
    assert infer(query, config).names == ["user_id", "country"]
    assert query.parameters_for(config) == ("user_id",)
    with pytest.raises(InferenceError, match="does not parse"):
        infer(query, {"query": "SELECT FROM WHERE"})


def test_connector_ports() -> None:
    assert module_spec(postgresql.plugin, "p").resources["connection"].config.get("port").default == 5432  # type: ignore[union-attr]
    assert clickhouse.Connection(clickhouse.ConnectionConfig(host="h")).port == 8123
    assert clickhouse.Connection(clickhouse.ConnectionConfig(host="h", secure=True)).port == 8443
    assert clickhouse.Connection(clickhouse.ConnectionConfig(host="h", protocol="native")).port == 9000


def test_kafka() -> None:
    assert KAFKA.resources["connection"].kind == "kafka.connection"
    broker = [("broker", "kafka.connection", True)]
    consume, produce, retry = (KAFKA.functions[n] for n in ("consume", "produce", "retry_queue"))
    assert (slots(consume), consume.takes_input, consume.stream) == (broker, False, True)
    delivered = Schema.of({"produced_partition": pl.Int64(), "produced_offset": pl.Int64()})
    assert (slots(produce), produce.passthrough, produce.output) == (broker, True, delivered)
    assert slots(retry) == [("broker", "kafka.connection", False)]
    assert not retry.config.required
    assert [f.name for f in produce.config.required] == ["topic"]

    messages = infer(consume, {"topic": "live_transactions"})
    assert messages.open
    assert messages.names == ["key", "topic", "partition", "offset", "timestamp"]
    assert messages.get("partition") == Column("partition", pl.Int32())
    declared = infer(consume, {"topic": "t", "schema": {"user_id": "Int64", "amount": "Float64"}})
    assert not declared.open
    assert declared.names[-2:] == ["user_id", "amount"]
    with pytest.raises(InferenceError, match="`offset`, which every message already has"):
        infer(consume, {"topic": "t", "schema": {"offset": "Int64"}})
    assert infer(consume, {"topic": "t", "value": "raw"}).names[-1] == "value"
    with pytest.raises(InferenceError, match="give the topic to read"):
        infer(consume, {})
    with pytest.raises(InferenceError, match="`max_wait` is a duration"):
        infer(consume, {"topic": "t", "max_wait": "soon"})
    with pytest.raises(InferenceError, match=r"`schema`: column `amount`: unknown column type `Float` \(did you mean"):
        infer(consume, {"topic": "t", "schema": {"amount": "Float"}})


def test_llm_prompt() -> None:
    prompt = LLM.functions["prompt"]
    assert slots(prompt) == [("client", "llm.client", False)]
    assert prompt.takes_input and prompt.passthrough
    assert [f.name for f in prompt.config.required] == []  # `system`, `user`: each optional
    assert LLM.resources["client"].config.get("api_key").secret  # type: ignore[union-attr]
    rows = Schema.of({"user_id": pl.Int64()})
    assert infer(prompt, {"system": "..."}, rows) == Schema.of({"user_id": pl.Int64(), "response": pl.String(),
                                                                "prompt_tokens": pl.Int64(),
                                                                "completion_tokens": pl.Int64()})
    assert infer(prompt, {"system": "...", "output_column": "audit", "usage": False}, rows).names == ["user_id",
                                                                                                     "audit"]
    with pytest.raises(InferenceError, match="already has `user_id`"):
        infer(prompt, {"output_column": "user_id"}, rows)
    with pytest.raises(InferenceError, match="must name a column"):
        infer(prompt, {"system": "...", "output_column": ""}, rows)


def test_io_shapes() -> None:
    for name in ("print", "stderr", "write_csv", "write_parquet", "write_json"):
        function = IO.functions[name]
        assert (function.takes_input, function.passthrough, function.output) == (True, True, None), name
    for name in ("read_csv", "read_parquet", "read_json"):
        function = IO.functions[name]
        assert not function.takes_input, name
        assert [f.name for f in function.config.required] == ["path"], name


def test_reader_inference() -> None:
    read_csv = IO.functions["read_csv"]
    assert infer(read_csv, {"path": "x.csv"}) == Schema.unknown()
    assert infer(read_csv, {"path": "x.csv", "columns": ["a", "b"]}) == Schema.of({"a": None, "b": None})
    declared = {"id": "Int64", "country": "String", "amount": "Float64"}
    assert infer(read_csv, {"path": "x.csv", "schema": declared}) == Schema.of(
        {"id": pl.Int64(), "country": pl.String(), "amount": pl.Float64()})
    assert infer(read_csv, {"path": "x.csv", "schema": declared, "columns": ["amount", "id"]}) == Schema.of(
        {"amount": pl.Float64(), "id": pl.Int64()})
    with pytest.raises(InferenceError, match="`columns` names `nope`, which `schema` does not declare"):
        infer(read_csv, {"path": "x.csv", "schema": declared, "columns": ["nope"]})


@pytest.mark.parametrize(("writer", "reader", "extra"), [
    ("write_csv", "read_csv", {}), ("write_parquet", "read_parquet", {}),
    ("write_json", "read_json", {}), ("write_json", "read_json", {"lines": True}),
])
def test_io_round_trips_as_the_plan_typed_it(tmp_path: Path, writer: str, reader: str,
                                            extra: dict[str, object]) -> None:
    path = str(tmp_path / "out" / f"sales.{reader.removeprefix('read_')}")
    table = Table.from_polars(SALES)
    write_config = {"write_csv": io.WriteCsvConfig, "write_parquet": io.WriteParquetConfig,
                    "write_json": io.WriteJsonConfig}[writer](path=path, **extra)
    assert getattr(io, writer)(write_config, table) is table
    schema = {"amount": "Float32", "id": "Int32"}
    read_config = {"read_csv": io.ReadCsvConfig, "read_parquet": io.ReadParquetConfig,
                   "read_json": io.ReadJsonConfig}[reader](path=path, schema=schema, **extra)
    frame = getattr(io, reader)(read_config).to_polars()
    assert frame.schema == pl.Schema(infer(IO.functions[reader], read_config.to_dict()).to_polars())
    assert frame.to_dicts() == [{"amount": 120.5, "id": 1}, {"amount": 15000.0, "id": 2}]


def test_read_csv_options(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("1;FR\n2;NA\n")
    config = io.ReadCsvConfig(path=str(path), separator=";", has_header=False, null_values=["NA"],
                              schema={"id": "Int64", "country": "String"}, columns=["country"])
    assert io.read_csv(config).to_polars().to_dicts() == [{"country": "FR"}, {"country": None}]


def test_printing_passes_the_table_on(capsys: pytest.CaptureFixture[str]) -> None:
    table = Table.from_polars(SALES)
    assert io.print_table(io.PrintConfig(), table) is table
    assert io.print_stderr(io.PrintConfig(rows=1), table) is table
    out, err = capsys.readouterr()
    assert "15000.0" in out and "FR" in out
    assert "shape: (2, 3)" in err
