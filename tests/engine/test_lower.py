"""Lowering: units (fused blocks, lookups), workflow parameters, replays; and their rendering."""

from __future__ import annotations

import json
from pathlib import Path

from heddle_engine.catalog import load_catalog
from heddle_engine.execute import lower
from heddle_engine.execute.functions import Functions
from tests.engine.conftest import WriteFiles
from tests.engine.running import checked_plan

EXAMPLES = Path(__file__).parent.parent.parent / "examples"


def lowered(path: Path, workflow: str, **options: str):  # type: ignore[no-untyped-def]
    return lower(checked_plan(path), workflow, Functions(load_catalog(path)), **options)


def units(path: Path, workflow: str, **options: str) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(u.id, u.kind, u.inputs) for u in lowered(path, workflow, **options).workflow.units]


def test_consecutive_blocks_fuse_and_a_joined_step_becomes_a_lookup() -> None:
    quickstart = EXAMPLES / "quickstart.he"
    assert units(quickstart, "Quickstart") == [
        ("n1", "node", ()), ("n2+n3", "fused", ("n1",)), ("n4", "lookup", ("n2+n3",)),
        ("n5", "node", ("n2+n3", "n4")), ("n6", "node", ("n5",)), ("n7", "node", ("n6",)),
    ]
    plan = lowered(quickstart, "Quickstart")
    (source,) = plan.workflow.lookups["n4"]
    assert (source.consumer, source.driver, source.keys) == ("n5", "n3", ("customer",))
    assert plan.parameters() == {}
    text = plan.explain()
    assert "n2+n3 [fused: 2 relational blocks, one lazy query] <- n1" in text
    assert "n4 [lookup step] customer_account <- n2+n3" in text and "lookup for n5: @customer <- n3.customer" in text


def test_a_block_read_twice_is_not_fused_and_sources_stay_shared(write_files: WriteFiles) -> None:
    main = write_files({"main.he": 'import "std/io" io\n\nworkflow W {\n  [{ n: 1 }]\n    | (from input filter n > 0)\n'
                                   "  > kept\n\n  kept\n    | (from input select {n})\n    | io.print\n\n"
                                   "  kept\n    | (from input derive {m = n})\n    | io.print\n}\n"}) / "main.he"
    assert units(main, "W") == [("n1", "node", ()), ("n2", "node", ("n1",)), ("n3", "node", ("n2",)),
                                ("n4", "node", ("n3",)), ("n5", "node", ("n2",)), ("n6", "node", ("n5",))]


def test_parameters_a_lookup_does_not_bind_belong_to_the_workflow() -> None:
    plan = lowered(EXAMPLES / "runnable" / "validate_emails.he", "validate_emails")
    assert plan.parameters() == {"timestamp": [("validate_emails", "n1")]}
    assert plan.workflow.lookups == {}
    fraud = lowered(EXAMPLES / "seeds" / "fraud_detection.he", "FraudDetection")
    assert set(fraud.workflow.lookups) == {"n4", "n5"} and fraud.parameters() == {}
    data = json.loads(fraud.to_json())
    assert data["graphs"][0]["lookups"]["n4"] == [{"consumer": "n6", "driver": "n3", "keys": ["user_id"]}]


def test_a_replay_records_what_is_not_downstream_of_its_start() -> None:
    quickstart = EXAMPLES / "quickstart.he"
    assert units(quickstart, "Quickstart", start_from="n5") == [
        ("n1", "recorded", ()), ("n2", "recorded", ()), ("n3", "recorded", ()), ("n4", "recorded", ()),
        ("n5", "node", ("n3", "n4")), ("n6", "node", ("n5",)), ("n7", "node", ("n6",)),
    ]
    # from the sort block: the lookup, which reads its rows, runs again
    assert [u for u in units(quickstart, "Quickstart", start_from="n3") if u[1] != "recorded"] == [
        ("n3", "node", ("n2",)), ("n4", "lookup", ("n3",)), ("n5", "node", ("n3", "n4")),
        ("n6", "node", ("n5",)), ("n7", "node", ("n6",))]
    missing = lowered(quickstart, "Quickstart", start_from="n99")
    assert [(e.code, e.message) for e in missing.errors] == [
        ("HR3001", "workflow `Quickstart` has no node `n99` to replay from")]


def test_a_lookup_also_read_whole_is_refused(write_files: WriteFiles) -> None:
    text = '''import "std/io" io
import "fhub/sqlite" db

resource app = db.connection {
  init: "CREATE TABLE t (id INTEGER)"
}

step by_id = <connection=app> db.query {
  query: "SELECT id FROM t WHERE id = @id"
}

workflow W {
  [{ id: 1 }]
    | (from input join by_id (==id))
    | io.print

  (from by_id select {id})
    | io.print
}
'''
    main = write_files({"main.he": text}) / "main.he"
    errors = lowered(main, "W").errors
    assert [e.code for e in errors] == ["HR2001"]
    assert errors[0].message == ("`by_id` is joined as a lookup (its @id bound from the joining rows) but also read "
                                 "as a whole table by `(from by_id select {id})` (line 17): use two steps")
