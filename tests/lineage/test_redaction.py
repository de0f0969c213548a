"""Secrets never reach lineage: masked in the plan, scrubbed from errors, traces, parameters and data."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from heddle.cli.main import main
from heddle.core.config import Secret
from heddle_engine.catalog import load_catalog
from heddle_engine.lineage import LineageRecorder
from heddle_engine.lineage.redact import MASK, Redactor, redact_plan
from heddle_lang.catalog import EMPTY_CATALOG
from heddle_lang.plan import Graph, Node, Plan
from heddle_lang.types import Schema
from tests.lineage.support import LARGE, ORDERS, PEPPER, TOKEN, FakeRun, error, plan_of


def test_no_secret_value_appears_anywhere_under_the_lineage_folder(program: Path) -> None:
    root = program.parent
    recorder = LineageRecorder(root)
    run = FakeRun(recorder, program, "leaky", parameters={"api": Secret("param-secret-9"), "day": "monday"}).start()
    run.succeed("n1", ORDERS)
    run.succeed("n2", pa.table({"id": [1], "note": [f"token={TOKEN}"], "tag": pa.array([PEPPER]).dictionary_encode()}))
    message = f"login to https://vault.internal with {TOKEN} refused (pepper {PEPPER})"
    run.fail("n3", error(message, trace=f'File "vault.py", line 9\n  connect(token="{TOKEN}")'))
    context = pa.table({"error_msg": [message], "stack_trace": [f"token={TOKEN}"], "amount": [1.0]})
    run.succeed("n1", context, graph="report")
    run.finish("failed", error(message))
    assert recorder.problem is None

    files = [p for p in (root / ".heddle").rglob("*") if p.is_file()]
    assert len(files) == 6  # run.json, plan.json, events.jsonl and three outputs
    data = {p: json.dumps(_read(p).to_pylist(), default=str) for p in files if p.suffix == ".arrow"}
    for secret in (TOKEN, PEPPER, "param-secret-9"):
        assert [p for p in files if secret.encode() in p.read_bytes()] == []
        assert [p for p, text in data.items() if secret in text] == []  # the files are compressed: decoded too
    folder = root / ".heddle" / "runs" / "leaky"
    plan = json.loads((folder / "plan.json").read_text())
    mask = next(n for g in plan["graphs"] for n in g["nodes"] if n["label"] == "mask")
    assert mask["config"] == {"pepper": MASK}
    head = json.loads((folder / "run.json").read_text())
    assert head["parameters"] == {"api": MASK, "day": "monday"}
    assert head["error"]["message"] == f"login to https://vault.internal with {MASK} refused (pepper {MASK})"
    n2 = _read(folder / "outputs" / "Orders" / "n2.arrow")
    assert n2.column("note").to_pylist() == [f"token={MASK}"] and n2.column("tag").to_pylist() == [MASK]
    assert _read(folder / "outputs" / "report" / "n1.arrow").column("stack_trace").to_pylist() == [f"token={MASK}"]


def _read(path: Path) -> pa.Table:
    with pa.OSFile(str(path)) as source:
        return pa.ipc.open_file(source).read_all()


def test_tables_without_secrets_are_kept_as_they_are() -> None:
    redactor = Redactor([TOKEN])
    assert redactor.table(LARGE) == (LARGE, []) and redactor.table(LARGE)[0] is LARGE
    assert Redactor().table(pa.table({"s": [TOKEN]}))[0].column("s").to_pylist() == [TOKEN]


def test_every_column_that_can_hold_text_is_scrubbed_at_any_depth() -> None:
    frame = pl.DataFrame({
        "id": [1, 2, 3],
        "kind": pl.Series([f"x{TOKEN}", "y", None], dtype=pl.Categorical),
        "blob": [TOKEN.encode(), b"\xff\x00", None],
        "tags": [[TOKEN, "a"], None, ["b", f"{TOKEN}{TOKEN}"]],
        "record": [{"key": TOKEN, "n": 1}, None, {"key": "v", "n": 3}],
        "deep": [[{"words": [f"see {TOKEN}"]}], [], None],
    })
    table = frame.to_arrow(compat_level=pl.CompatLevel.newest())
    for given in (table, table.slice(1), pa.concat_tables([table.slice(0, 1), table.slice(1)])):
        scrubbed, nulled = Redactor([TOKEN]).table(given)
        assert nulled == []
        assert TOKEN not in json.dumps(scrubbed.to_pylist(), default=repr)
        assert scrubbed.column("id").to_pylist() == given.column("id").to_pylist()
        assert scrubbed.num_rows == given.num_rows
    whole = Redactor([TOKEN]).table(table)[0].to_pylist()
    assert [r["kind"] for r in whole] == [f"x{MASK}", "y", None]
    assert [r["blob"] for r in whole] == [MASK.encode(), b"\xff\x00", None]
    assert [r["tags"] for r in whole] == [[MASK, "a"], None, ["b", MASK + MASK]]
    assert [r["record"] for r in whole] == [{"key": MASK, "n": 1}, None, {"key": "v", "n": 3}]
    assert whole[0]["deep"] == [{"words": [f"see {MASK}"]}]
    read_back = pl.from_arrow(Redactor([TOKEN]).table(table)[0])  # what `heddle inspect` shows
    assert isinstance(read_back, pl.DataFrame) and read_back["kind"].dtype == pl.Categorical


def test_maps_go_through_their_values_and_what_cannot_be_scrubbed_is_written_as_nulls() -> None:
    mapping = pa.array([[("user", TOKEN)], [("k", "v")]], type=pa.map_(pa.string(), pa.string()))
    scrubbed, nulled = Redactor([TOKEN]).table(pa.table({"m": mapping}))
    assert nulled == [] and scrubbed.column("m").to_pylist() == [[("user", MASK)], [("k", "v")]]
    union = pa.UnionArray.from_sparse(pa.array([0, 1], type=pa.int8()),
                                      [pa.array([TOKEN, "x"]), pa.array([1, 2])])
    scrubbed, nulled = Redactor([TOKEN]).table(pa.table({"u": union, "id": [1, 2]}))
    assert nulled == ["u"] and scrubbed.column("u").to_pylist() == [None, None]  # never written with the secret
    assert scrubbed.column("id").to_pylist() == [1, 2]


def test_a_secret_inside_a_longer_one_is_masked_whole() -> None:
    assert Redactor(["abc", "abcdef"]).text("key abcdef, abc") == f"key {MASK}, {MASK}"


def test_secret_values_are_masked_even_where_no_schema_says_so() -> None:
    config = {"pepper": Secret(PEPPER), "nested": [{"k": Secret("deep")}], "plain": "visible"}
    plan = Plan((Graph("W", "workflow", (Node("n1", "call", "x.y", Schema(), config=config),)),))
    masked, redactor = redact_plan(plan, EMPTY_CATALOG)
    assert masked.graphs[0].nodes[0].config == {"pepper": MASK, "nested": [{"k": MASK}], "plain": "visible"}
    assert set(redactor.secrets) == {PEPPER, "deep"}


def test_without_the_schema_a_plain_string_is_not_known_to_be_secret(program: Path) -> None:
    masked, redactor = redact_plan(plan_of(program), EMPTY_CATALOG)
    step = next(n for g in masked.graphs for n in g.nodes if n.label == "mask")
    assert step.config == {"pepper": PEPPER} and redactor.secrets == ()


def test_resource_configs_are_masked_by_their_schema(program: Path) -> None:
    masked, redactor = redact_plan(plan_of(program), load_catalog(program))
    step = next(n for g in masked.graphs for n in g.nodes if n.label == "mask")
    assert step.resources[0].config == {"url": "https://vault.internal", "token": MASK}
    assert set(redactor.secrets) == {TOKEN, PEPPER}


def test_heddle_plan_shows_secret_config_values_as_masks(capsys: pytest.CaptureFixture[str], program: Path) -> None:
    for form in ("json", "text", "mermaid", "dot"):
        assert main(["plan", str(program), "--format", form]) == 0
        out, _ = capsys.readouterr()
        assert PEPPER not in out and TOKEN not in out
    assert main(["plan", str(program), "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    mask = next(n for g in plan["graphs"] for n in g["nodes"] if n["label"] == "mask")
    assert mask["config"] == {"pepper": MASK}
