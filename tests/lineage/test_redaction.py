"""Secrets never reach lineage: masked in the plan, scrubbed from errors, traces, parameters and data."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

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
    assert redactor.table(LARGE) is LARGE
    assert Redactor().table(pa.table({"s": [TOKEN]})).column("s").to_pylist() == [TOKEN]


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
